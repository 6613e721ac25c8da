"""``stockwatch.toml``: validated with pydantic; every problem reported at once with its line.

Secrets never sit in the file: a value written as ``"${NAME}"`` is taken from the environment
variable ``NAME`` or, failing that, from the secrets file (``[general] secrets_file``, a TOML
file of ``NAME = "value"``). Secret fields are ``SecretStr`` and print masked.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from stockwatch.config.daemon import DaemonConfig, DatabaseConfig, LoggingConfig
from stockwatch.config.notify import ChannelConfig, RouteConfig, notify_problems
from stockwatch.config.scale import ScaleConfig
from stockwatch.config.tomlpos import line_of
from stockwatch.core.messages import check_lang
from stockwatch.core.model import AlertPolicy, DebounceRule, Item, ItemClass, Tier
from stockwatch.core.thresholds import (
    ManualLevels,
    Promotion,
    Strategy,
    ThresholdPolicy,
    TierSpec,
)

DEFAULT_CONFIG_NAME = "stockwatch.toml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SECRET_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_duration(value: str | float | int) -> timedelta:
    """Parse ``"30m"``, ``"2h"``, ``"1d"``, ``"90s"`` or a number of seconds."""
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"duration must be ≥ 0 seconds, got {value}")
        return _seconds(value, value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"bad duration {value!r}: use e.g. 90s, 30m, 2h, 1d")
    return _seconds(float(match.group(1)) * _UNITS[match.group(2) or "s"], value)


MAX_DURATION = timedelta(days=3660)  # ten years: anything longer is a typo


def _seconds(seconds: float, shown: object) -> timedelta:
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {shown!r} is longer than ten years")
    return timedelta(seconds=seconds)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneralConfig(Section):
    lang: str = "zh-CN"
    timezone: str = "Asia/Shanghai"  # 1688 business days are UTC+8
    data_dir: str = ".stockwatch"
    secrets_file: str | None = None

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str) -> str:
        return check_lang(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = _did_you_mean(value, available_timezones())
            raise ValueError(f"unknown time zone {value!r}{hint}") from None
        return value


DEFAULT_DEBOUNCE: dict[str, str | float] = {"T1": "30m", "T2": "15m", "T3": "0s", "OUT": "0s"}


class AlertingConfig(Section):
    dedupe_hours: float = Field(24.0, ge=0, le=24 * 366)
    debounce: dict[str, str | float] = Field(default_factory=lambda: dict(DEFAULT_DEBOUNCE))
    debounce_readings: dict[str, int] = Field(default_factory=dict)
    recover_margin_ratio: float = Field(0.10, ge=0, lt=1)
    recover_margin_min: int = Field(1, ge=0)
    recover_for: str | float = "0s"
    renotify_drop_pct: float = Field(0.0, ge=0, lt=100)
    sharp_drop_pct: float = Field(0.0, ge=0, lt=100)
    stale_after_reads: int = Field(3, ge=1)
    stale_after: str | float = "6h"
    goods_in_grace: str | float = "12h"

    @field_validator("debounce", "debounce_readings")
    @classmethod
    def _tiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            tier = Tier.parse(name)
            if tier is Tier.OK:
                raise ValueError("OK has no debounce")
        return value

    @field_validator("debounce")
    @classmethod
    def _durations(cls, value: dict[str, str | float]) -> dict[str, str | float]:
        for name, duration in value.items():
            try:
                parse_duration(duration)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @field_validator("recover_for", "stale_after", "goods_in_grace")
    @classmethod
    def _duration(cls, value: str | float) -> str | float:
        parse_duration(value)
        return value

    def to_policy(self) -> AlertPolicy:
        rules = []
        for tier in (Tier.T1, Tier.T2, Tier.T3, Tier.OUT):
            raw = {Tier.parse(k): v for k, v in self.debounce.items()}.get(tier, 0)
            reads = {Tier.parse(k): v for k, v in self.debounce_readings.items()}.get(tier, 1)
            rules.append((tier, DebounceRule(parse_duration(raw), reads)))
        return AlertPolicy(
            dedupe_window=timedelta(hours=self.dedupe_hours),
            debounce=tuple(rules),
            recover_margin_ratio=self.recover_margin_ratio,
            recover_margin_min=self.recover_margin_min,
            recover_for=parse_duration(self.recover_for),
            renotify_drop_ratio=self.renotify_drop_pct / 100,
            sharp_drop_ratio=self.sharp_drop_pct / 100,
            stale_after_reads=self.stale_after_reads,
            stale_after=parse_duration(self.stale_after),
            goods_in_grace=parse_duration(self.goods_in_grace),
        )


class ThresholdSection(Section):
    """A partial threshold policy: defaults, then class, category and item layers override it."""

    strategy: Strategy | None = None
    combine: list[Strategy] | None = None
    service_level: float | None = Field(None, ge=0.5, le=0.9999)
    lead_time_days: float | None = Field(None, ge=0)
    lead_time_sd_days: float | None = Field(None, ge=0)
    review_days: float | None = Field(None, ge=0)
    buffer_days: float | None = Field(None, ge=0)
    buffer_units: float | None = Field(None, ge=0)
    attention_days: float | None = Field(None, ge=0)
    cover_t3_days: float | None = Field(None, gt=0)
    window_days: int | None = Field(None, ge=2, le=3660)
    velocity_days: int | None = Field(None, ge=1)
    order_rate_days: int | None = Field(None, ge=1)
    min_selling_days: int | None = Field(None, ge=0)
    min_history_days: int | None = Field(None, ge=0)
    new_item_daily_sales: float | None = Field(None, ge=0)
    new_item_days: float | None = Field(None, gt=0)
    intermittent_method: Literal["empirical", "normal"] | None = None
    fill_rate: float | None = Field(None, ge=0.5, le=0.9999)  # β target instead of α
    intermittent_fill_rate: float | None = Field(None, ge=0.5, le=0.9999)
    order_cycle_days: float | None = Field(None, ge=0, le=3660)
    threshold: float | None = Field(None, ge=0)  # the strategy 'fixed' threshold (= T2)
    tiers: dict[str, str | float] | None = None  # {T1 = "1.5x", T2 = 120, T3 = "2d"}
    t3_floor: int | None = Field(None, ge=1)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: dict[str, str | float] | None) -> dict[str, str | float] | None:
        if value is None:
            return None
        for name, spec in value.items():
            if name.upper() not in ("T1", "T2", "T3"):
                raise ValueError(f"tiers: unknown tier {name!r}; use T1, T2 or T3")
            TierSpec.parse(spec)
        return value

    def layer(self) -> dict[str, Any]:
        """Return the fields this layer sets, in ThresholdPolicy's vocabulary."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            if name == "threshold":
                out["fixed_threshold"] = value
            elif name == "tiers":
                out["tiers"] = {k.upper(): TierSpec.parse(v) for k, v in value.items()}
            elif name == "combine":
                out["combine"] = tuple(Strategy(s) for s in value)
            else:
                out[name] = value
        return out


