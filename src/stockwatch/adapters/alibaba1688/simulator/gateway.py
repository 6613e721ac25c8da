"""The simulated gateway's state and request pipeline (reference §6.3 check order).

appKey → signature → API exists → token (if needed) → ACL → QoS/quota → required params →
business logic. Gateway errors answer HTTP 400 with ``{error_code, error_message, exception,
request_id}``; the token error answers HTTP 401 with ``error_code "401"``; business errors
answer HTTP 200 in the API's own shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from stockwatch.adapters.alibaba1688.signing import parse_date
from stockwatch.adapters.alibaba1688.simulator import verify
from stockwatch.adapters.alibaba1688.simulator.catalogue import (
    MEMBERS_BY_ROLE,
    SELLER,
    Catalogue,
    Change,
    Offer,
    Sku,
    StatusChange,
    StockChange,
)
from stockwatch.adapters.alibaba1688.simulator.faults import FaultPlan, FaultRule
from stockwatch.adapters.alibaba1688.simulator.purchases import PurchaseBook
from stockwatch.adapters.alibaba1688.simulator.push import PushMessage, PushSender, PushSettings

CHINA = timezone(timedelta(hours=8))
LOGINS = {SELLER: "jinhua_cup_factory", "b2b-2208000000001": "demo_buyer01"}


def fmt_date(at: datetime) -> str:
    local = at.astimezone(CHINA)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}+0800"


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class SimOptions:
    app_key: str = "5555555"
    app_secret: str = "demoSecret123"
    qps: float | None = 10.0  # per-app token bucket; None = no throttling
    burst: float = 20.0
    daily_quota: int | None = None
    access_ttl: float = 36000.0  # 10 h
    refresh_ttl: float = 180 * 86400.0  # half a year
    postpone_ttl: float = 180 * 86400.0  # what postponeToken grants
    code_ttl: float = 120.0
    speed: float = 1.0  # simulated seconds per real second (the sales model's pace)
    authorize_member: str = "seller"
    faults: list[FaultRule] = field(default_factory=list)
    push: PushSettings = field(default_factory=PushSettings)
    fault_seed: int = 7


class SimClock:
    """Simulated time: real time × speed plus a test-controlled offset.

    ``hold_at(moment)`` lets time run no further than ``moment``: it stands still there until
    the hold moves on, then runs on from where it stood (it never jumps). The demo holds it a
    few polls ahead of its slowest actor, so a loaded machine slows the simulated world down
    instead of letting it run past a daemon or merchant that has not caught up.
    """

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._real0 = time.time()
        self._mono0 = time.monotonic()
        self.offset = 0.0
        self._hold: float | None = None
        self._lock = threading.Lock()  # now() is called from the server, daemon and demo threads

    def now(self) -> datetime:
        with self._lock:
            return datetime.fromtimestamp(self._seconds(), UTC)

    def _seconds(self) -> float:
        elapsed = (time.monotonic() - self._mono0) * self.speed
        seconds = self._real0 + elapsed + self.offset
        if self._hold is not None and seconds > self._hold:
            self.offset -= seconds - self._hold  # the time it stood still is not made up
            seconds = self._hold
        return seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds
            if self._hold is not None:
                self._hold += seconds

    def hold_at(self, moment: datetime | None) -> None:
        """Stop simulated time at ``moment`` until a later hold (None: run freely)."""
        with self._lock:
            # Never behind the time already told: a clock must not run backwards.
            self._hold = None if moment is None else max(moment.timestamp(), self._seconds())


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Grant:
    member: str
    expires: datetime


@dataclass
class Order:
    order_id: int
    offer_id: int
    spec_id: str | None
    quantity: int
    buyer: str
    status: str = "waitbuyerpay"
    deducted: bool = False
    created: datetime | None = None
    modified: datetime | None = None
    refunded: int = 0  # units refunded (in sales or after completion)
    warehouse: str | None = None  # the seller's shipping warehouse, when the shop has several


@dataclass
class Answer:
    status: int
    body: Any  # a JSON-able object, or raw text for the malformed-JSON fault
    raw: bool = False


class GatewayProblem(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


Handler = Callable[[Mapping[str, str], str | None], Answer]


@dataclass(frozen=True)
class ApiSpec:
    handler: Handler
    required: tuple[str, ...] = ()
    needs_token: bool = True


class Gateway:
    """All simulator state; every method runs on the server's event loop."""

    def __init__(self, catalogue: Catalogue, options: SimOptions) -> None:
        self.catalogue = catalogue
        self.options = options
        self.clock = SimClock(options.speed)
        self.faults = FaultPlan(list(options.faults), seed=options.fault_seed)
        self.push = PushSender(options.app_secret, options.push)
        self.bucket = TokenBucket(options.qps, options.burst) if options.qps else None
        self.quota_used = 0
        self.codes: dict[str, tuple[str, datetime, bool]] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.denied: set[str] = set()
        self.relations: dict[str, set[int]] = {}
        self.orders: dict[int, Order] = {}
        self.requests: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.stopping = asyncio.Event()
        self._order_ids = 3201456789012345678
        catalogue.listener = self._on_changes
        # The merchant's own purchases from its suppliers (buyer view, §4.4).
        self.purchases = PurchaseBook(fmt_date, self._emit)
        self.apis: dict[tuple[str, str, int], ApiSpec] = {
            ("system", "currentTime", 1): ApiSpec(self._current_time, needs_token=False),
            ("com.alibaba.product", "alibaba.product.get", 1): ApiSpec(
                self._product_get, ("productID",)
            ),
            ("com.alibaba.product", "alibaba.product.simple.get", 1): ApiSpec(
                self._product_get, ("productID",)
            ),
            ("com.alibaba.product", "alibaba.product.list.get", 1): ApiSpec(self._list_get),
            ("com.alibaba.product", "alibaba.cross.productInfo", 1): ApiSpec(
                self._cross_info, ("productId",)
            ),
            ("com.alibaba.product.push", "alibaba.cross.syncProductListPushed", 1): ApiSpec(
                self._sync_pushed, ("productIdList",)
            ),
            ("com.alibaba.fenxiao", "alibaba.fenxiao.productInfo.get", 1): ApiSpec(
                self._fenxiao_info
            ),
            (
                "com.alibaba.fenxiao.crossborder",
                "product.search.queryProductDetail",
                1,
            ): ApiSpec(self._query_detail, ("offerDetailParam",)),
            ("com.alibaba.product", "alibaba.product.follow", 1): ApiSpec(
                self._follow, ("productId",)
            ),
            ("com.alibaba.product", "alibaba.product.unfollow.crossborder", 1): ApiSpec(
                self._unfollow, ("productId",)
            ),
            ("com.alibaba.trade", "alibaba.trade.getSellerOrderList", 1): ApiSpec(
                self._seller_orders
            ),
            ("com.alibaba.trade", "alibaba.trade.getBuyerOrderList", 1): ApiSpec(
                lambda p, m: Answer(200, self.purchases.order_list(p, m))
            ),
            ("com.alibaba.trade", "alibaba.trade.get.buyerView", 1): ApiSpec(
                lambda p, m: Answer(200, self.purchases.order_view(p, m)), ("orderId",)
            ),
            ("com.alibaba.trade", "alibaba.trade.getLogisticsInfos.buyerView", 1): ApiSpec(
                lambda p, m: Answer(200, self.purchases.logistics(p, m)), ("orderId",)
            ),
            ("cn.alibaba.open", "push.cursor.messageList", 1): ApiSpec(
                self._cursor_messages, needs_token=False
            ),
            ("cn.alibaba.open", "push.query.messageList", 1): ApiSpec(
                self._query_messages, needs_token=False
            ),
            ("cn.alibaba.open", "push.message.confirm", 1): ApiSpec(
                self._confirm_messages, ("msgIdList",), needs_token=False
            ),
        }

    # -- the pipeline -----------------------------------------------------------------------
    async def handle(self, path: str, params: dict[str, str]) -> Answer:
        """Answer one ``/openapi/{path}`` request."""
        parts = path.split("/")
        api = parts[3] if len(parts) == 5 else path
        self.requests[api] = self.requests.get(api, 0) + 1
        hits = {rule.kind: rule for rule in self.faults.draw(api)}
        try:
            if "latency" in hits:
                await self.sleep(hits["latency"].seconds)
            if "timeout" in hits:
                await self.sleep(hits["timeout"].seconds)
                raise GatewayProblem("isp.timeout", "upstream timed out", 504)
            if "5xx" in hits:
                raise GatewayProblem("isp.internal-error", "internal error", 502)
            answer = self._pipeline(parts, path, params, hits)
        except GatewayProblem as problem:
            self.errors[problem.code] = self.errors.get(problem.code, 0) + 1
            answer = self.error(problem.code, problem.message, problem.status)
        if "malformed" in hits:
            text = json.dumps(answer.body, ensure_ascii=False) if not answer.raw else answer.body
            return Answer(200, text[: max(1, len(text) // 2)], raw=True)
        return answer

    def _pipeline(
        self, parts: list[str], path: str, params: dict[str, str], hits: Mapping[str, FaultRule]
    ) -> Answer:
        if len(parts) != 5 or parts[0] not in ("param2", "http") or not parts[1].isdigit():
            raise GatewayProblem("gw.APIUnsupported", "API unsupported")
        protocol, version, namespace, name, app_key = parts
        if not app_key:
            raise GatewayProblem("gw.AppKeyMissing", "AppKey is missing")
        if app_key != self.options.app_key:
            raise GatewayProblem("gw.AppKeyNotFound", f"AppKey {app_key} not found")
        if namespace == "system.oauth2":
            return self._oauth(name, params)
        if protocol != "param2":
            raise GatewayProblem("gw.APIUnsupported", "API unsupported")
        problem = verify.check(path, params, self.options.app_secret)
        if problem is not None:
            raise GatewayProblem(*problem)
        spec = self.apis.get((namespace, name, int(version)))
        if spec is None:
            raise GatewayProblem("gw.APIUnsupported", "API unsupported")
        member = None
        if spec.needs_token or params.get("access_token"):
            member = self._member(params.get("access_token"), spec.needs_token, hits)
        if name in self.denied:
            raise GatewayProblem("gw.APIACLDecline", "AppKey is not allowed(acl)")
        if "throttle" in hits or (self.bucket is not None and not self.bucket.take()):
            raise GatewayProblem("gw.QosAppFrequencyLimit", "App call exceeds limited frequency")
        if self.options.daily_quota is not None:
            if self.quota_used >= self.options.daily_quota:
                raise GatewayProblem("gw.NoUsageLeftError", "SLA bill has no usage left")
            self.quota_used += 1
        for required in spec.required:
            if not params.get(required):
                raise GatewayProblem("gw.ParamMissing", f"Required parameter {required} is missing")
        try:
            answer = spec.handler(params, member)
        except (ValueError, TypeError, KeyError) as exc:
            # A parameter of the wrong shape: the API runs and refuses, as business errors do.
            body = {"success": False, "errorCode": "400", "errorMessage": f"参数错误: {exc}"}
            return Answer(200, body)
        if "partial_page" in hits and name == "alibaba.product.list.get":
            rows = answer.body["result"]["pageResult"]["resultList"]
            del rows[len(rows) // 2 :]
        return answer

    def _member(
        self, token: str | None, required: bool, hits: Mapping[str, FaultRule]
    ) -> str | None:
        grant = self.access.get(token or "")
        now = self.clock.now()
        if grant is not None and "expired_token" in hits:
            grant.expires = now  # the token dies mid-poll
        if grant is None or grant.expires <= now:
            if not required:
                return None
            raise GatewayProblem("401", "Request need user authorized", 401)
        return grant.member

    def error(self, code: str, message: str, status: int) -> Answer:
        body = {
            "error_code": code,
            "error_message": message,
            "exception": message,
            "request_id": uuid.uuid4().hex[:26],
        }
        return Answer(status, body)

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake at shutdown so a timeout fault never holds the server up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    # -- OAuth ------------------------------------------------------------------------------
    def authorize(self, client_id: str, redirect_uri: str, state: str) -> str:
        """Return the redirect target carrying a fresh single-use code."""
        if client_id != self.options.app_key:
            raise GatewayProblem("gw.AppKeyNotFound", f"AppKey {client_id} not found")
        code = secrets.token_hex(16)
        member = MEMBERS_BY_ROLE.get(self.options.authorize_member, self.options.authorize_member)
        self.codes[code] = (
            member,
            self.clock.now() + timedelta(seconds=self.options.code_ttl),
            False,
        )
        sep = "&" if "?" in redirect_uri else "?"

        return redirect_uri + sep + urlencode({"code": code, "state": state})

    def mint(self, member: str, access_ttl: float | None = None) -> dict[str, str]:
        """Issue tokens directly (the admin shortcut tests use instead of a browser)."""
        now = self.clock.now()
        access, refresh = str(uuid.uuid4()), str(uuid.uuid4())
        ttl = self.options.access_ttl if access_ttl is None else access_ttl
        refresh_expires = now + timedelta(seconds=self.options.refresh_ttl)
        self.access[access] = Grant(member, now + timedelta(seconds=ttl))
        self.refresh[refresh] = Grant(member, refresh_expires)
        return self._token_body(member, access, str(int(ttl)), refresh, refresh_expires)

    def _token_body(
        self,
        member: str,
        access: str,
        expires_in: str,
        refresh: str | None,
        refresh_expires: datetime | None,
    ) -> dict[str, str]:
        body = {
            "aliId": member.removeprefix("b2b-"),
            "resource_owner": LOGINS.get(member, member),
            "memberId": member,
            "expires_in": expires_in,
            "access_token": access,
        }
        if refresh is not None and refresh_expires is not None:
            body["refresh_token"] = refresh
            body["refresh_token_timeout"] = fmt_date(refresh_expires)
        return body

    def _oauth(self, name: str, params: Mapping[str, str]) -> Answer:
        if name not in ("getToken", "postponeToken"):
            raise GatewayProblem("gw.APIUnsupported", "API unsupported")
        if (
            params.get("client_id") != self.options.app_key
            or params.get("client_secret") != self.options.app_secret
        ):
            return Answer(401, {"error": "invalid_client", "error_description": "bad client"})
        now = self.clock.now()
        if name == "postponeToken":
            grant = self.refresh.get(params.get("refresh_token", ""))
            if grant is None or grant.expires <= now:
                return Answer(400, {"error": "invalid_grant", "error_description": "bad request"})
            if grant.expires - now > timedelta(days=30):
                return Answer(400, {"error": "bad request", "error_description": "bad request"})
            del self.refresh[params["refresh_token"]]
            new = str(uuid.uuid4())
            expires = now + timedelta(seconds=self.options.postpone_ttl)
            self.refresh[new] = Grant(grant.member, expires)
            return Answer(200, {"refresh_token": new, "refresh_token_timeout": fmt_date(expires)})
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            entry = self.codes.get(params.get("code", ""))
            if entry is None or entry[2] or entry[1] <= now:
                return Answer(
                    400, {"error": "invalid_grant", "error_description": "code invalid or expired"}
                )
            member, expires, _ = entry
            self.codes[params["code"]] = (member, expires, True)
            return Answer(200, self.mint(member))
        if grant_type == "refresh_token":
            grant = self.refresh.get(params.get("refresh_token", ""))
            if grant is None or grant.expires <= now:
                return Answer(
                    400,
                    {"error": "invalid_grant", "error_description": "refresh token invalid"},
                )
            access = str(uuid.uuid4())
            self.access[access] = Grant(
                grant.member, now + timedelta(seconds=self.options.access_ttl)
            )
            body = self._token_body(
                grant.member, access, str(int(self.options.access_ttl)), None, None
            )
            return Answer(200, body)
        return Answer(400, {"error": "unsupported_grant_type", "error_description": "bad grant"})

    # -- product JSON -----------------------------------------------------------------------
    def _offer(self, raw: str | int | None) -> Offer | None:
        try:
            offer_id = int(str(raw))
        except ValueError:
            return None
        offer = self.catalogue.get(offer_id, self.clock.now())
        return None if offer is None or offer.status == "deleted" else offer

    @staticmethod
    def _not_found(raw: Any) -> Answer:
        return Answer(200, {"errMsg": f"商品[{raw}]不存在"})

    @staticmethod
    def _sku_json(sku: Sku, buyer: bool) -> dict[str, Any]:
        attrs = [
            {
                "attributeID": 3216,
                "attValueID": 28320,
                "attributeValue": sku.colour,
                "attributeDisplayName": "颜色",
            }
        ]
        out: dict[str, Any] = {
            "skuId": sku.sku_id,
            "specId": sku.spec_id,
            "amountOnSale": sku.amount,
            "price": 18.5,
            "consignPrice": 21.0,
        }
        if buyer:
            out["skuAttributes"] = [
                {"attributeId": 3216, "attributeName": "颜色", "value": sku.colour}
            ]
        else:
            out["cargoNumber"] = f"C-{sku.sku_id}"
            out["attributes"] = attrs
        return out

    def classic(self, offer: Offer) -> dict[str, Any]:
        info: dict[str, Any] = {
            "productID": offer.offer_id,
            "categoryID": 1031910,
            "status": offer.status,
            "subject": offer.subject,
            "saleInfo": {
                "supportOnlineTrade": True,
                "amountOnSale": float(offer.total),
                "unit": "个",
                "minOrderQuantity": 2,
                "quoteType": 1 if offer.skus else 0,
                "invReduceType": offer.inv_reduce_type,
                "priceRanges": [{"startQuantity": 2, "price": 18.5}],
            },
            "createTime": fmt_date(offer.created),
            "lastUpdateTime": fmt_date(offer.modified),
            "modifyTime": fmt_date(offer.modified),
        }
        if offer.skus:
            info["skuInfos"] = [self._sku_json(s, buyer=False) for s in offer.skus]
        return info

    def distribution(self, offer: Offer, key: str = "productID") -> dict[str, Any]:
        info: dict[str, Any] = {
            key: offer.offer_id,
            "subject": offer.subject,
            "status": offer.status,
            "supplierLoginId": LOGINS[SELLER],
            "productSaleInfo": {
                "amountOnSale": offer.total,
                "minOrderQuantity": 1,
                "quoteType": 1 if offer.skus else 0,
            },
        }
        if offer.skus:
            info["productSkuInfos"] = [self._sku_json(s, buyer=True) for s in offer.skus]
        return info

    # -- API handlers -----------------------------------------------------------------------
    def _current_time(self, params: Mapping[str, str], member: str | None) -> Answer:
        return Answer(200, {"result": str(ms(self.clock.now())), "success": True})

    def _product_get(self, params: Mapping[str, str], member: str | None) -> Answer:
        offer = self._offer(params["productID"])
        if offer is None:
            return self._not_found(params["productID"])
        return Answer(200, {"productInfo": self.classic(offer), "bizGroupInfos": []})

    def _list_get(self, params: Mapping[str, str], member: str | None) -> Answer:
        try:
            page_no = max(1, int(params.get("pageNo") or 1))
            page_size = min(20, max(1, int(params.get("pageSize") or 20)))
            ids = json.loads(params["productIds"]) if params.get("productIds") else None
            statuses = json.loads(params["statusList"]) if params.get("statusList") else None
        except (ValueError, TypeError):
            return Answer(200, {"success": False, "errorCode": "400", "errorMessage": "参数错误"})
        now = self.clock.now()
        if ids is not None:
            offers = [o for o in (self.catalogue.get(int(i), now) for i in ids) if o is not None]
        else:
            offers = list(self.catalogue)
        offers = [o for o in offers if o.status != "deleted"]
        if statuses:
            offers = [o for o in offers if o.status in statuses]
        if params.get("orderByCondition") == "MODIFY_DATE":
            offers.sort(key=lambda o: o.modified, reverse=params.get("orderByType") != "ASC")
        else:
            offers.sort(key=lambda o: o.offer_id, reverse=params.get("orderByType") == "DESC")
        page = offers[(page_no - 1) * page_size : page_no * page_size]
        rows = []
        for offer in page:
            self.catalogue.advance(offer, now)
            row = self.classic(offer)
            if params.get("needDetail") != "true":
                row.pop("skuInfos", None)
            rows.append(row)
        result = {
            "pageIndex": page_no,
            "sizePerPage": page_size,
            "totalRecords": len(offers),
            "resultList": rows,
        }
        return Answer(200, {"success": True, "result": {"pageResult": result}})

    def _cross_info(self, params: Mapping[str, str], member: str | None) -> Answer:
        offer = self._offer(params["productId"])
        if offer is None:
            return self._not_found(params["productId"])
        if offer.offer_id not in self.relations.get(member or "", set()):
            return Answer(200, {"success": False, "message": "没有该商品的查询权限"})
        return Answer(200, {"success": True, "productInfo": self.classic(offer)})

    def _sync_pushed(self, params: Mapping[str, str], member: str | None) -> Answer:
        try:
            ids = [int(i) for i in json.loads(params["productIdList"])][:20]
        except (ValueError, TypeError):
            return Answer(200, {"success": False, "message": "productIdList 格式错误"})
        self.relations.setdefault(member or "", set()).update(ids)
        return Answer(200, {"success": True, "result": {"success": True}})

    def _fenxiao_info(self, params: Mapping[str, str], member: str | None) -> Answer:
        raw = params.get("offerId") or params.get("openOfferId")
        if not raw:
            raise GatewayProblem("gw.ParamMissing", "Required parameter offerId is missing")
        offer = self._offer(raw)
        if offer is None:
            return Answer(
                200, {"success": False, "errorCode": "404", "errorMessage": f"商品[{raw}]不存在"}
            )
        return Answer(200, {"success": True, "productInfo": self.distribution(offer)})

    def _query_detail(self, params: Mapping[str, str], member: str | None) -> Answer:
        try:
            param = json.loads(params["offerDetailParam"])
            raw = param["offerId"]
        except (ValueError, TypeError, KeyError):
            return Answer(
                200,
                {
                    "result": {
                        "success": False,
                        "code": "400",
                        "message": "offerDetailParam 格式错误",
                    }
                },
            )
        offer = self._offer(raw)
        if offer is None:
            return Answer(
                200, {"result": {"success": False, "code": "404", "message": f"商品[{raw}]不存在"}}
            )
        detail = self.distribution(offer, key="offerId")
        detail["subjectTrans"] = offer.subject
        return Answer(
            200, {"result": {"success": True, "code": "200", "message": "成功", "result": detail}}
        )

    def _follow(self, params: Mapping[str, str], member: str | None) -> Answer:
        offer = self._offer(params["productId"])
        if offer is None:
            return Answer(200, {"code": 404, "message": f"商品[{params['productId']}]不存在"})
        offer.followers.add(member or "")
        return Answer(200, {"code": 0, "message": "success"})

    def _unfollow(self, params: Mapping[str, str], member: str | None) -> Answer:
        offer = self._offer(params["productId"])
        if offer is not None:
            offer.followers.discard(member or "")
        return Answer(200, {"code": 0, "message": "success"})

    def _kept(self, params: Mapping[str, str]) -> list[PushMessage]:
        kept = self.push.undelivered()
        if params.get("type"):
            kept = [m for m in kept if m.type == params["type"]]
        if params.get("userInfo"):
            kept = [m for m in kept if m.user_info == params["userInfo"]]
        return kept

    def _cursor_messages(self, params: Mapping[str, str], member: str | None) -> Answer:
        quantity = min(200, max(20, int(params.get("quantity") or 20)))
        batch = self._kept(params)[:quantity]
        for message in batch:
            message.confirmed = True  # cursor reads auto-confirm
        return Answer(
            200, {"pushMessageList": [m.compensation(self.options.app_key) for m in batch]}
        )

    def _query_messages(self, params: Mapping[str, str], member: str | None) -> Answer:
        page = max(1, int(params.get("page") or 1))
        size = min(200, max(20, int(params.get("pageSize") or 20)))
        kept = self._kept(params)
        datas = [
            m.compensation(self.options.app_key) for m in kept[(page - 1) * size : page * size]
        ]
        return Answer(200, {"pushMessagePage": {"datas": datas, "totalCount": len(kept)}})

    def _confirm_messages(self, params: Mapping[str, str], member: str | None) -> Answer:
        try:
            ids = {int(i) for i in json.loads(params["msgIdList"])}
        except (ValueError, TypeError):
            return Answer(200, {"isSuccess": False})
        for msg_id in ids:
            if msg_id in self.push.messages:
                self.push.messages[msg_id].confirmed = True
        return Answer(200, {"isSuccess": True})

    # -- pushes -----------------------------------------------------------------------------
    def _on_changes(self, offer: Offer, changes: list[Change]) -> None:
        if not offer.followers:
            return
        stock = [c for c in changes if isinstance(c, StockChange)]
        if stock:
            latest: dict[int | None, StockChange] = {}
            delta: dict[int | None, int] = {}
            for change in stock:
                latest[change.sku_id] = change
                delta[change.sku_id] = delta.get(change.sku_id, 0) + change.quantity
            entries = []
            for sku_id, change in latest.items():
                entry: dict[str, Any] = {"offerId": offer.offer_id, "offerOnSale": offer.total}
                if sku_id is not None:
                    entry["skuId"] = sku_id
                    entry["skuOnSale"] = change.sku_on_sale
                entry["quantity"] = delta[sku_id]
                entry["bizTime"] = ms(change.at)
                entries.append(entry)
            for follower in sorted(offer.followers):
                self._emit(
                    "PRODUCT_PRODUCT_INVENTORY_CHANGE",
                    follower,
                    {"OfferInventoryChangeList": entries},
                )
        for moved in changes:
            if isinstance(moved, StatusChange):
                topic, action = {
                    "member expired": ("PRODUCT_RELATION_VIEW_PRODUCT_CHANGE", "member_expired"),
                    "expired": ("PRODUCT_RELATION_VIEW_PRODUCT_EXPIRE", None),
                    "deleted": ("PRODUCT_RELATION_VIEW_PRODUCT_DELETE", None),
                }.get(moved.new, ("PRODUCT_RELATION_VIEW_PRODUCT_REPOST", None))
                for follower in sorted(offer.followers):
                    data: dict[str, Any] = {
                        "productIds": str(offer.offer_id),
                        "memberId": follower,
                        "msgSendTime": f"{moved.at.astimezone(CHINA):%Y-%m-%d %H:%M:%S}",
                    }
                    if action:
                        data["action"] = action
                    else:
                        data["status"] = topic.removeprefix("PRODUCT_")
                    self._emit(topic, follower, data)

    def _emit(self, topic: str, user: str, data: dict[str, Any], biz_key: str = "") -> None:
        self.push.emit(
            PushMessage(self.push.new_id(), topic, user, ms(self.clock.now()), data, biz_key)
        )

    # -- orders (admin) ---------------------------------------------------------------------
    def place_order(
        self,
        offer_id: int,
        spec_id: str | None,
        quantity: int,
        buyer: str,
        warehouse: str | None = None,
    ) -> int:
        offer = self.catalogue.get(offer_id, self.clock.now())
        if offer is None:
            raise KeyError(f"no offer {offer_id}")
        self._order_ids += 1
        now = self.clock.now()
        order = Order(
            self._order_ids,
            offer_id,
            spec_id,
            quantity,
            buyer,
            created=now,
            modified=now,
            warehouse=warehouse,
        )
        self.orders[order.order_id] = order
        self._order_push(order, "ORDER_BUYER_MAKE", "ORDER_BUYER_VIEW_BUYER_MAKE")
        if offer.inv_reduce_type == "1":
            self._deduct(order, offer, -quantity)
        return order.order_id

    def pay_order(self, order_id: int) -> None:
        order = self.orders[order_id]
        order.status = "waitsellersend"
        order.modified = self.clock.now()
        offer = self.catalogue.offers[order.offer_id]
        self._order_push(order, "ORDER_PAY", "ORDER_BUYER_VIEW_ORDER_PAY")
        if not order.deducted:
            self._deduct(order, offer, -order.quantity)

    def close_order(self, order_id: int) -> None:
        order = self.orders[order_id]
        order.status = "cancel"
        order.modified = self.clock.now()
        offer = self.catalogue.offers[order.offer_id]
        self._order_push(order, "ORDER_ORDER_BUYER_CLOSE", "ORDER_BUYER_VIEW_ORDER_BUYER_CLOSE")
        if order.deducted:
            self._deduct(order, offer, order.quantity)  # stock returns
            order.deducted = False

    def complete_order(self, order_id: int) -> None:
        """The buyer confirmed receipt: the trade is a success (a refund may still follow)."""
        order = self.orders[order_id]
        order.status = "success"
        order.modified = self.clock.now()
        self._order_push(order, "ORDER_ORDER_SUCCESS", "ORDER_BUYER_VIEW_ORDER_SUCCESS")

    def refund_order(self, order_id: int, quantity: int | None = None) -> None:
        """Refund units of an order: during the sale, or after completion (售后退款)."""
        order = self.orders[order_id]
        order.refunded = min(order.quantity, order.refunded + (quantity or order.quantity))
        order.modified = self.clock.now()
        if order.status == "success":
            topics = ("ORDER_ORDER_REFUND_AFTER_SALES", "ORDER_BUYER_VIEW_ORDER_REFUND_AFTER_SALES")
        else:
            topics = (
                "ORDER_ORDER_BUYER_REFUND_IN_SALES",
                "ORDER_BUYER_VIEW_ORDER_BUYER_REFUND_IN_SALES",
            )
        self._order_push(order, *topics)

    def _seller_orders(self, params: Mapping[str, str], member: str | None) -> Answer:
        """``alibaba.trade.getSellerOrderList``: the seller's orders, newest first, 20 a page."""
        if member != SELLER:
            return Answer(200, {"success": False, "code": "500", "message": "不是自己的订单"})
        page = max(1, int(params.get("page") or 1))
        size = min(20, max(1, int(params.get("pageSize") or 20)))
        start = parse_date(params["createStartTime"]) if params.get("createStartTime") else None
        end = parse_date(params["createEndTime"]) if params.get("createEndTime") else None
        m_start = parse_date(params["modifyStartTime"]) if params.get("modifyStartTime") else None
        m_end = parse_date(params["modifyEndTime"]) if params.get("modifyEndTime") else None
        orders = [
            o
            for o in self.orders.values()
            if o.created is not None
            and (start is None or o.created >= start)
            and (end is None or o.created < end)
            and (m_start is None or (o.modified or o.created) >= m_start)
            and (m_end is None or (o.modified or o.created) < m_end)
        ]
        orders.sort(key=lambda o: (o.created, o.order_id), reverse=True)
        rows = [self._order_json(o) for o in orders[(page - 1) * size : page * size]]
        return Answer(200, {"success": True, "totalRecord": len(orders), "result": rows})

    def _order_json(self, order: Order) -> dict[str, Any]:
        offer = self.catalogue.offers.get(order.offer_id)
        sku = next((s for s in offer.skus if s.spec_id == order.spec_id), None) if offer else None
        created = order.created or self.clock.now()
        item: dict[str, Any] = {
            "productID": order.offer_id,
            "name": offer.subject if offer else "",
            "quantity": order.quantity,
            "price": 18.5,
            "itemAmount": round(18.5 * order.quantity, 2),
            "subItemID": order.order_id * 10 + 1,
            "status": order.status,
        }
        if sku is not None:
            item.update(skuID=sku.sku_id, specId=sku.spec_id)
        if order.refunded:
            item.update(refundStatus="refundsuccess", refundCount=order.refunded)
        if order.warehouse:
            item["warehouseCode"] = order.warehouse
        return {
            "baseInfo": {
                "id": order.order_id,
                "idOfStr": str(order.order_id),
                "status": order.status,
                "createTime": fmt_date(created),
                "modifyTime": fmt_date(order.modified or created),
                "buyerID": order.buyer,
                "sellerID": SELLER,
                "totalAmount": round(18.5 * order.quantity, 2),
            },
            "productItems": [item],
        }

    def _deduct(self, order: Order, offer: Offer, delta: int) -> None:
        sku = next((s for s in offer.skus if s.spec_id == order.spec_id), None)
        before = sku.amount if sku else offer.amount
        change = self.catalogue.set_amount(offer, sku, before + delta, self.clock.now())
        order.deducted = delta < 0
        self.catalogue.notify(offer, [change])

    def _order_push(self, order: Order, seller_topic: str, buyer_topic: str) -> None:
        data = {
            "orderId": order.order_id,
            "currentStatus": order.status,
            "msgSendTime": f"{self.clock.now().astimezone(CHINA):%Y-%m-%d %H:%M:%S}",
            "buyerMemberId": order.buyer,
            "sellerMemberId": SELLER,
        }
        self._emit(seller_topic, SELLER, data, str(order.order_id))
        self._emit(buyer_topic, order.buyer, data, str(order.order_id))
