"""Fault injection: every fault ends in a clean retry or a clear failed read; the rest of the
poll is unaffected and nothing raises out of ``StockSource.read``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from stockwatch.adapters.alibaba1688.client import PRODUCT_GET
from stockwatch.adapters.alibaba1688.errors import ThrottledError
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.simulator.faults import parse_fault
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.core.model import Item, OfferMapping, Reading
from tests.contract.conftest import MemoryTokenStore

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def plain_items(sim: SimulatorHandle) -> list[Item]:
    return [
        Item(f"PAPER-KITE-{i}", offer=OfferMapping(f"PAPER-KITE-{i}", str(oid)))
        for i, oid in enumerate(sim.offer_ids())
    ]


def poll(sim: SimulatorHandle, items: list[Item], **changes: Any) -> tuple[list[Reading], Any]:
    async def main() -> tuple[list[Reading], Any]:
        store = MemoryTokenStore(sim.mint_token())
        async with GatewaySession(sim.settings(**changes), store) as gw:
            readings = await gw.source.read(items, NOW)
            return readings, gw.client.stats

    return asyncio.run(main())


def totals(sim: SimulatorHandle) -> dict[str, int]:
    return {str(k): int(v["saleInfo"]["amountOnSale"]) for k, v in sim.catalogue().items()}


@pytest.mark.parametrize("kind", ["5xx", "malformed", "latency"])
def test_a_transient_fault_is_retried_and_the_poll_completes(
    simulator: SimulatorHandle, kind: str
) -> None:
    simulator.fault(kind, count=2, api="alibaba.product.get", seconds=0.05)
    items = plain_items(simulator)
    readings, stats = poll(simulator, items)
    want = totals(simulator)
    assert [r.on_hand for r in readings] == [want[i.offer.offer_id] for i in items if i.offer]
    assert simulator.stats()["faults_fired"][kind] == 2
    if kind != "latency":
        assert stats.retries == 2


def test_a_fault_that_outlasts_the_retries_is_one_failed_read(simulator: SimulatorHandle) -> None:
    items = plain_items(simulator)
    victim = items[3].offer
    assert victim is not None
    simulator.fault("5xx", count=4, api="alibaba.product.get")  # > max_attempts for one call
    readings, _ = poll(simulator, items[3:4])
    assert readings[0].is_failed and "HTTP 502" in (readings[0].error or "")
    readings, _ = poll(simulator, items)
    assert not any(r.is_failed for r in readings)


def test_a_timeout_is_retried_after_the_read_timeout(simulator: SimulatorHandle) -> None:
    simulator.fault("timeout", count=1, api="alibaba.product.get", seconds=5)
    items = plain_items(simulator)[:3]
    readings, stats = poll(simulator, items, read_timeout=0.3)
    assert not any(r.is_failed for r in readings)
    assert stats.retries == 1


def test_a_token_that_expires_mid_poll_is_refreshed_once(simulator: SimulatorHandle) -> None:
    simulator.fault("expired_token", count=1, api="alibaba.product.get")
    items = plain_items(simulator)
    readings, stats = poll(simulator, items)
    assert not any(r.is_failed for r in readings)
    assert stats.auth_retries >= 1  # every call in flight with the dead token tries again
    assert simulator.stats()["requests"]["getToken"] == 1  # but only one refresh happens


def test_a_partial_list_page_falls_back_to_single_reads(simulator: SimulatorHandle) -> None:
    simulator.fault("partial_page", count=1)
    items = plain_items(simulator)
    readings, _ = poll(simulator, items, seller_read="list")
    want = totals(simulator)
    assert [r.on_hand for r in readings] == [want[i.offer.offer_id] for i in items if i.offer]
    assert simulator.stats()["requests"]["alibaba.product.get"] == len(items) // 2


def test_throttling_is_retried_with_backoff_when_the_client_has_no_budget() -> None:
    with running_simulator(offers=30, seed=5, qps=20, burst=5) as sim:
        # Backoff (0.1 s doubling, capped at 1 s) outlasts the 1.5 s this load needs; 40 tries,
        # not 10, because on a loaded machine the retries of the 4 workers bunch up and a call
        # can be throttled many times before its turn comes (the assertion is about recovery).
        readings, stats = poll(
            sim,
            plain_items(sim),
            qps=None,
            concurrency=4,
            max_attempts=40,
            backoff_initial=0.1,
            backoff_max=1.0,
        )
        assert stats.throttled > 0
        assert not any(r.is_failed for r in readings)


def test_a_budgeted_client_is_never_throttled() -> None:
    with running_simulator(offers=30, seed=5, qps=40, burst=5) as sim:
        readings, stats = poll(sim, plain_items(sim), qps=30.0)
        assert stats.throttled == 0
        assert "gw.QosAppFrequencyLimit" not in sim.stats()["errors"]
        assert not any(r.is_failed for r in readings)


def test_a_throttle_that_never_ends_is_a_failed_read_not_a_crash(
    simulator: SimulatorHandle,
) -> None:
    simulator.admin("fault", kind="throttle", rate=1.0, api="alibaba.product.get")
    readings, stats = poll(simulator, plain_items(simulator)[:2], max_attempts=3)
    assert all(r.is_failed and "gw.QosAppFrequencyLimit" in (r.error or "") for r in readings)
    assert stats.throttled == 6


def test_a_permanent_error_is_not_retried(simulator: SimulatorHandle) -> None:
    async def main() -> Any:
        store = MemoryTokenStore(simulator.mint_token())
        async with GatewaySession(simulator.settings(app_secret="wrong"), store) as gw:
            with pytest.raises(Exception) as info:
                await gw.client.call(PRODUCT_GET, {"productID": 1})
            return info.value, gw.client.stats

    error, stats = asyncio.run(main())
    assert error.permanent and not isinstance(error, ThrottledError)
    assert stats.requests == 1 and stats.retries == 0


def test_bad_offer_ids_and_unmapped_items_do_not_spoil_the_poll(
    simulator: SimulatorHandle,
) -> None:
    items = [
        *plain_items(simulator)[:2],
        Item("TYPO", offer=OfferMapping("TYPO", "61000abc")),
        Item("NO-OFFER"),
    ]
    readings, _ = poll(simulator, items)
    assert [r.is_failed for r in readings] == [False, False, True, True]
    assert "not numeric" in (readings[2].error or "")


def test_fault_specs_parse_or_explain_themselves() -> None:
    assert parse_fault("latency:0.5:200ms").seconds == pytest.approx(0.2)
    assert parse_fault("5xx:0.05").rate == pytest.approx(0.05)
    assert parse_fault("timeout").seconds == 30
    with pytest.raises(ValueError, match="use one of"):
        parse_fault("gremlins")
    with pytest.raises(ValueError, match="KIND"):
        parse_fault("5xx:lots")
