"""`Idempotency-Key` on POSTs: the same key and body replay the first response,
the same key with another request is a 422.

Keys belong to the caller (agency and `sub` of a valid token), so nobody can
replay someone else's answer; a request without a valid token passes through
to be refused by the route. A replay skips the route, so it checks here what every
keyed route needs (services/api/policy.py's `may_replay`): a writer's role, of the node's
own agency; a caller whose roles were taken away since gets a 403, not the stored answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.http.limits import BODY, MAX_IDEMPOTENCY_KEY
from services.api.http.pool import in_pool
from services.api.http.problems import problem
from services.api.identity.auth import TokenVerifier, Unauthorized
from services.api.policy import REPLAY_REFUSAL, may_replay
from services.clock import Clock
from services.tables.idempotency import Idempotency, Stored, Verdict


class IdempotentPosts:
    def __init__(self, app: ASGIApp, tokens: TokenVerifier, store: Idempotency,
                 clock: Clock, agency: str) -> None:
        self.app, self.tokens, self.store, self.clock = app, tokens, store, clock
        self.agency = agency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not any(
                name == b"idempotency-key" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers["idempotency-key"]
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            errors = [{"field": "Idempotency-Key",
                       "message": f"1 to {MAX_IDEMPOTENCY_KEY} printable chars"}]
            await problem(422, "bad Idempotency-Key", slug="invalid", errors=errors)(
                scope, receive, send)
            return
        try:
            who = await self.tokens.principal_of(headers.get("authorization"))
        except Unauthorized:
            await self.app(scope, receive, send)
            return
        owner, fingerprint = f"{who.agency}/{who.sub}", _fingerprint(scope)
        outcome = await in_pool(self.store.begin, owner, key, fingerprint, self.clock.now())
        if outcome.verdict is Verdict.NEW:
            await self._run(owner, key, scope, receive, send)
        elif outcome.verdict is Verdict.REPLAY and outcome.stored is not None:
            if not may_replay(who, self.agency):
                await problem(403, REPLAY_REFUSAL, slug="forbidden")(scope, receive, send)
                return
            await _send(outcome.stored, send)
        elif outcome.verdict is Verdict.MISMATCH:
            detail = "this Idempotency-Key was used with another request"
            errors = [{"field": "Idempotency-Key", "message": detail}]
            await problem(422, detail, slug="idempotency-key-reused", errors=errors)(
                scope, receive, send)
        else:
            await problem(409, "a request with this Idempotency-Key is still running",
                          slug="idempotency-key-busy")(scope, receive, send)

    async def _run(self, owner: str, key: str, scope: Scope, receive: Receive,
                   send: Send) -> None:
        response = Stored(0, [], b"")

        async def capture(message: Message) -> None:
            nonlocal response
            if message["type"] == "http.response.start":
                pairs = [(k.decode("latin-1"), v.decode("latin-1"))
                         for k, v in message.get("headers", [])]
                response = Stored(message["status"], pairs, b"")
            elif message["type"] == "http.response.body":
                response = Stored(response.status, response.headers,
                                  response.body + message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # Only a command that took effect is kept: a refused one changed nothing,
            # so sending it again simply asks again.
            if 200 <= response.status < 300:
                await in_pool(self.store.finish, owner, key, response)
            else:
                await in_pool(self.store.abandon, owner, key)


def _fingerprint(scope: Scope) -> str:
    body: bytes = scope.get(BODY, b"")
    with contextlib.suppress(ValueError):  # the same JSON, however spaced, is the same request
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    request = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode()}"
    return hashlib.sha256(request.encode() + b"\n" + body).hexdigest()


async def _send(stored: Stored, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
