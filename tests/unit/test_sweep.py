"""The whole-catalogue sweep gives every (candidate, item) the per-item reference's numbers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from stockwatch.bulk.sweep import ReplayData, declared_lead, lead_matrix, run_sweep
from stockwatch.core.model import Item
from stockwatch.core.thresholds import Promotion, Strategy, ThresholdPolicy, TierSpec
from stockwatch.core.tuning import Candidate, ItemReplay, replay_item

AS_OF = date(2026, 6, 1)
CANDIDATES = [
    Candidate("in force"),
    Candidate("sl99", (("service_level", 0.99),)),
    Candidate(
        "cover",
        (("strategy", Strategy.DAYS_OF_COVER), ("buffer_days", 4.0)),
        debounce_t1=2,
        dedupe_days=3,
    ),
    Candidate("beta", fill_rate=0.98, lead_model="learned"),
    Candidate("normal", (("intermittent_method", "normal"), ("velocity_days", 14))),
    Candidate("tiers", tiers=(("T1", TierSpec.parse("2x")),)),
]


def _data(seed: int, n: int = 40, days: int = 45) -> ReplayData:
    rng = np.random.default_rng(seed)
    share = rng.random((n, 1))
    before = rng.negative_binomial(1.0, 0.3, (n, 90)) * (rng.random((n, 90)) < share)
    demand = rng.negative_binomial(1.0, 0.3, (n, days)) * (rng.random((n, days)) < 0.6)
    items = [
        Item(
            f"S{i}",
            category="toys" if i % 4 == 0 else "",
            lead_time_days=float(rng.integers(1, 12)) if i % 3 else None,
            lead_time_sd_days=1.0 if i % 5 == 1 else None,
            min_order_qty=int(rng.integers(1, 20)),
            order_multiple=int(rng.integers(1, 6)),
        )
        for i in range(n)
    ]
    samples = [[float(x) for x in rng.integers(2, 15, rng.integers(0, 4))] for _ in range(n)]
    promo = Promotion("618", AS_OF, date(2026, 6, 18), 2.0, categories=frozenset({"toys"}))
    return ReplayData(
        [it.sku for it in items],
        list(items),
        before,
        demand,
        rng.integers(0, 60, n),
        AS_OF,
        prices=np.where(rng.random(n) < 0.5, rng.random(n) * 20, np.nan),
        lead_samples=samples,
        promotions=(promo,),
    )


def _policy(item: Item | None, sku: str) -> ThresholdPolicy:
    return ThresholdPolicy(service_level=0.9 if sku.endswith("7") else 0.95)


@pytest.mark.parametrize(
    ("sampled", "recompute"), [(False, ()), (True, ()), (False, (7, 14, 21, 28, 35, 42, 60))]
)
def test_sweep_equals_the_per_item_reference(sampled: bool, recompute: tuple[int, ...]) -> None:
    """Also with weekly recomputes: the levels follow the sales known each week (the 618
    promotion of the toys, on from the first day to the 18th, ends during the replay)."""
    data = _data(7)
    result = run_sweep(
        data,
        CANDIDATES,
        _policy,
        sampled_leads=sampled,
        seed=3,
        trace_items=(0, 5),
        recompute_days=recompute,
    )
    policies = [_policy(it, s) for it, s in zip(data.items, data.skus, strict=True)]
    lead = declared_lead(data.items, policies)
    sd = np.array(
        [
            (it.lead_time_sd_days or 0.0) if it and it.lead_time_days is not None else 0.0
            for it in data.items
        ]
    )
    leads = lead_matrix(data, lead, sd, sampled=sampled, seed=3)
    for k, candidate in enumerate(CANDIDATES):
        got = result.results[k]
        for i, item in enumerate(data.items):
            replay = ItemReplay(
                item,
                data.skus[i],
                data.before[i].tolist(),
                data.demand[i].tolist(),
                leads[i].tolist(),
                int(data.start_on_hand[i]),
                data.lead_samples[i],
            )
            ref = replay_item(
                candidate,
                policies[i],
                replay,
                AS_OF,
                data.promotions,
                trace=i in (0, 5),
                recompute_days=recompute,
            )
            m = got.item_metrics(i)
            assert (m.stockout_days, m.lost, m.notices, m.orders, m.units_ordered, m.stock_sum) == (
                ref.stockout_days,
                ref.lost,
                ref.notices,
                ref.orders,
                ref.units_ordered,
                ref.stock_sum,
            ), (candidate.name, i)
            if i in (0, 5):
                assert tuple(got.outcome.on_hand[i].tolist()) == ref.on_hand
    totals = result.totals()
    assert list(totals) == [c.name for c in CANDIDATES]
    assert totals["in force"].items == 40 and totals["in force"].priced > 0
    assert set(result.frontier()) <= set(totals)


def test_observed_lead_times_are_the_mean_of_received_orders_and_sampling_is_seeded() -> None:
    data = _data(1, n=3, days=6)
    data.lead_samples = [[4.0, 7.0], [], [2.0]]
    declared = np.array([9.0, 5.5, 3.0])
    sd = np.array([0.0, 1.0, 0.0])
    observed = lead_matrix(data, declared, sd, sampled=False, seed=0)
    assert observed[:, 0].tolist() == [6, 6, 2]  # ceil(5.5), the declared 5.5 → 6, 2
    a = lead_matrix(data, declared, sd, sampled=True, seed=9)
    assert np.array_equal(a, lead_matrix(data, declared, sd, sampled=True, seed=9))
    assert set(a[0].tolist()) <= {4, 7} and set(a[2].tolist()) == {2}
    assert a.min() >= 1


def test_items_whose_settings_clash_are_reported_and_left_out() -> None:
    data = _data(2, n=4, days=10)

    def policy(item: Item | None, sku: str) -> ThresholdPolicy:
        if sku == "S1":
            raise ValueError("item S1: lead-time σ exceeds the lead time")
        return ThresholdPolicy()

    result = run_sweep(data, CANDIDATES[:2], policy)
    assert "S1" in result.results[0].errors[1]
    assert result.totals()["in force"].items == 3
    assert result.results[0].outcome.orders[1] == 0


def test_unknown_start_stock_starts_at_the_order_up_to_level_in_force() -> None:
    data = _data(4, n=3, days=1)
    data.start_on_hand = np.array([-1, 5, -1])
    data.demand[:] = 0
    result = run_sweep(data, CANDIDATES[:2], _policy, trace_items=(0, 1))
    first = result.results[0]
    assert first.outcome.on_hand[0][0] == int(np.ceil(first.order_up_to[0]))
    assert result.results[1].outcome.on_hand[1][0] == 5
