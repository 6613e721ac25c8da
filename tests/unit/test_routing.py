"""Routing: tier/category/tag/supplier filters, quiet hours, one message per channel, digests."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from stockwatch.core.model import NoticeKind, Tier
from stockwatch.service.routing import QuietHours, Route, RouterSettings, RouteTable
from tests.notify_factories import T0, item, notice

ESCALATION = (
    Route("group", ("wecom",)),
    Route("buyer", ("email",), tiers=frozenset({Tier.T2, Tier.T3, Tier.OUT})),
    Route("owner", ("sms", "wecom"), tiers=frozenset({Tier.T3, Tier.OUT})),
)


def channels(table: RouteTable, tier: Tier, **kw: object) -> list[str]:
    return sorted(c for c, _ in table.route(notice(tier=tier), item(**kw)))  # type: ignore[arg-type]


def test_tiers_escalate_through_the_routes_with_one_message_per_channel() -> None:
    table = RouteTable(RouterSettings(ESCALATION))
    assert channels(table, Tier.T1) == ["wecom"]
    assert channels(table, Tier.T2) == ["email", "wecom"]
    assert channels(table, Tier.T3) == ["email", "sms", "wecom"]


def test_t3_and_out_mention_people_and_lower_tiers_do_not() -> None:
    table = RouteTable(RouterSettings(ESCALATION))
    [(_, t1)] = table.route(notice(tier=Tier.T1), item())
    out = dict(table.route(notice(tier=Tier.OUT, available=0), item()))
    assert not t1.mention and out["sms"].mention


def test_each_channel_of_a_route_gets_its_own_key_and_the_same_message() -> None:
    # The route renders once for all its channels; the outbox tells them apart by the key.
    table = RouteTable(RouterSettings((Route("owner", ("sms", "wecom", "email")),)))
    n = notice(tier=Tier.OUT, available=0)
    out = dict(table.route(n, item()))
    assert {c: m.idempotency_key for c, m in out.items()} == {
        c: f"{n.idempotency_key}|{c}" for c in ("sms", "wecom", "email")
    }
    assert out["sms"].text == out["wecom"].text == out["email"].text
    assert out["sms"].payload == out["email"].payload and out["sms"].payload["route"] == "owner"


def test_category_tag_and_supplier_filters_must_all_match() -> None:
    route = Route(
        "cups",
        ("c",),
        categories=frozenset({"drinkware"}),
        tags=frozenset({"hot"}),
        suppliers=frozenset({"义乌杯业"}),
    )
    table = RouteTable(RouterSettings((route,)))
    assert channels(table, Tier.T2) == ["c"]
    assert channels(table, Tier.T2, category="toys") == []
    assert channels(table, Tier.T2, tags=frozenset({"cold"})) == []
    assert channels(table, Tier.T2, supplier="别家") == []


def test_quiet_hours_defer_low_tiers_and_let_t3_through() -> None:
    night = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    route = Route("r", ("c",), quiet=QuietHours.parse("22:00-08:00"))
    table = RouteTable(RouterSettings((route,)))
    [(_, low)] = table.route(notice(tier=Tier.T1, at=night), item())
    [(_, high)] = table.route(notice(tier=Tier.T3, at=night), item())
    assert low.not_before == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    assert high.not_before is None
    [(_, day)] = table.route(notice(tier=Tier.T1, at=T0 + timedelta(hours=2)), item())
    assert day.not_before is None


def test_quiet_hours_within_one_day_work_too() -> None:
    quiet = QuietHours.parse("12:00-13:30")
    assert quiet.active(datetime(2026, 11, 24, 4, 15, tzinfo=UTC))  # 12:15 Shanghai
    assert not quiet.active(datetime(2026, 11, 24, 5, 45, tzinfo=UTC))


def test_recoveries_follow_the_route_setting() -> None:
    on = RouteTable(RouterSettings((Route("r", ("c",)),)))
    off = RouteTable(RouterSettings((Route("r", ("c",), notify_recovery=False),)))
    resolved = notice(tier=Tier.OK, kind=NoticeKind.RESOLVED, previous=Tier.T2, available=90)
    assert [c for c, _ in on.route(resolved, item())] == ["c"]
    assert off.route(resolved, item()) == []


def test_the_payload_carries_levels_velocity_lead_time_reading_and_suggestion() -> None:
    table = RouteTable(RouterSettings((Route("r", ("c",), link_base="http://dash:8000"),)))
    [(_, message)] = table.route(notice(tier=Tier.T2, available=12), item())
    p = message.payload
    assert p["levels"]["T1"] == 60 and p["levels"]["velocity"] == 4.0
    assert p["item"]["lead_time_days"] == 5.0 and p["reading"]["available"] == 12
    assert p["days_of_cover"] == 3.0
    assert p["suggestion"]["quantity"] == 70  # 60 + 4×5 − 12 = 68 → MOQ 50, ×10 → 70
    assert p["item"]["item_url"] == "http://dash:8000/items/BW-500-BK"
    assert message.idempotency_key.endswith("|c")


def test_the_daily_digest_ranks_every_item_at_risk_by_days_of_cover() -> None:
    route = Route("daily", ("c",), digest_at=time(9, 0))
    table = RouteTable(RouterSettings((route,)))
    at_risk = [
        (notice("CUP-SLOW", Tier.T1, available=40), item("CUP-SLOW")),
        (notice("CUP-OUT", Tier.OUT, available=0), item("CUP-OUT")),
        (notice("CUP-LOW", Tier.T3, available=6), item("CUP-LOW")),
    ]
    assert table.daily_digests(T0 - timedelta(minutes=1), at_risk) == []  # 08:59 Shanghai
    [(channel, digest)] = table.daily_digests(T0, at_risk)
    assert channel == "c" and digest.kind == "daily_digest"
    ranked = [n["item"]["sku"] for n in digest.payload["notices"]]
    assert ranked == ["CUP-OUT", "CUP-LOW", "CUP-SLOW"]
    assert digest.idempotency_key == "daily|daily|2026-11-24|c"  # once per day


def test_a_channels_copy_of_the_message_differs_only_in_its_key() -> None:
    # route() copies the rendered message per channel without dataclasses.replace: every
    # field must come along, including any added to OutgoingMessage later.
    from dataclasses import fields, replace

    from stockwatch.ports import OutgoingMessage
    from stockwatch.service.routing import _for_channel

    full = OutgoingMessage(
        "title", "text", "md", "key", "T3", "raised", {"a": 1}, True, T0 + timedelta(hours=1)
    )
    assert all(getattr(full, f.name) != f.default for f in fields(full) if f.name != "payload")
    copy = _for_channel(full, "key|sms")
    assert copy == replace(full, idempotency_key="key|sms")
    assert copy.payload is full.payload  # shared: the outbox encodes it once
