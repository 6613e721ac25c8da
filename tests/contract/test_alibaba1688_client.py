"""The 1688 client against the simulator over real HTTP: every API and error code it uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from stockwatch.adapters.alibaba1688.client import (
    CURRENT_TIME,
    PRODUCT_GET,
    PRODUCT_LIST_GET,
    PUSH_CURSOR_MESSAGES,
    Api,
    GatewayClient,
)
from stockwatch.adapters.alibaba1688.errors import (
    ApiUnsupportedError,
    AppKeyError,
    AuthError,
    BusinessError,
    ParamMissingError,
    ReauthorizationRequired,
    SignatureError,
)
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.signing import sign
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.adapters.alibaba1688.stock import iter_own_offers
from stockwatch.core.model import Item, OfferMapping, OfferStatus
from tests.contract.conftest import MemoryTokenStore

T = TypeVar("T")
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def session(
    sim: SimulatorHandle, member: str = "seller", **changes: Any
) -> tuple[GatewaySession, MemoryTokenStore]:
    store = MemoryTokenStore(sim.mint_token(member))
    return GatewaySession(sim.settings(**changes), store), store


def run(sim: SimulatorHandle, body: Callable[[GatewaySession], Awaitable[T]], **kw: Any) -> T:
    async def main() -> T:
        gw, _ = session(sim, **kw)
        async with gw:
            return await body(gw)

    return asyncio.run(main())


def items_for(sim: SimulatorHandle, count: int | None = None) -> list[Item]:
    """One item per SKU (and per SKU-less offer) of the simulator's catalogue."""
    out = []
    for offer_id, offer in list(sim.catalogue().items())[:count]:
        for sku in offer.get("skuInfos", []):
            name = f"SKU-{sku['specId'][:6]}"
            out.append(Item(name, offer=OfferMapping(name, str(offer_id), sku["specId"])))
        if "skuInfos" not in offer:
            name = f"PLAIN-{offer_id}"
            out.append(Item(name, offer=OfferMapping(name, str(offer_id))))
    return out


def expected(sim: SimulatorHandle, item: Item, snapshot: dict[int, Any] | None = None) -> int:
    assert item.offer is not None
    offer = (snapshot or sim.catalogue())[int(item.offer.offer_id)]
    if item.offer.spec_id is None:
        return int(offer["saleInfo"]["amountOnSale"])
    return next(s["amountOnSale"] for s in offer["skuInfos"] if s["specId"] == item.offer.spec_id)


@pytest.mark.parametrize(
    ("side", "buyer_api", "seller_read"),
    [
        ("seller", "fenxiao", "get"),
        ("seller", "fenxiao", "list"),
        ("buyer", "fenxiao", "get"),
        ("buyer", "crossborder", "get"),
    ],
)
def test_every_stock_api_reads_the_simulators_sku_stock(
    simulator: SimulatorHandle, side: str, buyer_api: str, seller_read: str
) -> None:
    items = items_for(simulator)
    member = "seller" if side == "seller" else "buyer"
    readings = run(
        simulator,
        lambda gw: gw.source.read(items, NOW),
        member=member,
        side=side,
        buyer_api=buyer_api,
        seller_read=seller_read,
    )
    assert len(readings) == len(items) > 12
    snapshot = simulator.catalogue()
    for item, reading in zip(items, readings, strict=True):
        assert reading.key == item.key
        assert reading.error is None
        assert reading.on_hand == expected(simulator, item, snapshot)


def test_the_list_read_asks_once_per_twenty_offers(simulator: SimulatorHandle) -> None:
    items = items_for(simulator)
    run(simulator, lambda gw: gw.source.read(items, NOW), seller_read="list")
    requests = simulator.stats()["requests"]
    assert requests["alibaba.product.list.get"] == 1
    assert "alibaba.product.get" not in requests


def test_walking_all_own_offers_pages_by_twenty() -> None:
    with running_simulator(offers=45, seed=3, qps=None) as sim:
        offers = run(sim, lambda gw: iter_own_offers(gw.client))
        assert sorted(int(o.offer_id) for o in offers) == sorted(sim.offer_ids())
        assert sim.stats()["requests"]["alibaba.product.list.get"] == 3


def test_cross_product_info_needs_a_listing_relationship(simulator: SimulatorHandle) -> None:
    item = items_for(simulator, 1)[0]
    assert item.offer is not None

    async def body(gw: GatewaySession) -> tuple[Any, Any]:
        before = (await gw.source.read([item], NOW))[0]
        await gw.client.call(
            Api("com.alibaba.product.push", "alibaba.cross.syncProductListPushed"),
            {"productIdList": [int(item.offer.offer_id)]},
        )
        return before, (await gw.source.read([item], NOW))[0]

    before, after = run(simulator, body, member="buyer", side="buyer", buyer_api="cross")
    assert before.is_failed and "listing relationship" in before.error
    assert after.on_hand == expected(simulator, item)


