"""What a node keeps on disk is private from its creation: directories 0700, files 0600.

`private_process` sets the process's umask, so every file the process creates, the SQLite
stores and their journals included, is born private; nothing is chmod-ed after the fact.
Keys and secrets are also written with an explicit mode, whatever the umask.

Secrets live in the key dir (HOMEWARD_KEY_DIR), apart from the data dir: a copy of the data
dir (a backup, a disk image) must not carry what opens the store (the cipher key), signs
tokens the node accepts (the JWT secret), or speaks for the agency to its partners (the
signing key) and opens what they send it (the sealing key). An older node kept all of these
in its data dir; a node started on that layout moves each one into the key dir once
(`move_secrets`), and says so on stderr.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

PRIVATE_UMASK = 0o077
CIPHER_KEY_FILE = "cipher.key"
JWT_SECRET_FILE = "jwt.secret"
SIGNING_KEY_FILE = "signing-key.pem"
SEALING_KEY_FILE = "sealing-key.pem"
SECRET_FILES = (CIPHER_KEY_FILE, JWT_SECRET_FILE, SIGNING_KEY_FILE, SEALING_KEY_FILE)


def truncate_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Every frame of a SQLite write-ahead log copied into its database (where
    `secure_delete` zeroes what was freed) and the log truncated to nothing, so no earlier
    version of a page is left in any file. A reader in another connection holds it up: it
    is tried again, then an error rather than an erasure said done with the page kept."""
    for _ in range(attempts):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        time.sleep(0.02)
    raise sqlite3.OperationalError("the write-ahead log could not be truncated: a reader holds it")


def private_process() -> None:
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """The directory, made 0700 (with any missing parents) if it is not there yet."""
    old = os.umask(PRIVATE_UMASK)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    finally:
        os.umask(old)
    return path


def write_private(path: Path, data: bytes) -> None:
    """The file written whole (a crash never leaves half of it) and 0600 from its creation."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


# -- the key dir ---------------------------------------------------------------

class SecretsDisagree(Exception):
    """The data dir and the key dir each hold a different copy of one secret."""


def default_key_dir(data_dir: Path) -> Path:
    """`<data dir>.keys`, beside (not inside) the data dir."""
    return data_dir.with_name(f"{data_dir.name}.keys")


def say_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def move_secrets(data_dir: Path, key_dir: Path,
                 say: Callable[[str], None] = say_on_stderr) -> Path:
    """The key dir (0700), holding every secret an older node left in the data dir.

    Each file is written whole into the key dir (0600) before the data dir's copy goes, so
    a crash in between leaves two equal copies, which the next start resolves. Two copies
    that differ stop the node: which one the store, the tokens or the partners rely on is
    the operator's call, not the node's.
    """
    private_dir(key_dir)
    if data_dir.resolve() == key_dir.resolve():
        return key_dir  # HOMEWARD_KEY_DIR set to the data dir itself: nothing to move
    for name in SECRET_FILES:
        old, new = data_dir / name, key_dir / name
        if not old.is_file():
            continue
        held = old.read_bytes()
        if new.exists():
            if new.read_bytes() != held:
                raise SecretsDisagree(f"{old} and {new} differ; keep the one in use in the "
                                      "key dir and remove the other")
        else:
            write_private(new, held)
            say(f"homeward: moved {old} to {new} (secrets are kept in the key dir, "
                "HOMEWARD_KEY_DIR)")
        old.unlink()
    return key_dir
