"""What a node keeps on disk is private from its creation: directories 0700, files 0600.

`private_process` sets the process's umask, so every file the process creates, the SQLite
stores and their journals included, is born private; nothing is chmod-ed after the fact.
Keys and secrets are also written with an explicit mode, whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077


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
