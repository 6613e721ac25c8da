"""The dashboard in a real browser: Debian's Chromium driven by Playwright, headless.

One browser for the module and one seeded shop (``tests.e2e.test_dashboard``'s: stock polled
from a file that drains, alerts raised by the evaluator, a dead letter, two threshold
versions), served by ``create_app`` on loopback behind the login (a user with a password).
Screenshots go to ``tests/artifacts/`` (gitignored). Required when CI is set; skipped with a
reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.accounts import Role
from stockwatch.core.model import Basis, TierLevels
from stockwatch.entrypoints.web.app import create_app
from stockwatch.entrypoints.web.security import WebSecurity
from stockwatch.ports import NewThreshold, ThresholdStatus
from stockwatch.wiring.accounts import build_accounts
from tests.conftest import sqlite_engine_at
from tests.e2e.test_dashboard import DRAGON, GLOBE, HOSTILE, T0, Clock, _deps, _seed
from tests.servers import serve

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
USER, PASSWORD = "otto", "correct horse battery"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - dev dependency
    sync_playwright = None  # type: ignore[assignment]


def _require_browser() -> None:
    missing = (
        "playwright is not installed"
        if sync_playwright is None
        else f"{CHROMIUM} is missing (make install puts it there)"
        if not Path(CHROMIUM).exists()
        else None
    )
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests are required in CI: {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SqlStore, Clock]]:
    _require_browser()
    tmp = tmp_path_factory.mktemp("shop")
    engine: Engine = sqlite_engine_at(tmp / "stockwatch.sqlite3")
    metadata.create_all(engine)
    store, clock = SqlStore(engine), Clock()
    asyncio.run(_seed(engine, store, clock, tmp))
    clock.now = T0 + timedelta(hours=3)
    held = TierLevels(200, 120, 40, 16.0, Basis("fixed"))
    SqlThresholdStore(engine).save(
        [NewThreshold(GLOBE, held, ThresholdStatus.REVIEW, "T2 ×3.3")], clock()
    )
    accounts = build_accounts(engine, fast_hash=True)
    accounts.add_user(USER, PASSWORD, Role.OPERATOR, clock())
    deps = replace(_deps(store, clock), security=WebSecurity(accounts=accounts, clock=clock))
    with serve(create_app(deps)) as url:
        yield url, store, clock
    engine.dispose()


@pytest.fixture(scope="module")
def page(site: tuple[str, SqlStore, Clock]) -> Iterator[Page]:
    assert sync_playwright is not None
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        dialogs: list[str] = []
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.dialogs = dialogs  # type: ignore[attr-defined]
        url = site[0]
        tab.goto(f"{url}/")
        tab.fill("input[name=user]", USER)
        tab.fill("input[name=password]", PASSWORD)
        tab.click("#login-form button")
        tab.wait_for_selector("#items")
        yield tab
        context.close()
        browser.close()


def _shot(tab: Page, name: str) -> None:
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_after_login_the_drained_item_is_out_and_a_hostile_title_is_text(page: Page) -> None:
    first = page.locator("#items tbody tr").first
    assert first.get_attribute("data-item") == DRAGON
    assert first.get_attribute("data-tier") == "OUT"
    title = first.locator("td").nth(1).inner_text()
    assert title.startswith(HOSTILE)
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert page.evaluate("document.querySelectorAll('#items script').length") == 0
    _shot(page, "overview")


def test_the_chart_draws_on_a_canvas_with_the_levels_as_they_were(page: Page) -> None:
    page.click(f"a[href='/items/{GLOBE}']")
    page.wait_for_selector("#stock-chart canvas")  # (the page's CSP forbids wait_for_function)
    option: dict[str, Any] = page.evaluate(
        "(() => { const o = window.stockChart.getOption();"
        " return {series: o.series.map(s => ({name: s.name, data: s.data}))}; })()"
    )
    names = [s["name"] for s in option["series"]]
    assert names[1:4] == ["T1", "T2", "T3"]
    t2 = [point[1] for point in option["series"][2]["data"]]
    assert t2[0] == 30 and t2[-1] == 36  # not today's level across the whole history
    drawn = page.evaluate(
        "(() => { const c = document.querySelector('#stock-chart canvas');"
        " const x = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let ink = 0; for (let i = 3; i < x.length; i += 4) if (x[i] > 0) ink++;"
        " return {w: c.width, h: c.height, ink: ink}; })()"
    )
    assert drawn["w"] > 300 and drawn["ink"] > 1000
    _shot(page, "item-chart")


def test_acknowledge_and_mark_the_order_placed_in_place(page: Page, site: Any) -> None:
    url = site[0]
    page.goto(f"{url}/items/{DRAGON}")
    page.evaluate("window.__sameDocument = true")
    page.click("#ack-button")
    page.wait_for_selector("#acked")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    page.click("#order-button")  # the reorder task's quantity, ordered now
    order = page.wait_for_selector("[data-order]")
    assert order is not None and "#" in order.inner_text()
    said = page.inner_text("#flash")  # the order acknowledged the alert, and it says so
    assert "到货前不再提醒" in said or "no reminders while the goods come" in said, said
    assert page.evaluate("window.__sameDocument") is True
    page.goto(f"{url}/items/{DRAGON}")  # the chart marks the order: placed and expected
    page.wait_for_selector("#stock-chart canvas")
    marks = page.evaluate(
        "window.stockChart.getOption().series[0].markLine.data.map(m => m.name || m[0].name)"
    )
    assert any(m.endswith("ETA") for m in marks) and any("+" in m for m in marks), marks
    assert "acked" in page.inner_text("#item-state") or "已确认" in page.inner_text("#item-state")
    _shot(page, "item-acknowledged")


def test_switch_language_and_approve_a_held_threshold(page: Page, site: Any) -> None:
    url = site[0]
    page.goto(f"{url}/thresholds/review")
    page.click("#lang-switch")
    page.wait_for_selector("text=Threshold changes held for review")
    assert page.get_attribute("html", "lang") == "en"
    page.check(f"input[value^='{GLOBE}:']")
    page.click("#approve-picked")
    page.wait_for_selector("#nothing-held")
    page.goto(f"{url}/items/{GLOBE}")
    assert "200 / 120 / 40" in page.inner_text("#item-levels")
    _shot(page, "threshold-approved")


def test_the_overview_fits_a_375_px_phone(page: Page, site: Any) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{site[0]}/")
    # Wide tables scroll sideways inside their own box (.scroll); nothing else may stick out.
    sticking_out = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')"
        " && e.getBoundingClientRect().right > 376).map(e => e.tagName + '#' + e.id)"
    )
    assert sticking_out == []
    assert page.is_visible("#items") and page.is_visible("#lang-switch")
    _shot(page, "overview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def teardown_module() -> None:
    # Keep only this run's screenshots.
    if ARTIFACTS.exists() and not any(ARTIFACTS.iterdir()):
        shutil.rmtree(ARTIFACTS)
