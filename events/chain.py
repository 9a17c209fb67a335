"""The hash chain: each event's hash covers its content and its predecessor's hash.

Content is JSON made only of strings, integers, booleans, null, lists and
objects (no floats), so sorted keys with compact separators and UTF-8 is the
RFC 8785 canonical form.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
ERASED = "[erased]"  # what a personal field reads as once its case's key is destroyed


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def commitment(salt: str, value: Any) -> str:
    """What the chain covers in place of a personal field: a salted hash of its value.
    The salt is as personal as the value and is destroyed with it, so what stays
    neither reveals nor lets anyone test a guess of what was erased."""
    return digest({"salt": salt, "value": value})
