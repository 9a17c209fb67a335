"""The agency's Ed25519 signing key: made on first start, kept in the data dir.

Partners verify every message against the public key the trust directory lists for
the sender, so the private key never leaves the node and the key id names which
public key to use (a rotated key gets a new id).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "signing-key.pem"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Base64url or standard base64, padded or not (the envelope schema allows both)."""
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(agency: str, key: Ed25519PublicKey) -> str:
    """The agency code and a fingerprint: stable for one key, new for a rotated one."""
    return f"{agency}-{hashlib.sha256(raw_public(key)).hexdigest()[:16]}"


def public_key(text: str) -> Ed25519PublicKey:
    """A public key as the directory holds it: the 32 raw bytes, base64."""
    return Ed25519PublicKey.from_public_bytes(unb64(text))


def verify(key: Ed25519PublicKey, signature: str, data: bytes) -> bool:
    try:
        key.verify(unb64(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    agency: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_for(self.agency, self.public)

    @property
    def public_b64(self) -> str:
        return b64url(raw_public(self.public))

    def sign(self, data: bytes) -> str:
        return b64url(self.private.sign(data))

    @classmethod
    def generate(cls, agency: str) -> SigningKey:
        return cls(agency, Ed25519PrivateKey.generate())


def load_or_create(data_dir: Path, agency: str) -> SigningKey:
    """The node's key pair from the data dir; generated (mode 0600) on first start."""
    path = data_dir / KEY_FILE
    if path.exists():
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return SigningKey(agency, private)
    key = SigningKey.generate(agency)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_bytes(pem)
    tmp.replace(path)  # atomic: a crash never leaves half a key behind
    return key
