"""HTML error pages for the dashboard's pages; the API and the webhooks keep JSON errors.

A browser that opens an unknown item gets a page in its language with a way back, not
``{"detail": ...}``. What counts as a page: a GET/POST outside ``/api/``, ``/1688/``,
``/hooks/``, ``/healthz`` and ``/metrics`` from a client that accepts HTML.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from stockwatch.entrypoints.web.dashboard_texts import text
from stockwatch.entrypoints.web.orders import HEADER_RULES
from stockwatch.entrypoints.web.web_common import request_lang

STATIC_DIR = Path(str(files("stockwatch.entrypoints.web").joinpath("static")))
_MACHINE_PREFIXES = ("/api/", "/1688/", "/hooks/", "/healthz", "/metrics", "/static/", "/openapi")
_TITLES = {400: "err_400", 401: "err_401", 403: "err_403", 404: "err_404", 409: "err_409"}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return False
    if request.headers.get("x-requested-with") == "fetch":
        return False  # the in-place actions read the JSON detail
    return "text/html" in request.headers.get("accept", "")


def install_error_pages(app: FastAPI, default_lang: str) -> None:
    env = Environment(
        loader=PackageLoader("stockwatch.entrypoints.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )

    def render(request: Request, status: int, detail: str) -> HTMLResponse:
        lang = request_lang(request, default_lang)
        key = _TITLES.get(status, "err_other" if status < 500 else "err_500")
        html = env.get_template("error.html").render(
            lang=lang,
            status=status,
            title=text(key, lang),
            detail=detail,
            back=text("back", lang),
        )
        return HTMLResponse(html, status_code=status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        # Redirects raised as HTTPException (login required) stay redirects.
        if exc.status_code < 400 or not wants_html(request):
            return await http_exception_handler(request, exc)
        return render(request, exc.status_code, str(exc.detail))

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        exc = _header_rules_said(exc)
        if not wants_html(request):
            try:
                return await request_validation_exception_handler(request, exc)
            except UnicodeEncodeError:  # the answer echoes a lone surrogate the body carried
                detail = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
                return Response(detail, status_code=422, media_type="application/json")
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return render(request, 400, fields.encode("utf-8", "backslashreplace").decode("utf-8"))

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)


def _header_rules_said(exc: RequestValidationError) -> RequestValidationError:
    """The errors, with a bad request header's rule in words (``HEADER_RULES``)."""
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        if len(loc) == 2 and loc[0] == "header" and str(loc[1]) in HEADER_RULES:
            error = {**error, "msg": f"{loc[1]}: {HEADER_RULES[str(loc[1])]}"}
        errors.append(error)
    return RequestValidationError(errors, body=exc.body)
