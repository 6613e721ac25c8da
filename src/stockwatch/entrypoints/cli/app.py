"""The `stockwatch` command line (Typer + Rich). It parses arguments and calls the service.

Exit codes: 0 fine; 1 bad input (configuration, unreadable file); 2 usage error;
3 ``check`` found an item at T2 or worse.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from stockwatch import __version__
from stockwatch.adapters.files import FileFormatError, read_stock
from stockwatch.config.settings import Config, ConfigError, find_config, load_config
from stockwatch.core.messages import check_lang, format_cover, tier_label
from stockwatch.core.model import ItemKey, Tier, TierLevels
from stockwatch.core.note_text import input_text, note_text, step_text, strategy_text
from stockwatch.core.row_text import file_problem_text, row_problem_text
from stockwatch.entrypoints.cli.common import (
    ROOT_LANG_HELP,
    ConfigOpt,
    FormatOpt,
    LangOpt,
    choices,
    choose_root_lang,
    config_failure,
    err,
    fail_with,
    out,
    shown_lang,
    start_command_line,
)
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import lang_of as _lang
from stockwatch.entrypoints.cli.common import load as _load
from stockwatch.entrypoints.cli.framework_texts import framework_language, localized_errors
from stockwatch.entrypoints.cli.help_texts import help_lang, localize, localize_param
from stockwatch.entrypoints.cli.texts import t
from stockwatch.service.check import ItemStatus, assess, levels_for_items
from stockwatch.wiring.compose import Catalog, load_catalog, policy_resolver
from stockwatch.wiring.promotions import promotion_file_problems
from stockwatch.wiring.warehouse_split import catalogue_split_problems

if TYPE_CHECKING:  # Typer ships its own copy of Click; TyperGroup's methods take its types
    from typer._click import Command, Context
    from typer.core import TyperOption

EXIT_URGENT = 3


def _register_thresholds(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.thresholds import sales_app, thresholds_app

    into.add_typer(sales_app, name="sales")
    into.add_typer(thresholds_app, name="thresholds")


def _register_gateway(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.gateway import auth_app, simulate_gateway

    into.add_typer(auth_app, name="auth")
    into.command("simulate-gateway")(simulate_gateway)


def _register_notify(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.notify import register

    register(into)


def _register_daemon(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.daemon import register

    register(into)


def _register_review(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.review import review

    into.command("review")(review)


def _register_worker(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.worker import register

    register(into)


def _register_backtest(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.backtest import backtest

    into.command("backtest")(backtest)


def _register_orders(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.orders import register

    register(into)


def _register_accounts(into: typer.Typer) -> None:
    from stockwatch.entrypoints.cli.accounts import register

    register(into)


Register = Callable[[typer.Typer], None]
# Every command living in its own module, in the order ``--help`` lists them (commands first,
# then groups, as Typer orders them), with the function that registers it.
LAZY_COMMANDS: dict[str, Register] = {
    "simulate-gateway": _register_gateway,
    "run": _register_daemon,
    "events": _register_daemon,
    "status": _register_daemon,
    "review": _register_review,
    "worker": _register_worker,
    "scheduler": _register_worker,
    "backtest": _register_backtest,
    "audit": _register_accounts,
}
LAZY_GROUPS: dict[str, Register] = {
    "sales": _register_thresholds,
    "thresholds": _register_thresholds,
    "auth": _register_gateway,
    "notify": _register_notify,
    "outbox": _register_notify,
    "tasks": _register_notify,
    "db": _register_daemon,
    "alerts": _register_daemon,
    "orders": _register_orders,
    "users": _register_accounts,
    "tokens": _register_accounts,
}


class LazyCommands(TyperGroup):
    """The root command: a subcommand's module is imported only when that command runs.

    ``stockwatch run`` must answer HTTP within seconds; importing every command's module (the
    simulator, the backtest with numpy, Celery, the notify channels) cost most of that start.
    ``--help`` and a mistyped name still see every command: they load all of them.
    """

    commands_then_groups: ClassVar[tuple[dict[str, Register], dict[str, Register]]] = (
        LAZY_COMMANDS,
        LAZY_GROUPS,
    )

    def list_commands(self, ctx: Context) -> list[str]:
        lazy_commands, lazy_groups = self.commands_then_groups
        own = list(self.commands)
        names = [n for n in own if not isinstance(self.commands[n], TyperGroup)]
        names += [n for n in lazy_commands if n not in names]
        names += [n for n in own if n not in names and n not in lazy_groups]
        return names + [n for n in lazy_groups if n not in names]

    help_lang = "zh-CN"  # the language of --help and usage errors, set by ``main``

    def main(self, args: Sequence[str] | None = None, *pos: Any, **kw: Any) -> Any:
        self.help_lang = help_lang(sys.argv[1:] if args is None else list(args))
        start_command_line(self.help_lang)
        localize(self, "", self.help_lang)
        with framework_language(self.help_lang):  # Typer's own gettext words
            return super().main(args, *pos, **kw)

    def make_context(self, *args: Any, **kw: Any) -> Context:
        with localized_errors(self.help_lang):  # the root's own options
            return super().make_context(*args, **kw)

    def invoke(self, ctx: Context) -> Any:
        with localized_errors(self.help_lang):  # every command's arguments
            return super().invoke(ctx)

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            localize_param(option, self.help_lang)
        return option

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands:
            register = self._lazy().get(cmd_name)
            if register is not None:
                self._load(register)
        command = self.commands.get(cmd_name)
        if command is not None:
            localize(command, cmd_name, self.help_lang, ctx)
            for name, sub in getattr(command, "commands", {}).items():
                localize(sub, f"{cmd_name} {name}", self.help_lang, ctx)
        return command

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in self._lazy():
            for register in dict.fromkeys(self._lazy().values()):  # "did you mean" sees all
                self._load(register)
        return super().resolve_command(ctx, args)

    def _lazy(self) -> dict[str, Register]:
        lazy_commands, lazy_groups = self.commands_then_groups
        return lazy_commands | lazy_groups

    def _load(self, register: Register) -> None:
        # The module registers on a Typer of its own, built the way the root builds its
        # commands (plain help text, no Rich markup), and its commands join the root.
        into = typer.Typer(rich_markup_mode=None)
        register(into)
        for name, command in typer.main.get_group(into).commands.items():
            self.commands.setdefault(name, command)


app = typer.Typer(
    cls=LazyCommands,
    name="stockwatch",
    help="库存预警 stockwatch: low-stock alerts for 1688 merchants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts name config sections ("[database] url"); Rich markup would swallow them.
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        out.print(f"stockwatch {__version__}", highlight=False)
        raise typer.Exit()


def _root_lang(value: str | None) -> str | None:
    if value is not None:
        try:
            check_lang(value)
        except ValueError:
            raise typer.BadParameter(t("bad_lang", shown_lang(), value=value)) from None
    choose_root_lang(value)
    return value


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    lang: Annotated[
        str | None, typer.Option("--lang", callback=_root_lang, help=ROOT_LANG_HELP)
    ] = None,
) -> None:
    """库存预警 stockwatch: low-stock alerts for 1688 merchants."""


config_app = typer.Typer(help="Configuration commands.", no_args_is_help=True)
app.add_typer(config_app, name="config")


ItemsOpt = Annotated[Path | None, typer.Option("--items", help="item catalogue CSV")]
SalesOpt = Annotated[Path | None, typer.Option("--sales", help="daily sales CSV")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="business day to compute for (default: today)")
]


def main() -> None:
    app()


def _today(config: Config, as_of: str | None) -> date:
    if as_of:
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise fail_with("bad_date", option="--as-of", value=as_of) from None
    return datetime.now(ZoneInfo(config.model.general.timezone)).date()


def _catalog(config: Config, day: date, items: Path | None, sales: Path | None) -> Catalog:
    try:
        return load_catalog(config, day, items, sales)
    except FileFormatError as exc:
        raise _fail(file_problem_text(str(exc), shown_lang())) from None


def report_unknown_columns(columns: list[tuple[Path, str]], lang: str) -> None:
    """Warn about every column a file had that stockwatch does not read (never silently)."""
    for path, column in columns:
        err.print(escape(t("unknown_column", lang, path=path, column=column)), highlight=False)


def _report_skipped(catalog_skipped: list[tuple[Path, Any]], lang: str) -> None:
    if not catalog_skipped:
        return
    err.print(t("skipped", lang, count=len(catalog_skipped)), highlight=False)
    for path, problem in catalog_skipped:
        why = row_problem_text(problem.message, lang)
        err.print(escape(f"  {path}:{problem.line}: {why}"), highlight=False)


def _cover(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else round(value, 2)


@app.command()
def check(
    stock: Annotated[Path, typer.Option("--stock", "-s", help="stock snapshot, CSV or JSON")],
    config: ConfigOpt = None,
    items: ItemsOpt = None,
    sales: SalesOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "table",
    lang: LangOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="also list items that are OK")] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="database with recomputed thresholds (default: the configured one, if it exists)",
        ),
    ] = None,
) -> None:
    """Check a stock snapshot and list items at risk, worst first (exit 3 if any is T2+).

    Levels come from the active threshold versions in the database (``thresholds recompute``)
    when there are any; items without one get levels computed from the sales file.
    """
    cfg = _load(config)
    language = _lang(cfg, lang)
    if fmt not in ("table", "json"):
        raise fail_with(
            "bad_choice", option="--format", value=fmt, choices=choices("table", "json")
        )
    if cfg.path is None:  # say so: the levels below are not the merchant's own
        err.print(t("no_config", language), highlight=False)
    day = _today(cfg, as_of)
    catalog = _catalog(cfg, day, items, sales)
    now = datetime.now(ZoneInfo(cfg.model.general.timezone))
    try:
        snapshot = read_stock(stock, now)
    except FileFormatError as exc:
        raise _fail(file_problem_text(str(exc), shown_lang())) from None
    skipped = [*catalog.skipped, *((snapshot.path, p) for p in snapshot.problems)]
    if catalog.items:
        unknown = sorted({str(r.key) for r in snapshot.rows if r.key not in catalog.items})
        if unknown:
            shown_unknown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
            err.print(
                escape(t("not_in_catalog", language, count=len(unknown), items=shown_unknown)),
                highlight=False,
            )
    report_unknown_columns(
        [*catalog.unknown_columns, *((snapshot.path, c) for c in snapshot.unknown_columns)],
        language,
    )
    keys = sorted({r.key for r in snapshot.rows})
    stored = _stored_levels(cfg, db, keys)
    levels, errors = levels_for_items(
        [k for k in keys if k not in stored],
        catalog.items,
        policy_resolver(cfg),
        catalog.sales,
        day,
        cfg.promotions(),
    )
    levels.update(stored)
    statuses = assess(snapshot.rows, catalog.items, levels)
    shown = [s for s in statuses if show_all or s.tier is not Tier.OK]
    urgent = sum(1 for s in statuses if s.tier >= Tier.T2)
    risk = sum(1 for s in statuses if s.tier is not Tier.OK)
    if fmt == "json":
        payload = {
            "as_of": day.isoformat(),
            "checked": len(statuses),
            "at_risk": risk,
            "urgent": urgent,
            "items": [_status_json(s, s.key in stored) for s in shown],
            "errors": [{"item": str(e.key), "error": e.message} for e in errors],
            "skipped_rows": [
                {"file": str(path), "line": p.line, "error": p.message} for path, p in skipped
            ],
        }
        out.print_json(json.dumps(payload, ensure_ascii=False))
    else:
        _print_statuses(shown, language)
        for e in errors:
            err.print(t("no_levels", language, key=e.key, error=e.message), highlight=False)
        out.print(t("summary", language, total=len(statuses), risk=risk, urgent=urgent))
        _report_skipped(skipped, language)
    if urgent:
        raise typer.Exit(EXIT_URGENT)


def _stored_levels(cfg: Config, db: str | None, keys: list[ItemKey]) -> dict[ItemKey, TierLevels]:
    """Return the active recomputed levels of ``keys``; none when there is no database yet."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    from stockwatch.wiring.stores import SqlThresholdStore, configured_url

    url = configured_url(cfg, db)
    if url.startswith("sqlite") and "///" in url:
        path = Path(url.split("///", 1)[1])
        if not path.exists():
            if db is not None:
                raise fail_with("no_db_file", db=db)
            return {}  # never ran recompute here: compute from the sales file
    engine = None
    try:
        engine = create_engine(url)
        if not inspect(engine).has_table("thresholds"):
            return {}
        current = SqlThresholdStore(engine).current([str(k) for k in keys])
    except SQLAlchemyError as exc:
        if db is not None:
            raise _fail(f"--db {db}: {exc}") from None
        # The configured database is unreachable: computing from the files still works.
        err.print(t("db_unavailable", shown_lang(), error=exc), highlight=False)
        return {}
    finally:
        if engine is not None:
            engine.dispose()
    return {ItemKey.parse(k): c.active.levels for k, c in current.items() if c.active is not None}


