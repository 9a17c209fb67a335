"""Single sign-on for the pages: `/ui/signin` sends the browser to the agency's OpenID
provider, `/ui/signin/callback` takes it back signed in, `/ui/signout` ends the session.

What a sign-in needs to remember between leaving and coming back (its `state`, `nonce`,
PKCE verifier and the page to return to) lives in one cookie of this browser only
(`HttpOnly`, `SameSite=Lax` so it comes back with the provider's redirect, for
`/ui/signin` only, ten minutes), so any replica of the node can finish a sign-in another
began, and a callback this browser did not start is refused (login CSRF).

The access token the code buys is handed to the page, which keeps it in the tab's
`sessionStorage` as a pasted token is kept (and the ID token beside it, only to hand back
to the provider as `id_token_hint` on signing out; the API refuses it): the API keeps
reading bearer tokens only and accepts no cookie, so no other site can make a browser call
it (no CSRF to defend), and the token is gone when the tab closes. What could read it is a
script in the page, which the pages' CSP (their own hashed scripts only, `connect-src
'self'`) rules out.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.api.http.problems import Problem
from services.api.identity.auth import Principal, Unauthorized
from services.api.node import MonitorNode
from services.api.policy import PUBLIC, require
from services.api.web.languages import COOKIE as LANGUAGE_COOKIE
from services.api.web.languages import choose
from services.api.web.oidc import Provider, SigninRefused
from services.api.web.pages import UI, source_hash

COOKIE = "homeward-signin"
COOKIE_PATH = "/ui/signin"
PENDING_SECONDS = 600  # a sign-in not finished in ten minutes starts again
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
HANDOVER = (UI / "signin.js").read_text()
REFUSAL_STYLE = (UI / "signin.css").read_text()

router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[require(PUBLIC)])

Next = Annotated[str | None, Query(max_length=512)]
Param = Annotated[str | None, Query(max_length=4096)]
Hint = Annotated[str | None, Query(max_length=16384, pattern=r"^[A-Za-z0-9_.-]+$")]


def _provider(request: Request) -> Provider:
    provider: Provider | None = request.app.state.node.signin
    if provider is None:
        raise Problem(404, "single sign-on is not configured on this node (HOMEWARD_OIDC_"
                      "ISSUER); paste a token instead", slug="not-found")
    return provider


def _home(request: Request) -> str:
    return "/ui/corridors" if isinstance(request.app.state.node, MonitorNode) else "/ui/board"


def _local(page: str | None, default: str) -> str:
    """A page of this node to come back to; anything else (another site) is the default."""
    if (page and page.startswith("/ui/") and not page.startswith("/ui/sign")
            and ".." not in page and "\\" not in page and page.isprintable()):
        return page
    return default


def _callback(request: Request, provider: Provider) -> str:
    return provider.redirect_url or str(request.url_for("signin_callback"))


def _refused(error: SigninRefused) -> Problem:
    return Problem(error.status, error.detail, slug="signin-refused")


@router.get("/ui/signin")
def begin_signin(request: Request, next: Next = None) -> Response:
    """Off to the provider, with a fresh state, nonce and PKCE verifier for this browser."""
    try:
        return _begin(request, next)
    except Problem as refused:
        return _refusal(request, refused, next)


def _begin(request: Request, next: str | None) -> Response:
    provider = _provider(request)
    pending = {"state": secrets.token_urlsafe(32), "nonce": secrets.token_urlsafe(32),
               "verifier": secrets.token_urlsafe(48), "next": _local(next, _home(request))}
    callback = _callback(request, provider)
    try:
        address = provider.authorization_url(callback, pending["state"], pending["nonce"],
                                             pending["verifier"])
    except SigninRefused as error:
        raise _refused(error) from None
    response = RedirectResponse(address, status_code=303, headers=NO_STORE)
    # Secure whenever the browser comes back over https (also behind a proxy that ends TLS).
    response.set_cookie(COOKIE, _encode(pending), max_age=PENDING_SECONDS, path=COOKIE_PATH,
                        httponly=True, samesite="lax",
                        secure=callback.startswith("https://") or request.url.scheme == "https")
    return response


@router.get("/ui/signin/callback", name="signin_callback")
def finish_signin(request: Request, code: Param = None, state: Param = None,
                  error: Param = None,
                  pending: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> Response:
    """Back from the provider: the state is this browser's, the code buys tokens with the
    verifier, the ID token carries the nonce, and the access token opens this node."""
    started = _decode(pending)
    try:
        return _finish(request, code, state, error, started)
    except Problem as refused:
        return _refusal(request, refused, started["next"] if started else None)


def _finish(request: Request, code: str | None, state: str | None, error: str | None,
            started: dict[str, str] | None) -> Response:
    provider = _provider(request)
    if started is None:
        raise Problem(400, "no sign-in was started in this browser in the last ten minutes; "
                      "open the page again to sign in", slug="signin-state")
    if error is not None:
        raise Problem(401, f"the identity provider refused the sign-in: {_printable(error)}",
                      slug="signin-refused")
    if state is None or not secrets.compare_digest(state.encode(), started["state"].encode()):
        raise Problem(400, "the sign-in's state is not the one this browser started; "
                      "open the page again to sign in", slug="signin-state")
    if not code:
        raise Problem(400, "the provider sent no authorization code", slug="signin-refused")
    try:
        tokens = provider.exchange(code, started["verifier"], _callback(request, provider))
        provider.identity(tokens["id_token"], started["nonce"])
    except SigninRefused as refused:
        raise _refused(refused) from None
    access = tokens["access_token"]
    try:
        who = request.app.state.node.tokens.principal(f"Bearer {access}")
    except Unauthorized as refused:
        raise Problem(refused.status, f"signed in at the provider, but this node does not "
                      f"accept the token: {refused}", slug="unauthorized") from None
    response = _handover(access, tokens["id_token"], who, started["next"])
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.get("/ui/signout")
def signout(request: Request, next: Next = None, id_token_hint: Hint = None) -> Response:
    """The page has forgotten its token; the provider ends its session (if it offers to,
    told whose by the sign-in's ID token) and sends the browser back to the page, which
    then waits to be signed in again."""
    try:
        return _signout(request, next, id_token_hint)
    except Problem as refused:
        return _refusal(request, refused, next)


def _signout(request: Request, next: str | None, id_token: str | None) -> Response:
    provider = _provider(request)
    # Absolute, on the address the provider knows this node by.
    back = _origin(_callback(request, provider)) + _local(next, _home(request))
    try:
        address = provider.signout_url(back, id_token)
    except SigninRefused as error:
        raise _refused(error) from None
    return RedirectResponse(address or back, status_code=303, headers=NO_STORE)


def _refusal(request: Request, refused: Problem, next_page: str | None) -> Response:
    """A refusal as problem+json; for a browser asking for a page, the same status as a page
    in its language that says what went wrong and offers to sign in again."""
    if "text/html" not in request.headers.get("accept", ""):
        raise refused
    language = choose(None, request.cookies.get(LANGUAGE_COOKIE),
                      request.headers.get("accept-language"))
    again = "/ui/signin?" + urlencode({"next": _local(next_page, _home(request))})
    title = html.escape(language.text("signin.failed"))
    link = (f'<p><a class="button" href="{html.escape(again)}">'
            f'{html.escape(language.text("signin.again"))}</a></p>'
            if request.app.state.node.signin is not None else "")
    body = (f'<!doctype html><html lang="{language.code}" dir="{language.dir}"><head>'
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
            'initial-scale=1"><meta name="referrer" content="no-referrer">'
            f"<title>{title} · Homeward</title><style>{REFUSAL_STYLE}</style></head><body>"
            f'<main class="signin"><h1>{title}</h1>'
            f'<p role="alert" class="detail">{html.escape(refused.detail)}</p>{link}</main>'
            "</body></html>")
    policy = (f"default-src 'none'; style-src {source_hash(REFUSAL_STYLE)}; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
    return HTMLResponse(body, status_code=refused.status, headers={
        **NO_STORE, "Content-Security-Policy": policy, "Content-Language": language.code})


def _origin(address: str) -> str:
    scheme, _, rest = address.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _handover(token: str, id_token: str, who: Principal, next_page: str) -> HTMLResponse:
    """A page that puts the tokens in the tab's sessionStorage and goes on to `next_page`,
    replacing itself in the history (the callback's address is not kept). With them goes
    who the node found the access token to be: an opaque token says nothing to the page, and
    a provider's roles may be elsewhere in it or named otherwise; the page shows that, and
    chooses what to offer by it (the API decides)."""
    found = json.dumps({"sub": who.sub, "agency": who.agency,
                        "roles": sorted(role.value for role in who.roles)})
    body = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="referrer" content="no-referrer"><title>Homeward</title></head>'
            f'<body data-token="{html.escape(token)}" data-next="{html.escape(next_page)}" '
            f'data-id-token="{html.escape(id_token)}" data-who="{html.escape(found)}">'
            f"<script>{HANDOVER}</script></body></html>")
    policy = (f"default-src 'none'; script-src {source_hash(HANDOVER)}; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
    return HTMLResponse(body, headers={**NO_STORE, "Content-Security-Policy": policy})


def _encode(pending: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(pending).encode()).decode().rstrip("=")


def _decode(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        return None
    names = ("state", "nonce", "verifier", "next")
    if not isinstance(data, dict) or not all(isinstance(data.get(n), str) for n in names):
        return None
    if _local(data["next"], "") != data["next"]:  # only this node's pages, as made
        return None
    return {n: data[n] for n in names}


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:80]

