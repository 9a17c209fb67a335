"""Pages for people: the agency's status board, a case's page with its forms, the opening
form, and the monitor's corridor view.

Each page is one self-contained HTML document (inline CSS and script, nothing fetched from
another origin) that holds no case data: it asks for a bearer token and reads the same API
everyone else does, so it can show nothing the API would not, and its forms post to the
same routes. Its inline script and style are allowed by their SHA-256 hashes in the
Content-Security-Policy, so no other script can run in it, and it renders every value with
textContent, never as markup. Its words come from the language's file (languages.py): the
template's own as `{{t:key}}`, the script's from /ui/i18n/<lang>.json.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from events.values import Status
from services.api.http.problems import Problem
from services.api.policy import PUBLIC, require
from services.api.web.languages import COOKIE, I18N, Language, choose, languages

UI = I18N.parent
YEAR = 365 * 24 * 3600
# Which shared scripts each page runs, before its own.
SCRIPTS = {"board": ["common"], "corridors": ["common", "charts", "trends"],
           "case": ["common", "forms", "lanes", "casefiles", "transfer"],
           "new": ["common", "forms"]}
NAV = {"board": "/ui/board", "new": "/ui/cases/new"}


def source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _translate(template: str, language: Language) -> str:
    return re.sub(r"\{\{t:([a-z0-9_.-]+)\}\}", lambda m: html.escape(language.text(m[1])),
                  template)


def _languages(current: Language) -> str:
    return "".join(
        f'<a href="?lang={code}" hreflang="{code}" lang="{code}"'
        + (' aria-current="true"' if code == current.code else "")
        + f">{html.escape(lang.name)}</a>" for code, lang in languages().items())


def _nav(name: str, language: Language) -> str:
    if name == "corridors":
        return ""
    return "".join(f'<a href="{href}"' + (' aria-current="page"' if page == name else "")
                   + f">{html.escape(language.text('nav.' + page))}</a>"
                   for page, href in NAV.items())


# How a page asks for its token: pasted (development), or from the agency's provider.
SIGNIN = {
    "token": ('  <p>{{signin_help}}</p>\n'
              '  <label for="token">{{t:signin.token}}</label>\n'
              '  <input id="token" type="password" autocomplete="off" spellcheck="false" '
              'required>\n  <button type="submit">{{t:signin.button}}</button>',
              "{{t:signin.forget}}"),
    "oidc": ('  <p>{{t:signin.help.oidc}}</p>\n'
             '  <p><a id="signin-provider" class="button" href="/ui/signin">'
             '{{t:signin.provider}}</a></p>', "{{t:signin.signout}}"),
}


@cache
def page(name: str, code: str, signin: str = "token") -> tuple[str, dict[str, str]]:
    """The page in a language, signing in by pasted token or single sign-on (`oidc`): its
    HTML and its headers (the CSP holds its hashes)."""
    language = languages()[code]
    style = (UI / "common.css").read_text() + (UI / f"{name}.css").read_text()
    script = "".join((UI / f"{part}.js").read_text() for part in [*SCRIPTS[name], name])
    options = "".join(f'<option value="{s.value}">{html.escape(language.text("status." + s.value))}'
                      "</option>" for s in Status)
    side = "monitor" if name == "corridors" else "agency"
    body = ((UI / "layout.html").read_text()
            .replace("{{signin_form}}", SIGNIN[signin][0]).replace("{{forget}}", SIGNIN[signin][1])
            .replace("{{signin_mode}}", signin)
            .replace("{{content}}", (UI / f"{name}.html").read_text().rstrip("\n"))
            .replace("{{title}}", f"{{{{t:page.{name}}}}}")
            .replace("{{signin_help}}", f"{{{{t:signin.help.{side}}}}}")
            .replace("{{nav}}", _nav(name, language))
            .replace("{{languages}}", _languages(language))
            .replace("{{lang}}", language.code).replace("{{dir}}", language.dir)
            .replace("{{statuses}}", " ".join(s.value for s in Status))
            .replace("{{status_options}}", options))
    body = _translate(body, language).replace("{{style}}", style).replace("{{script}}", script)
    policy = "; ".join([
        "default-src 'self'",
        f"script-src {source_hash(script)}",
        f"style-src {source_hash(style)}",
        "connect-src 'self'",  # the API of the node that served the page, nothing else
        "img-src 'self' blob:",  # an auditor's export is a blob the page made
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",  # every form is handled by the script, never submitted
        "frame-ancestors 'none'",
    ])
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Content-Language": language.code,
        "Vary": "Accept-Language, Cookie",
    }
    return body, headers


Lang = Annotated[str | None, Query(max_length=12, description="en, fr, es, ar...")]
# Read as they come: `choose` takes only a language it has, so no value can fail a page.
Remembered = Annotated[str | None, Cookie(alias=COOKIE)]
Accept = Annotated[str | None, Header(alias="Accept-Language")]


@dataclass(frozen=True)
class Asked:
    """The language a page's request asks for: `?lang=`, the one this browser was given
    before, its Accept-Language."""

    lang: str | None
    remembered: str | None
    accept: str | None


async def _asked(lang: Lang = None, remembered: Remembered = None,
                 accept: Accept = None) -> Asked:
    return Asked(lang, remembered, accept)


AskedDep = Annotated[Asked, Depends(_asked)]


def _respond(request: Request, name: str, asked: Asked) -> HTMLResponse:
    language = choose(asked.lang, asked.remembered, asked.accept)
    signin = "oidc" if request.app.state.node.signin is not None else "token"
    body, headers = page(name, language.code, signin)
    response = HTMLResponse(body, headers=headers)
    if asked.lang == language.code and asked.lang != asked.remembered:  # remember it here
        response.set_cookie(COOKIE, language.code, max_age=YEAR, path="/ui", httponly=True,
                            samesite="strict")
    return response


# The pages hold no case data: anyone may load them; their data needs a token.
router = APIRouter(tags=["pages"], include_in_schema=False, dependencies=[require(PUBLIC)])
monitor_router = APIRouter(tags=["pages"], include_in_schema=False,
                           dependencies=[require(PUBLIC)])


@router.get("/ui/board", response_class=HTMLResponse)
def status_board_page(request: Request, asked: AskedDep) -> HTMLResponse:
    """The status board and the hand-off tracker; the data comes from /v1 with a token."""
    return _respond(request, "board", asked)


@router.get("/ui/cases/new", response_class=HTMLResponse)
def opening_page(request: Request, asked: AskedDep) -> HTMLResponse:
    """The opening form, built from the schema POST /v1/cases validates with."""
    return _respond(request, "new", asked)


@router.get("/ui/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: UUID, asked: AskedDep) -> HTMLResponse:
    """A case: status, blocking items, both agencies' timeline, a form per step open now."""
    return _respond(request, "case", asked)


@monitor_router.get("/ui/corridors", response_class=HTMLResponse)
def corridors_page(request: Request, asked: AskedDep) -> HTMLResponse:
    """Per corridor: cases per status, median days per stage, overdue clocks, as charts."""
    return _respond(request, "corridors", asked)


def _strings(code: str) -> JSONResponse:
    if code not in languages():
        raise Problem(404, f"no language {code!r} here", slug="not-found")
    return JSONResponse(languages()[code].strings, headers={"Cache-Control": "no-cache"})


@router.get("/ui/i18n/{code}.json")
def strings(code: str) -> JSONResponse:
    """The words of the pages' scripts in one language."""
    return _strings(code)


@monitor_router.get("/ui/i18n/{code}.json")
def monitor_strings(code: str) -> JSONResponse:
    return _strings(code)
