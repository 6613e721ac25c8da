"""A stockwatch.toml whose channels point at running loopback fakes."""

from __future__ import annotations

from pathlib import Path

from stockwatch.devtools.receivers import Receivers


def write_config(tmp_path: Path, fakes: Receivers, extra: dict[str, str] | None = None) -> Path:
    urls = {**fakes.channel_urls(), "tasks": "task://", **(extra or {})}
    lines = [f'[general]\ndata_dir = "{tmp_path / "data"}"\n']
    for name, url in urls.items():
        lines.append(f'[[channels]]\nname = "{name}"\nurl = "{url}"\n')
    lines.append('[[routes]]\nname = "all"\nchannels = ["hook", "tasks"]\n')
    path = tmp_path / "stockwatch.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
