"""WeChat Pay's trade bill (交易账单, GET /v3/bill/tradebill; the same text as v2 /pay/downloadbill):
a header row of column names, one row per order or refund with every field prefixed by "`",
then a summary header (总交易单数,应结订单总金额,退款总金额,...) and the summary row. Amounts are
yuan. ALL, SUCCESS and REFUND bills differ in columns, so columns are found by their names.

Payments (交易状态 SUCCESS, and REVOKED: paid then reversed, which the bill lists under the
original order number) become statement rows; refund rows are checked but not matched (refunds
are matched when they are booked, not from the bill). The summary's count must equal the rows
read: a cut file is refused, with the line where it ends.
"""
from __future__ import annotations

import csv
from datetime import datetime

from backend.reconciliation.bill_text import decoded_lines, fen
from backend.reconciliation.channel_file import STATEMENT_TZ, Statement, StatementError, StatementRow

NEEDED = ("交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额")
SUMMARY = "总交易单数"
MAX_ROWS = 500_000


def looks_like(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf")[:80].decode("utf-8", "ignore").startswith("交易时间,")


def _cells(line: str, number: int) -> list[str]:
    try:
        return [c.strip().lstrip("`") for c in next(csv.reader([line]))]
    except (csv.Error, StopIteration):
        raise StatementError(number, f"第{number}行无法读取", f"line {number} cannot be read") from None


def parse_wechat_bill(data: bytes, statement_date: str | None = None) -> Statement:
    lines = decoded_lines(data, ("utf-8", "gb18030"))
    if not lines or not lines[0].startswith("交易时间,"):
        raise StatementError(1, "不是微信支付交易账单（首行应为列名：交易时间,公众账号ID,...）",
                             "not a WeChat Pay trade bill (line 1 must be the header 交易时间,公众账号ID,...)")
    header = _cells(lines[0], 1)
    missing = [name for name in NEEDED if name not in header]
    if missing:
        raise StatementError(1, f"账单缺少列：{'、'.join(missing)}", f"line 1 lacks the columns {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    rows: list[StatementRow] = []
    listed = settled_sum = 0
    summary_at = None
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if line.startswith(SUMMARY):
            summary_at = number
            break
        cells = _cells(line, number)
        if len(cells) != len(header):
            raise StatementError(number, f"第{number}行应有{len(header)}列，实有{len(cells)}列",
                                 f"line {number} must have {len(header)} columns, has {len(cells)}")
        listed += 1
        if listed > MAX_ROWS:
            raise StatementError(number, "账单行数过多", f"more than {MAX_ROWS} rows")
        try:
            at = datetime.strptime(cells[col["交易时间"]], "%Y-%m-%d %H:%M:%S").replace(tzinfo=STATEMENT_TZ)
        except ValueError:
            raise StatementError(number, f"第{number}行交易时间无效", f"line {number}: bad 交易时间") from None
        amount = fen(cells[col["应结订单金额"]], number, "应结订单金额")
        settled_sum += amount
        state, ref = cells[col["交易状态"]], cells[col["商户订单号"]]
        if not ref or len(ref) > 64:
            raise StatementError(number, f"第{number}行商户订单号无效", f"line {number}: bad 商户订单号")
        if state in ("SUCCESS", "REVOKED"):
            if amount <= 0:
                raise StatementError(number, f"第{number}行金额应大于0", f"line {number}: amount must be above 0")
            rows.append(StatementRow(ref, "payment", amount, at, cells[col["微信订单号"]][:64]))
        elif state != "REFUND":
            raise StatementError(number, f"第{number}行交易状态未知：{state[:16]}", f"line {number}: unknown 交易状态")
    if summary_at is None or summary_at + 1 > len(lines):
        raise StatementError(len(lines), "账单不完整（缺少汇总行），请重新下载",
                             "the bill is incomplete (no summary): download it again")
    totals = _cells(lines[summary_at], summary_at + 1) if summary_at < len(lines) else []
    names = _cells(lines[summary_at - 1], summary_at)
    if len(totals) != len(names) or "应结订单总金额" not in names:
        raise StatementError(summary_at + 1, "汇总行无法读取", f"line {summary_at + 1}: unreadable summary")
    count = totals[names.index(SUMMARY)]
    if not count.isdigit() or int(count) != listed:
        raise StatementError(summary_at + 1, f"汇总笔数{count}与明细{listed}笔不符，请重新下载",
                             f"the summary says {count} rows, the bill has {listed}: download it again")
    if fen(totals[names.index("应结订单总金额")], summary_at + 1, "应结订单总金额") not in (
            settled_sum, sum(r.amount_fen for r in rows)):
        raise StatementError(summary_at + 1, "汇总金额与明细不符，请重新下载",
                             "the summary amount does not match the rows: download it again")
    if any(line.strip() for line in lines[summary_at + 1:]):
        raise StatementError(summary_at + 2, "汇总行之后还有内容", "text after the summary")
    days = {r.settled_at.date().isoformat() for r in rows}
    day = statement_date or (days.pop() if len(days) == 1 else None)
    if day is None or any(r.settled_at.date().isoformat() != day for r in rows):
        raise StatementError(2, "账单须为同一天的交易（请指明账单日期）", "the bill must hold one day: give its date")
    return Statement("wechat", day, rows)
