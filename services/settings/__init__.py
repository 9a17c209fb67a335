"""The node's configuration: the HOMEWARD_* variables of CONTRACT.md, checked at start."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlparse

from eventsourcing.cipher import AESCipher
from pydantic import Field, TypeAdapter, ValidationInfo, field_validator, model_validator
from pydantic_settings import EnvSettingsSource, SettingsConfigDict

from events.values import valid_agency
from services.files import (
    CIPHER_KEY_FILE,
    SecretsDisagree,
    default_key_dir,
    move_secrets,
    write_private,
)
from services.settings.checks import AesKey, HostPort, HttpsAddress
from services.settings.kafka import KafkaClientSettings
from services.settings.signin import SignInSettings

MIN_SECRET_BYTES = 32  # the same floor as services.api.identity.auth: HS256 needs 256 bits
SECRETS = {"jwt_secret": "an HS256 secret", "metrics_token": "a metrics token"}  # so named


class SettingsError(Exception):
    """A bad or missing setting: the node does not start. The message is one line."""


class Settings(SignInSettings, KafkaClientSettings):
    """Every HOMEWARD_* setting of a node: its own here, those of its Kafka clients
    (`settings/kafka.py`) and of single sign-on (`settings/signin.py`) inherited."""

    # An empty variable (`HOMEWARD_OIDC_CA_FILE=`) is as if it were not set.
    model_config = SettingsConfigDict(env_prefix="HOMEWARD_", extra="ignore",
                                      env_ignore_empty=True)

    agency: str
    data_dir: Path | None = None
    key_dir: Path | None = None
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    # Copies of each partition of the topics the node creates: 1 for the local broker,
    # 3 on a cluster (infra/ sets it); the operator's topics.sh reads the same variable.
    kafka_replication: int = Field(default=1, ge=1, le=16)
    # Partitions of the inbox topic the node creates (topics.sh reads the same variable):
    # the replicas of a node share them, so at least as many as replicas.
    kafka_inbox_partitions: int = Field(default=3, ge=1, le=256)
    # How long the broker keeps what the node's inbox and dead-letter topics hold (their
    # `retention.ms`, set when the node creates them; topics.sh reads the same variables):
    # the delay after which a case's erasure reaches the broker's copies.
    inbox_retention_days: int = Field(default=7, ge=1, le=3650)
    deadletter_retention_days: int = Field(default=30, ge=1, le=3650)
    # The monitor forgets an alert's delivery this long after it was delivered or given
    # up, once the alert can never be found again (services/alerts/watch.py `prune`).
    alert_retention_days: int = Field(default=30, ge=1, le=3650)
    directory: Path | None = None
    jwt_secret: str | None = Field(default=None, repr=False)
    jwks_url: HttpsAddress | None = None
    # Tokens are accepted only when issued for this node: `iss` and `aud` must be these
    # (both default to the agency code) and they may live no longer than this.
    token_issuer: str | None = None
    token_audience: str | None = None
    token_max_hours: float = Field(default=12.0, gt=0, le=24 * 7)
    cipher_key: AesKey | None = Field(default=None, repr=False)
    # How long an Idempotency-Key replays its first response.
    idempotency_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # A message to a partner without a receipt leaves again this long after it was sent,
    # then twice as long each time, at most `resend_longest_seconds` apart; one without a
    # receipt after `undelivered_after_seconds` shows on the board, /metrics and /readyz.
    resend_after_seconds: float = Field(default=10.0, gt=0, le=3600)
    resend_longest_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    undelivered_after_seconds: float = Field(default=300.0, gt=0, le=7 * 24 * 3600)
    # Messages the inbox holds ahead of their predecessors, per case and in all; beyond,
    # it pauses the partition (docs/cross-border.md).
    inbox_held_per_case: int = Field(default=1000, ge=1)
    inbox_held_total: int = Field(default=10_000, ge=1)
    # Messages refused for a passing reason (a key listed from a later time, the case kept
    # changing) the inbox sets aside to try again, per sender and in all; beyond, they are
    # dead-lettered at once (docs/architecture.md).
    inbox_parked_per_sender: int = Field(default=100, ge=1)
    inbox_parked_total: int = Field(default=1000, ge=1)
    # An inbox partition standing still this long while records wait on it: not ready.
    inbox_stall_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # /metrics: behind this bearer token, or served only on this host:port.
    metrics_token: str | None = Field(default=None, repr=False)
    metrics_addr: HostPort | None = None
    # /docs and /redoc (their scripts from a pinned, integrity-checked CDN file): off
    # unless asked for; /openapi.json is always served.
    api_docs: bool = False

    @field_validator("agency")
    @classmethod
    def _agency_code(cls, value: str) -> str:
        if value != "monitor" and not valid_agency(value):
            raise ValueError(f"HOMEWARD_AGENCY={value!r} is not an agency code like XA-NRM")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and urlparse(value).scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"must be sqlite:///PATH or postgresql://..., not {value!r}")
        return value

    @model_validator(mode="after")
    def _single_sign_on(self) -> Settings:
        client = (self.oidc_client_id, self.oidc_client_secret, self.oidc_redirect_url,
                  self.oidc_ca_file)
        if self.oidc_issuer is None:
            if any(client):
                raise ValueError("HOMEWARD_OIDC_ISSUER: the OIDC client settings need the "
                                 "provider's issuer")
            return self
        if not self.oidc_client_id:
            raise ValueError("HOMEWARD_OIDC_CLIENT_ID: single sign-on needs this node's client "
                             "id at the provider")
        if self.jwt_secret or self.jwks_url:
            raise ValueError("HOMEWARD_OIDC_ISSUER: a node with single sign-on trusts its "
                             "provider's keys only; unset HOMEWARD_JWT_SECRET and "
                             "HOMEWARD_JWKS_URL")
        return self

    @field_validator(*SECRETS)
    @classmethod
    def _long_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A secret, so the message never repeats it.
        if value is not None and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"{SECRETS[info.field_name or '']} needs at least "
                             f"{MIN_SECRET_BYTES} bytes (make one with `openssl rand -hex 32`)")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> Settings:
        if self.jwt_secret and self.jwks_url:
            raise ValueError("HOMEWARD_JWT_SECRET and HOMEWARD_JWKS_URL are both set; "
                             "a node trusts its own secret or its identity provider, not both")
        return self

    @model_validator(mode="after")
    def _default_data_dir(self) -> Settings:
        if self.data_dir is None:
            self.data_dir = Path("var") / self.agency.lower()
        return self

    @property
    def home(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir

    @property
    def keys(self) -> Path:
        """Where the node's secrets are kept (services/files.py): HOMEWARD_KEY_DIR, by
        default `<data dir>.keys` beside (not inside) the data dir."""
        return self.key_dir or default_key_dir(self.home)

    @property
    def issuer(self) -> str:
        return self.token_issuer or self.oidc_issuer or self.agency

    @property
    def audience(self) -> str:
        return self.token_audience or self.oidc_client_id or self.agency

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url) and urlparse(self.database_url or "").scheme != "sqlite"

    def sqlite_path(self) -> Path:
        if self.database_url:
            return Path(unquote(urlparse(self.database_url).path))
        return self.home / "events.sqlite"


def environment(name: str) -> Any:
    """One setting as the environment gives it (its type and bounds checked as in
    `Settings`), for a command that builds no node and so needs no HOMEWARD_AGENCY; None
    when not set."""
    raw = EnvSettingsSource(Settings)().get(name)
    if raw is None:
        return None
    try:
        field = Settings.model_fields[name]
        kind: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else (
            field.annotation)
        return TypeAdapter(kind).validate_python(raw)
    except ValueError as error:
        raise SettingsError(f"HOMEWARD_{name.upper()}: {error}") from None


def agency_given() -> bool:
    """Whether the environment names the node's agency (HOMEWARD_AGENCY)."""
    return environment("agency") is not None


