"""``TokenStore`` as a JSON file under the data dir, mode 0600, replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from stockwatch.ports import OAuthTokens


class TokenFileError(Exception):
    """The token file exists but cannot be read; names the file and the problem."""


class JsonTokenStore:
    """Tokens of any number of app keys in one JSON object keyed by app key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, app_key: str) -> OAuthTokens | None:
        entry = self._read().get(app_key)
        if entry is None:
            return None
        try:
            return OAuthTokens(
                app_key=app_key,
                access_token=str(entry["access_token"]),
                access_expires_at=datetime.fromisoformat(entry["access_expires_at"]),
                refresh_token=str(entry["refresh_token"]),
                refresh_expires_at=datetime.fromisoformat(entry["refresh_expires_at"]),
                member_id=entry.get("member_id"),
                ali_id=entry.get("ali_id"),
                resource_owner=entry.get("resource_owner"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenFileError(
                f"{self.path}: entry {app_key!r} is damaged ({type(exc).__name__}: {exc}); "
                "delete it and run `stockwatch auth login`"
            ) from None

    def save(self, tokens: OAuthTokens) -> None:
        data = self._read()
        data[tokens.app_key] = {
            "access_token": tokens.access_token,
            "access_expires_at": tokens.access_expires_at.isoformat(),
            "refresh_token": tokens.refresh_token,
            "refresh_expires_at": tokens.refresh_expires_at.isoformat(),
            "member_id": tokens.member_id,
            "ali_id": tokens.ali_id,
            "resource_owner": tokens.resource_owner,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TokenFileError(f"{self.path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise TokenFileError(f"{self.path}: expected a JSON object")
        return data