def _status_json(s: ItemStatus, stored: bool = False) -> dict[str, Any]:
    lv = s.levels
    return {
        "item": str(s.key),
        "sku": s.key.sku,
        "warehouse": s.key.warehouse,
        "title": s.item.title if s.item else "",
        "tier": s.tier.name,
        "available": s.available,
        "on_hand": s.reading.on_hand,
        "committed": s.reading.committed,
        "in_transit": s.reading.in_transit,
        "levels": {"T1": lv.t1, "T2": lv.t2, "T3": lv.t3, "disabled": lv.disabled},
        "velocity": round(lv.velocity, 4),
        "days_of_cover": _cover(s.days_of_cover),
        "strategy": lv.basis.strategy,
        "levels_source": "database" if stored else "computed",
    }


_TIER_STYLE = {
    Tier.OUT: "bold white on red",
    Tier.T3: "bold red",
    Tier.T2: "yellow",
    Tier.T1: "cyan",
    Tier.OK: "green",
}


def _print_statuses(statuses: list[ItemStatus], lang: str) -> None:
    if not statuses:
        out.print(t("none_at_risk", lang))
        return
    table = Table(title=t("at_risk_title", lang), title_justify="left")
    for col in ("tier", "item", "title", "available", "on_hand", "levels", "cover", "strategy"):
        table.add_column(
            t(col, lang), justify="right" if col in ("available", "on_hand") else "left"
        )
    for s in statuses:
        lv = s.levels
        table.add_row(
            f"[{_TIER_STYLE[s.tier]}]{tier_label(s.tier, lang)}[/]",
            str(s.key),
            s.item.title if s.item else "",
            str(s.available),
            str(s.reading.on_hand),
            t("disabled", lang) if lv.disabled else f"{lv.t1} / {lv.t2} / {lv.t3}",
            format_cover(s.days_of_cover, lang),
            strategy_text(lv.basis.strategy, lang),
        )
    out.print(table)


