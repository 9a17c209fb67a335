"""What the inbox and the monitor accept of a broker record before they read it: its size.

A record is measured whole (value, key, header names and values) before anything of it is
parsed: beyond `MAX_RECORD_BYTES` it is refused unread. No message comes near it (the
sealed envelope's ciphertext is bounded far below, see `MAX_CIPHERTEXT`).
"""

from __future__ import annotations

from typing import Any

MAX_RECORD_BYTES = 1 << 20  # 1 MiB: value, key and headers together
# The longest `sealed.ciphertext` the sealed envelope allows (its schema's maxLength):
# 256 KiB of base64url, about 192 KiB of message, some fifty times the largest one.
MAX_CIPHERTEXT = 262_144


def size(record: Any) -> int:
    """The record's bytes as the broker gave them; what is not bytes counts as its text,
    so a record that lies about its parts is still measured."""
    total = _length(getattr(record, "value", None)) + _length(getattr(record, "key", None))
    for header in getattr(record, "headers", None) or ():
        try:
            name, value = header
        except (TypeError, ValueError):
            total += _length(header)
            continue
        total += _length(name) + _length(value)
    return total


def _length(part: Any) -> int:
    if part is None:
        return 0
    if isinstance(part, bytes | bytearray | memoryview):
        return len(part)
    if isinstance(part, str):
        return len(part.encode("utf-8", "replace"))
    return len(repr(part))
