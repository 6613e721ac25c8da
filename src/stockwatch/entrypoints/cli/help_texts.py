"""zh-CN descriptions of the commands for ``--help`` (the docstrings are the English ones).

Which language ``--help`` speaks is decided before any command runs, the way the commands
decide theirs (``common.lang_of``): ``--lang`` on the command line (before the command or after
it), else ``$STOCKWATCH_LANG``, else the ``[general] lang`` of the configuration file that would
be used (``--config``/``-c``, ``$STOCKWATCH_CONFIG`` or ./stockwatch.toml), else zh-CN.
A zh-CN description replaces the command's help as a whole: its first paragraph is what the
command list shows.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stockwatch.core.messages import check_lang
from stockwatch.entrypoints.cli.framework_texts import ZhContext
from stockwatch.entrypoints.cli.option_texts import ZH_OPTION_HELP

if TYPE_CHECKING:
    from typer._click import Command, Context, Parameter

ROOT = "库存预警 stockwatch：1688 商家的低库存预警。"
ZH_HELP: dict[str, str] = {
    "check": "检查库存快照，按紧急程度列出有风险的商品（有 T2 或更严重时退出码为 3）。",
    "explain": "显示某个商品的预警线是怎么算出来的（含每一步的数值）。",
    "demo": "完整演示：守护进程轮询内置的 1688 模拟器、接收推送，并在本机向模拟的钉钉/企业微信"
    "机器人和 webhook 发送预警（按 Ctrl+C 停止）。",
    "simulate-gateway": "运行本地 1688 网关模拟器（相同的 URL、签名、错误和推送）。",
    "run": "运行监控守护进程：轮询、接收 1688 推送、发送预警（按 Ctrl+C 或 SIGTERM 停止）。",
    "events": "显示预警事件日志，最新的在前（可按商品、类型、时间筛选）。",
    "status": "显示每组的上次和下次轮询、数据过期的商品以及待发送的通知。",
    "review": "复盘一段时间的预警：断货、提醒是否及时、漏报、误报。",
    "worker": "运行 Celery worker：分批轮询商品并发送通知。",
    "scheduler": "运行调度器（每个部署一个主调度器；再启动一个作为备用）。",
    "backtest": "用店铺的历史销量回放候选策略，并与当前策略对比。",
    "audit": "操作记录：看板/API 的每个操作、登录和账号变更，最新的在前。",
    "config": "配置命令。",
    "config validate": "校验 stockwatch.toml，列出每个问题及其所在行。",
    "sales": "销量历史命令。",
    "sales import": "导入每日销量；无效行按行号列出，其余行只导入一次。",
    "sales import-orders": "把已付款的 1688 卖家订单计入每个 SKU 的每日销量"
    "（每个订单行只计一次）。",
    "thresholds": "预警线的重算与审核。",
    "thresholds recompute": "根据已导入的销量历史重算所有商品的预警线。",
    "thresholds review": "列出重算后待审核的预警线，或批准/驳回它们。",
    "auth": "1688 授权（OAuth）命令。",
    "auth login": "打印 1688 授权链接，接收授权码并保存令牌。",
    "auth status": "显示授权账号和令牌的到期时间。",
    "auth postpone": "延长刷新令牌的有效期（1688 允许在最后 30 天内延长）。",
    "notify": "通知渠道。",
    "notify test": "通过 CHANNEL 发送一条测试消息，并原样打印服务商的回复。",
    "notify status": "列出已配置的渠道，以及哪些因永久错误被停用、原因是什么。",
    "notify enable": "在永久发送错误停用 CHANNEL 后重新启用它（不发测试消息）。",
    "outbox": "通知发件箱。",
    "outbox list": "列出发件箱记录，最新的在前；--failed 显示发送失败的通知及服务商的错误。",
    "outbox retry": "把发送失败（或已发送）的通知放回队列，由发送进程重新发送。",
    "outbox work": "持续发送发件箱中的通知，直到被中断（SIGINT/SIGTERM 会先完成当前一轮）。",
    "tasks": "补货任务（只是建议，从不自动下单）。",
    "tasks list": "列出补货任务：商品、供应商、1688 链接、数量、最晚下单日期。",
    "tasks close": "手动关闭任务（已在别处下单，或不需要）。",
    "tasks export": "按供应商导出未完成的任务，作为采购清单草稿（不会下单）。",
    "db": "数据库命令。",
    "db upgrade": "创建数据库或把表结构迁移到最新版本。",
    "alerts": "当前预警：列出、确认、暂停提醒。",
    "alerts list": "列出当前预警，最严重的在前。",
    "alerts ack": "确认预警：本次预警不再提醒；升级时仍会通知。",
    "alerts snooze": "暂停预警：在此之前不再预警或提醒；升级时仍会通知。",
    "orders": "采购单（在途数量计入库存位置）。",
    "orders list": "列出采购单：商品、供应商、已收数量、预计到货、延迟天数。",
    "orders place": "记录已下单的货物（来自任务，或针对某个商品）。",
    "orders receive": "记录收货；全部收齐时关闭采购单及其任务。",
    "orders cancel": "取消未完成的采购单：其数量不再计入库存位置。",
    "orders unmatched": "列出无法对应到唯一商品的 1688 采购行（它们不计入任何商品的在途数量）。",
    "users": "看板用户：添加、列出、改密码、删除。",
    "users add": "添加用户（输入两次密码；脚本可用 --password-stdin）。",
    "users passwd": "设置用户密码；该用户的所有会话都会结束。",
    "users role": "修改用户角色（viewer、operator、admin）。",
    "users remove": "删除用户；其会话立即结束。",
    "users list": "列出用户及其角色（从不显示密码）。",
    "tokens": "脚本用的 API 令牌：添加、列出、吊销。",
    "tokens add": "创建 API 令牌并只打印一次（只保存其哈希）。",
    "tokens list": "列出 API 令牌（名称、权限、最近使用；从不显示令牌本身）。",
    "tokens revoke": "吊销 API 令牌：立即失效。",
}


def help_lang(args: Sequence[str], env: dict[str, str] | None = None) -> str:
    """Return the language ``--help`` uses for these command-line arguments.

    ``--lang`` before the command (the root's) or after it (the command's) alike; a language
    stockwatch does not speak falls back to zh-CN here, and its error names the option.
    """
    env = dict(os.environ) if env is None else env
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return _known(args[i + 1])
        if arg.startswith("--lang="):
            return _known(arg.removeprefix("--lang="))
    if env.get("STOCKWATCH_LANG"):
        return _known(env["STOCKWATCH_LANG"])
    config = _config_path(args, env)
    try:
        with config.open("rb") as f:
            lang = tomllib.load(f).get("general", {}).get("lang")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return "zh-CN"  # no readable configuration: the default (its problems show elsewhere)
    return _known(lang) if isinstance(lang, str) else "zh-CN"


def _known(lang: str) -> str:
    try:
        return check_lang(lang)
    except ValueError:
        return "zh-CN"


def _config_path(args: Sequence[str], env: dict[str, str]) -> Path:
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            return Path(args[i + 1])
        if arg.startswith("--config="):
            return Path(arg.removeprefix("--config="))
    return Path(env.get("STOCKWATCH_CONFIG") or "stockwatch.toml")


def localize(command: Command, path: str, lang: str, ctx: Context | None = None) -> None:
    """Show ``command`` (named ``path``, e.g. "sales import") in zh-CN when ``lang`` is zh-CN:
    its description, its options' help texts and click's own lines (usage, headings).

    Commands are built afresh for every command line, so English needs no undoing.
    """
    if lang == "en":
        return
    text = ROOT if path == "" else ZH_HELP.get(path)
    if text is not None and command.help != text:
        command.help = text
        command.short_help = None  # the list shows the first sentence of the new help
    command.context_class = ZhContext
    for param in command.params:
        localize_param(param, lang)
    help_option = command.get_help_option(ctx) if ctx is not None else None
    if help_option is not None:
        localize_param(help_option, lang)


def localize_param(param: Parameter, lang: str) -> None:
    """Give an option or argument its zh-CN help text (idempotent: a zh-CN text stays)."""
    help_text = getattr(param, "help", None)
    if lang != "en" and help_text:
        param.help = ZH_OPTION_HELP.get(help_text, help_text)  # type: ignore[attr-defined]
