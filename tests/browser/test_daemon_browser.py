"""A person's morning in a real browser, against the real daemon polling the 1688 simulator.

``stockwatch run``'s ``Daemon`` polls the simulator (the project's 1688 gateway) every 0.2 s;
the test drains the duck's stock through the simulator's admin API and the breach shows up on
the overview by itself (the overview reloads its table every ``refresh_seconds``). Then: open
the chart, acknowledge, mark the order placed, receive it on the tasks board on a 375-px phone,
switch the language, approve a held threshold, and read the audit log. The duck's title is
hostile (a script tag, a template expression, an image with onerror): it must render as text.

Everything waits with Playwright's auto-waiting assertions (``expect``), never a fixed sleep.
Screenshots go to ``tests/artifacts/`` (gitignored). Required when CI is set; skipped with a
reason otherwise.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.config.settings import load_config
from stockwatch.core.accounts import Role
from stockwatch.core.model import Basis, TierLevels
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.ports import NewThreshold, ThresholdStatus
from stockwatch.wiring.accounts import build_accounts
from stockwatch.wiring.compose import build_daemon, open_database, token_store
from tests.browser.test_dashboard_browser import ARTIFACTS, CHROMIUM, FLAGS, _require_browser
from tests.e2e.daemon_setup import (
    DUCK_OFFER,
    LAMP_OFFER,
    LAMP_SKU,
    TASK_ROUTES,
    shop_catalogue,
    write_shop,
)

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - dev dependency
    sync_playwright = None  # type: ignore[assignment]

USER, PASSWORD = "mei", "correct horse battery"
DUCK, LAMP = "RUBBER-DUCK", "GLOW-LAMP"
HOSTILE = "<script>alert(1)</script>{{7*7}}<img src=x onerror=alert(2)>黄色橡皮鸭"
ITEMS = (
    f"sku,title,offer_id,sku_id\n{DUCK},{HOSTILE},{DUCK_OFFER},\n"
    f"{LAMP},夜光灯,{LAMP_OFFER},{LAMP_SKU}\n"
)
WAIT = 60_000  # ms: generous, the CI machine is loaded; expect() returns as soon as it holds


@dataclass
class Shop:
    url: str
    sim: SimulatorHandle


class DaemonThread:
    """The daemon's event loop in a thread (Playwright's sync API owns the main thread)."""

    def __init__(self, config: Path) -> None:
        self.parts = build_daemon(load_config(config), http_port=0)
        self.daemon = Daemon(self.parts)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        task = asyncio.create_task(self.daemon.run())
        await self.daemon.ready.wait()
        self.ready.set()
        await task

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(60), "the daemon did not start"
        return str(self.daemon.url)

    def __exit__(self, *_: object) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.daemon.stop.set)
        self.thread.join(30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    _require_browser()
    root = tmp_path_factory.mktemp("daemon-shop")
    with running_simulator(shop_catalogue(500, 500), qps=None) as sim:
        extra = TASK_ROUTES.replace("[[channels]]", "refresh_seconds = 2\n\n[[channels]]", 1)
        config = write_shop(root, interval=0.2, gateway=sim.base_url, extra=extra)
        (root / "items.csv").write_text(ITEMS, encoding="utf-8")
        text = config.read_text(encoding="utf-8")  # the shop works in Chinese (the default)
        config.write_text(text.replace('lang = "en"', 'lang = "zh-CN"', 1), encoding="utf-8")
        cfg = load_config(config)
        engine = open_database(cfg)  # migrated before the daemon starts
        token_store(cfg).save(sim.mint_token())
        build_accounts(engine, fast_hash=True).add_user(USER, PASSWORD, Role.OPERATOR, _now())
        held = TierLevels(200, 120, 40, 16.0, Basis("fixed"))
        SqlThresholdStore(engine).save(
            [NewThreshold(LAMP, held, ThresholdStatus.REVIEW, "T2 ×4")], _now()
        )
        engine.dispose()
        with DaemonThread(config) as url:
            yield Shop(url, sim)


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def page(shop: Shop) -> Iterator[Page]:
    assert sync_playwright is not None
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(WAIT)
        dialogs: list[str] = []
        tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        tab.dialogs = dialogs  # type: ignore[attr-defined]
        yield tab
        context.close()
        browser.close()


def _shot(tab: Page, name: str) -> None:
    tab.screenshot(path=str(ARTIFACTS / f"daemon-{name}.png"), full_page=True)


def test_log_in_and_see_the_item_breach_when_the_simulator_drains_it(
    page: Page, shop: Shop
) -> None:
    page.goto(f"{shop.url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.fill("input[name=user]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button")
    duck = page.locator(f'#items tr[data-item="{DUCK}"]')
    expect(duck).to_have_attribute("data-tier", "OK", timeout=WAIT)  # polled: 500 on the shelf
    shop.sim.set_stock(DUCK_OFFER, 3)  # 3 ≤ T3 (10): the daemon's next poll sees it
    expect(duck).to_have_attribute("data-tier", "T3", timeout=WAIT)  # no reload: it refreshes
    expect(page.locator("#items tbody tr").first).to_have_attribute("data-item", DUCK)
    # The hostile title is text: the tags and the template expression show as typed.
    expect(duck.locator("td").nth(1)).to_contain_text(HOSTILE)
    assert page.evaluate("document.querySelectorAll('#items script, #items img').length") == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    _shot(page, "overview-breach")


def test_open_the_chart_acknowledge_and_mark_the_order_placed(page: Page, shop: Shop) -> None:
    page.click(f"#items a[href='/items/{DUCK}']")
    expect(page.locator("#stock-chart canvas")).to_be_visible()
    expect(page.locator("main h2").first).to_contain_text(DUCK)
    expect(page.locator("#item-title")).to_have_text(HOSTILE)  # text, not markup
    page.evaluate("window.__sameDocument = true")
    page.click("#ack-button")
    expect(page.locator("#acked")).to_be_visible()
    page.click("#order-button")  # the reorder task's quantity, ordered now
    expect(page.locator("[data-order]").first).to_contain_text("#")
    assert page.evaluate("window.__sameDocument") is True  # both in place, no reload
    assert page.dialogs == []  # type: ignore[attr-defined]
    _shot(page, "item-acknowledged-ordered")


def test_receive_on_the_tasks_board_on_a_phone(page: Page, shop: Shop) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{shop.url}/tasks")
    ordered = page.locator('[data-column="ordered"] .line')
    expect(ordered).to_have_count(1)
    expect(ordered.first).to_contain_text(DUCK)
    sticking_out = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')"
        " && e.getBoundingClientRect().right > 376).map(e => e.tagName + '#' + e.id)"
    )
    assert sticking_out == []
    exported = page.request.get(f"{shop.url}/api/tasks/export?format=csv")
    assert exported.ok and exported.body().startswith(b"\xef\xbb\xbf")
    page.evaluate("window.__sameDocument = true")
    ordered.first.locator("button[data-action=receive]").click()
    expect(page.locator('[data-column="received"] .line')).to_contain_text(DUCK)
    expect(ordered).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True
    _shot(page, "tasks-board-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_switch_language_and_approve_the_held_threshold(page: Page, shop: Shop) -> None:
    page.goto(f"{shop.url}/thresholds/review")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Threshold changes held for review")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.check(f"input[value^='{LAMP}:']")
    page.click("#approve-picked")
    expect(page.locator("#nothing-held")).to_be_visible()
    page.goto(f"{shop.url}/items/{LAMP}")
    expect(page.locator("#item-levels")).to_contain_text("200 / 120 / 40")
    _shot(page, "threshold-approved-en")


def test_the_audit_log_names_each_action_and_who_did_it(page: Page, shop: Shop) -> None:
    page.goto(f"{shop.url}/audit")
    for action in ("login", "acknowledge", "order_placed", "order_received", "approve"):
        row = page.locator(f'#audit tr[data-action="{action}"]').first
        expect(row.locator("td.actor")).to_have_text(USER)
    # In the chosen language (English since the switch), not the code's names.
    expect(page.locator('#audit tr[data-action="acknowledge"]').first).to_contain_text(
        "Acknowledged"
    )
    _shot(page, "audit")
