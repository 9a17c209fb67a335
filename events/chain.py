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


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()
