"""JSON log lines and the secret mask."""

from __future__ import annotations

import json
import logging

from stockwatch.adapters.logs import JsonFormatter, RedactSecrets


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("stockwatch.x", logging.WARNING, __file__, 1, msg, args, None)


def test_a_json_line_has_time_level_logger_and_message() -> None:
    line = json.loads(JsonFormatter().format(_record("push %s rejected", "42")))
    assert line["level"] == "WARNING" and line["logger"] == "stockwatch.x"
    assert line["message"] == "push 42 rejected" and line["ts"].endswith("+00:00")


def test_configured_secrets_are_masked_wherever_they_appear() -> None:
    redact = RedactSecrets(["appSecret-123", "k", "robot-key-xyz"])
    record = _record("calling %s with key=%s", "https://x/?key=robot-key-xyz", "appSecret-123")
    assert redact.filter(record)
    assert record.getMessage() == "calling https://x/?key=*** with key=***"
    untouched = _record("k is a letter")  # too short to be a secret: not masked
    redact.filter(untouched)
    assert untouched.getMessage() == "k is a letter"


def test_a_secret_in_an_exception_is_masked_too() -> None:
    redact = RedactSecrets(["s3cr3t-token"])
    try:
        raise RuntimeError("bad token s3cr3t-token")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    redact.filter(record)
    text = logging.Formatter().format(record)
    assert "s3cr3t-token" not in text and "bad token ***" in text
