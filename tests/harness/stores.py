"""The eventsourcing environment of a test's store: a SQLite file, encrypted with the
node's cipher (AES-GCM) under one key for the whole run, so a store reopened by a
second application reads the same; and the fixtures of a store on each backend
(`plain_env`, `store_env`: SQLite, and PostgreSQL in a schema of the test's own), which
tests/conftest.py makes every test's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from eventsourcing.cipher import AESCipher

from services.application import Homeward
from services.backends import case_keys_for
from services.clock import Clock

KEY = AESCipher.create_key(num_bytes=32)
CIPHER = "services.erasure.store_cipher:StoreCipher"  # the node's (services.bootstrap.CIPHER)


def sqlite_store(path: Path) -> dict[str, str]:
    """A SQLite events file, without a cipher."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def encrypted(env: dict[str, str], key: str = KEY) -> dict[str, str]:
    return {**env, "CIPHER_TOPIC": CIPHER, "CIPHER_KEY": key}


def sqlite_env(path: Path) -> dict[str, str]:
    """An encrypted SQLite events file, as a node keeps its cases."""
    return encrypted(sqlite_store(path))


def homeward(env: Mapping[str, str], clock: Clock | None = None) -> Homeward:
    """The application over a test's store, each case's key in the table its backend keeps
    beside the events (in memory for a store in memory), as a node's application has."""
    return Homeward(env, clock, case_keys_for)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def plain_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A store without a cipher, on each backend in turn."""
    if request.param == "sqlite":
        return sqlite_store(tmp_path / "events.sqlite")
    return dict(request.getfixturevalue("pg_env"))


@pytest.fixture
def store_env(plain_env: dict[str, str]) -> dict[str, str]:
    """A store as a node keeps its cases, encrypted, on each backend in turn."""
    return encrypted(plain_env)
