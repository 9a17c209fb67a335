"""What a node checks before it writes anything: each setting and each dependency it
needs at start (the store and its schema, the broker, the trust directory, its keys),
read only. The first fault is one line naming the setting (SettingsError), and the node
stops with nothing written: no data dir, no key dir, no new key."""

from __future__ import annotations

import os
import socket
import time
from base64 import b64decode
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from services.backends.postgres import check_schema
from services.exchange.directory import directory_path, load
from services.files import CIPHER_KEY_FILE, SEALING_KEY_FILE, SIGNING_KEY_FILE
from services.settings import Settings, SettingsError

BROKER_WAIT_SECONDS = 10.0  # a broker starting beside the node has this long to answer
STORE_TIMEOUT_SECONDS = 5


def check_start(settings: Settings, broker_wait: float = BROKER_WAIT_SECONDS) -> None:
    """Raises SettingsError, one line, at the first setting or dependency that would stop
    the node; writes nothing."""
    _store(settings)
    _keys(settings)
    _directory(settings)
    if settings.kafka_bootstrap:
        _broker(settings.kafka_bootstrap, broker_wait)


def _store(settings: Settings) -> None:
    if not settings.is_postgres:
        _writable("HOMEWARD_DATABASE_URL" if settings.database_url else "HOMEWARD_DATA_DIR",
                  settings.sqlite_path().parent)
        return
    assert settings.database_url is not None
    fault = check_schema(settings.database_url, STORE_TIMEOUT_SECONDS)
    if fault is not None:
        raise SettingsError(f"HOMEWARD_DATABASE_URL: {fault}")


def _keys(settings: Settings) -> None:
    """Each key the key dir holds is one the node can use; a key dir still to be made can
    be (its nearest existing parent is writable)."""
    keys = settings.keys
    if not keys.exists():
        _writable("HOMEWARD_KEY_DIR", keys)
        return
    if not keys.is_dir() or not os.access(keys, os.R_OK | os.W_OK | os.X_OK):
        raise SettingsError(f"HOMEWARD_KEY_DIR: {keys} is not a directory this user may "
                            "read and write")
    for name, kind in ((SIGNING_KEY_FILE, Ed25519PrivateKey),
                       (SEALING_KEY_FILE, X25519PrivateKey)):
        path = keys / name
        if path.exists():
            try:
                private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError, OSError):
                private = None
            if not isinstance(private, kind):
                raise SettingsError(f"HOMEWARD_KEY_DIR: {path} does not hold an "
                                    f"{kind.__name__.removesuffix('PrivateKey')} private key")
    cipher = keys / CIPHER_KEY_FILE
    if settings.cipher_key is None and cipher.exists():
        try:
            size = len(b64decode(cipher.read_text().strip(), validate=True))
        except ValueError:
            size = 0
        if size not in (16, 24, 32):
            raise SettingsError(f"HOMEWARD_CIPHER_KEY: {cipher} does not hold an AES key")


def _directory(settings: Settings) -> None:
    path = directory_path(settings.home, settings.directory)
    if settings.directory is not None and not path.exists():
        raise SettingsError(f"HOMEWARD_DIRECTORY: no file at {path} (make it with "
                            "`homeward directory init`)")
    if not path.exists():
        return  # the data dir's own, still to be made: the node trusts no one yet
    try:
        load(path)
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()
        raise SettingsError(f"HOMEWARD_DIRECTORY: {path} is not a readable trust directory"
                            f" ({first[0] if first else type(error).__name__}; "
                            "`homeward directory check` says more)") from None


def _broker(bootstrap: str, wait: float) -> None:
    """Some broker of the list accepts a connection within `wait` seconds."""
    servers = [s.strip() for s in bootstrap.split(",") if s.strip()]
    deadline = time.monotonic() + wait
    while True:
        for server in servers:
            host, _, port = server.rpartition(":")
            try:
                socket.create_connection((host.strip("[]") or server, int(port or 9092)),
                                         timeout=2).close()
                return
            except (OSError, ValueError):
                continue
        if time.monotonic() >= deadline:
            raise SettingsError(f"HOMEWARD_KAFKA_BOOTSTRAP: no broker answers at {bootstrap} "
                                f"(waited {wait:.0f} s)")
        time.sleep(0.5)


def _writable(setting: str, path: Path) -> None:
    """`path` exists as a writable directory, or can be made (its nearest existing parent
    is a writable directory)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SettingsError(f"{setting}: {path} cannot be made or written here ({probe} "
                            "is not a writable directory)")
