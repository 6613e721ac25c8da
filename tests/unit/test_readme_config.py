"""The README's configuration example loads: a route naming a channel it never defines
(``tasks``, until this test) fails at load time for every merchant who copies it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stockwatch.config.settings import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readmes_full_configuration_example_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [example] = [b for b in blocks if "[[routes]]" in b and "[[channels]]" in b]
    monkeypatch.setenv("DINGTALK_URL", "dingtalk://token@/?secret=SECabc")
    monkeypatch.setenv("BUYER_SMTP", "smtp://u:p@127.0.0.1:587/?from=a@b.cn&to=c@d.cn")
    monkeypatch.setenv("STOCKWATCH_1688_APP_SECRET", "not-empty")
    (tmp_path / "stockwatch.toml").write_text(example, encoding="utf-8")
    config = load_config(tmp_path / "stockwatch.toml")
    routed = {name for route in config.model.routes for name in route.channels}
    assert routed <= {c.name for c in config.model.channels}
