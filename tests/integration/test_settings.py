"""A bad or missing setting stops the node with one clear line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bootstrap import persistence_env
from services.settings import SettingsError, load, postgres_env


def test_a_missing_agency_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    with pytest.raises(SettingsError, match="^HOMEWARD_AGENCY: "):
        load()


@pytest.mark.parametrize("name, value", [
    ("HOMEWARD_AGENCY", "xa nrm"),
    ("HOMEWARD_DATABASE_URL", "mysql://db/homeward"),
    ("HOMEWARD_JWKS_URL", "file:///etc/keys.json"),
    ("HOMEWARD_CIPHER_KEY", "not base64 at all!"),
    ("HOMEWARD_CIPHER_KEY", "c2hvcnQ="),  # base64, but 5 bytes: no AES key
])
def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load()
    assert str(refused.value).startswith(name) and "\n" not in str(refused.value)
    if name == "HOMEWARD_CIPHER_KEY":  # a secret is never echoed
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
    assert (tmp_path / "cipher.key").stat().st_mode & 0o077 == 0


def test_a_store_without_its_key_refuses_to_start(tmp_path: Path) -> None:
    settings = load(agency="XA-NRM", data_dir=tmp_path)
    persistence_env(settings)
    (tmp_path / "events.sqlite").write_bytes(b"")
    (tmp_path / "cipher.key").unlink()
    with pytest.raises(SettingsError, match="^HOMEWARD_CIPHER_KEY: the store exists"):
        persistence_env(settings)


@pytest.mark.postgres
def test_a_postgresql_store_without_its_key_refuses_to_start(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    from services.application import Homeward

    settings = load(agency="XA-NRM", data_dir=tmp_path, database_url=f"{postgres_url}?schema={pg_schema}")
    Homeward(persistence_env(settings)).close()  # the store now exists, with its key
    (tmp_path / "cipher.key").unlink()
    with pytest.raises(SettingsError, match="^HOMEWARD_CIPHER_KEY: the store exists"):
        persistence_env(settings)


def test_an_unreachable_postgresql_is_named(tmp_path: Path) -> None:
    from services.exchange.broker import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    with pytest.raises(SettingsError, match="^HOMEWARD_DATABASE_URL: cannot connect"):
        persistence_env(load(agency="XA-NRM", data_dir=tmp_path, database_url=url))
