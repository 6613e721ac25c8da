"""Faults on demand: latency, 5xx, timeouts, malformed JSON, expired tokens, throttling.

A rule fires for the next ``count`` matching requests, or with probability ``rate`` (seeded),
optionally only for one API name. CLI form: ``KIND[:RATE][:ARG]``, e.g. ``5xx:0.05``,
``latency:1:200ms``, ``timeout:0.01:30s``; the admin endpoint takes JSON with ``count``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

KINDS = ("latency", "5xx", "timeout", "malformed", "expired_token", "throttle", "partial_page")


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    count: int | None = None  # fire for the next N matches, then retire
    api: str | None = None  # only this API name (e.g. alibaba.product.get)
    seconds: float = 0.0  # latency / timeout duration

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; use one of {', '.join(KINDS)}")
        if not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate must be in [0, 1], got {self.rate}")


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def parse_fault(text: str) -> FaultRule:
    """Parse ``KIND[:RATE][:DURATION]`` (the CLI's ``--fault``)."""
    parts = text.strip().split(":")
    kind = parts[0]
    rate = 1.0
    seconds = 30.0 if kind == "timeout" else 0.2
    try:
        if len(parts) > 1 and parts[1]:
            rate = float(parts[1])
        if len(parts) > 2:
            match = _DURATION.match(parts[2])
            if not match:
                raise ValueError(f"bad duration {parts[2]!r}")
            seconds = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
        if len(parts) > 3:
            raise ValueError("too many parts")
        return FaultRule(kind, rate=rate, seconds=seconds)
    except ValueError as exc:
        raise ValueError(
            f"--fault {text!r}: {exc}; use KIND[:RATE][:DURATION], e.g. 5xx:0.05 or latency:1:200ms"
        ) from None


class FaultPlan:
    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 7) -> None:
        self.rules: list[FaultRule] = list(rules or [])
        self._rng = random.Random(seed)
        self.fired: dict[str, int] = {}

    def add(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def draw(self, api: str) -> list[FaultRule]:
        """Return the faults that hit this request (at most one of each kind)."""
        hits: list[FaultRule] = []
        kinds: set[str] = set()
        for rule in list(self.rules):
            if rule.kind in kinds or (rule.api is not None and rule.api != api):
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            elif self._rng.random() >= rule.rate:
                continue
            kinds.add(rule.kind)
            hits.append(rule)
            self.fired[rule.kind] = self.fired.get(rule.kind, 0) + 1
        return hits
