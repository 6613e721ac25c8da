"""Make /openapi.json say what the API really answers (schemathesis checks it in make test).

FastAPI documents 200 and 422 only. Every guarded operation can also answer 400 (a host name
not allowed, a malformed value), 401 (no or a bad session/token) and 403 (a role or token
scope too small, a CSRF or cross-origin refusal); one with path parameters 404; a route may
add its own (409 for a retry of a row that is not failed).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {}},
            "required": ["detail"],
        }
    }
}
GUARD_ERRORS = {
    "400": "bad request: a malformed value, or a host name not in [daemon.http] allowed_hosts",
    "401": "no session or token, or an unknown, revoked or expired one",
    "403": "the role or token scope may not do this; or a CSRF or cross-origin refusal",
}
PUBLIC = ("/healthz", "/metrics", "/hooks/")
METHODS = ("get", "post", "put", "patch", "delete")


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that documents the error answers."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for path, item in doc.get("paths", {}).items():
                for method in METHODS:
                    if method in item:
                        _document(path, item[method])
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def _document(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted: dict[str, str] = {}
    if not path.startswith(PUBLIC):
        wanted.update(GUARD_ERRORS)
    if operation.get("parameters") or operation.get("requestBody"):
        wanted.setdefault("400", "bad request: a malformed value")
    if operation.get("requestBody") and not path.startswith(PUBLIC):
        wanted.setdefault("409", "conflict with the current state (e.g. already done)")
    if "{" in path:
        wanted["404"] = "no such item, task or outbox entry"
    elif not path.startswith(PUBLIC):  # need(): a side table or data this store does not have
        wanted["404"] = "not available with this store, or nothing to show yet"
    for code, description in wanted.items():
        entry = responses.setdefault(code, {"description": description})
        entry.setdefault("content", ERROR_BODY)
    if "422" in responses:  # a route may raise 422 with a text detail, not FastAPI's list
        responses["422"]["content"] = ERROR_BODY
    for entry in responses.values():  # an error the route documented itself: JSON detail too
        if "content" not in entry and entry.get("description", "").startswith(("no ", "bad")):
            entry["content"] = ERROR_BODY
