"""The demo's world starts every item above T1 (finding 20), except the one sold out on purpose."""

from __future__ import annotations

from datetime import date, timedelta

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import sample_dir
from stockwatch.entrypoints.cli.demo_world import demo_catalogue
from stockwatch.wiring.compose import LevelCache, load_catalog


def test_every_item_starts_above_t1_except_the_one_the_sample_shows_sold_out() -> None:
    cfg = load_config(sample_dir() / "stockwatch.toml")
    end = load_catalog(cfg, date.today()).sales_end
    assert end is not None
    cache = LevelCache(cfg, end + timedelta(days=1))
    cache.refresh()
    catalogue = demo_catalogue(sample_dir(), cache.catalog.items, cache.levels, seed=7)
    at_risk = []
    for key, item in cache.catalog.items.items():
        level = cache.levels[key]
        if item.offer is None or level.disabled:
            continue
        offer = catalogue.offers[int(item.offer.offer_id)]
        figure = next(
            (s.amount for s in offer.skus if s.spec_id == item.offer.spec_id), offer.amount
        )
        if item.offer.own(figure) <= level.t1:
            at_risk.append(str(key))
    assert at_risk == ["LED-STRIP-5M"]
    assert all(not offer.restocks for offer in catalogue)
