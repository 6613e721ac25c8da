"""The `stockwatch` command line (Typer + Rich). It parses arguments and calls the service."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="stockwatch",
    help="库存预警 stockwatch: low-stock alerts for 1688 merchants.",
    no_args_is_help=True,
    add_completion=False,
)


def main() -> None:
    app()
