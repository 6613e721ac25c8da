"""A 1688 offer kept in two warehouses, through the daemon against the simulator: each warehouse
reads its share of the offer's stock; without the shares ``config validate`` and ``stockwatch
run`` name the key and its line instead of copying the stock into both."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue, Offer, step_of
from stockwatch.adapters.alibaba1688.simulator.server import running_simulator
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import ConfigError, load_config
from stockwatch.core.model import ItemKey
from stockwatch.entrypoints.cli.app import app
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.wiring.compose import build_daemon, token_store
from tests.e2e.daemon_setup import until

OFFER = 610000000011
HZ, GZ = ItemKey("LAMP", "HZ"), ItemKey("LAMP", "GZ")
SHARES = '[items."LAMP@HZ"]\nshare = 0.6\n[items."LAMP@GZ"]\nshare = 0.4\n'


def _shop(root: Path, gateway: str, shares: str) -> Path:
    (root / "items.csv").write_text(
        f"sku,title,offer_id,warehouse\nLAMP,台灯,{OFFER},HZ\nLAMP,台灯,{OFFER},GZ\n",
        encoding="utf-8",
    )
    config = root / "stockwatch.toml"
    config.write_text(
        '[general]\ndata_dir = "data"\nlang = "en"\n[catalog]\nitems = "items.csv"\n'
        f'[gateway]\nbase_url = "{gateway}"\nqps = 200\n'
        '[daemon]\n[[daemon.groups]]\nname = "all"\ninterval = 0.1\n'
        "[daemon.http]\nport = 0\n[daemon.orders]\nenabled = false\n" + shares,
        encoding="utf-8",
    )
    return config


def _catalogue(amount: int) -> Catalogue:
    cat = Catalogue(seed=1, churn=False)
    now = step_of(datetime.now(UTC))
    cat.add(Offer(OFFER, "台灯", [], amount, "steady", 0.0, -1, 0, step=now))
    return cat


def test_each_warehouse_reads_its_share_of_the_offer(tmp_path: Path) -> None:
    with running_simulator(_catalogue(101), qps=None) as sim:
        cfg = load_config(_shop(tmp_path, sim.base_url, SHARES))
        token_store(cfg).save(sim.mint_token())

        async def main() -> tuple[int | None, int | None]:
            parts = build_daemon(cfg, http_port=0)
            store = parts.store
            assert isinstance(store, SqlStore)
            daemon = Daemon(parts)
            task = asyncio.create_task(daemon.run())

            def both() -> tuple[int | None, int | None] | None:
                hz, gz = store.readings(HZ, limit=1), store.readings(GZ, limit=1)
                if not (hz and gz):
                    return None
                return hz[0].reading.on_hand, gz[0].reading.on_hand

            try:
                first = await until(both, "a reading of both warehouses")
                sim.set_stock(OFFER, 50)
                await until(lambda: both() == (30, 20), "the new stock, split")
                return first  # type: ignore[return-value]
            finally:
                daemon.stop.set()
                await asyncio.wait_for(task, 20)
                store.engine.dispose()

        assert asyncio.run(main()) == (60, 40)  # floor(101 × 0.6), floor(101 × 0.4)


def test_without_shares_validate_and_run_name_the_key_and_line(tmp_path: Path) -> None:
    config = _shop(tmp_path, "http://127.0.0.1:9", '[items."LAMP@HZ"]\nshare = 0.6\n')
    runner = CliRunner()
    checked = runner.invoke(app, ["config", "validate", "-c", str(config)])
    assert checked.exit_code == 1
    assert f'{config} items."LAMP@GZ".share: offer {OFFER} is mapped to 2 items' in checked.stderr
    assert "Traceback" not in checked.stderr
    with pytest.raises(ConfigError, match=r'items\."LAMP@GZ"\.share'):
        build_daemon(load_config(config), http_port=0)  # not lazy: the catalogue is read here
    ran = runner.invoke(app, ["run", "-c", str(config), "--port", "0"])
    assert ran.exit_code == 1 and 'items."LAMP@GZ".share' in ran.stderr
    # A stock file has a row per warehouse: no split needed, nothing to complain about.
    text = config.read_text(encoding="utf-8").replace(
        "[daemon]\n", '[daemon]\nstock_file = "s.csv"\n'
    )
    config.write_text(text, encoding="utf-8")
    assert runner.invoke(app, ["config", "validate", "-c", str(config)]).exit_code == 0
