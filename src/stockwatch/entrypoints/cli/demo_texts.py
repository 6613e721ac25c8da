"""What the demo prints (``make run``): its banner, the commands to try and its summary, in
zh-CN (default) and English. URLs, commands and file names stay as they are in both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stockwatch.core.messages import check_lang

# (zh-CN, English); every label is padded to one width by ``_labelled``.
_TEXTS: dict[str, tuple[str, str]] = {
    "banner_title": (
        "stockwatch 演示：守护进程 + 1688 模拟器 + 模拟机器人",
        "stockwatch demo: daemon + 1688 simulator + fake robots",
    ),
    "dashboard": ("看板", "dashboard"),
    "backtest": ("回测", "backtest"),
    "backtest_note": (
        "（用示例的销量历史回放：权衡前沿和图表）",
        "(the sample's sales history replayed: frontier and charts)",
    ),
    "api": ("API", "API"),
    "push": ("1688 推送", "1688 push"),
    "push_note": ("（用 AppSecret {secret} 签名）", "(signed with AppSecret {secret})"),
    "sim": ("1688 模拟器", "1688 sim"),
    "sim_note": (
        "（示例中的 {offers} 个商品，时间 ×{speed:g}：真实 1 秒 = 模拟 {hours:g} 小时）",
        "({offers} offers from the sample, time ×{speed:g}: one real second = {hours:g} "
        "simulated hour(s))",
    ),
    "authorized": ("已授权", "authorized"),
    "authorized_note": (
        "账号 {member}，经 {url}/oauth/authorize 授权（令牌保存在 {tokens}）",
        "member {member} through {url}/oauth/authorize (tokens in {tokens})",
    ),
    "receivers": ("接收端", "receivers"),
    "receivers_note": (
        "钉钉机器人 {ding}  企业微信机器人 {wecom}  webhook {hook}",
        "DingTalk robot {ding}  WeCom robot {wecom}  webhook {hook}",
    ),
    "snapshot_note": (
        "查看各自收到的消息：curl {ding}/__snapshot（其他接收端同理）",
        "what each got: curl {ding}/__snapshot (likewise the others)",
    ),
    "data": ("数据", "data"),
    "data_note": (
        "（SQLite：stockwatch.sqlite3，配置：stockwatch.toml）",
        "(SQLite: stockwatch.sqlite3, config: stockwatch.toml)",
    ),
    "try": ("试试", "try"),
    "note": ("注意", "note"),
    "note_text": (
        "显示的时间是模拟时间（比实际时钟走得快）",
        "times shown are simulated (they run ahead of the wall clock)",
    ),
    "stop": ("停止", "stop"),
    "summary_title": ("演示小结", "demo summary"),
    "pushes": ("1688 推送", "1688 pushes"),
    "pushes_note": ("{acked} 条已确认，{kept} 条留待补发", "{acked} acknowledged, {kept} kept"),
    "orders": ("销售订单", "orders placed"),
    "polls": ("轮询次数", "poll cycles"),
    "accepted": ("{n} 条消息已接收", "{n} message(s) accepted"),
    "merchant": ("商家", "merchant"),
    "merchant_note": (
        "按补货任务下了 {ordered} 张采购单，收货 {received} 次",
        "{ordered} order(s) placed from tasks, {received} received",
    ),
    "review": ("预警复盘", "review"),
    "review_note": (
        "{episodes} 次预警，{stockouts} 次断货；提前足够 {in_time} 次（其中下单避免断货 "
        "{prevented} 次），太晚 {late} 次，漏报 {missed} 次",
        "{episodes} episode(s), {stockouts} stockout(s); warned in time {in_time} (stockout "
        "prevented by an order: {prevented}), too late {late}, missed {missed}",
    ),
    "fresh_world": (
        "重新启动演示：从全新的模拟世界开始（模拟时钟从今天重新计时，数据库已清空）。",
        "Restarting the demo: it starts from a fresh world (the simulated clock restarts "
        "today and the database is empty).",
    ),
}
# The fake robots by their receiver name, as the summary lists them.
_RECEIVERS: dict[str, tuple[str, str]] = {
    "dingtalk": ("钉钉", "dingtalk"),
    "wecom": ("企业微信", "wecom"),
    "webhook": ("webhook", "webhook"),
}
LABEL_WIDTH = 15  # display columns: a CJK character takes two


def text(name: str, lang: str, **values: object) -> str:
    """Return the demo text ``name`` in ``lang`` with ``values`` filled in."""
    zh, en = _TEXTS[name]
    return (zh if check_lang(lang) == "zh-CN" else en).format(**values)


def _width(s: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in s)


def _labelled(label: str, rest: str) -> str:
    """``label:`` padded so the text after it lines up, in CJK display columns too."""
    head = f"{label}：" if _width(label) != len(label) else f"{label}:"
    return head + " " * max(1, LABEL_WIDTH - _width(head)) + rest


def _continued(rest: str) -> str:
    return " " * LABEL_WIDTH + rest


@dataclass(frozen=True)
class BannerFacts:
    """Where everything of a running demo is, for its banner."""

    base: str  # the daemon, http://127.0.0.1:PORT
    secret: str
    sim_url: str
    offers: int
    speed: float
    member: str | None
    tokens_file: Path
    ding: str
    wecom: str
    hook: str
    data_dir: Path
    cli: str  # how to call stockwatch from here
    config: Path


def banner_lines(f: BannerFacts, lang: str) -> list[str]:
    """The demo's banner: its URLs, the fakes, its data and the commands to try."""
    c = f"-c {f.config}"
    sw = f.cli
    commands = [
        f"status {c}",
        f"alerts list {c}",
        f"events {c}",
        f"outbox list {c}",
        f"tasks {c}",
        f"orders list --all {c}",
        f"explain RETRO-CLOCK {c}",
        f"backtest --service-level 0.99 {c}",
        "backtest --sweep --service-level 0.9,0.95,0.99 --buffer-days 0,2,4 "
        f"--html backtest.html {c}",
        f"review {c}",
    ]
    return [
        _labelled(text("dashboard", lang), f"{f.base}/"),
        _labelled(text("backtest", lang), f"{f.base}/backtest  {text('backtest_note', lang)}"),
        _labelled(
            text("api", lang), f"{f.base}/api/status   {f.base}/api/alerts   {f.base}/api/events"
        ),
        _labelled(
            text("push", lang), f"{f.base}/1688/push  {text('push_note', lang, secret=f.secret)}"
        ),
        _labelled(
            text("sim", lang),
            f"{f.sim_url}  "
            + text("sim_note", lang, offers=f.offers, speed=f.speed, hours=f.speed / 3600),
        ),
        _labelled(
            text("authorized", lang),
            text("authorized_note", lang, member=f.member, url=f.sim_url, tokens=f.tokens_file),
        ),
        _labelled(
            text("receivers", lang),
            text("receivers_note", lang, ding=f.ding, wecom=f.wecom, hook=f.hook),
        ),
        _continued(text("snapshot_note", lang, ding=f.ding)),
        _labelled(text("data", lang), f"{f.data_dir}  {text('data_note', lang)}"),
        _labelled(text("try", lang), f"{sw} {commands[0]}"),
        *(_continued(f"{sw} {line}") for line in commands[1:]),
        _labelled(text("note", lang), text("note_text", lang)),
        _labelled(text("stop", lang), "Ctrl+C"),
    ]


