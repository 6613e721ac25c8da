"""The bulk recompute with learned lead times reproduces ``compute_levels`` exactly: the demand
quantile over each item's lead-time distribution, its notes and inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockwatch.bulk.leadtime import demand_quantiles
from stockwatch.core.leadtime import blend, demand_quantile
from stockwatch.core.model import Item
from stockwatch.core.thresholds import ThresholdPolicy
from tests.unit.test_bulk import PROMOS, assert_same, histories, items, policies

LEADS = st.lists(st.floats(0.0, 40.0, allow_nan=False), min_size=1, max_size=7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_learned_lead_times_match_the_reference_on_random_catalogues(
    data: st.DataObject,
) -> None:
    pols = data.draw(st.lists(policies(), min_size=1, max_size=3))
    n = data.draw(st.integers(1, 7))
    index = [data.draw(st.integers(0, len(pols) - 1)) for _ in range(n)]
    its = [data.draw(items(f"CUP-{i}")) for i in range(n)]
    sales = [data.draw(histories()) for _ in range(n)]
    learned = [
        blend(data.draw(LEADS), data.draw(st.floats(0, 20)), data.draw(st.floats(0, 5)), "item")
        if data.draw(st.booleans())
        else None
        for _ in range(n)
    ]
    promos = PROMOS if data.draw(st.booleans()) else ()
    bulk = assert_same(
        pols, index, its, sales, promos, data.draw(st.integers(1, 3)), learned=learned
    )
    for i, lt in enumerate(learned):
        if lt is not None and not bulk.disabled[i]:
            assert bulk.lead[i] == lt.mean and not bulk.error[i]


def test_a_slow_tail_is_quantiled_the_same_way_in_both() -> None:
    points = (
        blend([3, 3, 3, 3, 30], 3.0, 0.0, "supplier").points,
        ((10.0, 0.8), (20.0, 0.2)),
    )
    rate, sd, review = np.array([5.0, 10.0]), np.array([2.0, 0.0]), np.array([1.0, 0.0])
    alpha = np.array([0.95, 0.95])
    got = demand_quantiles(rate, sd, review, points, alpha)
    want = [
        demand_quantile(float(rate[i]), float(sd[i]), float(review[i]), points[i], 0.95)
        for i in range(2)
    ]
    assert got.tolist() == want  # bit for bit
    assert want[1] == pytest.approx(200.0, abs=1e-6)
    policy = ThresholdPolicy(service_level=0.95, lead_time_days=3.0)
    assert_same(
        [policy],
        [0],
        [Item("SLOW")],
        [[5, 6, 4] * 13 + [5]],
        learned=[blend([3, 3, 3, 3, 30], 3.0, 0.0, "supplier")],
    )


def test_an_intermittent_item_with_a_learned_lead_time_matches_the_reference() -> None:
    lumpy = [10 if i % 10 == 9 else 0 for i in range(40)]
    slow = blend([7, 7, 7, 7, 17], 7.0, 0.0, "supplier")
    policy = ThresholdPolicy(service_level=0.95, lead_time_days=7.0, buffer_days=0)
    bulk = assert_same(
        [policy, policy],
        [0, 1],
        [Item("LUMPY"), Item("PLAIN")],
        [lumpy, lumpy],
        learned=[slow, None],
    )
    assert bulk.intermittent.all()
    assert bulk.lead_demand.tolist() == [20, 10]  # the 17-day tail holds a second sale
