"""A link carrying a token (/ui/board#token=...) signs nobody in by itself: the page takes
the token out of the address, asks "sign in as <sub> of <agency>?", and uses it only on a
yes; on a no it is dropped, and whoever was signed in stays signed in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from services.api.app import create_app
from services.api.node import Node
from services.api.web.languages import languages
from services.bootstrap import build_node, mint
from services.settings import load
from tests.browser.web import SHOTS, Browser, chromium, serving
from tests.harness.http_nodes import XA

EN = languages()["en"].strings


@dataclass
class Board:
    browser: Browser
    url: str
    node: Node
    app: FastAPI

    def token(self, sub: str) -> str:
        return mint(self.node.settings, sub, ["caseworker"])

    def stored(self) -> str | None:
        token: str | None = self.browser.driver.execute_script(
            "return sessionStorage.getItem('homeward-token')")
        return token

    def api_reads(self) -> int:
        """Requests the page made to the case list (under whatever token it held)."""
        exposition = self.app.state.metrics.exposition().decode()
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in exposition.splitlines()
                   if line.startswith("homeward_http_requests_total{")
                   and 'route="/v1/cases"' in line)


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Board]:
    node = build_node(load(agency=XA, data_dir=tmp_path / "xa"))
    app = create_app(node)
    try:
        with chromium(tmp_path / "profile") as driver, serving(app) as url:
            yield Board(Browser(driver, Path(SHOTS) if SHOTS else None), url, node, app)
    finally:
        node.close()


def question(who: str) -> str:
    return EN["signin.offered.question"].replace("{who}", who).replace("{agency}", XA)


def test_a_link_with_a_token_signs_nobody_in_until_the_reader_says_yes(board: Board) -> None:
    b, mallory = board.browser, board.token("xa-mallory")
    b.open(f"{board.url}/ui/board?lang=en#token={mallory}")
    assert b.text("#offered-who") == question("xa-mallory")
    assert "#" not in b.driver.current_url  # out of the address bar at once
    assert board.stored() is None and board.api_reads() == 0
    assert not b.driver.find_element("id", "main").is_displayed()
    violations = b.axe()
    assert violations == [], violations

    b.find("#offered-decline").click()
    b.find("#token")  # the ordinary sign-in: nobody is signed in
    assert board.stored() is None and board.api_reads() == 0
    b.open(f"{board.url}/ui/board?lang=en")  # the token is gone for good
    b.find("#token")
    assert not b.driver.find_element("id", "offered").is_displayed()


def test_the_reader_who_says_yes_is_signed_in_as_the_identity_the_link_names(
        board: Board) -> None:
    b, anna, bob = board.browser, board.token("xa-anna"), board.token("xa-bob")
    b.open(f"{board.url}/ui/board?lang=en")
    b.sign_in(anna)
    assert b.text("#who") == EN["signin.as"].replace("{who}", "xa-anna")

    # A link with someone else's token, declined: still Anna, and the tab keeps her token.
    b.open(f"{board.url}/ui/board?lang=en#token={bob}")
    assert b.text("#offered-who") == question("xa-bob")
    assert board.stored() == anna and not b.driver.find_element("id", "who").is_displayed()
    b.find("#offered-decline").click()
    b.find("#main")
    assert b.text("#who") == EN["signin.as"].replace("{who}", "xa-anna")
    assert board.stored() == anna

    # The same link, accepted: now Bob, and the board is read with his token.
    b.open(f"{board.url}/ui/board?lang=en#token={bob}")
    b.find("#offered-accept").click()
    b.find("#main")
    assert b.text("#who") == EN["signin.as"].replace("{who}", "xa-bob")
    assert board.stored() == bob and "#" not in b.driver.current_url
    violations = b.axe()
    assert violations == [], violations


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_the_question_keeps_each_name_whole_on_one_line_in_any_language(
        board: Board, lang: str) -> None:
    b = board.browser
    b.driver.set_window_size(360, 800)  # a phone: the line ends near the agency code
    b.open(f"{board.url}/ui/board?lang={lang}#token={board.token('xa-a-rather-long-name')}")
    b.find("#offered-who")
    values = b.driver.execute_script(
        "return [...document.querySelectorAll('#offered-who bdi')].map("
        "(e) => [e.textContent, e.getClientRects().length]);")
    assert sorted(v[0] for v in values) == sorted(["xa-a-rather-long-name", XA])
    assert all(lines == 1 for _, lines in values), values  # no name broken across lines
    strings = languages()[lang].strings["signin.offered.question"]
    assert b.text("#offered-who") == strings.replace(
        "{who}", "xa-a-rather-long-name").replace("{agency}", XA)
