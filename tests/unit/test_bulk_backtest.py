"""The vectorised simulation equals a plain per-item loop over the reference on random histories."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.bulk.backtest import RowParams, simulate_bulk
from stockwatch.core.backtest import SimParams, simulate


@st.composite
def _scenario(draw: st.DrawFn) -> dict[str, object]:
    items = draw(st.integers(1, 6))
    days = draw(st.integers(1, 50))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = draw(st.integers(1, 12))
    t3 = rng.integers(1, 8, rows)
    t2 = t3 + rng.integers(0, 15, rows)
    t1 = t2 + rng.integers(0, 15, rows)
    return {
        "demand": rng.integers(0, 9, (items, days)) * (rng.random((items, days)) < 0.6),
        "lead": rng.integers(0, 12, (items, days)),  # 0 counts as 1 day
        "start": rng.integers(-3, 60, items),
        "moq": rng.integers(0, 15, items),
        "mult": rng.integers(0, 7, items),
        "item_of_row": rng.integers(0, items, rows),
        "params": RowParams(
            t1,
            t2,
            t3,
            t1 + rng.random(rows) * 25,
            rng.random(rows) < 0.1,
            rng.integers(1, 4, rows),
            rng.integers(1, 3, rows),
            rng.integers(1, 5, rows),
        ),
        "chunk": draw(st.integers(1, 16)),
        "big": draw(st.booleans()),
        "changes": [
            (int(day), _levels(rng, rows)) for day in rng.integers(0, days + 1, draw(_changes))
        ],
    }


_changes = st.integers(0, 3)  # recomputes during the replay


def _levels(rng: np.random.Generator, rows: int) -> RowParams:
    """New levels, order targets and switched-off flags for a recompute (notice rules kept)."""
    t3 = rng.integers(1, 8, rows)
    t2 = t3 + rng.integers(0, 15, rows)
    t1 = t2 + rng.integers(0, 15, rows)
    ones = np.ones(rows, dtype=np.int64)
    return RowParams(
        t1, t2, t3, t1 + rng.random(rows) * 25, rng.random(rows) < 0.1, ones, ones, ones
    )


def _sim_params(p: RowParams, r: int, moq: int, mult: int, rules: RowParams) -> SimParams:
    return SimParams(
        int(p.t1[r]),
        int(p.t2[r]),
        int(p.t3[r]),
        float(p.order_up_to[r]),
        moq,
        mult,
        int(rules.debounce_t1[r]),
        int(rules.debounce_t2[r]),
        int(rules.dedupe_days[r]),
        bool(p.disabled[r]),
    )


@settings(max_examples=80, deadline=None)
@given(_scenario())
def test_vectorised_simulation_equals_the_per_item_loop(s: dict[str, object]) -> None:
    p = s["params"]
    assert isinstance(p, RowParams)
    demand = np.asarray(s["demand"])
    if s["big"]:  # counts large enough to need int64 state
        demand = demand * 40_000_000
    rows = np.asarray(s["item_of_row"])
    trace = tuple(range(len(rows)))
    changes = s["changes"]
    assert isinstance(changes, list)
    out = simulate_bulk(
        demand,
        np.asarray(s["lead"]),
        np.asarray(s["start"]),
        rows,
        p,
        np.asarray(s["moq"]),
        np.asarray(s["mult"]),
        trace_rows=trace,
        chunk_rows=int(s["chunk"]),  # type: ignore[call-overload]
        changes=changes,
    )
    for r, i in enumerate(rows.tolist()):
        moq, mult = int(np.asarray(s["moq"])[i]), int(np.asarray(s["mult"])[i])
        ref = simulate(
            demand[i].tolist(),
            np.asarray(s["lead"])[i].tolist(),
            int(np.asarray(s["start"])[i]),
            _sim_params(p, r, moq, mult, p),
            trace=True,
            changes=[(day, _sim_params(c, r, moq, mult, p)) for day, c in changes],
        )
        got = (
            out.demand[r],
            out.sold[r],
            out.lost[r],
            out.stockout_days[r],
            out.notices[r],
            out.orders[r],
            out.units_ordered[r],
            out.stock_sum[r],
        )
        want = (
            ref.demand,
            ref.sold,
            ref.lost,
            ref.stockout_days,
            ref.notices,
            ref.orders,
            ref.units_ordered,
            ref.stock_sum,
        )
        assert tuple(int(x) for x in got) == want, f"row {r}"
        assert tuple(out.on_hand[r].tolist()) == ref.on_hand
    assert np.allclose(
        out.fill_rate, np.where(out.demand == 0, 1.0, out.sold / np.maximum(out.demand, 1))
    )


def test_lead_time_shape_is_checked() -> None:
    p = RowParams(
        *(np.ones(1, dtype=np.int64) for _ in range(3)),
        np.ones(1),
        np.zeros(1, bool),
        *(np.ones(1, dtype=np.int64) for _ in range(3)),
    )
    try:
        simulate_bulk(
            np.ones((1, 3)), np.ones((1, 2)), np.ones(1), np.zeros(1), p, np.ones(1), np.ones(1)
        )
    except ValueError as exc:
        assert "shape" in str(exc)
    else:
        raise AssertionError("a lead-time matrix of the wrong shape was accepted")


def test_one_unit_still_on_the_way_keeps_the_acknowledgement_in_both_replays() -> None:
    # T1 10, T2 6, T3 2, order up to 7: day 0 orders 1 (in on day 3), day 1 orders 1 more (in
    # on day 11). From day 3 the item sits at T1 with one unit on the way: the acknowledgement
    # holds (rule 4b), so the raise on day 0 is the only notice.
    one = np.ones(1, dtype=np.int64)
    p = RowParams(
        np.array([10]),
        np.array([6]),
        np.array([2]),
        np.array([7.0]),
        np.zeros(1, bool),
        one,
        one,
        one,
    )
    demand = np.array([[3, 1, 0, 0, 0, 0]])
    lead = np.array([[3, 10, 10, 10, 10, 10]])
    ref = simulate(demand[0].tolist(), lead[0].tolist(), 9, SimParams(10, 6, 2, 7.0), trace=True)
    out = simulate_bulk(demand, lead, np.array([9]), np.array([0]), p, one, one, trace_rows=(0,))
    assert ref.on_hand == (6, 5, 5, 6, 6, 6) == tuple(out.on_hand[0].tolist())
    assert (ref.notices, ref.orders) == (int(out.notices[0]), int(out.orders[0])) == (1, 2)