@dataclass(frozen=True)
class SummaryFacts:
    """What a finished demo counts, for its summary."""

    pushes: tuple[int, int] | None  # acknowledged, kept; None when the simulator is gone
    orders: int
    polls: int
    accepted: dict[str, int]  # fake receiver name → messages accepted
    merchant: tuple[int, int]  # orders placed from tasks, received
    review: dict[str, int]  # episodes, stockouts, in_time, prevented, late, missed


def summary_lines(f: SummaryFacts, lang: str) -> list[str]:
    """The demo's closing figures."""
    zh = check_lang(lang) == "zh-CN"
    lines = []
    if f.pushes is not None:
        acked, kept = f.pushes
        lines.append(
            _labelled(text("pushes", lang), text("pushes_note", lang, acked=acked, kept=kept))
        )
    lines.append(_labelled(text("orders", lang), str(f.orders)))
    lines.append(_labelled(text("polls", lang), str(f.polls)))
    for name, count in f.accepted.items():
        label = _RECEIVERS.get(name, (name, name))[0 if zh else 1]
        lines.append(_labelled(label, text("accepted", lang, n=count)))
    ordered, received = f.merchant
    lines.append(
        _labelled(
            text("merchant", lang),
            text("merchant_note", lang, ordered=ordered, received=received),
        )
    )
    lines.append(_labelled(text("review", lang), text("review_note", lang, **f.review)))
    return lines
