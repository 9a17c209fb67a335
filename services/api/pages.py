"""Pages for people who would rather look than read: the agency's status board and the
monitor's corridor view.

Each page is one self-contained HTML document (inline CSS and script, nothing fetched
from elsewhere) that holds no case data: it asks for a bearer token and reads the same
API everyone else does, so it can show nothing the API would not. Its inline script and
style are allowed by their SHA-256 hashes in the Content-Security-Policy, so no other
script can run in it, and it renders every value with textContent, never as markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from events.values import Status

UI = Path(__file__).parent / "ui"


@dataclass(frozen=True)
class Page:
    body: str
    headers: dict[str, str]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _assemble(name: str, title: str, heading: str, signin_help: str, signin_button: str) -> Page:
    """The shared layout around the page's own content, with the shared and its own CSS and
    script inlined."""
    style = (UI / "common.css").read_text() + (UI / f"{name}.css").read_text()
    script = (UI / "common.js").read_text() + (UI / f"{name}.js").read_text()
    options = "".join(f'<option value="{s.value}">{html.escape(s.value.replace("_", " "))}'
                      "</option>" for s in Status)
    body = ((UI / "layout.html").read_text()
            .replace("{{content}}", (UI / f"{name}.html").read_text().rstrip("\n"))
            .replace("{{title}}", html.escape(title))
            .replace("{{heading}}", html.escape(heading))
            .replace("{{signin_help}}", html.escape(signin_help))
            .replace("{{signin_button}}", html.escape(signin_button))
            .replace("{{statuses}}", " ".join(s.value for s in Status))
            .replace("{{status_options}}", options)
            .replace("{{style}}", style)
            .replace("{{script}}", script))
    policy = "; ".join([
        "default-src 'self'",
        f"script-src {_sha256(script)}",
        f"style-src {_sha256(style)}",
        "connect-src 'self'",  # the API of the node that served the page, nothing else
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",  # the token form is handled by the script, never submitted
        "frame-ancestors 'none'",
    ])
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    return Page(body, headers)


BOARD = _assemble(
    "board", "Status board", "status board",
    "Paste a bearer token of this agency (caseworker, supervisor or auditor). It is kept in "
    "this browser tab only and sent to this node's API with each request.",
    "Show the board",
)
CORRIDORS = _assemble(
    "corridors", "Corridors", "corridors",
    "Paste a monitor's bearer token. It is kept in this browser tab only and sent to this "
    "node's API with each request. The monitor sees de-identified milestones, never a person.",
    "Show the corridors",
)


def _respond(page: Page) -> HTMLResponse:
    return HTMLResponse(page.body, headers=page.headers)


router = APIRouter(tags=["pages"], include_in_schema=False)
monitor_router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/ui/board", response_class=HTMLResponse)
def status_board_page() -> HTMLResponse:
    """The status board and the hand-off tracker; the data comes from /v1 with a token."""
    return _respond(BOARD)


@monitor_router.get("/ui/corridors", response_class=HTMLResponse)
def corridors_page() -> HTMLResponse:
    """Per corridor: cases per status, median days per stage, overdue clocks."""
    return _respond(CORRIDORS)