def test_delisted_expired_and_deleted_offers_are_unavailable_while_the_rest_reads(
    simulator: SimulatorHandle,
) -> None:
    ids = simulator.offer_ids()[:4]
    simulator.set_status(ids[0], "member expired")
    simulator.set_status(ids[1], "expired")
    simulator.set_status(ids[2], "deleted")
    items = [Item(f"ITEM-{i}", offer=OfferMapping(f"ITEM-{i}", str(i))) for i in ids]
    items.append(Item("GHOST", offer=OfferMapping("GHOST", "699999999999")))
    for side, member in (("seller", "seller"), ("buyer", "buyer")):
        readings = run(simulator, lambda gw: gw.source.read(items, NOW), side=side, member=member)
        assert [r.offer_status for r in readings] == [
            OfferStatus.DELISTED,
            OfferStatus.EXPIRED,
            OfferStatus.GONE,
            OfferStatus.ACTIVE,
            OfferStatus.GONE,
        ]
        assert not any(r.is_failed for r in readings)
        assert readings[3].on_hand == expected(simulator, items[3])


def test_relisting_brings_the_offer_back(simulator: SimulatorHandle) -> None:
    offer_id = simulator.offer_ids()[0]
    item = Item("RELISTED-LAMP", offer=OfferMapping("RELISTED-LAMP", str(offer_id)))
    simulator.set_status(offer_id, "member expired")
    first = run(simulator, lambda gw: gw.source.read([item], NOW))[0]
    simulator.set_status(offer_id, "published")
    second = run(simulator, lambda gw: gw.source.read([item], NOW))[0]
    assert (first.offer_status, second.offer_status) == (OfferStatus.DELISTED, OfferStatus.ACTIVE)


def test_system_current_time_needs_no_token(simulator: SimulatorHandle) -> None:
    body = run(simulator, lambda gw: gw.client.call(CURRENT_TIME, authorized=False))
    assert int(body["result"]) > 1_700_000_000_000


def call_error(
    sim: SimulatorHandle, api: Api, params: dict[str, Any], authorized: bool = True, **kw: Any
) -> Exception:
    async def body(gw: GatewaySession) -> Exception:
        with pytest.raises(Exception) as info:
            await gw.client.call(api, params, authorized=authorized)
        return info.value

    return run(sim, body, **kw)


def test_a_wrong_secret_fails_fast_with_a_signature_error(simulator: SimulatorHandle) -> None:
    error = call_error(simulator, PRODUCT_GET, {"productID": 1}, app_secret="notTheSecret")
    assert isinstance(error, SignatureError) and error.code == "gw.SignatureInvalid"
    assert error.permanent and "app_secret" in str(error)
    assert simulator.stats()["requests"]["alibaba.product.get"] == 1  # no retries


