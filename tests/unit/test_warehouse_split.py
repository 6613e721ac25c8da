"""One 1688 offer kept in several warehouses: each item's share, or an error naming the key
and its line — never the whole stock copied into every warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockwatch.config.settings import Config, ConfigError, load_config
from stockwatch.core.model import Item, OfferMapping
from stockwatch.wiring.warehouse_split import check_split, split_problems, with_shares

HZ = Item("LAMP", warehouse="HZ", offer=OfferMapping("LAMP", "611", spec_id="red"))
GZ = Item("LAMP", warehouse="GZ", offer=OfferMapping("LAMP", "611", spec_id="red"))
BLUE = Item("LAMP-BLUE", offer=OfferMapping("LAMP-BLUE", "611", spec_id="blue"))


def config(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "stockwatch.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env={})


def test_shares_that_add_up_split_the_stock_by_floor(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[items."LAMP@HZ"]\nshare = 0.6\n[items."LAMP@GZ"]\nshare = 0.4\n')
    items = [HZ, GZ, BLUE]
    assert split_problems(cfg, items) == []
    check_split(cfg, items)
    shared = with_shares(cfg, {i.key: i for i in items})
    hz, gz = shared[HZ.key].offer, shared[GZ.key].offer
    assert hz is not None and gz is not None
    assert (hz.own(101), gz.own(101)) == (60, 40)  # floor: never more than 1688 has
    assert (hz.own(0), gz.own(3)) == (0, 1)
    assert shared[BLUE.key].offer == BLUE.offer  # its own spec: all of it, no share needed


def test_a_missing_share_is_an_error_naming_the_key_and_its_line(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[general]\nlang = "en"\n[items."LAMP@HZ"]\nshare = 0.6\n')
    [problem] = split_problems(cfg, [HZ, GZ])
    assert problem.path == 'items."LAMP@GZ".share'
    assert "offer 611/red is mapped to 2 items (LAMP@HZ, LAMP@GZ)" in problem.message
    with pytest.raises(ConfigError) as raised:
        check_split(cfg, [HZ, GZ])
    assert str(tmp_path / "stockwatch.toml") in str(raised.value)
    # No section at all: both are named, each at no line (the key is not in the file yet).
    bare = config(tmp_path, "")
    assert [p.path for p in split_problems(bare, [HZ, GZ])] == [
        'items."LAMP@HZ".share',
        'items."LAMP@GZ".share',
    ]


def test_shares_that_do_not_add_up_name_each_share_line(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[items."LAMP@HZ"]\nshare = 0.6\n\n[items."LAMP@GZ"]\nshare = 0.6\n')
    problems = split_problems(cfg, [HZ, GZ])
    assert [(p.path, p.line) for p in problems] == [
        ('items."LAMP@HZ".share', 2),
        ('items."LAMP@GZ".share', 5),
    ]
    assert all("add up to 1.2, not 1" in p.message for p in problems)


def test_a_share_outside_0_to_1_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="share"):
        config(tmp_path, '[items."LAMP@HZ"]\nshare = 1.5\n')
