"""Finding 20: the demo's own review shows stockwatch preventing stockouts.

The demo runs in process, through the same code as ``stockwatch demo`` (simulator, fake robots,
daemon, market and merchant), at a raised speed for a bounded number of polls; its review is
then read from its database the way the demo's summary reads it. Simulated time waits for the
daemon and the merchant (the clock is held a few polls ahead of the slower of them), so a
loaded machine makes the run slower, not the figures worse.

On main before the fix the demo's review showed 0 episodes warned in time (the simulator's
rates did not match the sales history, it restocked by itself, items started at risk, and an
episode whose stockout an order prevented counted as nothing).
"""

from __future__ import annotations

from pathlib import Path

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import sample_dir
from stockwatch.entrypoints.cli.demo import DemoOptions, demo_review, run_demo

SPEED = 115_200.0  # 32 simulated hours per real second: a poll every 8 simulated hours
POLLS = 66  # 22 simulated days: two or three reorder cycles per item


def test_the_demo_review_shows_most_warnings_in_time_and_few_stockouts(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    options = DemoOptions(lang="en", cycles=POLLS, every=0.25, port=0, speed=SPEED)
    run_demo(sample_dir() / "stockwatch.toml", data, options)
    result = demo_review(load_config(data / "stockwatch.toml"))
    decided = [e for e in result.episodes if e.missed or e.early_enough is not None]
    in_time = [e for e in decided if e.early_enough]
    assert len(decided) >= 15, result.episodes  # enough episodes for a share to mean something
    # Most warnings in time. Measured: 78-89 % in four runs at load 3-10 (29/37, 26/33, 31/38,
    # 32/36); most late ones are NEW-EARBUDS, a new item on the new-item rule whose sales
    # outrun it, which the review rightly counts late. Before the fix: 0 in time.
    assert len(in_time) >= 0.75 * len(decided), (len(in_time), len(decided), result.episodes)
    assert result.prevented >= 0.7 * len(decided)  # most of them because the merchant ordered
    assert result.stockouts <= 0.2 * len(result.episodes), result.episodes
    # The one miss is on purpose: LED-STRIP-5M starts sold out, as the sample shows it.
    assert result.missed <= 1
