"""Request bodies: at most 64 KiB, and JSON.

The body is read here once, before any route: a declared Content-Length over
the limit is refused unread, a streamed body is refused as soon as it passes the
limit. The buffered body is kept in the scope for the idempotency layer.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.problems import problem

MAX_BODY = 64 * 1024
BODY = "homeward.body"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._declared(scope)
        body = b""
        if refusal is None:
            body, refusal = await self._read(receive)
        if refusal is None and scope["method"] == "POST" and body:
            refusal = _not_json(body)
        if refusal is not None:
            status, detail, slug = refusal
            await problem(status, detail, slug=slug)(scope, receive, send)
            return
        scope[BODY] = body
        if scope["method"] == "POST" and body:
            # A JSON body is read as JSON whatever Content-Type the client sent.
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope["headers"].append((b"content-type", b"application/json"))
        await self.app(scope, _replay(body, receive), send)

    def _declared(self, scope: Scope) -> tuple[int, str, str] | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    return 400, "Content-Length is not a number", "bad-length"
                if int(value) > self.limit:
                    return 413, f"the body is over {self.limit} bytes", "too-large"
        return None

    async def _read(self, receive: Receive) -> tuple[bytes, tuple[int, str, str] | None]:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return b"", (413, f"the body is over {self.limit} bytes", "too-large")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks), None


def _not_json(body: bytes) -> tuple[int, str, str] | None:
    try:
        json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        return 400, "the body is not JSON", "not-json"
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
