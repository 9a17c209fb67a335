"""A provider's signing keys as the node picks one: by `kid`, or the only one; fetched again
at once for a key id it has not seen, but not more often than every ten seconds."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.api.identity.jwks import REFRESH_EVERY, SigningKeys


class Published:
    """What a provider publishes as its JWKS, and how often it was asked."""

    def __init__(self, *kids: str | None) -> None:
        self.keys = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048)
                     for kid in kids}
        self.fetches = 0

    def __call__(self) -> Any:
        self.fetches += 1
        return {"keys": [{**json.loads(RSAAlgorithm.to_jwk(key.public_key())),
                          **({"kid": kid} if kid else {})} for kid, key in self.keys.items()]}

    def token(self, kid: str | None, signer: str | None = None) -> str:
        key = self.keys[signer if signer is not None else kid]
        return jwt.encode({"sub": "ana"}, key, algorithm="RS256",
                          headers={"kid": kid} if kid else {})


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_only_key_of_a_set_serves_a_token_that_names_none() -> None:
    published = Published(None)
    keys = SigningKeys(published)
    assert keys.get_signing_key_from_jwt(published.token(None)).key is not None


def test_a_set_of_several_keys_refuses_a_token_that_names_none() -> None:
    published = Published("a", "b")
    with pytest.raises(jwt.PyJWKClientError, match="names no signing key"):
        SigningKeys(published).get_signing_key_from_jwt(published.token(None, signer="a"))


def test_an_unknown_kid_fetches_the_set_again_once_per_ten_seconds() -> None:
    published, clock = Published("a"), Clock()
    keys = SigningKeys(published, clock)
    keys.get_signing_key_from_jwt(published.token("a"))
    published.keys["b"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert keys.get_signing_key_from_jwt(published.token("b")).key_id == "b"
    assert published.fetches == 2  # at once, for the rotated key
    for _ in range(3):
        with pytest.raises(jwt.PyJWKClientError, match="no key 'made-up'"):
            keys.key("made-up")
    assert published.fetches == 2
    clock.now += REFRESH_EVERY
    with pytest.raises(jwt.PyJWKClientError):
        keys.key("made-up")
    assert published.fetches == 3


def test_a_set_without_signing_keys_is_refused() -> None:
    with pytest.raises(jwt.PyJWKClientError, match="no signing key"):
        SigningKeys(lambda: {"keys": [{"kty": "RSA", "use": "enc"}]}).key(None)
    with pytest.raises(jwt.PyJWKClientError, match="not a JSON object"):
        SigningKeys(lambda: ["not", "a", "set"]).key(None)
