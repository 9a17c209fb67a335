"""An identity provider's signing keys, as a node picks the one that signed a token.

The keys come from the provider's JWKS, fetched when first needed and kept. A token names
its key by `kid`; a set of one key may leave it unnamed (OpenID Connect Core 10.1), a set
of several may not. A `kid` the kept set lacks means the provider has rotated its keys:
the set is fetched again at once, but not more often than every `REFRESH_EVERY` seconds,
so tokens naming made-up keys cannot make the node hammer its provider.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.request import Request, urlopen

import jwt

REFRESH_EVERY = 10.0  # seconds between two fetches of the set caused by unknown keys
KEEP_FOR = 3600.0  # seconds a fetched set is used before it is fetched again anyway
MAX_DOCUMENT = 1 << 20  # bytes of a JWKS read at most


class SigningKeys:
    """The keys of one JWKS; `fetch` returns the set's JSON (and raises
    `jwt.PyJWKClientConnectionError` if it cannot)."""

    def __init__(self, fetch: Callable[[], Any], clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self._fetch, self._clock = fetch, clock
        self._lock = threading.Lock()
        self._keys: list[jwt.PyJWK] | None = None
        self._fetched_at = self._refreshed_at = float("-inf")
        self.fetches = 0

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.DecodeError as error:
            raise jwt.PyJWKClientError(f"the token is not a JWT: {error}") from None
        if kid is not None and not isinstance(kid, str):
            raise jwt.PyJWKClientError("the token's `kid` is not a string")
        return self.key(kid)

    def key(self, kid: str | None) -> jwt.PyJWK:
        keys = self._current()
        found = self._match(keys, kid)
        if found is None and self._may_refresh():
            found = self._match(self._current(refresh=True), kid)
        if found is not None:
            return found
        if kid is None:
            raise jwt.PyJWKClientError(
                "the token names no signing key (`kid`) and the provider's JWKS holds "
                f"{len(self._keys or [])} keys: the provider must put `kid` in its tokens")
        raise jwt.PyJWKClientError(f"the provider's JWKS has no key {kid!r}")

    def refresh_after_failure(self) -> bool:
        """After a signature that did not verify with an unnamed key: the set is fetched
        again (if not just fetched); true if it was."""
        if not self._may_refresh():
            return False
        self._current(refresh=True)
        return True

    def _match(self, keys: list[jwt.PyJWK], kid: str | None) -> jwt.PyJWK | None:
        if kid is None:
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    def _may_refresh(self) -> bool:
        # Only fetches caused by unknown keys count: the first after a rotation is at once.
        return self._clock() - self._refreshed_at >= REFRESH_EVERY

    def _current(self, refresh: bool = False) -> list[jwt.PyJWK]:
        with self._lock:
            now = self._clock()
            refresh = refresh and self._may_refresh()
            if self._keys is None or refresh or now - self._fetched_at >= KEEP_FOR:
                if refresh:
                    self._refreshed_at = now
                self._keys = _signing_keys(self._fetch())
                self._fetched_at = now
                self.fetches += 1
            return self._keys


def _signing_keys(document: Any) -> list[jwt.PyJWK]:
    """The set's keys for signatures (those marked for encryption, or of a type this node
    cannot use, are left out)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise jwt.PyJWKClientError("the provider's JWKS is not a JSON object with `keys`")
    keys = []
    for item in document["keys"]:
        if not isinstance(item, dict) or item.get("use", "sig") != "sig":
            continue
        try:
            keys.append(jwt.PyJWK(item))
        except jwt.PyJWTError:
            continue
    if not keys:
        raise jwt.PyJWKClientError("the provider's JWKS holds no signing key")
    return keys


def fetched_from(address: str, timeout: float = 10.0) -> Callable[[], Any]:
    """A fetch of the JWKS at `address` (`HOMEWARD_JWKS_URL`), trusting the system's CAs."""

    def fetch() -> Any:
        request = Request(address, headers={"Accept": "application/json"})
        try:
            with urlopen(request, timeout=timeout) as response:  # noqa: S310 (https only)
                return json.loads(response.read(MAX_DOCUMENT))
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise jwt.PyJWKClientConnectionError(
                f"the JWKS cannot be read at {address}: {reason}") from None

    return fetch
