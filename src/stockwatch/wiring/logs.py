"""Apply ``[logging]``: level, text or JSON lines, and the secret mask on every handler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from stockwatch.adapters.logs import JsonFormatter, RedactSecrets
from stockwatch.config.settings import Config


def configured_secrets(config: Config) -> list[str]:
    """Every SecretStr value in the configuration, plus secrets inside channel URLs' queries."""
    return [s for s in _walk(config.model) if s]


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


def configure_logging(config: Config, extra_secrets: list[str] | None = None) -> None:
    """Call after ``logging.basicConfig``: sets the level and format, masks the secrets."""
    section = config.model.logging
    root = logging.getLogger()
    root.setLevel(section.level)
    redact = RedactSecrets([*configured_secrets(config), *(extra_secrets or [])])
    for handler in root.handlers:
        if section.format == "json":
            handler.setFormatter(JsonFormatter())
        handler.addFilter(redact)
