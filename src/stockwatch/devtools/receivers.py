"""Fake providers as real loopback servers: DingTalk, WeCom, Feishu, Aliyun SMS, webhook, SMTP.

Each behaves as alert-channels.md §11 describes: it checks signatures and keywords, answers
business errors with HTTP 200 and the provider's JSON error code, enforces the per-robot rate
limit with the real code, and can fail a share of calls at random (without accepting them) or
follow a scripted list of faults. Every request is recorded with its verdict for assertions.
Tests, the benchmark and the ``make run`` demo all use these.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import re
import socket
import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from stockwatch.adapters.notify.webhook import verify as verify_webhook

Clock = Callable[[], float]


@dataclass
class Record:
    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    data: Any
    status: int
    verdict: str  # "ok" or the error code/name
    answer: bytes = b""
    token: str = ""
    raw_query: str = ""  # as sent, before percent-decoding

    @property
    def accepted(self) -> bool:
        return self.verdict == "ok"

    @property
    def text(self) -> str:
        """The human-visible text of an accepted robot message (for assertions)."""
        return message_text(self.data) if isinstance(self.data, dict) else ""


def message_text(data: dict[str, Any]) -> str:
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                if key not in ("timestamp", "sign", "msgtype", "msg_type", "tag", "template"):
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(data)
    return "\n".join(parts)


@dataclass
class Reply:
    status: int
    body: bytes
    verdict: str
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False  # reset the connection instead of answering


TRANSIENT_FAULTS = ("http503", "busy", "reset")


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 resets connections under concurrent senders
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a sender that died mid-request (the chaos test) is not our error


class FakeServer:
    """A threaded HTTP server on 127.0.0.1:<free port> with records, faults and rate windows."""

    name = "fake"

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        fail_rate: float = 0.0,
        seed: int | None = None,
        limit: int | None = None,
        window: float = 60.0,
    ) -> None:
        self.clock = clock
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.limit = limit
        self.window = window
        self.records: list[Record] = []
        self.faults: deque[str] = deque()
        self.lock = threading.Lock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._server: ThreadingHTTPServer | None = None
        self._hold: threading.Event | None = None  # set: hold the next request until released
        self.holding = threading.Event()  # a request is being held right now
        self.latency = 0.0  # seconds to wait before answering (simulated provider latency)
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if parts.path == "/__snapshot":  # for a benchmark running us in another process
                    reply = Reply(200, json.dumps(fake.snapshot()).encode(), "admin")
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                fake.wait_if_held()
                if fake.latency:
                    time.sleep(fake.latency)  # a provider's round trip, without the GIL
                reply = fake.dispatch(
                    self.command, parts.path, query, headers, body, raw_query=parts.query
                )
                if reply.close:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(reply.body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_POST = _handle
            do_GET = _handle

        server = _Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- assertions ----------------------------------------------------------------------------

    @property
    def accepted(self) -> list[Record]:
        with self.lock:
            return [r for r in self.records if r.accepted]

    def snapshot(self) -> dict[str, Any]:
        """Everything recorded, JSON-ready: time, token, verdict and visible text per call."""
        with self.lock:
            records = list(self.records)
        return {
            "records": [
                {"at": r.at, "token": r.token, "verdict": r.verdict, "text": r.text}
                for r in records
            ]
        }

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self._hits.clear()
            self.faults.clear()

    def hold_next(self) -> threading.Event:
        """Hold the next request (the sender is mid-send) until the returned event is set.

        The held request is then processed and accepted as usual, as a provider would that
        got the message just before the sender died.
        """
        release = threading.Event()
        with self.lock:
            self._hold = release
            self.holding.clear()
        return release

    def wait_if_held(self) -> None:
        with self.lock:
            release, self._hold = self._hold, None
        if release is not None:
            self.holding.set()
            release.wait(timeout=60)

    def fail_next(self, *faults: str) -> None:
        """Script the next answers: http500/502/503, json500, reset, malformed, empty, busy, 429."""
        with self.lock:
            self.faults.extend(faults)

    def max_in_window(self, token: str | None = None, window: float = 60.0) -> int:
        """Return the most accepted messages any one token got within ``window`` seconds."""
        return max_in_window(
            [(r.token, r.at) for r in self.accepted if token is None or r.token == token], window
        )

    # -- request handling ----------------------------------------------------------------------

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        raw_query: str = "",
    ) -> Reply:
        now = self.clock()
        data: Any = None
        try:
            data = json.loads(body) if body and "json" in headers.get("content-type", "") else None
        except ValueError:
            data = None
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        if fault is None and self.fail_rate and self.rng.random() < self.fail_rate:
            with self.lock:
                fault = self.rng.choice(TRANSIENT_FAULTS)
        if fault is not None and fault != "busy":
            reply = self.fault_reply(fault)
        else:
            reply = self.handle(method, path, query, headers, body, data, now, busy=fault == "busy")
        with self.lock:
            self.records.append(
                Record(
                    at=now,
                    method=method,
                    path=path,
                    query=query,
                    headers=headers,
                    body=body,
                    data=data,
                    status=reply.status,
                    verdict=reply.verdict,
                    answer=reply.body,
                    token=self.token_of(path, query),
                    raw_query=raw_query,
                )
            )
        return reply

    def fault_reply(self, fault: str) -> Reply:
        if fault == "reset":
            return Reply(0, b"", "reset", close=True)
        if fault.startswith("http"):
            code = int(fault[4:])
            return Reply(code, b"<html>bad gateway</html>", fault)
        if fault == "json500":  # a gateway error page in the provider's own JSON shape
            body = b'{"code":1500,"errcode":1500,"msg":"internal error","errmsg":"internal error"}'
            return Reply(500, body, fault)
        if fault == "malformed":
            return Reply(200, b"{not json", fault)
        if fault == "empty":
            return Reply(200, b"", fault)
        if fault == "429":
            return Reply(
                429,
                b'{"code":99991400,"msg":"too many requests"}',
                fault,
                {"Retry-After": "2", "x-ogw-ratelimit-reset": "2"},
            )
        raise ValueError(f"unknown fault {fault!r}")

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return ""

    def over_limit(self, token: str, now: float) -> bool:
        """Count this call in the token's sliding window; True when it exceeds the limit."""
        if self.limit is None:
            return False
        with self.lock:
            hits = self._hits[token]
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return True
            hits.append(now)
            return False

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        data: Any,
        now: float,
        busy: bool,
    ) -> Reply:
        raise NotImplementedError


