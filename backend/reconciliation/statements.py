"""Which statement a file is: the platform's own GPSTMT1 (bank core; any channel converted to it),
WeChat Pay's trade bill, or Alipay's business-detail bill. Each parser refuses garbage, a cut
file and an oversize one with the line where it went wrong."""
from __future__ import annotations

from backend.reconciliation import alipay_bill, wechat_bill
from backend.reconciliation.channel_file import MAGIC, Statement, StatementError, parse_statement


def parse_any(data: bytes, statement_date: str | None = None) -> Statement:
    if data.lstrip(b"\xef\xbb\xbf").startswith(MAGIC.encode()):
        return parse_statement(data)
    if wechat_bill.looks_like(data):
        return wechat_bill.parse_wechat_bill(data, statement_date)
    if alipay_bill.looks_like(data):
        return alipay_bill.parse_alipay_bill(data)
    raise StatementError(1, "无法识别的对账文件（支持：GPSTMT1、微信支付交易账单、支付宝业务明细）",
                         "not a statement this platform reads (GPSTMT1, WeChat Pay trade bill, Alipay detail bill)")
