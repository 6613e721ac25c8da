"""stockwatch.toml: layered policies, secrets, and errors that name file, key path and line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from stockwatch.config.settings import ConfigError, find_config, load_config, mask, parse_duration
from stockwatch.core.model import Item, ItemClass, Tier
from stockwatch.core.thresholds import Strategy

GOOD = """\
[general]
lang = "en"

[alerting]
dedupe_hours = 12
debounce = { T1 = "1h", T2 = "10m" }
debounce_readings = { T1 = 2 }
renotify_drop_pct = 30

[thresholds]
lead_time_days = 10
service_level = 0.97

[classes.A]
service_level = 0.995

[categories."数据线"]
buffer_days = 4
strategy = "combined"

[items."RETRO-CLOCK"]
t2 = 300

[items."OLD-MUG"]
manual_threshold = 0

[[promotions]]
name = "双12"
start = 2026-12-10
end = 2026-12-12
multiplier = 2.5
tags = ["促销"]
"""


def write(tmp_path: Path, text: str, name: str = "stockwatch.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_loads_into_policies(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD), env={})
    assert cfg.lang == "en"
    policy = cfg.alert_policy()
    assert policy.dedupe_window == timedelta(hours=12)
    assert policy.debounce_for(Tier.T1).duration == timedelta(hours=1)
    assert policy.debounce_for(Tier.T1).readings == 2
    assert policy.debounce_for(Tier.T3).duration == timedelta(0)
    assert policy.renotify_drop_ratio == pytest.approx(0.3)
    assert cfg.threshold_policy(None).service_level == 0.97
    a_item = Item("X", item_class=ItemClass.A)
    assert cfg.threshold_policy(a_item).service_level == 0.995
    cable = Item("CABLE", category="数据线", item_class=ItemClass.C)
    cable_policy = cfg.threshold_policy(cable)
    assert cable_policy.strategy is Strategy.COMBINED and cable_policy.buffer_days == 4
    assert cable_policy.service_level == 0.97  # the user's default beats the class default
    assert cfg.threshold_policy(Item("RETRO-CLOCK")).manual is not None
    assert cfg.promotions()[0].multiplier == 2.5


def test_class_defaults_apply_when_the_user_sets_no_service_level(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[thresholds]\nlead_time_days = 5\n"), env={})
    assert cfg.threshold_policy(Item("A", item_class=ItemClass.A)).service_level == 0.99
    assert cfg.threshold_policy(Item("C", item_class=ItemClass.C)).service_level == 0.90


def test_every_problem_is_listed_with_its_key_path_and_line(tmp_path: Path) -> None:
    bad = """\
[general]
lang = "fr"

[alerting]
dedupe_hours = -1
debounce = { T9 = "1h" }

[thresholds]
service_level = 1.0
strategy = "magic"

[items."RETRO-CLOCK"]
tiers = { T1 = 10, T2 = 40 }
colour = "red"
"""
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    problems = {(p.path, p.line) for p in info.value.problems}
    assert ("general.lang", 2) in problems
    assert ("alerting.dedupe_hours", 5) in problems
    assert ("alerting.debounce", 6) in problems
    assert ("thresholds.strategy", 10) in problems
    assert ("items.RETRO-CLOCK.colour", 14) in problems
    assert str(path) in str(info.value)


def test_impossible_policies_fail_at_load_time_with_their_line(tmp_path: Path) -> None:
    text = """\
[thresholds]
lead_time_sd_days = 9

[items."SHAKY"]
lead_time_days = 2
lead_time_sd_days = 5

[items."KEYCHAIN"]
strategy = "fixed"
tiers = { T1 = 10, T2 = 40, T3 = 5 }
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    by_path = {p.path: p for p in info.value.problems}
    # The defaults' own mistake (σL 9 > L 7) is reported once, not again for every item.
    assert by_path["thresholds"].line == 1 and "lead_time_sd_days" in by_path["thresholds"].message
    assert len(info.value.problems) == 3
    assert (
        by_path["items.SHAKY"].line == 4 and "lead_time_sd_days" in by_path["items.SHAKY"].message
    )
    assert (
        by_path["items.KEYCHAIN"].line == 8 and "out of order" in by_path["items.KEYCHAIN"].message
    )


def test_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[general]\nlang = \n"), env={})
    assert info.value.problems[0].line == 2


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_secrets_come_from_the_environment_or_the_secrets_file(tmp_path: Path) -> None:
    write(tmp_path, 'OTHER = "from-file"\n', "secrets.toml")
    text = (
        '[general]\nsecrets_file = "secrets.toml"\ndata_dir = "${DATA}"\n'
        '[catalog]\nitems = "${OTHER}"\n'
    )
    cfg = load_config(write(tmp_path, text), env={"DATA": "/srv/data"})
    assert cfg.model.general.data_dir == "/srv/data"
    assert cfg.model.catalog.items == "from-file"


def test_a_missing_secret_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, '[catalog]\n\nitems = "${NOPE}"\n'), env={})
    (problem,) = info.value.problems
    assert problem.path == "catalog.items" and problem.line == 3 and "NOPE" in problem.message