def load(**overrides: object) -> Settings:
    """Read the settings, turning any validation error into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except Exception as error:  # pydantic's ValidationError, flattened to one line
        errors = getattr(error, "errors", None)
        if callable(errors):
            first = errors()[0]
            if not first["loc"]:  # a rule across settings names them in its message
                raise SettingsError(str(first["msg"]).removeprefix("Value error, ")) from None
            name = "HOMEWARD_" + str(first["loc"][0]).upper()
            raise SettingsError(f"{name}: {first['msg']}") from None
        raise SettingsError(str(error)) from None


def cipher_key(settings: Settings, store_exists: bool) -> str:
    """The key for personal data at rest: given, kept in the key dir, or made anew.

    The key dir is outside the data dir, so a copy of the data dir (a backup, a disk
    image) does not carry the key that opens it. A key an older node left in the data dir
    is moved into the key dir and used. A store without its key would be unreadable, so a
    node never makes a new key for an existing store.
    """
    if settings.cipher_key:
        return settings.cipher_key
    path = secrets_dir(settings) / CIPHER_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    if store_exists:
        raise SettingsError(
            f"HOMEWARD_CIPHER_KEY: the store exists but its key is missing ({path} not found)"
        )
    key = AESCipher.create_key(num_bytes=32)
    write_private(path, (key + "\n").encode())
    return key


def secrets_dir(settings: Settings) -> Path:
    """The key dir, with any secret an older node kept in the data dir moved into it."""
    try:
        return move_secrets(settings.home, settings.keys)
    except SecretsDisagree as error:
        raise SettingsError(f"HOMEWARD_KEY_DIR: {error}") from None
    except OSError as error:  # e.g. a key dir this user may not write
        raise SettingsError(f"HOMEWARD_KEY_DIR: {settings.keys}: {error.strerror or error}"
                            ) from None


def node_secret(settings: Settings, name: str) -> str:
    """A secret kept in the key dir (made on first use), e.g. the JWT secret."""
    path = secrets_dir(settings) / name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    write_private(path, (value + "\n").encode())
    return value


LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


def in_the_clear(url: str) -> bool:
    """Whether what goes to `url` could be read or changed on the way: anything but an
    https:// address, or an http:// one on this machine's loopback (for development)."""
    parts = urlparse(url)
    if not parts.hostname:
        return True
    return not (parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in LOOPBACK_NAMES))
