"""Purchase orders over HTTP: the JSON API next to /api/tasks and the tasks page's buttons.

``POST /api/tasks/{id}/order`` marks a task ordered, ``POST /api/orders`` records an order for
an item, ``POST /api/orders/{id}/receive`` books goods in (all that is open by default) and
``/cancel`` drops an order. A client's mistake is a 4xx with the reason, never a 500.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from stockwatch.core.audit import AuditAction
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import PurchaseOrder, arrival_at
from stockwatch.entrypoints.web.dashboard_texts import TEXTS, text
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.web_common import (
    DashboardDeps,
    actor_name,
    audited,
    request_lang,
)
from stockwatch.service.purchasing import (
    CONFLICTS,
    NOT_FOUND,
    OrderError,
    Placed,
    PurchaseOrders,
    order_view,
)

NO_ORDERS = "purchase orders are not available with this store"
CONFLICT = "the order or task is not in a state that allows this (closed, received, cancelled)"
BAD_ORDER = (
    "a malformed or unknown item (or a SKU kept in several warehouses named without one, or "
    "not the task's item), no quantity, or an expected arrival in the past or over ten years "
    "ahead; the detail names the field"
)
KEY_USED = "the Idempotency-Key was used for another order"
# A retry's answer (Idempotency-Key) carries this header; documented on the 201.
REPLAYED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "the order (a retry with a used Idempotency-Key: the first one)",
        "headers": {
            "Idempotent-Replayed": {
                "description": "true when the answer is the order a request with this key "
                "recorded before; nothing new was recorded",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    }
}
MAX_QTY = 2**31 - 1
MAX_ID = 2**63 - 1  # a larger id is a 422, not an overflow in the database driver


class OrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str | None = Field(None, max_length=200)
    # Strict: JSON true is not an order of 1, nor "5" a number.
    quantity: int | None = Field(None, gt=0, le=MAX_QTY, strict=True)
    supplier: str | None = Field(None, max_length=200)
    # A day alone is the end of that business day, a time without an offset the shop's
    # time: as the CLI reads --expected (core.purchasing.arrival_at).
    expected_at: date | datetime | None = Field(
        None,
        description="arrival day (YYYY-MM-DD: 18:00 that day) or time (without an offset: "
        "the shop's [general] timezone)",
    )


class ReceiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int | None = Field(None, gt=0, le=MAX_QTY, strict=True)


def _orders(d: DashboardDeps) -> PurchaseOrders:
    if d.sources.orders is None:
        raise HTTPException(404, "purchase orders are not available with this store")
    return d.sources.orders


class _OrderHTTPError(HTTPException):
    """An order mistake as the API answers it, keeping the mistake for the dashboard's forms
    to word in the page's language."""

    def __init__(self, status: int, error: OrderError) -> None:
        super().__init__(status, str(error))
        self.error = error


def _error(exc: OrderError) -> _OrderHTTPError:
    """A missing task or order is a 404, a clash with what is recorded a 409, and a request
    that cannot be right (an unknown item, no quantity, an arrival in the past) a 400 whose
    detail names the field first, as the other routes answer a client's mistake."""
    status = 404 if exc.code in NOT_FOUND else 409 if exc.code in CONFLICTS else 400
    return _OrderHTTPError(status, exc)


def _in_words(lang: str, exc: _OrderHTTPError) -> HTTPException:
    """The mistake of a dashboard form, in the page's language (the API keeps English)."""
    code, params = exc.error.code, dict(exc.error.params)
    if f"order_err_{code}" not in TEXTS:
        return exc
    if "status" in params:
        params["status"] = text(f"order_status_{params['status']}", lang)
    if "action" in params:
        params["action"] = text(f"order_action_{params['action']}", lang)
    return HTTPException(exc.status_code, text(f"order_err_{code}", lang, **params))


def _target(order: PurchaseOrder) -> str:
    return f"order #{order.id} {order.key}"


def _placed_detail(order: PurchaseOrder) -> str:
    task = f" task #{order.task_id}" if order.task_id is not None else ""
    return f"quantity={order.quantity} supplier={order.supplier or '-'}{task}"


# A client's key for one order: a retry with it (a timeout, a double click) gets the order the
# first request recorded, with the header Idempotent-Replayed, instead of a second order.
KEY_RULE = "1 to 200 printable ASCII characters without spaces, e.g. a UUID; one per order"
RequestKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description=KEY_RULE,
    ),
]
# What a request header must be, said in the 422 instead of the validator's own words
# ("String should match pattern '^[\x21-\x7e]+$'").
HEADER_RULES = {"Idempotency-Key": KEY_RULE}


def _placed_view(placed: Placed, now: datetime) -> dict[str, Any]:
    """The order, and whether placing it acknowledged the item's alert (reminders stop)."""
    return {**order_view(placed.order, now), "alert_acknowledged": placed.alert_acknowledged}


