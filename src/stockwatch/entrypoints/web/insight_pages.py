"""/backtest: the shop's history replayed under a grid of policies (or the one the query names),
the trade-off frontier and an item's simulated stock against what really happened (ECharts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.params import Depends
from fastapi.responses import HTMLResponse

from stockwatch.entrypoints.web.backtest_report import render_html, report_json
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.web_common import request_lang

_PARAMS = ("service_level", "buffer_days", "strategy")


def insight_router(
    backtest: Callable[[str, dict[str, str]], Any] | None,
    default_lang: str,
    guarded: Sequence[Depends],
) -> APIRouter:
    router = APIRouter()

    def report(request: Request) -> tuple[dict[str, Any] | None, str]:
        lang = request_lang(request, default_lang)
        if backtest is None:
            raise HTTPException(404, "the backtest is not available here")
        params = {k: v for k, v in request.query_params.items() if k in _PARAMS}
        try:
            found = backtest(lang, params)
        except ValueError as exc:  # a bad query value is the client's mistake
            raise HTTPException(400, str(exc)) from None
        if found is None:
            return None, lang
        result, start = found
        return report_json(result, start, lang), lang

    @router.get(
        "/backtest",
        response_class=HTMLResponse,
        include_in_schema=False,
        dependencies=list(guarded),
    )
    def backtest_page(request: Request) -> HTMLResponse:
        data, lang = report(request)
        return HTMLResponse(render_html(data or {}, lang, inline=False))

    @router.get(
        "/api/backtest",
        dependencies=list(guarded),
        responses=errors(
            {400: "a bad backtest parameter", 404: "no backtest here, or no sales history yet"}
        ),
    )
    def api_backtest(request: Request) -> dict[str, Any]:
        data, _ = report(request)
        if data is None:
            raise HTTPException(404, "no sales history to replay yet")
        return data

    return router