def test_a_secret_that_resolves_empty_is_a_configuration_error(tmp_path: Path) -> None:
    # Finding 2: token = "${WEB_TOKEN}" with WEB_TOKEN="" silently opened /api/* to anyone.
    write(tmp_path, 'HOOK = ""\n', "secrets.toml")
    text = (
        '[general]\nsecrets_file = "secrets.toml"\n'
        '[daemon]\nwebhook_token = "${HOOK}"\n'
        '[daemon.http]\ntoken = "${WEB_TOKEN}"\n'
        '[gateway]\napp_secret = ""\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={"WEB_TOKEN": ""})
    found = {(p.path, p.line): p.message for p in info.value.problems}
    assert "WEB_TOKEN" in found[("daemon.http.token", 6)]
    assert "empty" in found[("daemon.http.token", 6)]
    assert "HOOK" in found[("daemon.webhook_token", 4)]
    assert "empty" in found[("gateway.app_secret", 8)]


def test_an_empty_or_missing_channel_url_secret_is_one_problem(tmp_path: Path) -> None:
    # Found verifying #11 item 2: url = "${DING_URL}" with DING_URL="" was reported twice,
    # the second time as "a secret reference must be the whole URL" (which it was).
    text = '[[channels]]\nname = "d"\nurl = "${DING_URL}"\n'
    for env in ({"DING_URL": ""}, {}):
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, text), env=env)
        [problem] = info.value.problems
        assert problem.path == "channels[0].url" and "DING_URL" in problem.message


def test_mask_shows_no_character_of_the_secret() -> None:
    secret = "SEC0123456789abcdef"
    masked = mask(secret)
    assert masked == "***" and mask("short") == "***"
    assert not set(masked) & set(secret)  # not even the last two characters (#11 item 14)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("90s", 90), ("0", 0), (15, 15)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_bad_durations_are_rejected() -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration("soon")


def test_find_config_prefers_explicit_then_env_then_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "x.toml"
    assert find_config(explicit, env={}) == explicit
    assert find_config(None, env={"STOCKWATCH_CONFIG": "/etc/sw.toml"}) == Path("/etc/sw.toml")
    monkeypatch.chdir(tmp_path)
    assert find_config(None, env={}) is None
    write(tmp_path, "")
    assert find_config(None, env={}) == tmp_path / "stockwatch.toml"


def test_the_bundled_sample_config_is_valid() -> None:
    from stockwatch.entrypoints.cli.app import sample_dir

    cfg = load_config(sample_dir() / "stockwatch.toml", env={})
    assert cfg.model.catalog.items == "items.csv"


def test_out_of_order_hand_set_levels_are_a_config_error_with_their_line(tmp_path: Path) -> None:
    text = '[items."RED-MUG"]\nt1 = 5\nt2 = 10\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    (problem,) = info.value.problems
    assert problem.path == "items.RED-MUG" and problem.line == 1
    assert "out of order" in problem.message


def test_absurd_durations_are_config_errors_not_crashes(tmp_path: Path) -> None:
    text = '[alerting]\nstale_after = "9999999999w"\ndedupe_hours = 1e300\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert {p.path for p in info.value.problems} == {
        "alerting.stale_after",
        "alerting.dedupe_hours",
    }


def test_the_grace_for_goods_to_show_is_a_duration_with_a_default(tmp_path: Path) -> None:
    alerting = load_config(write(tmp_path, ""), env={}).model.alerting.to_policy()
    assert alerting.goods_in_grace == timedelta(hours=12)
    cfg = load_config(write(tmp_path, '[alerting]\ngoods_in_grace = "2h"\n'), env={})
    assert cfg.model.alerting.to_policy().goods_in_grace == timedelta(hours=2)
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, '[alerting]\ngoods_in_grace = "soon"\n'), env={})
    assert [p.path for p in info.value.problems] == ["alerting.goods_in_grace"]


def test_layers_that_clash_only_together_name_the_item_and_its_layers(tmp_path: Path) -> None:
    text = (
        "[thresholds]\nlead_time_days = 2\n"
        '[categories."cups"]\nlead_time_sd_days = 1\n'
        '[items."RED-MUG"]\nlead_time_days = 0.5\n'
    )
    cfg = load_config(write(tmp_path, text), env={})
    with pytest.raises(
        ValueError, match=r"item RED-MUG: .*categories\.\"cups\".*items\.\"RED-MUG\""
    ):
        cfg.threshold_policy(Item("RED-MUG", category="cups"))


def test_daemon_channels_must_name_a_defined_channel_or_console(tmp_path: Path) -> None:
    text = (
        '[daemon]\nchannels = ["console", "dingtlak"]\n'
        '[[channels]]\nname = "dingtalk"\nurl = "console://"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    (problem,) = info.value.problems
    assert problem.path == "daemon.channels[1]" and problem.line == 2
    assert "dingtlak" in problem.message


def test_an_unknown_time_zone_is_reported_with_its_key_line_and_a_suggestion(
    tmp_path: Path,
) -> None:
    # Finding 15: "Asia/Shangai" passed validation and ended `check` in a traceback.
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, '[general]\n\ntimezone = "Asia/Shangai"\n'), env={})
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("general.timezone", 3)
    assert "'Asia/Shanghai'" in problem.message


def test_every_problem_is_reported_in_one_pass_with_did_you_mean(tmp_path: Path) -> None:
    # Finding 15: an unknown route channel was reported only after the field errors were fixed,
    # "30 minutes" only when the policy was built, a missing items file never by validate.
    text = (
        '[catalog]\nitems = "nowhere.csv"\n'
        '[alerting]\ndedupe_hour = 12\ndebounce = { T1 = "30 minutes" }\n'
        '[[channels]]\nname = "ops"\nurl = "console://"\n'
        '[[routes]]\nname = "all"\nchannels = ["opps"]\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={}, check_files=True)
    found = {p.path: p for p in info.value.problems}
    assert "did you mean 'dedupe_hours'" in found["alerting.dedupe_hour"].message
    assert found["alerting.dedupe_hour"].line == 4
    assert "30 minutes" in found["alerting.debounce"].message
    assert "nowhere.csv" in found["catalog.items"].message
    assert any("opps" in p.message for p in info.value.problems)
