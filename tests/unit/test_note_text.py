"""The zh-CN wording of stored threshold explanations (core/note_text.py).

The property test drives compute_levels over random policies, sales, promotions, stockouts,
learned lead times and hand-set levels: every note it writes must be one note_text renders,
so a new or reworded note in the core cannot reach a Chinese page in English unnoticed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Item
from stockwatch.core.note_text import knows_note, note_text, step_text
from stockwatch.core.promotions import Promotion
from stockwatch.core.thresholds import (
    ManualLevels,
    Strategy,
    ThresholdPolicy,
    TierSpec,
    compute_levels,
)
from stockwatch.service.recompute import review_reason

DAY = date(2026, 11, 24)
# English words the notes and formulas use; none may survive into the zh-CN rendering.
ENGLISH = re.compile(
    r"\b(days?|history|rule|selling|mean|demand|promotion|threshold|hand|raised|floor|clamped|"
    r"learned|orders|observed|declared|quantile|intermittent|formula|review|period|kept|left|"
    r"stockout|safety|reorder|before|rounding|cover|empirical|combined|set|max of|per tier)\b"
)


def _english_left(text: str) -> list[str]:
    # Quoted promotion names and actor names are the merchant's own words: not ours to translate.
    bare = re.sub(r"'[^']*'|由 \S+ 手动设定", "", text)
    return ENGLISH.findall(bare)


policies = st.builds(
    ThresholdPolicy,
    strategy=st.sampled_from(list(Strategy)),
    lead_time_days=st.sampled_from([0.0, 3.0, 7.0, 15.0]),
    buffer_days=st.sampled_from([0.0, 2.0]),
    min_history_days=st.sampled_from([1, 14, 30]),
    new_item_days=st.sampled_from([None, 10.0]),
    fixed_threshold=st.just(40.0),
    t3_floor=st.sampled_from([1, 30]),
    fill_rate=st.sampled_from([None, 0.99]),
    intermittent_fill_rate=st.sampled_from([None, 0.95]),
    order_cycle_days=st.sampled_from([0.0, 30.0]),
    tiers=st.sampled_from(
        [
            (),
            (("T1", TierSpec.parse("1.5x")),),
            (("T3", TierSpec.parse("3d")),),
            (("T2", TierSpec.parse("lead+2d")), ("T1", TierSpec.parse("500"))),
        ]
    ),
    manual=st.sampled_from(
        [None, ManualLevels(t2=5), ManualLevels(threshold=0), ManualLevels(threshold=9, t1=3)]
    ),
)
learned = st.builds(
    LearnedLeadTime,
    points=st.just(((5.0, 0.7), (12.0, 0.3))),
    orders=st.integers(3, 40),
    scope=st.sampled_from(["item", "supplier"]),
    observed_mean=st.floats(1, 30),
    observed_sd=st.floats(0, 9),
)


@settings(max_examples=300, deadline=None)
@given(
    policy=policies,
    daily=st.none() | st.lists(st.sampled_from([0, 0, 0, 1, 3, 8, 40]), max_size=120),
    promo=st.sampled_from([None, "demand", "threshold"]),
    stockouts=st.sets(st.integers(1, 60), max_size=20),
    lead=st.none() | learned,
)
def test_every_note_compute_levels_writes_reads_in_chinese(
    policy: ThresholdPolicy,
    daily: list[int] | None,
    promo: str | None,
    stockouts: set[int],
    lead: LearnedLeadTime | None,
) -> None:
    item = Item("A")
    promotions = (
        [Promotion("双12", DAY - timedelta(days=5), DAY + timedelta(days=3), 2.5, promo, {"A"})]
        if promo
        else []
    )
    try:
        levels = compute_levels(
            policy,
            daily,
            DAY,
            item,
            promotions,
            stockout_days={DAY - timedelta(days=d) for d in stockouts},
            lead_time=lead,
        )
    except ValueError:
        return  # inputs the core refuses (with its own message) write no notes
    for note in levels.basis.notes:
        assert knows_note(note), note
        zh = note_text(note, "zh-CN")
        assert not _english_left(zh), (note, zh)
        assert note_text(note, "en") == note
    for step in levels.basis.steps:
        for part in (step.label, step.formula):
            assert not _english_left(step_text(part, "zh-CN")), part


def test_a_learned_lead_time_note_keeps_its_figures_in_chinese() -> None:
    note = (
        "lead time learned from 6 received orders (the supplier's): observed 9.5 ± 2.1 d; "
        "blended with the declared one: L 8.25 d, σL 1.90 d; reorder point from the demand "
        "quantile over that lead-time distribution"
    )
    assert note_text(note, "zh-CN") == (
        "交期由 6 张已收货采购单学得（供应商的）：实测 9.5 ± 2.1 天；与申报交期混合后 L 8.25 天、"
        "σL 1.90 天；再订货点取该交期分布上需求的分位数"
    )


def test_dropped_days_are_listed_in_chinese_with_their_dates() -> None:
    note = "left out of d̄ and σ: 2 stockout day(s) (11-01–11-02); 1 promotion day(s) (11-11)"
    assert note_text(note, "zh-CN") == (
        "未计入 d̄ 和 σ：2 个断货日（11-01–11-02）；1 个促销日（11-11）"
    )


def test_the_review_reason_of_a_held_change_reads_in_chinese() -> None:
    old = compute_levels(ThresholdPolicy(strategy=Strategy.FIXED, fixed_threshold=10), None, DAY)
    new = compute_levels(ThresholdPolicy(strategy=Strategy.FIXED, fixed_threshold=90), None, DAY)
    reason = review_reason(old, new, 3.0)
    assert reason is not None
    assert note_text(reason, "zh-CN") == "T2 将从 10 变为 90（×9.00），超过审核系数 3"


def test_a_note_from_an_older_version_is_shown_as_stored() -> None:
    assert note_text("some wording no pattern knows", "zh-CN") == "some wording no pattern knows"
    assert not knows_note("some wording no pattern knows")


def test_step_phrases_and_formulas() -> None:
    assert step_text("safety stock", "zh-CN") == "安全库存"
    assert step_text("T3 cover", "zh-CN") == "T3 可售天数"
    assert step_text("d̄ × (L +2 days)", "zh-CN") == "d̄ × (L +2 天)"
    assert step_text("max(ROP − d̄·(L declared + R), 0)", "zh-CN") == "max(ROP − d̄·(L 申报 + R), 0)"
    assert step_text("Z·√((L+R)·σ² + d̄²·σL²)", "zh-CN") == "Z·√((L+R)·σ² + d̄²·σL²)"
    assert step_text("safety stock", "en") == "safety stock"


def test_an_intermittent_rate_note_and_its_mixture_steps_read_in_chinese() -> None:
    daily = [10 if i % 10 == 9 else 0 for i in range(90)] + [10, 0, 0, 10]
    lead = LearnedLeadTime(((7.0, 0.8), (17.0, 0.2)), 10, "supplier", 9.0, 4.0)
    levels = compute_levels(
        ThresholdPolicy(lead_time_days=7.0), daily, DAY, Item("A"), (), lead_time=lead
    )
    rate_notes = [n for n in levels.basis.notes if n.startswith("intermittent demand: d̄")]
    assert rate_notes and note_text(rate_notes[0], "zh-CN").startswith("间歇性需求：d̄ 取 ")
    labels = [step_text(s.label, "zh-CN") for s in levels.basis.steps]
    assert "ROP（经验分位数，交期分布）" in labels


def test_every_strategy_and_computed_input_has_a_zh_cn_name() -> None:
    # A reviewer saw "策略: default → reorder_point" and inputs named history_days, velocity7,
    # d_order in zh-CN: every name a basis can carry must have Chinese words, English stays.
    from stockwatch.core.model import COMPUTED_INPUTS
    from stockwatch.core.note_text import input_text, strategy_text
    from stockwatch.core.thresholds import learned_inputs

    names = [s.value for s in Strategy] + ["default", "disabled", "hand_set"]
    for name in names:
        zh = strategy_text(name, "zh-CN")
        assert re.search(r"[\u4e00-\u9fff]", zh) and name not in zh, name
        assert strategy_text(name, "en") == name
    assert strategy_text("reorder_point", "zh-CN") == "再订货点"
    learned = LearnedLeadTime(((7.0, 1.0),), 3, "item", 7.5, 1.2)
    inputs = [
        *COMPUTED_INPUTS,
        *(n for n, _ in learned_inputs(learned)),
        "order_cycle_days",
        "fill_rate",
        "order_qty",
    ]
    for name in inputs:
        zh = input_text(name, "zh-CN")
        assert re.search(r"[\u4e00-\u9fff]", zh), name
        assert input_text(name, "en") == name
    for name in ("history_days", "velocity7", "service_level", "lead_observed_sd"):
        assert name not in input_text(name, "zh-CN"), name
    assert input_text("d_order", "zh-CN") == "补货用日均销量（d_order）"
    assert input_text("T2", "zh-CN") == "T2"  # a hand-set level's input: a tier name as it is