def orders_router(d: DashboardDeps) -> APIRouter:
    router = APIRouter()  # the SecurityMiddleware guards every route (login, roles, CSRF)

    def place(
        request: Request,
        task_id: int | None,
        body: OrderBody,
        request_key: str | None = None,
        response: Response | None = None,
    ) -> Placed:
        if len(request.headers.getlist("idempotency-key")) > 1:
            # Which one would a retry send? Refused rather than one of them taken silently.
            raise HTTPException(400, "Idempotency-Key: send it once (one key per order)")
        try:
            key = ItemKey.parse(body.item) if body.item else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        try:
            placed = _orders(d).place(
                d.clock(),
                task_id=task_id,
                key=key,
                quantity=body.quantity,
                supplier=body.supplier,
                expected_at=(
                    None
                    if body.expected_at is None
                    else arrival_at(body.expected_at, ZoneInfo(d.timezone))
                ),
                actor=actor_name(request),
                request_key=request_key,
            )
        except OrderError as exc:
            raise _error(exc) from None
        order = placed.order
        if placed.replayed:
            if response is not None:
                response.headers["Idempotent-Replayed"] = "true"
            # Recorded by the first request; the log says this one came and changed nothing.
            audited(request, AuditAction.ORDER_REPLAYED, _target(order), "Idempotency-Key")
            return placed
        audited(request, AuditAction.ORDER_PLACED, _target(order), _placed_detail(order))
        return placed

    def receive(request: Request, order_id: int, quantity: int | None) -> PurchaseOrder:
        try:
            order = _orders(d).receive(order_id, d.clock(), quantity)
        except OrderError as exc:
            raise _error(exc) from None
        got = f"quantity={quantity}" if quantity is not None else "all open"
        audited(request, AuditAction.ORDER_RECEIVED, _target(order), got)
        return order

    @router.get(
        "/api/orders",
        responses=errors(
            {
                400: "a malformed item key, an unknown item, or a SKU kept in several "
                "warehouses (name one: SKU@WAREHOUSE)",
                404: NO_ORDERS,
            }
        ),
    )
    def api_orders(
        status: Annotated[str, Query(pattern="^(open|all)$")] = "open",
        item: Annotated[str | None, Query(max_length=200)] = None,
    ) -> list[dict[str, Any]]:
        try:
            key = ItemKey.parse(item) if item else None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        now = d.clock()
        open_only = status == "open"
        try:
            found = (
                _orders(d).find_named(key, open_only)
                if key is not None
                else _orders(d).find(None, open_only)
            )
        except OrderError as exc:
            raise _error(exc) from None
        return [order_view(o, now) for o in found]

    @router.post(
        "/api/orders",
        status_code=201,
        responses=errors({400: BAD_ORDER, 404: NO_ORDERS, 409: KEY_USED}) | REPLAYED,
    )
    def api_place(
        request: Request, response: Response, body: OrderBody, idempotency_key: RequestKey = None
    ) -> dict[str, Any]:
        if not body.item:
            raise HTTPException(422, "item is required (or POST /api/tasks/{id}/order)")
        placed = place(request, None, body, idempotency_key, response)
        return _placed_view(placed, d.clock())

    @router.post(
        "/api/tasks/{task_id}/order",
        status_code=201,
        responses=errors({400: BAD_ORDER, 404: "no such task, or " + NO_ORDERS, 409: KEY_USED})
        | REPLAYED,
    )
    def api_order_task(
        request: Request,
        response: Response,
        task_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        body: OrderBody | None = None,
        idempotency_key: RequestKey = None,
    ) -> dict[str, Any]:
        placed = place(request, task_id, body or OrderBody(), idempotency_key, response)
        return _placed_view(placed, d.clock())

    @router.post(
        "/api/orders/{order_id}/receive",
        responses=errors({404: "no such order, or " + NO_ORDERS, 409: CONFLICT}),
    )
    def api_receive(
        request: Request,
        order_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        body: ReceiveBody | None = None,
    ) -> dict[str, Any]:
        order = receive(request, order_id, (body or ReceiveBody()).quantity)
        return order_view(order, d.clock())

    @router.post(
        "/api/orders/{order_id}/cancel",
        responses=errors({404: "no such order, or " + NO_ORDERS, 409: CONFLICT}),
    )
    def api_cancel(
        request: Request, order_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> dict[str, Any]:
        try:
            order = _orders(d).cancel(order_id, d.clock())
        except OrderError as exc:
            raise _error(exc) from None
        audited(request, AuditAction.ORDER_CANCELLED, _target(order))
        return order_view(order, d.clock())

    # -- the tasks page's buttons (forms post, then back to the page) ------------------------

    @router.post("/tasks/{task_id}/order", include_in_schema=False)
    def form_order(
        request: Request,
        task_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        quantity: Annotated[int | None, Form(gt=0, le=MAX_QTY)] = None,
    ) -> Response:
        try:
            placed = place(request, task_id, OrderBody(quantity=quantity))
        except _OrderHTTPError as exc:
            raise _in_words(request_lang(request, d.lang), exc) from None
        if request.headers.get("x-requested-with") == "fetch":
            # The in-place button says what happened, the acknowledgement included (the
            # reminders stop), as the CLI and the API do.
            done = "ordered_acked" if placed.alert_acknowledged else "marked_ordered"
            return JSONResponse({"done": text(done, request_lang(request, d.lang))})
        return RedirectResponse("/tasks", status_code=303)

    @router.post("/orders/{order_id}/receive", include_in_schema=False)
    def form_receive(
        request: Request,
        order_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        quantity: Annotated[int | None, Form(gt=0, le=MAX_QTY)] = None,
    ) -> RedirectResponse:
        try:
            receive(request, order_id, quantity)
        except _OrderHTTPError as exc:
            raise _in_words(request_lang(request, d.lang), exc) from None
        return RedirectResponse("/tasks", status_code=303)

    @router.post("/orders/{order_id}/cancel", include_in_schema=False)
    def form_cancel(
        request: Request, order_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> RedirectResponse:
        try:
            order = _orders(d).cancel(order_id, d.clock())
        except OrderError as exc:
            raise _in_words(request_lang(request, d.lang), _error(exc)) from None
        audited(request, AuditAction.ORDER_CANCELLED, _target(order))
        return RedirectResponse("/tasks", status_code=303)

    return router
