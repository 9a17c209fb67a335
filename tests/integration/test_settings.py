"""A bad or missing setting stops the node with one clear line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.backends.postgres import postgres_env
from services.bootstrap import persistence_env
from services.settings import SettingsError, load
from tests.harness.stores import homeward


def test_a_missing_agency_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    with pytest.raises(SettingsError, match="^HOMEWARD_AGENCY: "):
        load()


@pytest.mark.parametrize("name, value", [
    ("HOMEWARD_AGENCY", "xa nrm"),
    ("HOMEWARD_DATABASE_URL", "mysql://db/homeward"),
    ("HOMEWARD_JWKS_URL", "file:///etc/keys.json"),
    ("HOMEWARD_JWKS_URL", "http://idp.example/keys.json"),  # keys in the clear: refused
    ("HOMEWARD_JWKS_URL", "https:///keys.json"),  # no host to fetch them from
    ("HOMEWARD_OIDC_ISSUER", "http://idp.example/realms/xa"),  # a provider in the clear
    ("HOMEWARD_OIDC_ISSUER", "idp.example"),
    ("HOMEWARD_JWT_SECRET", "q"),
    ("HOMEWARD_JWT_SECRET", "31-bytes-is-one-byte-too-short!"),
    ("HOMEWARD_METRICS_TOKEN", "31-bytes-is-one-byte-too-short!"),
    ("HOMEWARD_METRICS_ADDR", "9100"),
    ("HOMEWARD_METRICS_ADDR", "127.0.0.1:65536"),
    ("HOMEWARD_TOKEN_MAX_HOURS", "0"),
    ("HOMEWARD_CIPHER_KEY", "not base64 at all!"),
    ("HOMEWARD_CIPHER_KEY", "c2hvcnQ="),  # base64, but 5 bytes: no AES key
])
def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load()
    assert str(refused.value).startswith(name) and "\n" not in str(refused.value)
    if name in ("HOMEWARD_CIPHER_KEY", "HOMEWARD_JWT_SECRET", "HOMEWARD_METRICS_TOKEN"):
        # a secret is never echoed
        assert value not in str(refused.value)


def test_sqlite_in_the_data_dir_by_default_and_postgres_when_asked(tmp_path: Path) -> None:
    sqlite = persistence_env(load(agency="XA-NRM", data_dir=tmp_path))
    assert sqlite["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert sqlite["SQLITE_DBNAME"] == str(tmp_path / "events.sqlite")
    pg = postgres_env("postgresql://homeward:s%40cret@db:6543/cases?schema=xa")
    assert pg["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (pg["POSTGRES_HOST"], pg["POSTGRES_PORT"], pg["POSTGRES_DBNAME"]) == ("db", "6543", "cases")
    assert (pg["POSTGRES_PASSWORD"], pg["POSTGRES_SCHEMA"]) == ("s@cret", "xa")


def test_the_cipher_key_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = load(agency="XA-NRM", data_dir=tmp_path)
    first = persistence_env(settings)["CIPHER_KEY"]
    (tmp_path / "events.sqlite").write_bytes(b"")
    assert persistence_env(settings)["CIPHER_KEY"] == first
    assert (settings.keys / "cipher.key").stat().st_mode & 0o077 == 0


def test_a_store_without_its_key_refuses_to_start(tmp_path: Path) -> None:
    settings = load(agency="XA-NRM", data_dir=tmp_path)
    persistence_env(settings)
    (tmp_path / "events.sqlite").write_bytes(b"")
    (settings.keys / "cipher.key").unlink()
    with pytest.raises(SettingsError, match="^HOMEWARD_CIPHER_KEY: the store exists"):
        persistence_env(settings)


def test_the_cipher_key_is_kept_outside_the_data_dir(tmp_path: Path) -> None:
    settings = load(agency="XA-NRM", data_dir=tmp_path / "xa-nrm")
    key = persistence_env(settings)["CIPHER_KEY"]
    assert settings.keys == tmp_path / "xa-nrm.keys"
    assert (settings.keys / "cipher.key").read_text().strip() == key
    assert [p.name for p in settings.home.iterdir()] == []  # nothing in the data dir yet
    elsewhere = load(agency="XA-NRM", data_dir=tmp_path / "xa-nrm", key_dir=tmp_path / "k")
    assert persistence_env(elsewhere)["CIPHER_KEY"] != key  # HOMEWARD_KEY_DIR chooses


def test_a_key_an_older_node_left_in_the_data_dir_is_still_used(tmp_path: Path) -> None:
    older = load(agency="XA-NRM", data_dir=tmp_path, key_dir=tmp_path)  # as it used to be
    key = persistence_env(older)["CIPHER_KEY"]
    (tmp_path / "events.sqlite").write_bytes(b"")
    assert persistence_env(load(agency="XA-NRM", data_dir=tmp_path))["CIPHER_KEY"] == key


@pytest.mark.postgres
def test_a_postgresql_store_without_its_key_refuses_to_start(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:

    settings = load(agency="XA-NRM", data_dir=tmp_path, database_url=f"{postgres_url}?schema={pg_schema}")
    homeward(persistence_env(settings)).close()  # the store now exists, with its key
    (settings.keys / "cipher.key").unlink()
    with pytest.raises(SettingsError, match="^HOMEWARD_CIPHER_KEY: the store exists"):
        persistence_env(settings)


def test_an_unreachable_postgresql_is_named(tmp_path: Path) -> None:
    from tests.harness.support import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    with pytest.raises(SettingsError, match="^HOMEWARD_DATABASE_URL: cannot connect"):
        persistence_env(load(agency="XA-NRM", data_dir=tmp_path, database_url=url))


def test_kafka_security_settings_reach_every_client_as_kafka_python_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ca.pem", "client.pem", "client-key.pem"):
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    assert load().kafka_client() == {"security_protocol": "PLAINTEXT"}
    for name, value in {"SECURITY_PROTOCOL": "SASL_SSL", "CA_FILE": tmp_path / "ca.pem",
                        "CERT_FILE": tmp_path / "client.pem",
                        "KEY_FILE": tmp_path / "client-key.pem",
                        "SASL_MECHANISM": "SCRAM-SHA-512", "SASL_USERNAME": "xa-nrm",
                        "SASL_PASSWORD": "s3cret"}.items():
        monkeypatch.setenv(f"HOMEWARD_KAFKA_{name}", str(value))
    settings = load()
    assert settings.kafka_client() == {
        "security_protocol": "SASL_SSL", "ssl_cafile": str(tmp_path / "ca.pem"),
        "ssl_certfile": str(tmp_path / "client.pem"),
        "ssl_keyfile": str(tmp_path / "client-key.pem"), "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "xa-nrm", "sasl_plain_password": "s3cret"}
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("changes, named", [
    ({"SECURITY_PROTOCOL": "SASL_PLAIN"}, "HOMEWARD_KAFKA_SECURITY_PROTOCOL"),
    ({"SECURITY_PROTOCOL": "SSL", "CA_FILE": "/no/such/ca.pem"}, "HOMEWARD_KAFKA_CA_FILE"),
    ({"CA_FILE": "{tmp}/ca.pem"}, "kafka_security_protocol"),  # TLS files without TLS
    ({"SECURITY_PROTOCOL": "SSL", "CERT_FILE": "{tmp}/ca.pem"}, "kafka_cert_file"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "PLAIN"}, "SASL_SSL needs"),
    ({"SECURITY_PROTOCOL": "SSL", "SASL_USERNAME": "xa"}, "SASL settings need SASL_SSL"),
])
def test_a_bad_kafka_security_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, changes: dict[str, str], named: str
) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    for name, value in changes.items():
        monkeypatch.setenv(f"HOMEWARD_KAFKA_{name}", value.format(tmp=tmp_path))
    with pytest.raises(SettingsError, match=named) as refused:
        load()
    assert "\n" not in str(refused.value)
def test_a_secret_and_a_jwks_url_together_stop_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_JWT_SECRET", "s" * 32)
    monkeypatch.setenv("HOMEWARD_JWKS_URL", "https://idp.example/keys.json")
    with pytest.raises(SettingsError, match="^HOMEWARD_JWT_SECRET and HOMEWARD_JWKS_URL"):
        load()


def test_a_short_secret_in_the_data_dir_stops_the_node(tmp_path: Path) -> None:
    from services.bootstrap import JWT_SECRET_FILE, jwt_secret

    (tmp_path / JWT_SECRET_FILE).write_text("short\n")
    with pytest.raises(SettingsError, match="^HOMEWARD_JWT_SECRET: .* shorter than 32 bytes"):
        jwt_secret(load(agency="XA-NRM", data_dir=tmp_path))


def test_the_issuer_and_audience_default_to_the_agency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    settings = load()
    assert (settings.issuer, settings.audience, settings.token_max_hours) == (
        "XA-NRM", "XA-NRM", 12.0)
    monkeypatch.setenv("HOMEWARD_TOKEN_ISSUER", "https://idp.xa.example")
    monkeypatch.setenv("HOMEWARD_TOKEN_AUDIENCE", "homeward")
    assert (load().issuer, load().audience) == ("https://idp.xa.example", "homeward")


IDP = "https://idp.example/realms/xa"


@pytest.mark.parametrize("settings, named", [
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP}, "HOMEWARD_OIDC_CLIENT_ID", id="no client id"),
    pytest.param({"HOMEWARD_OIDC_CLIENT_ID": "homeward"}, "HOMEWARD_OIDC_ISSUER",
                 id="a client without its provider"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_JWT_SECRET": "s" * 32}, "HOMEWARD_OIDC_ISSUER", id="and a secret"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_JWKS_URL": "https://idp.example/keys"}, "HOMEWARD_OIDC_ISSUER",
                 id="and a JWKS URL"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_OIDC_REDIRECT_URL": "http://node.example/ui/signin/callback"},
                 "HOMEWARD_OIDC_REDIRECT_URL", id="a callback in the clear"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_OIDC_REDIRECT_URL": "https://node.example/elsewhere"},
                 "HOMEWARD_OIDC_REDIRECT_URL", id="a callback elsewhere"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_OIDC_SCOPES": "profile email"}, "HOMEWARD_OIDC_SCOPES",
                 id="no openid scope"),
    pytest.param({"HOMEWARD_OIDC_ISSUER": IDP, "HOMEWARD_OIDC_CLIENT_ID": "homeward",
                  "HOMEWARD_OIDC_CA_FILE": "/nonexistent/ca.pem"}, "HOMEWARD_OIDC_CA_FILE",
                 id="no CA file"),
])
def test_a_bad_single_sign_on_setting_is_named(monkeypatch: pytest.MonkeyPatch,
                                               settings: dict[str, str], named: str) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load()
    assert str(refused.value).startswith(named + ":") and "\n" not in str(refused.value)


def test_single_sign_on_trusts_the_provider_for_this_client(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_OIDC_ISSUER", IDP)
    monkeypatch.setenv("HOMEWARD_OIDC_CLIENT_ID", "homeward-xa")
    monkeypatch.setenv("HOMEWARD_OIDC_REDIRECT_URL", "http://localhost:8001/ui/signin/callback")
    settings = load()
    assert (settings.issuer, settings.audience) == (IDP, "homeward-xa")
    monkeypatch.setenv("HOMEWARD_TOKEN_AUDIENCE", "homeward-api")
    assert load().audience == "homeward-api"