@app.command()
def explain(
    item: Annotated[str, typer.Argument(help="SKU or SKU@WAREHOUSE")],
    config: ConfigOpt = None,
    items: ItemsOpt = None,
    sales: SalesOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "table",
    lang: LangOpt = None,
    db: Annotated[
        str | None, typer.Option("--db", help="database with recomputed threshold versions")
    ] = None,
) -> None:
    """Show how an item's thresholds were computed, with the numbers."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    day = _today(cfg, as_of)
    catalog = _catalog(cfg, day, items, sales)
    try:
        key = ItemKey.parse(item)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    places = key.meaning(catalog.items)
    if len(places) > 1:
        raise _fail(t("which_warehouse", language, key=key, keys=", ".join(map(str, places))))
    if places:
        key = places[0]
    from stockwatch.entrypoints.cli.thresholds import (
        print_versions,
        stored_lead_times,
        stored_versions,
        versions_json,
    )

    versions = stored_versions(cfg, db, str(key))
    if versions and fmt != "json":
        print_versions(str(key), versions, language)
    if catalog.items and key not in catalog.items and key.sku not in catalog.sales:
        if versions:  # known only from a recompute: show what is stored
            if fmt == "json":
                payload = {"item": str(key), "stored": versions_json(versions)}
                out.print_json(json.dumps(payload, ensure_ascii=False))
            return
        raise _fail(t("unknown_item", language, key=key))
    levels, errors = levels_for_items(
        [key],
        catalog.items,
        policy_resolver(cfg),
        catalog.sales,
        day,
        cfg.promotions(),
        stored_lead_times(cfg, db, catalog.items),
    )
    if errors:
        raise _fail(errors[0].message)
    lv = levels[key]
    if fmt == "json":
        payload = _levels_json(key, lv)
        if versions:
            payload["stored"] = versions_json(versions)
        out.print_json(json.dumps(payload, ensure_ascii=False))
        return
    if versions:
        out.rule()
    item_lead = catalog.items[key].lead_time_days if key in catalog.items else None
    policy = cfg.threshold_policy(catalog.items.get(key), key.sku)
    _print_explanation(key, lv, language, policy, item_lead)


def _levels_json(key: ItemKey, lv: TierLevels) -> dict[str, Any]:
    return {
        "item": str(key),
        "levels": {"T1": lv.t1, "T2": lv.t2, "T3": lv.t3},
        "disabled": lv.disabled,
        "velocity": lv.velocity,
        "strategy": lv.basis.strategy,
        "inputs": dict(lv.basis.inputs),
        "steps": [
            {"label": s.label, "formula": s.formula, "value": s.value} for s in lv.basis.steps
        ],
        "notes": list(lv.basis.notes),
    }


def _print_explanation(
    key: ItemKey, lv: TierLevels, lang: str, policy: Any, item_lead: float | None = None
) -> None:
    out.print(
        f"[bold]{t('explain_head', lang, key=key)}[/]  "
        f"({t('strategy', lang)}{t('colon', lang)}{strategy_text(lv.basis.strategy, lang)})"
    )
    if lv.basis.inputs:
        inputs = Table(title=t("inputs", lang), title_justify="left")
        inputs.add_column(t("col_name", lang))
        inputs.add_column(t("col_value", lang), justify="right")
        for name, value in lv.basis.inputs:
            inputs.add_row(input_text(name, lang), f"{value:.4g}")
        out.print(inputs)
    if lv.basis.steps:
        steps = Table(title=t("steps", lang), title_justify="left")
        steps.add_column(t("col_step", lang))
        steps.add_column(t("col_formula", lang))
        steps.add_column(t("col_value", lang), justify="right")
        for step in lv.basis.steps:
            steps.add_row(
                step_text(step.label, lang), step_text(step.formula, lang), f"{step.value:.2f}"
            )
        out.print(steps)
    orders = lv.basis.input("lead_orders")
    if orders:
        learned_from = lv.basis.notes[0] if lv.basis.notes else ""
        scope = t("scope_item" if "the item's" in learned_from else "scope_supplier", lang)
        out.print(
            t(
                "learned_lead",
                lang,
                n=int(orders),
                scope=scope,
                obs=lv.basis.input("lead_observed") or 0.0,
                obs_sd=lv.basis.input("lead_observed_sd") or 0.0,
                L=lv.basis.input("L") or 0.0,
                sL=lv.basis.input("sL") or 0.0,
            ),
            highlight=False,
        )
    d_order = lv.basis.input("d_order")
    if d_order is not None:
        out.print(
            t(
                "order_rate",
                lang,
                rate=d_order,
                days=policy.order_rate_days,
                d=lv.basis.input("d") or 0.0,
            ),
            highlight=False,
        )
    for note in lv.basis.notes:
        out.print(f"• {note_text(note, lang)}", highlight=False, markup=False)
    result = t("disabled", lang) if lv.disabled else f"T1 {lv.t1} / T2 {lv.t2} / T3 {lv.t3}"
    out.print(f"[bold]{t('result', lang)}{t('colon', lang)}[/]{result}")
    # The item's own lead time (items file) wins over the configured default, as in the math.
    lead = item_lead if item_lead is not None else policy.lead_time_days
    target = (
        f"fill_rate={policy.fill_rate} order_cycle_days={policy.order_cycle_days:g}"
        if policy.fill_rate is not None
        else f"service_level={policy.service_level}"
    )
    out.print(
        f"{t('policy', lang)}{t('colon', lang)}{target} lead_time_days={lead:g} "
        f"window_days={policy.window_days}",
        highlight=False,
    )


@config_app.command("validate")
def config_validate(config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Validate stockwatch.toml and list every problem with its line."""
    path = find_config(config)
    try:
        # One pass: field errors, cross-section problems and missing catalogue files together.
        cfg = load_config(path, check_files=True)
    except ConfigError as exc:
        raise config_failure(exc) from None
    language = _lang(cfg, lang)
    split = catalogue_split_problems(cfg)
    if split:  # the items file against the configuration: one 1688 offer, several items
        raise config_failure(ConfigError(str(path), split))
    bad_rows = promotion_file_problems(cfg)
    if bad_rows:
        err.print(t("promotion_rows", language, count=len(bad_rows)), highlight=False)
        for line in bad_rows:
            err.print(f"  {escape(line)}", highlight=False)
        raise typer.Exit(1)
    if path is None:
        out.print(t("config_default", language))
    else:
        out.print(t("config_ok", language, path=path))


