"""The hash chain: each event's hash covers its content and its predecessor's hash.

Content is JSON made only of strings, integers, booleans, null, lists and
objects (no floats), so sorted keys with compact separators and UTF-8 is the
RFC 8785 canonical form.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

GENESIS = "0" * 64
ERASED = "[erased]"  # what a personal field reads as once its case's key is destroyed


def canonical(value: Any) -> bytes:
    """Written by orjson, which for such content is the standard library's encoding byte
    for byte (sorted keys compare by code point as UTF-8 bytes do; strings are escaped
    alike) at a fraction of its cost; what orjson refuses (an integer beyond 64 bits, a lone
    surrogate, a key that is no string, a time) the standard library writes, or refuses."""
    try:
        return orjson.dumps(value, option=_SORTED)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()


_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def commitment(salt: str, value: Any) -> str:
    """What the chain covers in place of a personal field: a salted hash of its value.
    The salt is as personal as the value and is destroyed with it, so what stays
    neither reveals nor lets anyone test a guess of what was erased."""
    return digest({"salt": salt, "value": value})