class ThresholdDefaults(ThresholdSection):
    """``[thresholds]``: the default policy layer plus when and how carefully to recompute."""

    recompute: str = "weekly"  # "weekly", "monthly" or a cron expression (daemon schedule)
    review_factor: float = Field(3.0, gt=1)  # a larger jump of T2 waits for a person

    @field_validator("recompute")
    @classmethod
    def _schedule(cls, value: str) -> str:
        text = value.strip().lower()
        if text in ("weekly", "monthly"):
            return text
        if len(text.split()) != 5 or not croniter.is_valid(value.strip()):
            raise ValueError(
                f"recompute {value!r}: use weekly, monthly or a 5-field cron expression"
            )
        return value.strip()

    def layer(self) -> dict[str, Any]:
        out = super().layer()
        out.pop("recompute", None)
        out.pop("review_factor", None)
        return out


class ItemSection(ThresholdSection):
    """Per-item settings: a threshold layer plus hand-set levels that always win."""

    t1: int | None = Field(None, ge=0)
    t2: int | None = Field(None, ge=0)
    t3: int | None = Field(None, ge=0)
    manual_threshold: int | None = Field(None, ge=0)  # 0 disables the item
    # The item's share of a 1688 offer's stock that stands for several items (warehouses).
    share: float | None = Field(None, gt=0, le=1)

    def manual(self) -> ManualLevels | None:
        if (
            self.t1 is None
            and self.t2 is None
            and self.t3 is None
            and (self.manual_threshold is None)
        ):
            return None
        return ManualLevels(self.t1, self.t2, self.t3, self.manual_threshold)

    def layer(self) -> dict[str, Any]:
        out = super().layer()
        for key in ("t1", "t2", "t3", "manual_threshold", "share"):
            out.pop(key, None)
        return out