def sample_dir() -> Path:
    """Return the bundled sample (config, items, stock, sales)."""
    return Path(str(resources.files("stockwatch") / "sample"))


@app.command()
def demo(
    lang: LangOpt = None,
    once: Annotated[bool, typer.Option("--once", help="run a few cycles, then exit")] = False,
    cycles: Annotated[int | None, typer.Option("--cycles", help="stop after N polls")] = None,
    every: Annotated[float, typer.Option("--every", help="real seconds between polls")] = 2.0,
    speed: Annotated[
        float, typer.Option("--speed", help="simulated seconds per real second")
    ] = 3600.0,
    port: Annotated[int, typer.Option("--port", help="HTTP port (0: any free)")] = 8686,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="where the demo keeps its SQLite database")
    ] = None,
) -> None:
    """Full demo: the daemon polls the built-in 1688 simulator, gets its pushes and alerts
    fake DingTalk/WeCom robots and a webhook on this machine (stop: Ctrl+C)."""
    from stockwatch.entrypoints.cli.demo import DemoOptions, NotADemoDir, run_demo

    language = _static_demo(lang)
    if once:
        cycles, every, port = cycles or 6, min(every, 0.5), 0
    target = data_dir or Path.cwd() / ".stockwatch-demo"
    options = DemoOptions(lang=language, cycles=cycles, every=every, port=port, speed=speed)
    try:
        run_demo(sample_dir() / "stockwatch.toml", target, options)
    except NotADemoDir as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # Ctrl+C while starting up: everything started is stopped
        raise typer.Exit(130) from None


def _static_demo(lang: str | None) -> str:
    """Show a check and an explanation on the bundled sample data; return their language."""
    sample = sample_dir()
    cfg = _load(sample / "stockwatch.toml")
    language = _lang(cfg, lang)
    catalog = load_catalog(cfg, date.today())
    day = (catalog.sales_end or date.today()) + timedelta(days=1)
    out.rule(t("demo_title", language))
    out.print(
        f"stockwatch check --config {sample / 'stockwatch.toml'} --stock "
        f"{sample / 'stock.csv'} --as-of {day}",
        highlight=False,
    )
    with contextlib.suppress(typer.Exit):
        check(
            stock=sample / "stock.csv",
            config=sample / "stockwatch.toml",
            items=None,
            sales=None,
            as_of=day.isoformat(),
            fmt="table",
            lang=language,
            show_all=False,
        )
    out.rule()
    explain(
        item="RETRO-CLOCK",
        config=sample / "stockwatch.toml",
        items=None,
        sales=None,
        as_of=day.isoformat(),
        fmt="table",
        lang=language,
    )
    return language


if __name__ == "__main__":
    main()
