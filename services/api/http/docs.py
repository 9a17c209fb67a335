"""The interactive API docs (/docs, Swagger UI; /redoc, ReDoc): off unless
HOMEWARD_API_DOCS=on. `/openapi.json` is always served.

Both pages run a third party's script on the API's own origin, where people paste tokens.
So they are opt-in, and when on each script is one exact file (a pinned version, checked
by its Subresource Integrity hash: a changed file does not run), under a
Content-Security-Policy that allows only those files and the page's own inline script,
and lets the page talk to this node alone.
"""

from __future__ import annotations

import html
import json

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from services.api.policy import PUBLIC, require
from services.api.web.pages import source_hash

CDN = "https://cdn.jsdelivr.net/npm"
SWAGGER_JS = (f"{CDN}/swagger-ui-dist@5.17.14/swagger-ui-bundle.js",
              "sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep")
SWAGGER_CSS = (f"{CDN}/swagger-ui-dist@5.17.14/swagger-ui.css",
               "sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn")
REDOC_JS = (f"{CDN}/redoc@2.1.5/bundles/redoc.standalone.js",
            "sha384-0GrsyTQc9Oqd8h+b2dbc4XdR2T/DYpy0tLNNstyx+LBMUyiBbcWPbEs9aRmUcaxD")


def policy(scripts: list[str], styles: list[str], inline_script: str | None) -> str:
    own = [source_hash(inline_script)] if inline_script is not None else []
    return "; ".join([
        "default-src 'none'",
        "script-src " + " ".join([*own, *scripts]),
        # Both libraries set style attributes and ReDoc writes its own <style> elements.
        "style-src " + " ".join([*styles, "'unsafe-inline'"]),
        "connect-src 'self'",  # the OpenAPI document and "try it out": this node only
        "img-src 'self' data:",
        "worker-src blob:",  # ReDoc's search index
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def _respond(body: str, csp: str) -> HTMLResponse:
    return HTMLResponse(body, headers={
        "Content-Security-Policy": csp, "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY"})


def _tag(kind: str, source: tuple[str, str]) -> str:
    url, integrity = source
    if kind == "script":
        return (f'<script src="{url}" integrity="{integrity}" crossorigin="anonymous" '
                'referrerpolicy="no-referrer"></script>')
    return (f'<link rel="stylesheet" href="{url}" integrity="{integrity}" '
            'crossorigin="anonymous" referrerpolicy="no-referrer">')


def swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    start = ("SwaggerUIBundle({url: " + json.dumps(openapi_url) + ', dom_id: "#swagger-ui", '
             "layout: \"BaseLayout\", deepLinking: true, validatorUrl: null});")
    body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="referrer" content="no-referrer">'
            f"<title>{html.escape(title)} · API</title>{_tag('link', SWAGGER_CSS)}</head>"
            f'<body><div id="swagger-ui"></div>{_tag("script", SWAGGER_JS)}'
            f"<script>{start}</script></body></html>")
    return _respond(body, policy([SWAGGER_JS[0]], [SWAGGER_CSS[0]], start))


def redoc_page(title: str, openapi_url: str) -> HTMLResponse:
    body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="referrer" content="no-referrer">'
            f"<title>{html.escape(title)} · API</title></head>"
            f'<body><redoc spec-url="{html.escape(openapi_url)}"></redoc>'
            f"{_tag('script', REDOC_JS)}</body></html>")
    return _respond(body, policy([REDOC_JS[0]], [], None))


def install(app: FastAPI, on: bool) -> None:
    """Adds /docs and /redoc when the setting asks for them (the app is made without)."""
    if not on:
        return
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False, dependencies=[require(PUBLIC)])
    def swagger() -> HTMLResponse:
        return swagger_page(app.title, openapi_url)

    @app.get("/redoc", include_in_schema=False, dependencies=[require(PUBLIC)])
    def redoc() -> HTMLResponse:
        return redoc_page(app.title, openapi_url)
