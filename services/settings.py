"""The node's configuration: the HOMEWARD_* variables of CONTRACT.md, checked at start."""

from __future__ import annotations

import binascii
import secrets
from base64 import b64decode
from pathlib import Path
from urllib.parse import unquote, urlparse

from eventsourcing.cipher import AESCipher
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.values import valid_agency


class SettingsError(Exception):
    """A bad or missing setting: the node does not start. The message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEWARD_", extra="ignore")

    agency: str
    data_dir: Path | None = None
    database_url: str | None = None
    kafka_bootstrap: str | None = None
    directory: Path | None = None
    jwt_secret: str | None = Field(default=None, repr=False)
    jwks_url: str | None = None
    cipher_key: str | None = Field(default=None, repr=False)

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

    @field_validator("jwks_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value and urlparse(value).scheme not in ("https", "http"):
            raise ValueError(f"must be an https:// address, not {value!r}")
        return value

    @field_validator("cipher_key")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        # Checked here, not when the store first encrypts: a bad key must stop the node at
        # start. The value is a secret, so the message never repeats it.
        if value is None:
            return value
        try:
            size = len(b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError("must be a base64 AES key (make one with AESCipher.create_key)"
                             ) from None
        if size not in AESCipher.KEY_SIZES:
            raise ValueError(f"an AES key has 16, 24 or 32 bytes, not {size}")
        return value

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
    def is_postgres(self) -> bool:
        return bool(self.database_url) and urlparse(self.database_url or "").scheme != "sqlite"

    def sqlite_path(self) -> Path:
        if self.database_url:
            return Path(unquote(urlparse(self.database_url).path))
        return self.home / "events.sqlite"


def load(**overrides: object) -> Settings:
    """Read the settings, turning any validation error into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except Exception as error:  # pydantic's ValidationError, flattened to one line
        errors = getattr(error, "errors", None)
        if callable(errors):
            first = errors()[0]
            name = "HOMEWARD_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
            raise SettingsError(f"{name}: {first['msg']}") from None
        raise SettingsError(str(error)) from None


def postgres_env(url: str) -> dict[str, str]:
    parts = urlparse(url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }
    for option in (parts.query or "").split("&"):
        key, _, value = option.partition("=")
        if key == "schema" and value:
            env["POSTGRES_SCHEMA"] = value
    return env


def cipher_key(settings: Settings, store_exists: bool) -> str:
    """The key for personal data at rest: given, kept in the data dir, or made anew.

    A store without its key would be unreadable, so a node never makes a new key
    for an existing store.
    """
    if settings.cipher_key:
        return settings.cipher_key
    path = settings.home / "cipher.key"
    if path.exists():
        return path.read_text().strip()
    if store_exists:
        raise SettingsError(
            f"HOMEWARD_CIPHER_KEY: the store exists but its key is missing ({path} not found)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESCipher.create_key(num_bytes=32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def node_secret(settings: Settings, name: str) -> str:
    """A secret kept in the data dir (made on first use), e.g. the JWT secret."""
    path = settings.home / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value
