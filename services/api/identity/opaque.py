"""Opaque access tokens: most providers' default, which only the provider can read.

Where the provider's discovery document lists an `introspection_endpoint`, the node asks
it (RFC 7662, with this client's credentials): an inactive token is refused, an active one
must have been issued by this provider to this node (its `aud` the API or the client, or
else its `client_id` this client). Where it lists none, the node asks the provider's
`userinfo_endpoint` with the token: an answer proves the token valid and says who holds
it; a refusal is a 401. Either way the claims that came back are read as a token's are
(`ClaimMap`), and the answer is kept for at most `KEEP_AT_MOST` and never past the token's
own `exp`, so a page's refreshes do not each cost a call to the provider. A refusal is kept
`REFUSAL_KEPT`, so the same made-up token sent again and again costs one call.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from services.api.identity.claims import TokenCheckUnavailable, Unauthorized
from services.api.web.oidc import Provider, SigninRefused

KEEP_AT_MOST = 300.0  # seconds an answer about a token is kept
REFUSAL_KEPT = 30.0  # seconds a refusal is kept
KEPT_TOKENS = 10_000  # answers kept at most (the oldest go first)


class OpaqueTokens:
    def __init__(self, provider: Provider, clock: Callable[[], float] = time.time) -> None:
        self.provider, self.clock = provider, clock
        # A token's digest: until when, and its claims or the refusal's reason.
        self._kept: dict[bytes, tuple[float, dict[str, Any] | str]] = {}
        self._lock = threading.Lock()
        self.asked = 0  # calls made to the provider

    def claims(self, token: str) -> dict[str, Any]:
        digest = hashlib.sha256(token.encode()).digest()
        now = self.clock()
        with self._lock:
            kept = self._kept.get(digest)
        if kept is not None and kept[0] > now:
            if isinstance(kept[1], str):
                raise Unauthorized(kept[1])
            return kept[1]
        try:
            claims = self._ask(token)
            expires = claims.get("exp")
            if isinstance(expires, int | float) and expires <= now:
                raise Unauthorized("the token has expired")
        except TokenCheckUnavailable:
            raise
        except Unauthorized as refused:
            self._keep(digest, now + REFUSAL_KEPT, str(refused), now)
            raise
        until = now + KEEP_AT_MOST
        if isinstance(expires, int | float):
            until = min(until, float(expires))
        self._keep(digest, until, claims, now)
        return claims

    def _keep(self, digest: bytes, until: float, answer: dict[str, Any] | str, now: float
              ) -> None:
        with self._lock:
            if len(self._kept) >= KEPT_TOKENS:
                self._forget(now)
            self._kept[digest] = (until, answer)

    def _forget(self, now: float) -> None:
        for digest in [d for d, (until, _) in self._kept.items() if until <= now]:
            del self._kept[digest]
        while len(self._kept) >= KEPT_TOKENS:
            del self._kept[next(iter(self._kept))]

    def _ask(self, token: str) -> dict[str, Any]:
        try:
            found = self.provider.discovery()
            self.asked += 1
            if found.introspection_endpoint:
                return self._introspected(self.provider.introspect(token))
            if found.userinfo_endpoint:
                return self._userinfo(self.provider.userinfo(token))
        except SigninRefused as error:
            if error.status == 401:
                raise Unauthorized(error.detail) from None
            raise TokenCheckUnavailable(f"the token cannot be checked now: {error.detail}"
                                        ) from None
        raise Unauthorized("the token is opaque, and the provider's discovery document lists "
                           "neither an introspection_endpoint nor a userinfo_endpoint to "
                           "check it; have the provider issue JWT access tokens")

    def _introspected(self, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise TokenCheckUnavailable("the provider's introspection answer is not a JSON "
                                        "object")
        if answer.get("active") is not True:
            raise Unauthorized("the provider reports the token inactive (expired, revoked "
                               "or not its own)")
        issuer = answer.get("iss")
        if issuer is not None and issuer != self.provider.issuer:
            raise Unauthorized(f"the token's issuer is not {self.provider.issuer!r}")
        audiences = answer.get("aud")
        audiences = audiences if isinstance(audiences, list) else (
            [audiences] if audiences is not None else [])
        ours = {self.provider.client_id, self.provider.audience}
        if audiences and not ours.intersection(audiences):
            raise Unauthorized(f"the token is not for this node (its aud is {audiences!r})")
        client = answer.get("client_id")
        if not audiences and client is not None and client != self.provider.client_id:
            raise Unauthorized(f"the token was issued to another client ({client!r})")
        return answer

    def _userinfo(self, answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise TokenCheckUnavailable("the provider's userinfo answer is not a JSON object")
        return answer