def max_in_window(calls: list[tuple[str, float]], window: float = 60.0) -> int:
    """Return the most calls any one token made within ``window`` seconds (sliding)."""
    by_token: dict[str, list[float]] = defaultdict(list)
    for token, at in calls:
        by_token[token].append(at)
    best = 0
    for times in by_token.values():
        times.sort()
        lo = 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window:
                lo += 1
            best = max(best, hi - lo + 1)
    return best


def _json(obj: Any, status: int = 200, verdict: str = "ok", **headers: str) -> Reply:
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode(), verdict, dict(headers))


def _contains_keyword(data: dict[str, Any], keywords: list[str]) -> bool:
    text = message_text(data)
    return any(k in text for k in keywords)


# -- DingTalk ------------------------------------------------------------------------------------


@dataclass
class Robot:
    secret: str = ""
    keywords: list[str] = field(default_factory=list)
    enabled: bool = True


class FakeDingTalk(FakeServer):
    name = "dingtalk"

    def __init__(self, robots: dict[str, Robot] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("limit", 20)
        super().__init__(**kwargs)
        self.robots = robots or {}
        self.block_seconds = 600.0
        self.blocked_until: dict[str, float] = {}

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return query.get("access_token", "")

    def handle(self, method, path, query, headers, body, data, now, busy):  # type: ignore[no-untyped-def]
        def err(code: int, msg: str) -> Reply:
            return _json({"errcode": code, "errmsg": msg}, verdict=str(code))

        if method != "POST" or path != "/robot/send":
            return _json({"errcode": 404, "errmsg": "not found"}, 404, "404")
        token = query.get("access_token", "")
        robot = self.robots.get(token)
        if robot is None or not robot.enabled:
            return err(300001, "token is not exist")
        if robot.secret:
            ts, sign = query.get("timestamp", ""), query.get("sign", "")
            if not ts or not sign:
                return err(310000, "sign not match")
            try:
                skew = abs(now * 1000 - int(ts))
            except ValueError:
                return err(310000, "invalid timestamp")
            if skew > 3600 * 1000:
                return err(310000, "invalid timestamp")
            expected = base64.b64encode(
                hmac.new(
                    robot.secret.encode(), f"{ts}\n{robot.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            if not hmac.compare_digest(expected.encode(), sign.encode()):
                return err(310000, "sign not match")
        if len(body) > 20000:
            return err(460101, "body 大小不合法，请保持在 20000bytes 以内")
        if not isinstance(data, dict) or "msgtype" not in data:
            return err(40035, "缺少参数 json")
        if self.blocked_until.get(token, 0) > now:
            return err(130101, "send too fast, exceed 20 times per minute")
        if self.over_limit(token, now):
            self.blocked_until[token] = now + self.block_seconds
            return err(130101, "send too fast, exceed 20 times per minute")
        if busy:
            return err(-1, "系统繁忙")
        if robot.keywords and not _contains_keyword(data, robot.keywords):
            return err(310000, "keywords not in content")
        return _json({"errcode": 0, "errmsg": "ok"})


# -- WeCom ---------------------------------------------------------------------------------------


class FakeWeCom(FakeServer):
    name = "wecom"
    MSGTYPES = ("text", "markdown", "image", "news", "file", "template_card")

    def __init__(self, keys: set[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("limit", 20)
        super().__init__(**kwargs)
        self.keys = keys or set()

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return query.get("key", "")

    def handle(self, method, path, query, headers, body, data, now, busy):  # type: ignore[no-untyped-def]
        def err(code: int, msg: str) -> Reply:
            hint = f"{msg}, hint: [{uuid.uuid4().hex[:8]}], more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
            return _json({"errcode": code, "errmsg": hint}, verdict=str(code))

        if method != "POST" or path != "/cgi-bin/webhook/send":
            return _json({"errcode": 404, "errmsg": "not found"}, 404, "404")
        key = query.get("key", "")
        if key not in self.keys:
            return err(93000, "invalid webhook url")
        if not isinstance(data, dict):
            return err(40016, "invalid button size")  # WeCom's answer to a body it cannot parse
        msgtype = data.get("msgtype")
        if msgtype not in self.MSGTYPES:
            return err(40008, "invalid message type")
        content = (data.get(msgtype) or {}).get("content", "")
        limit = 2048 if msgtype == "text" else 4096
        if msgtype in ("text", "markdown") and len(str(content).encode()) > limit:
            return err(40058, f"content exceed max length {limit}")
        if self.over_limit(key, now):
            return err(45009, "api freq out of limit")
        if busy:
            return err(-1, "system busy")
        return _json({"errcode": 0, "errmsg": "ok"})


# -- Feishu --------------------------------------------------------------------------------------


class FakeFeishu(FakeServer):
    name = "feishu"

    def __init__(
        self, bots: dict[str, Robot] | None = None, *, answer_429: bool = False, **kwargs: Any
    ) -> None:
        kwargs.setdefault("limit", 100)
        super().__init__(**kwargs)
        self.bots = bots or {}
        self.answer_429 = answer_429
        self._second: dict[str, deque[float]] = defaultdict(deque)

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return path.rsplit("/", 1)[-1]

    def handle(self, method, path, query, headers, body, data, now, busy):  # type: ignore[no-untyped-def]
        def err(code: int, msg: str, status: int = 200) -> Reply:
            return _json({"code": code, "msg": msg, "data": {}}, status, str(code))

        if method != "POST" or not path.startswith("/open-apis/bot/v2/hook/"):
            return _json({"code": 404, "msg": "not found"}, 404, "404")
        token = self.token_of(path, query)
        bot = self.bots.get(token)
        if bot is None or not bot.enabled:
            return err(19001, "param invalid: incoming webhook access token invalid")
        if not isinstance(data, dict) or len(body) > 20 * 1024:
            return err(9499, "Bad Request", 400)
        if bot.secret:
            ts, sign = data.get("timestamp"), data.get("sign")
            try:
                ts_int = int(str(ts))
            except ValueError:
                return err(
                    19021, "sign match fail or timestamp is not within one hour from current time"
                )
            key = f"{ts_int}\n{bot.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if abs(now - ts_int) > 3600 or not hmac.compare_digest(expected, str(sign)):
                return err(
                    19021, "sign match fail or timestamp is not within one hour from current time"
                )
        if bot.keywords and not _contains_keyword(data, bot.keywords):
            return err(19024, "Key Words Not Found")
        with self.lock:
            second = self._second[token]
            while second and now - second[0] >= 1.0:
                second.popleft()
            too_fast = len(second) >= 5
            if not too_fast:
                second.append(now)
        if too_fast or self.over_limit(token, now):
            if self.answer_429:
                return _json(
                    {"code": 99991400, "msg": "too many requests"},
                    429,
                    "429",
                    **{"x-ogw-ratelimit-reset": "1"},
                )
            return err(11232, "frequency limit")
        if busy:
            return err(11232, "frequency limit")
        return _json(
            {
                "StatusCode": 0,
                "StatusMessage": "success",
                "code": 0,
                "msg": "success",
                "data": {},
                "Extra": None,
            }
        )


# -- Aliyun SMS ----------------------------------------------------------------------------------


def _pe(value: str) -> str:
    return quote(value, safe="-_.~")


class FakeAliyunSms(FakeServer):
    name = "sms"

    def __init__(
        self,
        keys: dict[str, str] | None = None,
        signs: set[str] | None = None,
        templates: dict[str, list[str]] | None = None,
        per_number_daily: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keys = keys or {}
        self.signs = signs or set()
        self.templates = templates or {}
        self.per_number_daily = per_number_daily
        self.nonces: set[str] = set()
        self.sent_per_number: dict[str, int] = defaultdict(int)

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return query.get("PhoneNumbers", "")

    def handle(self, method, path, query, headers, body, data, now, busy):  # type: ignore[no-untyped-def]
        params = dict(query)
        if method == "POST":
            params.update(parse_qsl(body.decode(), keep_blank_values=True))

        def err(code: str, msg: str, status: int = 200, **extra: str) -> Reply:
            rid = uuid.uuid4().hex.upper()
            return _json({"Code": code, "Message": msg, "RequestId": rid, **extra}, status, code)

        key_id = params.get("AccessKeyId", "")
        if key_id not in self.keys:
            return err("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        signature = params.pop("Signature", "")
        canon = "&".join(f"{_pe(k)}={_pe(v)}" for k, v in sorted(params.items()))
        string_to_sign = f"{method}&{_pe('/')}&{_pe(canon)}"
        expected = base64.b64encode(
            hmac.new(
                f"{self.keys[key_id]}&".encode(), string_to_sign.encode(), hashlib.sha1
            ).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            return err(
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to "
                f"sign is:{string_to_sign}",
                400,
                HostId="dysmsapi.aliyuncs.com",
            )
        nonce = params.get("SignatureNonce", "")
        with self.lock:
            reused = nonce in self.nonces
            self.nonces.add(nonce)
        if reused:
            return err("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
        try:
            stamp = time.mktime(time.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
            stamp -= time.timezone  # mktime reads local time; the stamp is UTC
        except ValueError:
            return err("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400)
        if abs(now - stamp) > 15 * 60:
            return err("InvalidTimeStamp.Expired", "Specified time stamp or date has expired.", 400)
        if params.get("SignName") not in self.signs:
            return err("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(params.get("TemplateCode", ""))
        if template is None:
            return err("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return err("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        if not isinstance(values, dict) or any(not isinstance(v, str) for v in values.values()):
            return err("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(name not in values for name in template):
            return err("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        phones = [p for p in params.get("PhoneNumbers", "").split(",") if p]
        if not phones or any(not re.fullmatch(r"1\d{10}", p) for p in phones):
            return err("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if busy:
            return err("isp.SYSTEM_ERROR", "系统错误")
        with self.lock:
            if any(self.sent_per_number[p] >= self.per_number_daily for p in phones):
                return err("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50")
            for p in phones:
                self.sent_per_number[p] += 1
        rid = uuid.uuid4().hex.upper()
        biz = f"{int(now)}^{uuid.uuid4().int % 10**10}"
        return _json({"Code": "OK", "Message": "OK", "BizId": biz, "RequestId": rid})

    def params_of(self, record: Record) -> dict[str, str]:
        params = dict(record.query)
        if record.method == "POST":
            params.update(parse_qsl(record.body.decode(), keep_blank_values=True))
        return params


# -- Webhook -------------------------------------------------------------------------------------


class FakeWebhook(FakeServer):
    """A receiver that verifies the signature and processes each notification once."""

    name = "webhook"

    def __init__(self, secret: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.secret = secret
        self.processed: dict[str, int] = defaultdict(int)  # notification key → times processed
        self.duplicates: list[str] = []

    def token_of(self, path: str, query: dict[str, str]) -> str:
        return path

    def snapshot(self) -> dict[str, Any]:
        data = super().snapshot()
        with self.lock:
            data["processed"] = dict(self.processed)
        return data

    def handle(self, method, path, query, headers, body, data, now, busy):  # type: ignore[no-untyped-def]
        if method != "POST":
            return _json({"error": "method"}, 405, "405")
        if self.secret:
            ts = headers.get("x-stockwatch-timestamp", "")
            sig = headers.get("x-stockwatch-signature", "")
            try:
                fresh = abs(now - int(ts)) <= 300
            except ValueError:
                fresh = False
            if not fresh:
                return _json({"error": "stale timestamp"}, 401, "stale")
            if not verify_webhook(self.secret, ts, body, sig):
                return _json({"error": "bad signature"}, 401, "signature")
        if not isinstance(data, dict):
            return _json({"error": "not json"}, 400, "400")
        if busy:
            return _json({"error": "busy"}, 503, "503")
        keys = [str(n.get("idempotency_key")) for n in data.get("notifications") or []] or [
            headers.get("x-stockwatch-delivery", "")
        ]
        with self.lock:
            for key in keys:
                if self.processed[key]:
                    self.duplicates.append(key)
                self.processed[key] += 1
        return _json({"ok": True, "received": len(keys)})


# -- SMTP ----------------------------------------------------------------------------------------


class FakeSmtp:
    """aiosmtpd on loopback with AUTH, recording parsed messages; faults per SMTP stage."""

    def __init__(
        self,
        users: dict[str, str] | None = None,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.users = users or {}
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.faults: dict[str, deque[str]] = defaultdict(deque)  # stage → replies
        fake = self

        class Handler:
            async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
                if fake.faults["MAIL"]:
                    return fake.faults["MAIL"].popleft()
                envelope.mail_from = address
                return "250 OK"

            async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
                if fake.faults["RCPT"]:
                    return fake.faults["RCPT"].popleft()
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                if fake.faults["DATA"]:
                    return fake.faults["DATA"].popleft()
                fake.messages.append(message_from_bytes(envelope.original_content))
                fake.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return f"250 Message accepted for delivery as {uuid.uuid4().hex[:12]}"

        def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
            ok = (
                isinstance(auth_data, LoginPassword)
                and fake.users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            return AuthResult(success=ok, handled=False)

        self.port = _free_port()
        # aiosmtpd only counts STARTTLS as TLS for AUTH; on implicit TLS the AUTH is optional.
        tls = starttls is not None
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator if self.users else None,
            # Without TLS, AUTH is offered but optional (aiosmtpd warns about the other way).
            auth_require_tls=tls,
            auth_required=bool(self.users) and tls,
            tls_context=starttls,
            require_starttls=starttls is not None,
            ssl_context=implicit_tls,
        )

    def start(self) -> FakeSmtp:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> FakeSmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, stage: str, reply: str) -> None:
        self.faults[stage.upper()].append(reply)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receivers:
    """Every fake at once, configured for the channel URLs :meth:`channel_urls` returns."""

    dingtalk: FakeDingTalk
    wecom: FakeWeCom
    feishu: FakeFeishu
    sms: FakeAliyunSms
    webhook: FakeWebhook

    DINGTALK_SECRET = "SEC0123456789abcdef"
    FEISHU_SECRET = "feishu-test-secret"
    WEBHOOK_SECRET = "hook-secret"
    KEYWORD = "库存"

    @classmethod
    def start(
        cls,
        *,
        robots: int = 1,
        fail_rate: float = 0.0,
        seed: int | None = None,
        clock: Clock = time.time,
    ) -> Receivers:
        common: dict[str, Any] = {"fail_rate": fail_rate, "seed": seed, "clock": clock}
        ding = {f"ding-{i}": Robot(cls.DINGTALK_SECRET, [cls.KEYWORD]) for i in range(robots)}
        fei = {f"fei-{i}": Robot(cls.FEISHU_SECRET, [cls.KEYWORD]) for i in range(robots)}
        return cls(
            dingtalk=FakeDingTalk(ding, **common).start(),  # type: ignore[arg-type]
            wecom=FakeWeCom({f"wecom-{i}" for i in range(robots)}, **common).start(),  # type: ignore[arg-type]
            feishu=FakeFeishu(fei, **common).start(),  # type: ignore[arg-type]
            sms=FakeAliyunSms(
                {"LTAIkey": "sms-secret"},
                {"库存预警"},
                {"SMS_71390007": ["sku", "tier", "stock", "cover", "count"]},
                **common,
            ).start(),  # type: ignore[arg-type]
            webhook=FakeWebhook(cls.WEBHOOK_SECRET, **common).start(),  # type: ignore[arg-type]
        )

    def channel_urls(self, robots: int = 1) -> dict[str, str]:
        urls: dict[str, str] = {}
        for i in range(robots):
            urls[f"ding{i}"] = (
                f"dingtalk://ding-{i}@/?secret={self.DINGTALK_SECRET}&keyword={self.KEYWORD}"
                f"&mobiles=13800000000&endpoint={self.dingtalk.url}"
            )
            urls[f"wecom{i}"] = (
                f"wecom://wecom-{i}@/?keyword={self.KEYWORD}&mentions=owner&endpoint={self.wecom.url}"
            )
            urls[f"feishu{i}"] = (
                f"feishu://fei-{i}@/?secret={self.FEISHU_SECRET}&keyword={self.KEYWORD}"
                f"&endpoint={self.feishu.url}"
            )
        urls["sms"] = (
            "aliyunsms://LTAIkey:sms-secret@/?sign=库存预警&template=SMS_71390007"
            f"&phones=13800000000&endpoint={self.sms.url}"
        )
        host = self.webhook.url.removeprefix("http://")
        urls["hook"] = f"webhook+http://{host}/hook?secret={self.WEBHOOK_SECRET}"
        return urls

    def all(self) -> Iterator[FakeServer]:
        yield from (self.dingtalk, self.wecom, self.feishu, self.sms, self.webhook)

    def stop(self) -> None:
        for server in self.all():
            server.stop()


def serve(robots: int, conn: Any, stop: Any, latency: float = 0.0) -> None:
    """Run every fake in this process (a child): send the channel URLs, serve until ``stop``."""
    receivers = Receivers.start(robots=robots)
    for fake in receivers.all():
        fake.latency = latency
    conn.send(
        {
            "urls": receivers.channel_urls(robots),
            "admin": {f.name: f.url for f in receivers.all()},
        }
    )
    stop.wait()
    receivers.stop()
