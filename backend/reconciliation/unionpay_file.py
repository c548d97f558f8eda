"""UnionPay's clearing detail file (银联清算明细文件, fetched from UnionPay's file server; it lists
POS and QR merchants' transactions for T+1 entry) — the seam.

Its layout is in UnionPay's specifications for member institutions (银联 文件接口规范), which are
not published: nothing here guesses it. An installation with the specification converts the file
into the platform's statement format (GPSTMT1 with channel "unionpay", backend/reconciliation/
channel_file.py) and uploads that; reconciliation then treats it as it treats every channel.
Uploading the raw file is refused in words that say so.
"""
from __future__ import annotations

from backend.reconciliation.channel_file import Statement, StatementError


def parse_unionpay_clearing(data: bytes) -> Statement:
    raise StatementError(1, "银联清算明细文件的格式未公开，请先按本行持有的银联文件接口规范转换为 GPSTMT1 格式（渠道 unionpay）再上传",
                         "UnionPay's clearing file layout is not public: convert it to GPSTMT1 (channel unionpay) "
                         "with the bank's copy of the UnionPay file specification, then upload that")
