"""[[channels]] and [[routes]] in stockwatch.toml: validated at load time with key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockwatch.config.settings import ConfigError, load_config
from stockwatch.wiring.notify import build_channels, build_router

GOOD = """
[general]
lang = "zh-CN"

[[channels]]
name = "ops"
url = "${WECOM_URL}"

[[channels]]
name = "buyer-mail"
url = "smtp://buyer:pw@smtp.qq.com:587/?from=a@shop.cn&to=b@shop.cn"

[[routes]]
name = "everyone"
channels = ["ops"]
quiet_hours = "22:00-08:00"
digest = "09:00"

[[routes]]
name = "buyer"
tiers = ["t2", "T3", "out"]
channels = ["buyer-mail"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stockwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_config_builds_channels_and_routes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={"WECOM_URL": "wecom://k-1@/"})
    assert "k-1" not in repr(config.model.channels[0])  # the URL is a secret
    channels = build_channels(config)
    assert sorted(channels) == ["buyer-mail", "console", "ops"]  # console: always there
    router = build_router(config)
    assert [r.name for r in router.routes] == ["everyone", "buyer"]
    assert router.routes[1].tiers and router.routes[0].quiet is not None


def test_a_bad_channel_url_fails_with_its_key_path_and_line(tmp_path: Path) -> None:
    text = GOOD.replace('"smtp://buyer', '"smtp://buyer').replace("to=b@shop.cn", "to=nobody")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={"WECOM_URL": "wecom://k@/"})
    [problem] = caught.value.problems
    assert problem.path == "channels[1].url" and problem.line == 11
    assert "bad e-mail address 'nobody'" in problem.message


def test_a_route_naming_an_unknown_channel_fails(tmp_path: Path) -> None:
    text = GOOD.replace('channels = ["buyer-mail"]', 'channels = ["buyer-mial"]')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={"WECOM_URL": "wecom://k@/"})
    [problem] = caught.value.problems
    assert (
        problem.path == "routes[1].channels" and "unknown channel 'buyer-mial'" in problem.message
    )


def test_bad_tiers_and_quiet_hours_are_reported(tmp_path: Path) -> None:
    text = GOOD.replace('tiers = ["t2", "T3", "out"]', 'tiers = ["T9"]').replace(
        '"22:00-08:00"', '"late"'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={"WECOM_URL": "wecom://k@/"})
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["routes[0].quiet_hours", "routes[1].tiers"]


def test_a_secret_spliced_into_a_url_is_refused_rather_than_sent_literally(
    tmp_path: Path,
) -> None:
    text = GOOD.replace('"${WECOM_URL}"', '"wecom://${WECOM_KEY}@/"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={"WECOM_KEY": "k"})
    [problem] = caught.value.problems
    assert problem.path == "channels[0].url" and "whole URL" in problem.message


@pytest.mark.parametrize(
    ("field", "value"), [("digest", "09:00+08:00"), ("quiet_hours", "22:00Z-08:00Z")]
)
def test_route_times_with_an_offset_are_refused_at_load_time(
    tmp_path: Path, field: str, value: str
) -> None:
    # They would crash the daemon later, when compared with the shop's local clock.
    line = 'digest = "09:00"' if field == "digest" else 'quiet_hours = "22:00-08:00"'
    text = GOOD.replace(line, f'{field} = "{value}"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={"WECOM_URL": "wecom://k@/"})
    [problem] = caught.value.problems
    assert problem.path == f"routes[0].{field}"
