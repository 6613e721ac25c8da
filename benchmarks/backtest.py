"""Backtest sweep: 10,000 items × 365 days × 20 policies, numpy against a per-item Python loop.

    python -m benchmarks.backtest [--n 10000] [--days 365] [--loop-n 200] [--repeats 2]
                                  [--weekly-loop-n 20]

Both sides do the whole job: levels for every (policy, item) at the start of the year from the
90 days before it, then the daily simulation (orders at T2, MOQ and multiple, seeded lead
times, lost sales, notices with debounce and dedupe). Ours is ``bulk.sweep.run_sweep``; the
peer is the straightforward loop over ``core.tuning.replay_item`` (the per-item reference).
The loop runs on the first ``--loop-n`` items only, for every policy, and is extrapolated
linearly to all items (its cost per item is flat); its numbers must equal ours on those rows.
Data generation is not timed. Targets: at least 50× the loop, and under 10 s.

Then the same with the levels recomputed weekly during the year (52 recomputes, as the daemon
does by default), both sides, the loop on ``--weekly-loop-n`` items; same targets.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import time
from datetime import date

import numpy as np

from stockwatch.bulk.sweep import ReplayData, declared_lead, lead_matrix, run_sweep
from stockwatch.core.model import Item
from stockwatch.core.thresholds import Strategy, ThresholdPolicy
from stockwatch.core.tuning import Candidate, ItemReplay, candidate_levels, replay_item

HISTORY = 90
AS_OF = date(2026, 1, 1)
SPEEDUP_TARGET = 50.0
SECONDS_TARGET = 10.0


def generate(n: int, days: int, seed: int = 1) -> ReplayData:
    """Seeded negative-binomial sales (inventory-math §9.1) for the 90 days before and the
    replayed year; per-item lead times, MOQ, multiples, prices and received-order samples."""
    rng = np.random.default_rng(seed)
    mean = rng.lognormal(0.3, 1.3, n) * np.where(rng.random(n) < 0.3, 0.1, 1.0)
    shape = rng.uniform(0.3, 4.0, n)
    p = (shape / (shape + mean))[:, None]
    sales = rng.negative_binomial(shape[:, None], p, (n, HISTORY + days)).astype(np.int32)
    items = [
        Item(
            f"SKU{i:06d}",
            supplier=f"supplier-{i % 50}",
            lead_time_days=float(rng.integers(1, 22)),
            min_order_qty=int(rng.choice([1, 1, 5, 10, 50])),
            order_multiple=int(rng.choice([1, 1, 1, 6, 12])),
        )
        for i in range(n)
    ]
    samples = [[float(x) for x in rng.integers(1, 25, rng.integers(0, 5))] for _ in range(n)]
    return ReplayData(
        [it.sku for it in items],
        list(items),
        sales[:, :HISTORY],
        sales[:, HISTORY:],
        np.full(n, -1, dtype=np.int64),
        AS_OF,
        prices=np.where(rng.random(n) < 0.7, rng.uniform(1, 80, n), np.nan),
        lead_samples=samples,
    )


def candidates() -> list[Candidate]:
    """20 policies: service level × buffer × strategy, plus debounce/dedupe on a few."""
    out = [Candidate("in force")]
    for strategy in (Strategy.REORDER_POINT, Strategy.DAYS_OF_COVER):
        for buffer in (0.0, 2.0, 4.0):
            for alpha in (0.9, 0.95, 0.99):
                if len(out) == 20:
                    return out
                out.append(
                    Candidate(
                        f"{strategy.value}/b{buffer:g}/sl{alpha:g}",
                        (
                            ("strategy", strategy),
                            ("buffer_days", buffer),
                            ("service_level", alpha),
                        ),
                        dedupe_days=1 if buffer < 4 else 3,
                    )
                )
    out.append(Candidate("learned lead", lead_model="learned"))
    return out[:20]


def _policy(item: Item | None, sku: str) -> ThresholdPolicy:
    return ThresholdPolicy()


def run_numpy(
    data: ReplayData, cands: list[Candidate], recompute: tuple[int, ...] = ()
) -> tuple[float, float, object]:
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_sweep(
        data,
        cands,
        _policy,
        group_of=lambda it, sku: 0,
        sampled_leads=True,
        recompute_days=recompute,
    )
    return time.perf_counter() - t0, time.process_time() - c0, result


def run_loop(
    data: ReplayData, cands: list[Candidate], n: int, recompute: tuple[int, ...] = ()
) -> tuple[float, float, list[list[int]]]:
    """The peer: one item and one policy at a time, the per-item reference."""
    policies = [_policy(it, s) for it, s in zip(data.items, data.skus, strict=True)]
    lead = declared_lead(data.items, policies)
    leads = lead_matrix(data, lead, np.zeros(len(lead)), sampled=True, seed=0)
    before = data.before[:n].tolist()
    demand = data.demand[:n].tolist()
    lead_rows = leads[:n].tolist()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    starts = []
    for i in range(n):  # unknown start stock: the order-up-to level in force, as ours does
        start = int(data.start_on_hand[i])
        if start < 0:
            replay0 = ItemReplay(data.items[i], data.skus[i], before[i], [], [], 0)
            _, up = candidate_levels(cands[0], policies[i], replay0, AS_OF)
            start = math.ceil(up)
        starts.append(start)
    stockouts: list[list[int]] = []
    for cand in cands:
        row = []
        for i in range(n):
            replay = ItemReplay(
                data.items[i],
                data.skus[i],
                before[i],
                demand[i],
                lead_rows[i],
                starts[i],
                data.lead_samples[i],
            )
            out = replay_item(cand, policies[i], replay, AS_OF, recompute_days=recompute)
            row.append(out.stockout_days * 1_000_000 + out.notices * 1000 + out.orders)
        stockouts.append(row)
    return time.perf_counter() - t0, time.process_time() - c0, stockouts


def measure(
    data: ReplayData,
    cands: list[Candidate],
    n: int,
    loop_n: int,
    repeats: int,
    recompute: tuple[int, ...],
    label: str,
) -> bool:
    """Time ours and the loop with the same recomputes; print the figures and PASS/FAIL."""
    times, cpu = [], []
    result = None
    for _ in range(max(repeats, 1)):
        seconds, cpu_seconds, result = run_numpy(data, cands, recompute)
        times.append(seconds)
        cpu.append(cpu_seconds)
    ours, ours_cpu = statistics.median(times), statistics.median(cpu)
    print(
        f"[{label}] numpy sweep (levels + simulation): {ours:.2f} s wall, {ours_cpu:.2f} s CPU "
        f"(median of {len(times)}: " + ", ".join(f"{t:.2f}" for t in times) + ")"
    )
    loop_n = min(loop_n, n)
    loop_seconds, loop_cpu, loop_rows = run_loop(data, cands, loop_n, recompute)
    loop_total = loop_seconds / loop_n * n
    loop_total_cpu = loop_cpu / loop_n * n
    print(
        f"[{label}] per-item Python loop: {loop_seconds:.2f} s wall ({loop_cpu:.2f} s CPU) for "
        f"{loop_n:,} items × {len(cands)} policies; extrapolated linearly to {n:,} items: "
        f"{loop_total:.1f} s wall, {loop_total_cpu:.1f} s CPU"
    )
    assert result is not None
    mismatches = 0
    for k, row in enumerate(loop_rows):
        outcome = result.results[k].outcome  # type: ignore[attr-defined]
        ours_rows = (
            outcome.stockout_days[:loop_n] * 1_000_000
            + outcome.notices[:loop_n] * 1000
            + outcome.orders[:loop_n]
        )
        mismatches += int((ours_rows != np.asarray(row)).sum())
    compared = loop_n * len(cands)
    print(f"[{label}] check: {compared:,} rows compared with the loop, {mismatches} differ")
    totals = result.totals()  # type: ignore[attr-defined]
    base = totals["in force"]
    print(
        f"[{label}] in force: {base.stockout_days:,} stockout days, fill rate "
        f"{base.fill_rate:.3f}, {base.notices_per_item_month:.2f} notices/item/month; frontier: "
        f"{len(result.frontier())} of {len(cands)} policies"  # type: ignore[attr-defined]
    )
    ratio = loop_total / ours
    print(
        f"[{label}] ratio: {ratio:.1f}× the per-item loop (wall), "
        f"{loop_total_cpu / ours_cpu:.1f}× (CPU time; the fairer figure when other work shares "
        "the machine)"
    )
    ok_ratio = ratio >= SPEEDUP_TARGET and mismatches == 0
    ok_time = ours < SECONDS_TARGET
    print(
        f"{'PASS' if ok_ratio else 'FAIL'}  [{label}] ≥ {SPEEDUP_TARGET:g}× the per-item loop: "
        f"{ratio:.1f}×"
    )
    print(f"{'PASS' if ok_time else 'FAIL'}  [{label}] under {SECONDS_TARGET:g} s: {ours:.2f} s")
    return ok_ratio and ok_time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--loop-n", type=int, default=200)
    ap.add_argument("--weekly-loop-n", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    cands = candidates()
    t0 = time.perf_counter()
    data = generate(args.n, args.days)
    print(
        f"prep: {args.n:,} items × {args.days} days × {len(cands)} policies "
        f"({args.n * len(cands):,} simulated rows), generated in {time.perf_counter() - t0:.2f} s"
        f"; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    once = measure(data, cands, args.n, args.loop_n, args.repeats, (), "levels once")
    weekly = tuple(range(7, args.days, 7))
    every_week = measure(data, cands, args.n, args.weekly_loop_n, 1, weekly, "weekly recompute")
    return 0 if once and every_week else 1


if __name__ == "__main__":
    raise SystemExit(main())
