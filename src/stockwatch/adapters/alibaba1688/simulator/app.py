"""The simulator's ASGI app (Starlette): the gateway routes, the OAuth pages, the admin API."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from stockwatch.adapters.alibaba1688.simulator.catalogue import BUYER, MEMBERS_BY_ROLE
from stockwatch.adapters.alibaba1688.simulator.faults import FaultRule
from stockwatch.adapters.alibaba1688.simulator.gateway import (
    Answer,
    Gateway,
    GatewayProblem,
    TokenBucket,
)
from stockwatch.adapters.alibaba1688.simulator.purchases import SUPPLIER_LOGIN

JSON_TYPE = "application/json;charset=UTF-8"
ADMIN_HEADER = "X-Sim-Admin"


def _response(answer: Answer) -> Response:
    if answer.raw:
        content = str(answer.body)
    else:
        content = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":"))
    return Response(content, answer.status, headers={"content-type": JSON_TYPE})


async def _params(request: Request) -> dict[str, str]:
    # Query and form are merged, form winning (reference §1: the simulator accepts both).
    params = dict(request.query_params)
    body = await request.body()
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise GatewayProblem("gw.ParamMissing", "body is not UTF-8") from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def build_app(gateway: Gateway) -> Starlette:
    async def openapi(request: Request) -> Response:
        try:
            params = await _params(request)
        except GatewayProblem as problem:
            return _response(gateway.error(problem.code, problem.message, problem.status))
        return _response(await gateway.handle(request.path_params["path"], params))

    async def authorize(request: Request) -> Response:
        q = request.query_params
        try:
            target = gateway.authorize(
                q.get("client_id", ""),
                q.get("redirect_uri", "") or str(request.url_for("callback")),
                q.get("state", ""),
            )
        except GatewayProblem as problem:
            return _response(gateway.error(problem.code, problem.message, problem.status))
        return RedirectResponse(target, status_code=302)

    async def callback(request: Request) -> Response:
        code = request.query_params.get("code", "")
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>1688 simulator</title>"
            f"<p>授权码 / authorization code: <code>{code}</code></p>"
            "<p>Paste it into <code>stockwatch auth login</code> within 2 minutes.</p>"
        )

    async def admin(request: Request) -> Response:
        given = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode(), gateway.options.app_secret.encode()):
            return JSONResponse({"error": "admin needs the X-Sim-Admin header"}, 403)
        try:
            payload = await request.json() if await request.body() else {}
            result = await admin_action(gateway, request.path_params["action"], payload)
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, 400)
        return JSONResponse(result)

    routes = [
        Route("/openapi/{path:path}", openapi, methods=["GET", "POST"]),
        Route("/oauth/authorize", authorize, methods=["GET"]),
        Route("/oauth/callback", callback, methods=["GET"], name="callback"),
        Route("/_admin/{action}", admin, methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def admin_action(gateway: Gateway, action: str, p: dict[str, Any]) -> Any:
    """The test-control API. Every action returns JSON."""
    cat = gateway.catalogue
    now = gateway.clock.now()
    if action == "token":
        member = MEMBERS_BY_ROLE.get(p.get("member", "seller"), p.get("member", "seller"))
        return gateway.mint(member, p.get("access_ttl"))
    if action == "expire_tokens":
        for grant in gateway.access.values():
            grant.expires = now
        if p.get("refresh"):
            for grant in gateway.refresh.values():
                grant.expires = now
        return {"ok": True}
    if action == "fault":
        gateway.faults.add(
            FaultRule(
                p["kind"],
                rate=float(p.get("rate", 1.0)),
                count=p.get("count"),
                api=p.get("api"),
                seconds=float(p.get("seconds", 0.2)),
            )
        )
        return {"ok": True}
    if action == "clear_faults":
        gateway.faults.clear()
        return {"ok": True}
    if action == "acl":
        gateway.denied = set(p.get("deny", []))
        return {"ok": True}
    if action == "qos":
        qps = p.get("qps")
        gateway.bucket = TokenBucket(float(qps), float(p.get("burst", 20))) if qps else None
        gateway.options.daily_quota = p.get("daily_quota")
        gateway.quota_used = 0
        return {"ok": True}
    if action == "advance":
        gateway.clock.advance(float(p.get("hours", 0)) * 3600 + float(p.get("seconds", 0)))
        return {"now": gateway.clock.now().isoformat()}
    if action == "offer":
        offer = cat.get(int(p["offer_id"]), now)
        if offer is None:
            raise KeyError(f"no offer {p['offer_id']}")
        return gateway.classic(offer)
    if action == "offers":
        return {"offer_ids": [o.offer_id for o in cat]}
    if action == "catalogue":
        return {"offers": [gateway.classic(o) for o in cat if cat.get(o.offer_id, now)]}
    if action == "stock":
        offer = cat.get(int(p["offer_id"]), now)
        if offer is None:
            raise KeyError(f"no offer {p['offer_id']}")
        spec = p.get("spec_id")
        sku = next((s for s in offer.skus if s.spec_id == spec), None)
        if spec is not None and sku is None:
            raise KeyError(f"offer {offer.offer_id} has no SKU {spec}")
        cat.notify(offer, [cat.set_amount(offer, sku, int(p["amount"]), now)])
        return gateway.classic(offer)
    if action == "status":
        offer = cat.offers[int(p["offer_id"])]
        cat.notify(offer, [cat.set_status(offer, str(p["status"]), now)])
        return {"ok": True}
    if action == "follow":
        member = MEMBERS_BY_ROLE.get(p.get("member", "buyer"), BUYER)
        cat.offers[int(p["offer_id"])].followers.add(member)
        return {"ok": True}
    if action == "order":
        member = MEMBERS_BY_ROLE.get(p.get("member", "buyer"), BUYER)
        order_id = gateway.place_order(
            int(p["offer_id"]),
            p.get("spec_id"),
            int(p.get("quantity", 1)),
            member,
            p.get("warehouse"),
        )
        return {"order_id": order_id}
    if action == "complete":
        gateway.complete_order(int(p["order_id"]))
        return {"ok": True}
    if action == "refund":
        gateway.refund_order(int(p["order_id"]), p.get("quantity"))
        return {"ok": True}
    if action == "pay":
        gateway.pay_order(int(p["order_id"]))
        return {"ok": True}
    if action == "close":
        gateway.close_order(int(p["order_id"]))
        return {"ok": True}
    if action.startswith("purchase"):
        return purchase_action(gateway, action, p)
    if action == "push_settings":
        for key in ("callback_url", "drop", "duplicate", "shuffle"):
            if key in p:
                setattr(gateway.push.settings, key, p[key])
        if "retry_delays" in p:
            gateway.push.settings.retry_delays = tuple(float(x) for x in p["retry_delays"])
        return {"ok": True}
    if action == "stats":
        log = gateway.push.log
        return {
            "requests": gateway.requests,
            "errors": gateway.errors,
            "faults_fired": gateway.faults.fired,
            "push": {
                "attempts": log.attempts,
                "acked": log.acked,
                "failed_attempts": log.failed_attempts,
                "kept": log.kept,
            },
            "offers": len(cat),
        }
    raise KeyError(f"unknown admin action {action!r}")


def purchase_action(gateway: Gateway, action: str, p: dict[str, Any]) -> Any:
    """The merchant's purchases from its suppliers (buyer view): place, pay, ship (all or some
    units per line), sign for a parcel (deliver), complete, cancel."""
    book, now = gateway.purchases, gateway.clock.now()
    if action == "purchase":  # {offer_id, spec_id?, sku_id?, quantity} or {lines: [...]}
        member = MEMBERS_BY_ROLE.get(p.get("member", "seller"), p.get("member", "seller"))
        lines = []
        for line in p.get("lines") or [p]:
            offer = gateway.catalogue.offers.get(int(line["offer_id"]))
            name = offer.subject if offer is not None else "采购商品"
            sku = line.get("sku_id")
            lines.append(
                (
                    int(line["offer_id"]),
                    line.get("spec_id"),
                    int(sku) if sku else None,
                    name,
                    int(line["quantity"]),
                )
            )
        order = book.place(member, lines, now, p.get("supplier") or SUPPLIER_LOGIN)
        if p.get("pay", True):
            book.pay(order.order_id, now)
        return {"order_id": order.order_id, "sub_items": [x.sub_item_id for x in order.lines]}
    order_id = int(p["order_id"])
    if action == "purchase_pay":
        book.pay(order_id, now)
    elif action == "purchase_ship":  # {"quantities": {"0": 30}}: line index → units
        raw = p.get("quantities")
        quantities = None if raw is None else {int(k): int(v) for k, v in raw.items()}
        return {"logistics_id": book.ship(order_id, now, quantities)}
    elif action == "purchase_deliver":  # the merchant signs for a parcel
        book.sign(order_id, now, p.get("logistics_id"))
    elif action == "purchase_complete":
        book.complete(order_id, now)
    elif action == "purchase_cancel":
        book.cancel(order_id, now)
    else:
        raise KeyError(f"unknown admin action {action!r}")
    return {"ok": True, "status": book.orders[order_id].status}
