"""The agency's key pair: Ed25519 to sign, X25519 to open what is sealed to it. Both are
made on first start and kept in the key dir (services/files.py; mode 0600 from
creation), never in the data dir.

Partners verify every message against the signing key the trust directory lists for the
sender, and seal every payload to the sealing key it lists for the recipient, so the
private keys never leave the node; key ids name which public key to use (a rotated key
gets a new id).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from services.files import SEALING_KEY_FILE, write_private
from services.files import SIGNING_KEY_FILE as KEY_FILE

PrivateKey = TypeVar("PrivateKey", Ed25519PrivateKey, X25519PrivateKey)
SAFE_INTEGER = 2**53 - 1  # RFC 8785 (I-JSON): integers beyond are not exact as numbers
_BMP = "\U00010000"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON, what every signature here is over. A document of objects
    with keys inside the Basic Multilingual Plane, arrays, strings, booleans, null and
    safe integers (every message and checkpoint) is written by orjson as the standard
    library's C encoder writes it: sorted keys, compact separators, UTF-8, which for such a
    document is RFC 8785 byte for byte (keys then sort the same by code point as by UTF-16
    unit; strings are escaped alike). Anything else (a float, a key beyond the plane, a
    larger integer, a lone surrogate) is written, or refused, by the `rfc8785` package."""
    if _plain(value):
        try:  # orjson writes those bytes, as the standard library's encoder would, faster
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it as it always did
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    if isinstance(value, str) or value is None or value is True or value is False:
        return True
    if type(value) is int:
        return -SAFE_INTEGER <= value <= SAFE_INTEGER
    if type(value) is dict:
        return all(type(k) is str and (k.isascii() or max(k) < _BMP) and _plain(v)
                   for k, v in value.items())
    if type(value) is list:
        return all(_plain(v) for v in value)
    return False


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Base64url or standard base64, padded or not (the envelope schema allows both)."""
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(agency: str, key: Ed25519PublicKey | X25519PublicKey) -> str:
    """The agency code and a fingerprint: stable for one key, new for a rotated one."""
    return f"{agency}-{hashlib.sha256(raw_public(key)).hexdigest()[:16]}"


def public_key(text: str) -> Ed25519PublicKey:
    """A public key as the directory holds it: the 32 raw bytes, base64."""
    return Ed25519PublicKey.from_public_bytes(unb64(text))


def sealing_public_key(text: str) -> X25519PublicKey:
    """A sealing key as the directory holds it: the 32 raw bytes, base64."""
    return X25519PublicKey.from_public_bytes(unb64(text))


def verify(key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    try:
        key.verify(unb64(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SealingKey:
    """An X25519 key pair: partners seal payloads to its public half (see `sealing`)."""

    owner: str
    private: X25519PrivateKey

    @property
    def public(self) -> X25519PublicKey:
        return self.private.public_key()

    @cached_property
    def key_id(self) -> str:
        # Of the unchanging key pair: worked out once (each message opened asks it).
        return key_id_for(f"{self.owner}-sealing", self.public)

    @property
    def public_b64(self) -> str:
        return b64url(raw_public(self.public))

    def opening(self, key_id: str) -> SealingKey | None:
        """This key, if it is the one `key_id` names (a node's kept keys answer the same:
        services/sealing_keys.py)."""
        return self if key_id == self.key_id else None

    @classmethod
    def generate(cls, owner: str) -> SealingKey:
        return cls(owner, X25519PrivateKey.generate())


@dataclass(frozen=True)
class SigningKey:
    """The agency's keys: `private` signs what it sends, `sealing` opens what it receives."""

    agency: str
    private: Ed25519PrivateKey
    sealing: SealingKey = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.sealing is None:  # a key made in memory (tests, tools) gets its own pair
            object.__setattr__(self, "sealing", SealingKey.generate(self.agency))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @cached_property
    def key_id(self) -> str:
        # Of the unchanging key pair: worked out once (each signature names it).
        return key_id_for(self.agency, self.public)

    @property
    def public_b64(self) -> str:
        return b64url(raw_public(self.public))

    def sign(self, data: bytes) -> str:
        return b64url(self.private.sign(data))

    @classmethod
    def generate(cls, agency: str) -> SigningKey:
        return cls(agency, Ed25519PrivateKey.generate())


def load_or_create(key_dir: Path, agency: str) -> SigningKey:
    """The node's keys from its key dir (`settings.secrets_dir`); each generated (mode 0600)
    on first start."""
    signing = _private(key_dir / KEY_FILE, Ed25519PrivateKey)  # type: ignore[type-abstract]
    return SigningKey(agency, signing, load_or_create_sealing(key_dir, agency))


def load_or_create_sealing(key_dir: Path, owner: str) -> SealingKey:
    """A sealing key pair alone: what a monitor, which signs nothing, needs."""
    private = _private(key_dir / SEALING_KEY_FILE, X25519PrivateKey)  # type: ignore[type-abstract]
    return SealingKey(owner, private)


def _private(path: Path, kind: type[PrivateKey]) -> PrivateKey:
    if path.exists():
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, kind):
            raise ValueError(f"{path} does not hold an {kind.__name__[:-10]} private key")
        return private
    made = kind.generate()
    pem = made.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)  # 0600 from creation; a crash never leaves half a key behind
    return made


class Signer(Protocol):
    """What signs for the agency: its key's id, and an Ed25519 signature of some bytes."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> str: ...
