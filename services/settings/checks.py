"""What a setting's value must be, each check a type the settings annotate their fields with
(`jwks_url: HttpsAddress | None`): checked for a value given, never for an unset one."""

from __future__ import annotations

import binascii
from base64 import b64decode
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from eventsourcing.cipher import AESCipher
from pydantic import AfterValidator


def readable_file(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"{value} is not a file")
    return value


def https_address(value: str) -> str:
    # Keys, documents and tokens fetched in the clear could be swapped on the way.
    parts = urlparse(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"must be an https:// address, not {value!r}")
    return value


def host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be HOST:PORT, e.g. 127.0.0.1:9100, not {value!r}")
    return value


def aes_key(value: str) -> str:
    # Checked with the settings, not when the store first encrypts: a bad key must stop the
    # node at start. The value is a secret, so the message never repeats it.
    try:
        size = len(b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("must be a base64 AES key (make one with AESCipher.create_key)"
                         ) from None
    if size not in AESCipher.KEY_SIZES:
        raise ValueError(f"an AES key has 16, 24 or 32 bytes, not {size}")
    return value


def callback_address(value: str) -> str:
    # The code comes back here; http only on this machine's loopback (RFC 8252, 7.3).
    parts = urlparse(value)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not (parts.scheme == "https" or local) or parts.path != "/ui/signin/callback":
        raise ValueError("must be https://<this node>/ui/signin/callback (http only on "
                         f"localhost), not {value!r}")
    return value


HttpsAddress = Annotated[str, AfterValidator(https_address)]
HostPort = Annotated[str, AfterValidator(host_port)]
AesKey = Annotated[str, AfterValidator(aes_key)]
CallbackAddress = Annotated[str, AfterValidator(callback_address)]
