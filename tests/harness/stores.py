"""The eventsourcing environment of a test's store: a SQLite file, encrypted with the
node's cipher (AES-GCM) under one key for the whole run, so a store reopened by a
second application reads the same."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.cipher import AESCipher

KEY = AESCipher.create_key(num_bytes=32)
CIPHER = "eventsourcing.cryptography:AESCipher"  # the node's (services.bootstrap.CIPHER)


def sqlite_store(path: Path) -> dict[str, str]:
    """A SQLite events file, without a cipher."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def encrypted(env: dict[str, str], key: str = KEY) -> dict[str, str]:
    return {**env, "CIPHER_TOPIC": CIPHER, "CIPHER_KEY": key}


def sqlite_env(path: Path) -> dict[str, str]:
    """An encrypted SQLite events file, as a node keeps its cases."""
    return encrypted(sqlite_store(path))
