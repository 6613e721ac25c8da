"""zh-CN help texts of the command-line options and arguments, keyed by their English text.

The English text stays where the option is declared (``typer.Option(help=...)``), the way a
gettext catalogue keys a translation by its message id: an option shared by many commands
(``--config``, ``--db``, ``--lang``) is translated once. ``--help`` in zh-CN replaces each
help text found here (``help_texts.localize``); a help text missing here fails the test that
walks every command's ``--help`` (tests/unit/test_help_texts.py).
"""

from __future__ import annotations

ZH_OPTION_HELP: dict[str, str] = {
    # click's own help option and the root command
    "Show this message and exit.": "显示此帮助并退出。",
    "print the version and exit": "显示版本号并退出。",
    "zh-CN (default) or en": "zh-CN（默认）或 en",
    "zh-CN (default) or en, for every command (also $STOCKWATCH_LANG, [general] lang)": (
        "zh-CN（默认）或 en，对所有命令生效（也可用 $STOCKWATCH_LANG 或 [general] lang）"
    ),
    # shared by many commands
    "stockwatch.toml (default: ./stockwatch.toml)": "配置文件 stockwatch.toml"
    "（默认：./stockwatch.toml）",
    "database URL (default: $STOCKWATCH_DATABASE_URL, [database] url, or SQLite in the "
    "data dir)": "数据库地址（默认：$STOCKWATCH_DATABASE_URL、[database] url，"
    "或数据目录中的 SQLite）",
    "table or json": "table（表格）或 json",
    "item catalogue CSV": "商品目录 CSV 文件",
    "daily sales CSV": "每日销量 CSV 文件",
    "business day to compute for (default: today)": "按哪个营业日计算（默认：今天）",
    "SKU or SKU@WAREHOUSE": "SKU 或 SKU@仓库",
    "only this SKU": "只看这个 SKU",
    # check, explain
    "stock snapshot, CSV or JSON": "库存快照文件，CSV 或 JSON",
    "also list items that are OK": "同时列出库存正常的商品",
    "database with recomputed thresholds (default: the configured one, if it exists)": (
        "存有重算预警线的数据库（默认：配置中的数据库，如果已存在）"
    ),
    "database with recomputed threshold versions": "存有重算预警线版本的数据库",
    # demo, simulate-gateway, run, worker, scheduler
    "run a few cycles, then exit": "只轮询几次，然后退出",
    "stop after N polls": "轮询 N 次后停止",
    "real seconds between polls": "两次轮询之间的真实秒数",
    "simulated seconds per real second": "每真实秒对应的模拟秒数",
    "HTTP port (0: any free)": "HTTP 端口（0：任选空闲端口）",
    "where the demo keeps its SQLite database": "演示的 SQLite 数据库存放目录",
    "port on 127.0.0.1 (0 = any free port)": "127.0.0.1 上的端口（0 = 任选空闲端口）",
    "generated offers (besides the sample's)": "另外生成的商品数（不含示例商品）",
    "SKUs per offer, LOW..HIGH (0 = no SKUs)": "每个商品的 SKU 数，LOW..HIGH（0 = 无 SKU）",
    "random seed of the catalogue and sales model": "商品目录和销量模型的随机种子",
    "also serve the bundled sample's offers 610000000001..": "同时提供内置示例的商品"
    " 610000000001..",
    "throttle above this many requests/s (0 = off)": "每秒请求数超过此值时限流（0 = 不限流）",
    "throttling burst size": "限流的突发容量",
    "calls before gw.NoUsageLeftError": "返回 gw.NoUsageLeftError 之前允许的调用次数",
    "random delisting/relisting of offers": "随机下架/重新上架商品",
    "push messages go here": "推送消息的接收地址",
    "push retry delays, seconds": "推送重试间隔（秒）",
    "KIND[:RATE][:DURATION], repeatable: 5xx:0.05, latency:1:200ms, ...": (
        "KIND[:RATE][:DURATION]，可重复：5xx:0.05、latency:1:200ms 等"
    ),
    "who authorizes in /oauth/authorize": "在 /oauth/authorize 中授权的账号",
    "the simulated app's AppKey": "模拟应用的 AppKey",
    "the simulated app's secret": "模拟应用的密钥（AppSecret）",
    "stop after N group polls": "分组轮询 N 次后停止",
    "tasks run at once in this process (threads)": "本进程同时运行的任务数（线程）",
    "serve this shop's config (repeat for several shops; default: --config)": (
        "服务这个店铺的配置（多个店铺就重复此选项；默认：--config）"
    ),
    "seconds between checks": "两次检查之间的秒数",
    # events, review, audit
    "raised, worsened, resolved, ack, ...": "事件类型：raised（预警）、worsened（升级）、"
    "resolved（已恢复）、ack（已确认）等",
    "ISO time or a span back, e.g. 24h": "ISO 时间，或往前的一段时长，例如 24h",
    "ISO time or a span such as 24h, 7d": "ISO 时间，或一段时长，例如 24h、7d",
    "start date YYYY-MM-DD (default: 30 days ago)": "开始日期 YYYY-MM-DD（默认：30 天前）",
    "only this user/token": "只看这个用户/令牌",
    # backtest
    "first replayed day YYYY-MM-DD (default: the last --days of sales)": (
        "回放的第一天 YYYY-MM-DD（默认：销量的最后 --days 天）"
    ),
    "days to replay (default 60)": "回放天数（默认 60）",
    "only this SKU (repeatable)": "只看这个 SKU（可重复）",
    "only this category": "只看这个类目",
    "only this class (A/B/C)": "只看这个等级（A/B/C）",
    "CSV sku,unit_price for stock value": "单价 CSV（sku,unit_price），用于计算库存金额",
    "reorder_point, safety_stock, days_of_cover, combined (comma list with --sweep)": (
        "reorder_point、safety_stock、days_of_cover、combined（配合 --sweep 可用逗号分隔多个）"
    ),
    "cycle service level α, e.g. 0.95": "周期服务水平 α，例如 0.95",
    "fill-rate target β instead of α, e.g. 0.98": "用满足率目标 β 代替 α，例如 0.98",
    "buffer k in days of demand": "缓冲量 k（按天数的需求计）",
    "velocity window (days)": "销速窗口（天）",
    "history window for σ (days)": "计算 σ 的历史窗口（天）",
    "empirical or normal": "empirical（经验分布）或 normal（正态分布）",
    "declared or learned (from received purchase orders)": "declared（申报交期）或 "
    "learned（从已收货采购单学习）",
    "T1 level: 120, 1.5x, 3d, lead+2d": "T1 预警线：120、1.5x、3d、lead+2d",
    "T2 level": "T2 预警线",
    "T3 level": "T3 预警线",
    "days a T1/T2 breach must last": "T1/T2 低于预警线须持续的天数",
    "days between notices of one tier": "同一级别两次通知之间的天数",
    "run every combination of the values given": "运行所给取值的每一种组合",
    "write this policy to the config layer of --class/--category/--item": (
        "把这个策略写入 --class/--category/--item 对应的配置层"
    ),
    "draw each order's lead time from the supplier's distribution": (
        "每张采购单的交期从供应商的交期分布中抽样"
    ),
    "seed for sampled lead times": "交期抽样的随机种子",
    "when levels are recomputed during the replay: weekly, monthly, a cron expression or "
    "never (default: [thresholds] recompute)": "回放中何时重算预警线：weekly（每周）、"
    "monthly（每月）、cron 表达式或 never（不重算）（默认：[thresholds] recompute）",
    "also write the report as one self-contained HTML page": "同时把报告写成一个独立的 HTML 页面",
    # sales, thresholds
    "sales CSV or Parquet (date, sku, quantity[, order_id])": "销量文件，CSV 或 Parquet"
    "（date、sku、quantity[、order_id]）",
    "first order day, YYYY-MM-DD (default: 30 days ago)": "第一个下单日 YYYY-MM-DD"
    "（默认：30 天前）",
    "last order day, YYYY-MM-DD (default: today)": "最后一个下单日 YYYY-MM-DD（默认：今天）",
    "items per batch": "每批商品数",
    "compute even though no sales were imported (every item gets the new-item rule)": (
        "即使没有导入销量也计算（所有商品都按新品规则）"
    ),
    "ITEM or ITEM:VERSION to apply": "要生效的 ITEM 或 ITEM:VERSION",
    "ITEM or ITEM:VERSION to drop": "要驳回的 ITEM 或 ITEM:VERSION",
    "apply every version waiting for review": "让所有待审核的版本生效",
    # auth, notify, outbox, tasks
    "the authorization code, if you have it": "授权码（如果已经拿到）",
    "channel name from [[channels]]": "[[channels]] 中的渠道名称",
    "only dead letters": "只看发送失败的通知",
    "pending/sending/sent": "状态：pending（待发送）/sending（发送中）/sent（已发送）",
    "how many rows to show": "显示多少行",
    "stop when nothing is due": "没有待发送的通知时停止",
    "seconds before a claim is stale": "认领多少秒后视为过期",
    "retry a transient failure this long, then dead letter (default: [daemon.delivery] "
    "retry_window, 24h)": "临时失败在这段时间内重试，之后记为发送失败"
    "（默认：[daemon.delivery] retry_window，24h）",
    "first retry delay, seconds": "第一次重试前等待的秒数",
    "rows claimed per pass": "每轮认领的记录数",
    "pause when idle, seconds": "空闲时暂停的秒数",
    "outbox row number (see stockwatch outbox list)": "发件箱记录编号（见 stockwatch outbox list）",
    "closed tasks too": "也列出已关闭的任务",
    "why the task is closed (default: closed by hand)": "关闭原因（默认：手动关闭）",
    "csv or json": "csv 或 json",
    "write to this file (default: standard output)": "写入这个文件（默认：标准输出）",
    "task number (see stockwatch tasks)": "任务编号（见 stockwatch tasks）",
    # alerts, orders
    "also items that are OK": "也列出库存正常的商品",
    "who acknowledges (default: cli:<OS user>)": "确认人（默认：cli:<系统用户名>）",
    "how long, e.g. 4h, 1d": "暂停多久，例如 4h、1d",
    "who snoozes (default: cli:<OS user>)": "暂停人（默认：cli:<系统用户名>）",
    "received and cancelled too": "也列出已收货和已取消的采购单",
    "one item: SKU or SKU@WAREHOUSE": "只看一个商品：SKU 或 SKU@仓库",
    "the replenishment task ordered": "已下单的补货任务",
    "default: the task's quantity": "默认：任务建议的数量",
    "the supplier (default: the task's)": "供应商（默认：任务中的供应商）",
    "arrival day or time (default: now + lead time)": "预计到货日期或时间（默认：现在 + 交期）",
    "default: everything still open": "默认：全部未收数量",
    "purchase order number (see stockwatch orders)": "采购单编号（见 stockwatch orders）",
    # users, tokens
    "viewer, operator or admin": "viewer（只读）、operator（操作员）或 admin（管理员）",
    "read the password from standard input": "从标准输入读取密码",
    "read (GET only) or write": "read（只读，仅 GET）或 write（读写）",
}