class PromotionConfig(Section):
    name: str
    start: date
    end: date
    multiplier: float = Field(gt=0)
    target: Literal["demand", "threshold"] = "demand"
    skus: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    def to_promotion(self) -> Promotion:
        return Promotion(
            name=self.name,
            start=self.start,
            end=self.end,
            multiplier=self.multiplier,
            target=self.target,
            skus=frozenset(self.skus),
            categories=frozenset(self.categories),
            tags=frozenset(self.tags),
        )


class CatalogConfig(Section):
    items: str | None = None  # CSV of the merchant's SKUs and their 1688 mapping
    sales: str | None = None  # CSV of daily sales for thresholds
    promotions: str | None = None  # CSV of promotions: name,start,end,multiplier[,target,...]


class GatewayConfig(Section):
    """``[gateway]``: the 1688 Open API (or the local simulator, the default)."""

    base_url: str = "http://127.0.0.1:8688"  # the real one: https://gw.open.1688.com
    app_key: str = "5555555"  # the simulator's demo app
    app_secret: SecretStr = SecretStr("demoSecret123")  # write "${STOCKWATCH_1688_APP_SECRET}"
    redirect_uri: str = "http://127.0.0.1:8688/oauth/callback"
    authorize_url: str | None = None
    access_token: SecretStr | None = None  # console "multi-user" long-lived token, if used
    side: Literal["seller", "buyer"] = "seller"
    buyer_api: Literal["fenxiao", "crossborder", "cross"] = "fenxiao"
    seller_read: Literal["get", "list"] = "get"
    qps: float = Field(5.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    connect_timeout: str | float = "5s"
    read_timeout: str | float = "15s"
    max_attempts: int = Field(5, ge=1, le=20)
    backoff_initial: str | float = "1s"
    backoff_max: str | float = "60s"
    refresh_margin: str | float = "10m"
    refresh_warn_days: float = Field(30.0, ge=0)
    token_store: Literal["file", "db"] = "file"

    @field_validator(
        "connect_timeout", "read_timeout", "backoff_initial", "backoff_max", "refresh_margin"
    )
    @classmethod
    def _duration(cls, value: str | float) -> str | float:
        parse_duration(value)
        return value

    @field_validator("app_key")
    @classmethod
    def _app_key(cls, value: str) -> str:
        if not value.strip().isdigit():
            raise ValueError("app_key must be the numeric AppKey of the 1688 application")
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


class StockwatchConfig(Section):
    general: GeneralConfig = GeneralConfig()
    catalog: CatalogConfig = CatalogConfig()
    alerting: AlertingConfig = AlertingConfig()
    thresholds: ThresholdDefaults = ThresholdDefaults()
    classes: dict[ItemClass, ThresholdSection] = Field(default_factory=dict)
    categories: dict[str, ThresholdSection] = Field(default_factory=dict)
    items: dict[str, ItemSection] = Field(default_factory=dict)
    promotions: list[PromotionConfig] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    gateway: GatewayConfig = GatewayConfig()
    database: DatabaseConfig = DatabaseConfig()
    daemon: DaemonConfig = DaemonConfig()
    scale: ScaleConfig = ScaleConfig()
    logging: LoggingConfig = LoggingConfig()


CLASS_DEFAULTS: dict[ItemClass, dict[str, Any]] = {
    ItemClass.A: {"service_level": 0.99},
    ItemClass.B: {"service_level": 0.95},
    ItemClass.C: {"service_level": 0.90},
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f":{self.line}" if self.line else ""
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"


class ConfigError(Exception):
    """A configuration file is invalid; lists every problem with file, key path and line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}{p}" for p in problems]
        super().__init__(f"{len(problems)} problem(s) in {source}:\n" + "\n".join(lines))


@dataclass(frozen=True)
class Config:
    """A loaded configuration: the validated model plus where it came from."""

    model: StockwatchConfig
    path: Path | None
    base_dir: Path

    @property
    def lang(self) -> str:
        return self.model.general.lang

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.model.general.data_dir)

    def alert_policy(self) -> AlertPolicy:
        return self.model.alerting.to_policy()

    def promotions(self) -> list[Promotion]:
        return [p.to_promotion() for p in self.model.promotions]

    def threshold_policy(self, item: Item | None, sku: str | None = None) -> ThresholdPolicy:
        """Resolve defaults ← class ← category ← item for one item.

        Each layer was checked on its own at load time; a combination can still clash (a
        category's lead-time σ above an item's lead time): the error names the item and layers.
        """
        try:
            return _policy_from_layers(self._layers(item, sku), self._manual(item, sku))
        except ValueError as exc:
            name = sku or (item.sku if item else "")
            layers = ["[thresholds]"]
            if item is not None:
                layers.append(f"[classes.{item.item_class.value}]")
                if item.category:
                    layers.append(f'[categories."{item.category}"]')
            layers.extend(f'[items."{n}"]' for n in self.item_sections(item, sku))
            raise ValueError(f"item {name}: {exc} (settings from {', '.join(layers)})") from None

    def _layers(self, item: Item | None, sku: str | None) -> list[dict[str, Any]]:
        m = self.model
        # Built-in class defaults yield to anything the user wrote.
        layers = [CLASS_DEFAULTS[item.item_class] if item else {}, m.thresholds.layer()]
        if item is not None:
            if item.item_class in m.classes:
                layers.append(m.classes[item.item_class].layer())
            if item.category in m.categories:
                layers.append(m.categories[item.category].layer())
        for name in self.item_sections(item, sku):
            layers.append(m.items[name].layer())
        return layers

    def item_sections(self, item: Item | None, sku: str | None) -> list[str]:
        """Return the ``[items."…"]`` sections for an item: ``"SKU"``, then ``"SKU@WAREHOUSE"``
        (the warehouse's own settings win over the SKU's)."""
        name = sku or (item.sku if item else "")
        plain, _, warehouse = name.partition("@")
        if not warehouse and item is not None and item.warehouse:
            warehouse = item.warehouse
        names = [plain] + ([f"{plain}@{warehouse}"] if warehouse else [])
        return [n for n in names if n in self.model.items]

    def _manual(self, item: Item | None, sku: str | None) -> ManualLevels | None:
        sections = self.item_sections(item, sku)
        for name in reversed(sections):  # the warehouse's hand-set levels win
            manual = self.model.items[name].manual()
            if manual is not None:
                return manual
        return None


def _policy_from_layers(
    layers: list[dict[str, Any]], manual: ManualLevels | None
) -> ThresholdPolicy:
    merged: dict[str, Any] = {}
    tiers: dict[str, TierSpec] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "tiers":
                tiers.update(value)
            else:
                merged[key] = value
    if "strategy" in merged:
        merged["strategy"] = Strategy(merged["strategy"])
    return ThresholdPolicy(**merged, tiers=tuple(sorted(tiers.items())), manual=manual)


def expand_secrets(
    raw: Any, env: Mapping[str, str], secrets: Mapping[str, str], path: tuple[str | int, ...] = ()
) -> tuple[Any, list[tuple[tuple[str | int, ...], str]]]:
    """Replace ``"${NAME}"`` strings; return the new tree and (path, problem) for each bad one."""
    missing: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(raw, dict):
        out: dict[str, Any] = {}
        for key, value in raw.items():
            out[key], miss = expand_secrets(value, env, secrets, (*path, key))
            missing.extend(miss)
        return out, missing
    if isinstance(raw, list):
        items = []
        for i, value in enumerate(raw):
            new, miss = expand_secrets(value, env, secrets, (*path, i))
            items.append(new)
            missing.extend(miss)
        return items, missing
    if isinstance(raw, str):
        match = _SECRET_REF.match(raw)
        if match:
            name = match.group(1)
            value = env[name] if name in env else secrets.get(name)
            if value is None:
                return raw, [
                    (
                        path,
                        f"secret ${{{name}}} is not set in the environment nor in the secrets file",
                    )
                ]
            if not value.strip():
                # An empty token would switch its check off without a word: refuse it.
                return raw, [(path, f"secret ${{{name}}} is set but empty")]
            return value, []
    return raw, []


def mask(secret: str) -> str:
    """Return a secret fit for logs and screens: a fixed mark, none of the secret's characters.

    Even two characters of a short secret narrow a guess; whether a secret is set at all is the
    only thing shown.
    """
    return "***" if secret else ""


def _read_secrets_file(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), [Problem("", None, "secrets file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [Problem("", None, f"not valid TOML: {exc}")]) from None
    return {str(k): str(v) for k, v in data.items() if not isinstance(v, dict | list)}


def load_config(
    path: Path | None = None, env: Mapping[str, str] | None = None, check_files: bool = False
) -> Config:
    """Load and validate a configuration; ``None`` means built-in defaults.

    Raises ConfigError naming the file, each bad key path and its line, all at once;
    ``check_files`` also reports catalogue files that do not exist (``config validate``).
    """
    env = os.environ if env is None else env
    if path is None:
        return Config(StockwatchConfig(), None, Path.cwd())
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [Problem("", None, f"not UTF-8 text: {exc}")]) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise ConfigError(source, [Problem("", line, f"not valid TOML: {exc}")]) from None
    base = path.resolve().parent
    secrets: dict[str, str] = {}
    secrets_file = raw.get("general", {}).get("secrets_file")
    if isinstance(secrets_file, str):
        secrets_path = Path(secrets_file)
        secrets = _read_secrets_file(
            secrets_path if secrets_path.is_absolute() else base / secrets_path
        )
    expanded, missing = expand_secrets(raw, env, secrets)
    problems = [Problem(_dotted(p), line_of(text, p), why) for p, why in missing]
    model, broken = _validate_sections(expanded, text, problems)
    if model is not None:
        checked = Config(model, path, base)
        # Sections replaced by their defaults would report problems that are not there: skip
        # what they touch (routes name channels, so the two go together).
        if broken & {"channels", "routes"}:
            broken |= {"channels", "routes", "daemon"}
        for problem in _semantic_problems(model, text):
            if problem.path.split(".")[0].split("[")[0] not in broken:
                problems.append(problem)
        if check_files:
            problems.extend(_file_problems(checked, text))
    if problems:
        raise ConfigError(source, problems)
    assert model is not None
    return Config(model, path, base)


def _validate_sections(
    expanded: Any, text: str, problems: list[Problem]
) -> tuple[StockwatchConfig | None, set[str]]:
    """Validate; on errors, validate again without the broken top-level sections.

    So one pass reports the field errors *and* the cross-section problems of every section
    that is fine on its own (an unknown route channel next to a bad debounce).
    """
    broken: set[str] = set()
    # A secret that is missing or empty was reported already: its "${NAME}" left in place is
    # no URL or token to complain about a second time.
    reported = {problem.path for problem in problems}
    data = dict(expanded) if isinstance(expanded, dict) else {}
    for _ in range(3):
        try:
            return StockwatchConfig.model_validate(data), broken
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                if not broken.isdisjoint({str(loc[0])} if loc else set()):
                    continue
                if _dotted(loc) in reported:
                    continue
                problems.append(Problem(_dotted(loc), line_of(text, loc), _message(err, loc)))
            tops = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            if not tops or tops <= broken:
                return None, broken
            broken |= tops
            data = {k: v for k, v in data.items() if k not in broken}
    return None, broken


def _message(err: Any, loc: tuple[str | int, ...]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        msg = f"unknown key {loc[-1]!r}" + _did_you_mean(loc[-1], _fields_at(loc[:-1]))
    return msg


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """Return the keys allowed at ``loc`` (for "did you mean"); [] when unknown."""
    model: Any = StockwatchConfig
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            if isinstance(part, int) or model is None:
                continue
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """Return the pydantic model a field holds (through Optional, list, dict), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in reversed(get_args(annotation)):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _file_problems(config: Config, text: str) -> list[Problem]:
    """Files the configuration names that are missing (``config validate`` checks them)."""
    problems = []
    for key in ("items", "sales", "promotions"):
        name = getattr(config.model.catalog, key)
        if name and not config.resolve(name).is_file():
            problems.append(
                Problem(
                    f"catalog.{key}",
                    line_of(text, ("catalog", key)),
                    f"file not found: {config.resolve(name)}",
                )
            )
    return problems


def _empty_secrets(
    model: BaseModel, path: tuple[str | int, ...] = ()
) -> list[tuple[str | int, ...]]:
    """Return the paths of secret fields written as an empty string (not left unset)."""
    found: list[tuple[str | int, ...]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        values = value if isinstance(value, list) else [value]
        for i, one in enumerate(values):
            where = (*path, name, i) if isinstance(value, list) else (*path, name)
            if isinstance(one, SecretStr) and not one.get_secret_value().strip():
                found.append(where)
            elif isinstance(one, BaseModel):
                found.extend(_empty_secrets(one, where))
    return found


def _semantic_problems(model: StockwatchConfig, text: str) -> list[Problem]:
    """Build every policy layer once so that impossible combinations fail at load time."""
    problems: list[Problem] = [
        Problem(_dotted(p), line_of(text, p), "empty secret: set it or leave the key out")
        for p in _empty_secrets(model)
    ]
    config = Config(model, None, Path.cwd())
    defaults = model.thresholds.layer()
    try:
        _policy_from_layers([defaults], None)
    except ValueError as exc:
        problems.append(Problem("thresholds", line_of(text, ("thresholds",)), str(exc)))
        defaults = {}  # judge the other layers on their own, not on the defaults' mistake
    checks: list[tuple[tuple[str | int, ...], list[dict[str, Any]], ItemSection | None]] = []
    for cls, section in model.classes.items():
        checks.append((("classes", cls.value), [defaults, section.layer()], None))
    for name, section in model.categories.items():
        checks.append((("categories", name), [defaults, section.layer()], None))
    for sku, item_section in model.items.items():
        checks.append((("items", sku), [defaults, item_section.layer()], item_section))
    for path, layers, item_section_or_none in checks:
        try:
            manual = item_section_or_none.manual() if item_section_or_none else None
            _policy_from_layers(layers, manual)
        except ValueError as exc:
            problems.append(Problem(_dotted(path), line_of(text, path), str(exc)))
    try:
        config.alert_policy()
    except ValueError as exc:
        problems.append(Problem("alerting", line_of(text, ("alerting",)), str(exc)))
    # [daemon] channels is the broadcast list when there are [[channels]] but no [[routes]]:
    # the delivery worker would dead-letter a name it lacks. (Without [[channels]] the log
    # deliverer writes every row and the names are labels; with [[routes]] they are unused.)
    known = {c.name for c in model.channels} | {"console"}
    broadcast = model.daemon.channels if model.channels and not model.routes else []
    for i, name in enumerate(broadcast):
        if name not in known:
            problems.append(
                Problem(
                    f"daemon.channels[{i}]",
                    line_of(text, ("daemon", "channels")),
                    f"unknown channel {name!r}; defined: {', '.join(sorted(known))}",
                )
            )
    for where, message in notify_problems(model.channels, model.routes):
        problems.append(Problem(_dotted(where), line_of(text, where), message))
    for i, promo in enumerate(model.promotions):
        try:
            promo.to_promotion()
        except ValueError as exc:
            problems.append(Problem(f"promotions[{i}]", line_of(text, ("promotions", i)), str(exc)))
    return problems


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def find_config(explicit: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """Return the config to use: --config, $STOCKWATCH_CONFIG, ./stockwatch.toml, or none."""
    env = os.environ if env is None else env
    if explicit is not None:
        return explicit
    if env.get("STOCKWATCH_CONFIG"):
        return Path(env["STOCKWATCH_CONFIG"])
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.exists() else None
