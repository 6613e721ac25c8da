"""Make /openapi.json say what each route really answers (schemathesis checks it in make test).

FastAPI documents 200 and 422 only. The guard adds to every guarded operation 400 (a host name
not in ``allowed_hosts``) and 401 (no or a bad session/token); an operation that changes
something can also get 403 (role or token scope too small, a CSRF or cross-origin refusal) —
a read cannot, since every principal may read. Everything else a route can answer (404 for an
unknown item, 409 for a state conflict, 400 for a malformed value it checks itself) the route
declares with ``responses=errors({...})``, so no route claims a 404 or a 409 it cannot send.
FastAPI's 422 stays only where a parameter or a body can fail validation.
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
HOST_REFUSED = "a host name not in [daemon.http] allowed_hosts"
NO_LOGIN = "no session or token, or an unknown, revoked or expired one"
REFUSED = "the role or token scope may not do this; or a CSRF or cross-origin refusal"
PUBLIC = ("/healthz", "/metrics", "/hooks/")
METHODS = ("get", "post", "put", "patch", "delete")


def errors(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: the error statuses it raises itself, with JSON detail."""
    return {code: {"description": text, "content": ERROR_BODY} for code, text in codes.items()}


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that documents the error answers."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for path, item in doc.get("paths", {}).items():
                for method in METHODS:
                    if method in item:
                        _document(path, method, item[method])
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def _document(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if not path.startswith(PUBLIC):
        _add(responses, "400", HOST_REFUSED)
        _add(responses, "401", NO_LOGIN)
        if method != "get":
            _add(responses, "403", REFUSED)
    if "422" in responses:
        if _validates(operation):  # a route may raise 422 with a text detail too
            responses["422"]["content"] = ERROR_BODY
        else:
            del responses["422"]
    for code, entry in responses.items():
        if code[:1] in ("4", "5") and "content" not in entry:
            entry["content"] = ERROR_BODY


def _add(responses: dict[str, Any], code: str, description: str) -> None:
    if code in responses:
        responses[code]["description"] += f"; or {description}"
    else:
        responses[code] = {"description": description, "content": ERROR_BODY}


def _validates(operation: dict[str, Any]) -> bool:
    """Whether a request can fail FastAPI's validation: a body, a required query, or a
    parameter that is more than free text (a number, a bool, a length or a pattern)."""
    if operation.get("requestBody"):
        return True
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "path" and parameter.get("required"):
            return True
        if not _free_text(parameter.get("schema", {})):
            return True
    return False


def _free_text(schema: dict[str, Any]) -> bool:
    plain = {"type", "title", "description", "default"}
    options = schema.get("anyOf", [schema])
    return all(o.get("type") in ("string", "null") and not set(o) - plain for o in options) and (
        not set(schema) - plain - {"anyOf"}
    )