def test_the_simulator_hints_when_a_client_sorts_by_key(simulator: SimulatorHandle) -> None:
    path = f"param2/1/system/currentTime/{simulator.app_key}"
    params = {"type": "ORDER", "typeName": "x", "_aop_timestamp": "1735689600000"}
    keyed = path + "".join(k + params[k] for k in sorted(params))
    import hashlib
    import hmac

    bad = hmac.new(simulator.app_secret.encode(), keyed.encode(), hashlib.sha1).hexdigest().upper()
    response = httpx.post(
        f"{simulator.base_url}/openapi/{path}", data={**params, "_aop_signature": bad}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "gw.SignatureInvalid"
    assert "sorted by key" in response.json()["error_message"]
    good = sign(path, params, simulator.app_secret)
    ok = httpx.get(
        f"{simulator.base_url}/openapi/{path}", params={**params, "_aop_signature": good}
    )
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")


def test_an_unknown_app_key_is_refused(simulator: SimulatorHandle) -> None:
    error = call_error(simulator, CURRENT_TIME, {}, authorized=False, app_key="9999999")
    assert isinstance(error, AppKeyError) and error.code == "gw.AppKeyNotFound"


def test_an_unknown_api_is_unsupported(simulator: SimulatorHandle) -> None:
    error = call_error(simulator, Api("com.alibaba.product", "alibaba.product.nothing"), {})
    assert isinstance(error, ApiUnsupportedError) and error.permanent


def test_a_missing_parameter_is_named(simulator: SimulatorHandle) -> None:
    error = call_error(simulator, PRODUCT_GET, {"webSite": "1688"})
    assert isinstance(error, ParamMissingError) and "productID" in str(error)


def test_an_api_outside_the_solution_package_is_declined(simulator: SimulatorHandle) -> None:
    simulator.admin("acl", deny=["alibaba.fenxiao.productInfo.get"])
    item = items_for(simulator, 1)[0]
    reading = run(simulator, lambda gw: gw.source.read([item], NOW), member="buyer", side="buyer")[
        0
    ]
    assert reading.is_failed and "gw.APIACLDecline" in (reading.error or "")
    assert simulator.stats()["requests"]["alibaba.fenxiao.productInfo.get"] == 1


def test_no_usage_left_fails_fast(simulator: SimulatorHandle) -> None:
    simulator.admin("qos", daily_quota=2)
    items = [
        Item(f"TIN-ROBOT-{i}", offer=OfferMapping(f"TIN-ROBOT-{i}", str(oid)))
        for i, oid in enumerate(simulator.offer_ids()[:4])
    ]
    readings = run(simulator, lambda gw: gw.source.read(items, NOW), concurrency=1)
    assert [r.is_failed for r in readings].count(False) == 2
    failed = [r for r in readings if r.is_failed]
    assert len(failed) == 2
    assert all("gw.NoUsageLeftError" in (r.error or "") for r in failed)
    assert simulator.stats()["errors"]["gw.NoUsageLeftError"] == 2  # no retries


def test_a_token_is_refreshed_before_it_expires(simulator: SimulatorHandle) -> None:
    async def main() -> tuple[int, str, str]:
        store = MemoryTokenStore(simulator.mint_token(access_ttl=60))
        old = store.tokens[simulator.app_key].access_token
        async with GatewaySession(simulator.settings(refresh_margin=600), store) as gw:
            await gw.client.call(PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
            return gw.tokens.refreshes, old, store.tokens[simulator.app_key].access_token

    refreshes, old, new = asyncio.run(main())
    assert refreshes == 1 and new != old
    assert simulator.stats()["errors"].get("401") is None  # never sent the dying token


def test_a_rejected_token_is_refreshed_once_then_the_call_retried(
    simulator: SimulatorHandle,
) -> None:
    async def main() -> tuple[int, Any]:
        gw, _ = session(simulator)
        simulator.admin("expire_tokens")  # the token dies after it was handed out
        async with gw:
            body = await gw.client.call(PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
            return gw.client.stats.auth_retries, body

    refreshes, body = asyncio.run(main())
    assert refreshes == 1 and "productInfo" in body
    assert simulator.stats()["errors"]["401"] == 1


def test_a_dead_refresh_token_asks_for_a_new_login(simulator: SimulatorHandle) -> None:
    async def main() -> Exception:
        gw, _ = session(simulator)
        simulator.admin("expire_tokens", refresh=True)
        async with gw:
            with pytest.raises(Exception) as info:
                await gw.client.call(PRODUCT_GET, {"productID": 1})
            return info.value

    error = asyncio.run(main())
    assert isinstance(error, ReauthorizationRequired)
    assert "stockwatch auth login" in str(error)


def test_a_second_401_after_refreshing_is_final(simulator: SimulatorHandle) -> None:
    simulator.fault("expired_token", count=2, api="alibaba.product.get")
    error = call_error(simulator, PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
    assert isinstance(error, AuthError)
    assert simulator.stats()["errors"]["401"] == 2


def test_the_browser_authorization_flow_and_postpone(simulator: SimulatorHandle) -> None:
    async def main() -> tuple[Any, Any, Any]:
        store = MemoryTokenStore()
        settings = simulator.settings()
        async with GatewaySession(settings, store) as gw:
            url = gw.oauth.authorize_url("xyz")
            assert url.startswith(f"{simulator.base_url}/oauth/authorize?client_id=")
            redirect = (await gw.client.http.get(url)).headers["location"]
            query = parse_qs(urlsplit(redirect).query)
            assert query["state"] == ["xyz"]
            tokens = await gw.tokens.login(query["code"][0])
            with pytest.raises(AuthError):  # codes are single use
                await gw.tokens.login(query["code"][0])
            body = await gw.client.call(PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
            with pytest.raises(AuthError):  # more than 30 days left: 1688 says bad request
                await gw.tokens.postpone()
            return tokens, body, gw.tokens.health()

    tokens, body, health = asyncio.run(main())
    assert tokens.member_id == "b2b-2209000000002"
    assert (tokens.refresh_expires_at - tokens.access_expires_at).days > 170
    assert "productInfo" in body
    assert health.authorized and health.warning is None


def test_a_refresh_token_near_its_end_warns_and_can_be_postponed() -> None:
    with running_simulator(offers=2, qps=None, refresh_ttl=10 * 86400) as sim:

        async def main() -> tuple[Any, Any, Any]:
            gw, store = session(sim)
            # The minted token lasts 10 days; the store believes the simulator's figure.
            async with gw:
                before = gw.tokens.health()
                new = await gw.tokens.postpone()
                return before, new, store.tokens[sim.app_key]

        before, new, stored = asyncio.run(main())
        assert before.warning is not None and "postpone" in before.warning
        assert new.refresh_token == stored.refresh_token
        assert (new.refresh_expires_at - datetime.now(UTC)).days > 170


def test_tokens_never_show_in_reprs_or_errors(simulator: SimulatorHandle) -> None:
    tokens = simulator.mint_token()
    assert tokens.access_token not in repr(tokens)
    assert tokens.refresh_token not in repr(tokens)
    settings = simulator.settings()
    assert simulator.app_secret not in repr(settings)
    error = call_error(simulator, PRODUCT_GET, {"productID": 1}, app_secret="wrong")
    assert tokens.access_token not in str(error) and tokens.refresh_token not in str(error)


def test_the_secret_is_never_sent_over_plain_http_to_a_remote_host() -> None:
    settings = GatewaySettings("5555555", "s3cret-value", base_url="http://gw.example.invalid")

    async def main() -> Exception:
        store = MemoryTokenStore()
        async with GatewaySession(settings, store) as gw:
            with pytest.raises(Exception) as info:
                await gw.tokens.login("code")
            return info.value

    error = asyncio.run(main())
    assert "HTTPS" in str(error)


def test_push_compensation_api_returns_kept_messages_once(simulator: SimulatorHandle) -> None:
    offer_id = simulator.offer_ids()[0]
    simulator.admin("follow", offer_id=offer_id, member="buyer")
    simulator.set_stock(offer_id, 3, spec_id=None) if "skuInfos" not in simulator.offer(
        offer_id
    ) else simulator.set_stock(offer_id, 3, simulator.offer(offer_id)["skuInfos"][0]["specId"])

    async def body(gw: GatewaySession) -> tuple[Any, Any]:
        first = await gw.client.call(PUSH_CURSOR_MESSAGES, {"quantity": 20}, authorized=False)
        second = await gw.client.call(PUSH_CURSOR_MESSAGES, {"quantity": 20}, authorized=False)
        return first, second

    first, second = run(simulator, body)
    assert [m["type"] for m in first["pushMessageList"]] == ["PRODUCT_PRODUCT_INVENTORY_CHANGE"]
    assert first["pushMessageList"][0]["topicGroup"] == "PRODUCT"
    assert second["pushMessageList"] == []


def test_no_client_is_left_unclosed(simulator: SimulatorHandle) -> None:
    async def main() -> bool:
        client = GatewayClient(simulator.settings())
        await client.aclose()
        return client.http.is_closed

    assert asyncio.run(main())


def test_a_parameter_of_the_wrong_shape_is_a_business_error(simulator: SimulatorHandle) -> None:
    error = call_error(simulator, PRODUCT_LIST_GET, {"productIds": "[not-a-number]"})
    assert isinstance(error, BusinessError) and error.permanent
    assert "参数错误" in str(error)


def test_refreshing_logs_no_secret(
    simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> MemoryTokenStore:
        store = MemoryTokenStore(simulator.mint_token(access_ttl=60))
        async with GatewaySession(simulator.settings(), store) as gw:
            await gw.client.call(PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
        return store

    store = asyncio.run(main())
    tokens = store.tokens[simulator.app_key]
    assert any("refreshed" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage()
        assert tokens.access_token not in text and tokens.refresh_token not in text
        assert simulator.app_secret not in text


def test_simulated_time_expires_tokens_and_the_client_recovers(
    simulator: SimulatorHandle,
) -> None:
    async def main() -> tuple[int, Any]:
        gw, _ = session(simulator)
        simulator.admin("advance", hours=11)  # past the 10 h access token lifetime
        async with gw:
            body = await gw.client.call(PRODUCT_GET, {"productID": simulator.offer_ids()[0]})
            return gw.tokens.refreshes, body

    refreshes, body = asyncio.run(main())
    assert refreshes == 1 and "productInfo" in body
    assert simulator.stats()["errors"]["401"] == 1
