"""Request bodies: at most 64 KiB, and JSON; a document uploaded to a case (the file
itself, as sent) at most 10 MiB.

The body is read here once, before any route: a declared Content-Length over
the limit is refused unread, a streamed body is refused as soon as it passes the
limit. The buffered body is kept in the scope for the idempotency layer.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.http.problems import problem

MAX_BODY = 64 * 1024
MAX_UPLOAD = 10 * 1024 * 1024  # a document's content (services/api/documents.py)
UPLOAD = re.compile(r"^/v1/cases/[^/]+/documents$")  # the one route whose body is a file
BODY = "homeward.body"
MAX_IDEMPOTENCY_KEY = 255  # characters of an Idempotency-Key (replay.py, deps.py, steps.py)


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and UPLOAD.match(scope["path"]) is not None
        limit = MAX_UPLOAD if upload else self.limit
        refusal = self._declared(scope, limit)
        body = b""
        if refusal is None:
            body, refusal = await self._read(receive, limit)
        if refusal is None and scope["method"] == "POST" and body and not upload:
            refusal = _not_json(body)
        if refusal is not None:
            status, detail, slug = refusal
            await problem(status, detail, slug=slug)(scope, receive, send)
            return
        scope[BODY] = body
        if scope["method"] == "POST" and body and not upload:
            # A JSON body is read as JSON whatever Content-Type the client sent.
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope["headers"].append((b"content-type", b"application/json"))
        await self.app(scope, _replay(body, receive), send)

    def _declared(self, scope: Scope, limit: int) -> tuple[int, str, str] | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    return 400, "Content-Length is not a number", "bad-length"
                if int(value) > limit:
                    return 413, f"the body is over {limit} bytes", "too-large"
        return None

    async def _read(self, receive: Receive,
                    limit: int) -> tuple[bytes, tuple[int, str, str] | None]:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", (413, f"the body is over {limit} bytes", "too-large")
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
