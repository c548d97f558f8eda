"""Alipay's business-detail bill (业务明细, from alipay.data.dataservice.bill.downloadurl.query with
bill_type=trade): a zip holding GBK CSV files; the detail file reads

    #支付宝业务明细查询
    #账号：[20880...]
    #起始日期：[2026年03月02日 00:00:00]   终止日期：[2026年03月03日 00:00:00]
    #-----------------------------------------业务明细列表----------------------------------------
    支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,...,订单金额（元）,商家实收（元）,...,备注
    <rows: 业务类型 交易 or 退款>
    #-----------------------------------------业务明细列表结束------------------------------------
    #交易合计：N笔，退款合计：M笔
    #导出时间：[...]

The zip or the bare CSV is accepted. Payments (交易) become statement rows keyed by 商户订单号;
refunds (退款) are checked, not matched. The end marker and the counts line must be there and
agree with the rows: a cut file is refused with the line where it ends.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime

from backend.reconciliation.bill_text import decoded_lines, fen
from backend.reconciliation.channel_file import MAX_FILE_BYTES, STATEMENT_TZ, Statement, StatementError, StatementRow

NEEDED = ("支付宝交易号", "商户订单号", "业务类型", "完成时间", "订单金额（元）")
_COUNTS = re.compile(r"#交易合计：(\d+)笔，退款合计：(\d+)笔")
_DAY = re.compile(r"#起始日期：\[(\d{4})年(\d{2})月(\d{2})日")


def looks_like(data: bytes) -> bool:
    return data[:2] == b"PK" or data.lstrip(b"\xef\xbb\xbf").startswith("#支付宝".encode("gb18030")) \
        or data.lstrip(b"\xef\xbb\xbf").startswith("#支付宝".encode("utf-8"))


def _detail_csv(data: bytes) -> bytes:
    if data[:2] != b"PK":
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.endswith(".csv") and "汇总" not in n]
            if len(names) != 1:
                raise StatementError(0, "压缩包里应有一个业务明细文件", "the zip must hold one detail CSV")
            info = archive.getinfo(names[0])
            if info.file_size > MAX_FILE_BYTES:
                raise StatementError(0, "对账文件过大", f"the statement is over {MAX_FILE_BYTES} bytes")
            return archive.read(names[0])
    except zipfile.BadZipFile:
        raise StatementError(0, "压缩包已损坏，请重新下载", "the zip is damaged: download it again") from None


def parse_alipay_bill(data: bytes) -> Statement:
    lines = decoded_lines(_detail_csv(data), ("utf-8", "gb18030"))
    if not lines or not lines[0].startswith("#支付宝"):
        raise StatementError(1, "不是支付宝业务明细（首行应为 #支付宝业务明细查询）",
                             "not an Alipay detail bill (line 1 must be #支付宝业务明细查询)")
    day = next((f"{m[1]}-{m[2]}-{m[3]}" for m in map(_DAY.match, lines[:6]) if m), None)
    head = next((n for n, line in enumerate(lines, start=1) if line.startswith("支付宝交易号,")), None)
    if day is None or head is None:
        raise StatementError(head or 1, "账单缺少起始日期或列名行", "the bill lacks its start date or column header")
    header = next(csv.reader([lines[head - 1]]))
    missing = [name for name in NEEDED if name not in header]
    if missing:
        raise StatementError(head, f"账单缺少列：{'、'.join(missing)}", f"line {head} lacks {', '.join(missing)}")
    col = {name: header.index(name) for name in header}
    rows: list[StatementRow] = []
    trades = refunds = 0
    end = None
    for number in range(head + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.startswith("#"):
            end = number
            break
        try:
            cells = [c.strip() for c in next(csv.reader([line]))]
        except (csv.Error, StopIteration):
            raise StatementError(number, f"第{number}行无法读取", f"line {number} cannot be read") from None
        if len(cells) != len(header):
            raise StatementError(number, f"第{number}行应有{len(header)}列，实有{len(cells)}列",
                                 f"line {number} must have {len(header)} columns, has {len(cells)}")
        kind, ref = cells[col["业务类型"]], cells[col["商户订单号"]]
        amount = fen(cells[col["订单金额（元）"]], number, "订单金额")
        try:
            at = datetime.strptime(cells[col["完成时间"]], "%Y-%m-%d %H:%M:%S").replace(tzinfo=STATEMENT_TZ)
        except ValueError:
            raise StatementError(number, f"第{number}行完成时间无效", f"line {number}: bad 完成时间") from None
        if not ref or len(ref) > 64:
            raise StatementError(number, f"第{number}行商户订单号无效", f"line {number}: bad 商户订单号")
        if kind == "交易":
            if amount <= 0:
                raise StatementError(number, f"第{number}行金额应大于0", f"line {number}: amount must be above 0")
            trades += 1
            rows.append(StatementRow(ref, "payment", amount, at, cells[col["支付宝交易号"]][:64]))
        elif kind == "退款":
            refunds += 1
        else:
            raise StatementError(number, f"第{number}行业务类型未知：{kind[:10]}", f"line {number}: unknown 业务类型")
    if end is None or "业务明细列表结束" not in lines[end - 1]:
        raise StatementError(end or len(lines), "账单不完整（缺少“业务明细列表结束”），请重新下载",
                             "the bill is incomplete (no end-of-list line): download it again")
    counts = next((m for m in map(_COUNTS.match, lines[end:end + 3]) if m), None)
    if counts is None:
        raise StatementError(end + 1, "账单不完整（缺少交易合计行），请重新下载", "no totals line: download it again")
    if (int(counts[1]), int(counts[2])) != (trades, refunds):
        raise StatementError(end + 1, f"合计{counts[1]}笔交易、{counts[2]}笔退款与明细不符，请重新下载",
                             "the totals do not match the rows: download it again")
    return Statement("alipay", day, rows)
