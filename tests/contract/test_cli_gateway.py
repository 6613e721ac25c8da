"""`stockwatch auth login|status` against the simulator, and the simulator's own CLI checks."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.entrypoints.cli import gateway as cli_gateway
from stockwatch.entrypoints.cli.app import app, sample_dir

runner = CliRunner()


def config_for(sim: SimulatorHandle, tmp_path: Path) -> Path:
    path = tmp_path / "stockwatch.toml"
    path.write_text(
        f"""[general]
data_dir = "data"
[gateway]
base_url = "{sim.base_url}"
app_key = "{sim.app_key}"
app_secret = "${{STOCKWATCH_1688_APP_SECRET}}"
redirect_uri = "{sim.base_url}/oauth/callback"
""",
        encoding="utf-8",
    )
    return path


def fresh_code(sim: SimulatorHandle) -> str:
    url = f"{sim.base_url}/oauth/authorize?client_id={sim.app_key}&site=1688&state=s"
    location = httpx.get(url).headers["location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def test_login_stores_tokens_and_status_shows_expiries(
    simulator: SimulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pasted redirect must carry the state this login generated: make it known ("s").
    monkeypatch.setattr(cli_gateway.secrets, "token_urlsafe", lambda n: "s")
    config = config_for(simulator, tmp_path)
    env = {"STOCKWATCH_1688_APP_SECRET": simulator.app_secret}
    before = runner.invoke(app, ["auth", "status", "-c", str(config), "--lang", "en"], env=env)
    assert before.exit_code == 1 and "auth login" in before.output
    redirect = f"{simulator.base_url}/oauth/callback?code={fresh_code(simulator)}&state=s"
    login = runner.invoke(
        app, ["auth", "login", "-c", str(config), "--lang", "en"], input=redirect + "\n", env=env
    )
    assert login.exit_code == 0, login.output
    assert "/oauth/authorize?client_id=" in login.output
    assert "b2b-2209000000002" in login.output
    stored = json.loads((tmp_path / "data" / "1688-tokens.json").read_text(encoding="utf-8"))
    token = stored[simulator.app_key]["access_token"]
    assert token not in login.output
    status = runner.invoke(app, ["auth", "status", "-c", str(config)], env=env)
    assert status.exit_code == 0 and "refresh token" in status.output
    assert token not in status.output


def test_a_used_code_is_a_clear_error(simulator: SimulatorHandle, tmp_path: Path) -> None:
    config = config_for(simulator, tmp_path)
    env = {"STOCKWATCH_1688_APP_SECRET": simulator.app_secret}
    code = fresh_code(simulator)
    first = runner.invoke(app, ["auth", "login", "-c", str(config), "--code", code], env=env)
    assert first.exit_code == 0
    again = runner.invoke(app, ["auth", "login", "-c", str(config), "--code", code], env=env)
    assert again.exit_code == 1 and "code invalid or expired" in again.output
    assert "Traceback" not in again.output


def test_a_missing_secret_names_the_config_line(tmp_path: Path) -> None:
    with running_simulator(offers=1, qps=None) as sim:
        config = config_for(sim, tmp_path)
        result = runner.invoke(app, ["auth", "status", "-c", str(config)], env={})
        assert result.exit_code == 1
        assert "gateway.app_secret" in result.output and ":6" in result.output


def test_the_sample_offers_are_served_for_the_demo() -> None:
    with running_simulator(sample=sample_dir(), offers=0, qps=None) as sim:
        catalogue = sim.catalogue()
        assert 610000000001 in catalogue
        specs = {s["specId"] for s in catalogue[610000000002]["skuInfos"]}
        assert specs == {"spec-1m", "spec-2m"}
        assert "skuInfos" not in catalogue[610000000001]


def test_bad_simulator_flags_are_rejected_without_a_traceback() -> None:
    result = runner.invoke(app, ["simulate-gateway", "--fault", "gremlins", "--port", "0"])
    assert result.exit_code != 0 and "use one of" in result.output
    result = runner.invoke(app, ["simulate-gateway", "--skus-per-offer", "6..1", "--port", "0"])
    assert result.exit_code != 0 and "LOW" in result.output
