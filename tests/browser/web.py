"""Real pages in a real browser: Debian's Chromium driven through its own chromedriver (no
browser or driver is downloaded), two agency nodes served over HTTP on free ports, and
axe-core injected from the copy `make` fetched from the npm registry."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from services.api.app import create_monitor_app
from services.api.identity.auth import issue
from services.api.web.languages import languages
from services.bootstrap import build_monitor, jwt_secret
from services.clock import FixedClock
from services.settings import load
from tests.harness.support import missing_service

SHOTS = os.environ.get("HOMEWARD_SCREENSHOTS")  # a folder: `make screenshots` sets docs/...
CHROMIUM = Path(os.environ.get("HOMEWARD_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("HOMEWARD_CHROMEDRIVER", "/usr/bin/chromedriver"))
AXE = Path(__file__).resolve().parents[2] / "build" / "axe-core" / "axe.min.js"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1360,1000", "--lang=en"]
WAIT = 20.0


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app on a free port of 127.0.0.1 until the block ends; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the page server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


@contextmanager
def chromium(profile: Path, flags: tuple[str, ...] = ()) -> Iterator[WebDriver]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        missing_service(f"no {CHROMIUM} or {CHROMEDRIVER}: apt-get install chromium "
                        "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, *flags, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # A driver path given: Selenium Manager is not asked to find (or fetch) one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def monitor_pages(tmp_path: Path, now: datetime, milestones: list[tuple[str, dict[str, Any]]],
                  ) -> Iterator[tuple[Browser, str, str]]:
    """A monitor node on a clock stopped at `now` that has recorded `milestones`, served,
    with Chromium and a monitor's token: the browser, the node's URL and the token."""
    settings = load(agency="monitor", data_dir=tmp_path / "monitor")
    node = build_monitor(settings, FixedClock(now))
    node.view.record(milestones)
    token = issue(jwt_secret(settings), "monitor-1", "monitor", ["monitor"], datetime.now(UTC))
    try:
        with chromium(tmp_path / "profile") as driver, serving(create_monitor_app(node)) as url:
            yield Browser(driver, Path(SHOTS) if SHOTS else None), url, token
    finally:
        node.close()


class Browser:
    """One tab, with the few moves a caseworker makes."""

    def __init__(self, driver: WebDriver, shots: Path | None) -> None:
        self.driver, self.shots = driver, shots

    def wait(self, condition: Any, timeout: float = WAIT) -> Any:
        """Until `condition` holds; an element the page re-rendered under it is looked up
        again on the next try rather than failing the wait."""
        return WebDriverWait(self.driver, timeout,
                             ignored_exceptions=(StaleElementReferenceException,)
                             ).until(condition)

    def find(self, css: str) -> WebElement:
        return self.wait(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css)
                                         if e.is_displayed()), None))

    def choose(self, css: str, value: str) -> None:
        """Picks `value` in the select at `css`: a select the page redrew between being
        found and being used is found again."""
        def chosen(driver: Any) -> bool:
            Select(self.find(css)).select_by_value(value)
            return True
        self.wait(chosen)

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    def corridors(self, url: str, token: str, lang: str) -> dict[str, str]:
        """The monitor's corridors page at `url`, in `lang`, signed in with `token`: the
        page's strings in that language."""
        self.open(f"{url}/ui/corridors?lang={lang}")
        self.sign_in(token)
        return languages()[lang].strings

    def sign_in(self, token: str) -> None:
        self.find("#token").send_keys(token)
        self.find("#signin button[type=submit]").click()
        self.find("#main")

    def text(self, css: str) -> str:
        return self.find(css).text

    def unfold_step(self, step: str) -> WebElement:
        """A step's form on the case page, unfolded with the phase it is grouped under."""
        self.driver.execute_script(
            "const s = document.querySelector(arguments[0]);"
            "const phase = s && s.closest('details.phase'); if (phase) phase.open = true;",
            f'details[data-step="{step}"]')
        details = self.find(f'details[data-step="{step}"]')
        if details.get_attribute("open") is None:
            details.find_element(By.TAG_NAME, "summary").click()
        return details

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        if field.tag_name == "select" or field.get_attribute("type") in ("date", "datetime-local"):
            self.driver.execute_script(  # typed dates depend on the browser's locale
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('change'))", field, value)
        else:
            field.clear()
            field.send_keys(value)

    def fill_consent(self, scopes: Iterable[str] = ("refer", "share_identity", "return")
                     ) -> None:
        """The consent form's fields, as a person consenting to `scopes` in English gives
        them (the form opened first)."""
        for scope in scopes:
            self.find(f"#f-consent-scopes-{scope}").click()
        self.fill("#f-consent-language", "en")
        self.fill("#f-consent-interpreter", "false")
        self.fill("#f-consent-given_by", "person")

    def record_consent(self, scopes: Iterable[str] = ("refer", "share_identity", "return")
                       ) -> None:
        """The consent recorded through its form on the case's page, in English, until the
        page says it was."""
        self.unfold_step("consent")
        self.fill_consent(scopes)
        self.find('form[data-form="f-consent"] button[type=submit]').click()
        english = languages()["en"].strings
        recorded = english["recorded"].replace("{step}", english["step.consent"])
        self.wait(lambda d: d.find_element(By.ID, "notice").text == recorded)

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not AXE.exists():
            missing_service(f"no {AXE}: `make test` fetches axe-core with npm")
        self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        self.driver.set_script_timeout(180)  # a large page on a loaded machine takes its time
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then((r) => done(JSON.stringify(r.violations)), (e) => done(String(e)));")
        violations: list[dict[str, Any]] = json.loads(result)
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in violations if v["impact"] in ("serious", "critical")]

    def screenshot(self, name: str) -> None:
        """The whole page, from its top, as a PNG in the screenshots folder (if one is set)."""
        if self.shots is None:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        self.driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur()")
        cdp = self.driver.execute_cdp_cmd  # type: ignore[attr-defined]
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        # A viewport as tall as the page: the whole of it, with no scrollbar, in either direction.
        cdp("Emulation.setDeviceMetricsOverride", {"width": 1360, "height": min(int(height), 3000),
                                                   "deviceScaleFactor": 1, "mobile": False})
        try:
            shot = cdp("Page.captureScreenshot", {"format": "png"})
        finally:
            cdp("Emulation.clearDeviceMetricsOverride", {})
        (self.shots / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
