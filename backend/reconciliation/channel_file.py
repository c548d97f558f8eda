"""The channel's settlement file (对账单): what the bank card core or the QR channel says it
settled on one day, and the simulators' side that produces it.

Format (UTF-8 text, one record per line, CSV quoting, LF or CRLF):

    GPSTMT1,<channel>,<statement_date YYYY-MM-DD>
    ref,kind,amount_fen,settled_at,txn_id
    <ref>,<payment|refund>,<fen, positive>,<ISO 8601 with offset>,<channel's own id>
    ...
    END,<number of records>,<sum of amount_fen>

`ref` is our reference: the payment id for a card debit, "refund:<refund id>" for a card credit,
the order's out_trade_no for a QR order. The trailer makes a truncated file an error instead of
a short statement. Channels: "bank_card" (CoreBanking), "wechat", "alipay", "unionpay" (UnionPay's
clearing file is not public: it is converted to this format, backend/reconciliation/unionpay_file.py).
The channels' own files are read by wechat_bill.py and alipay_bill.py (statements.parse_any).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from backend.channels import ChannelSimulator
from backend.corebanking import BankAnswer, CoreBankingSimulator

MAGIC = "GPSTMT1"
COLUMNS = ["ref", "kind", "amount_fen", "settled_at", "txn_id"]
CHANNELS = ("bank_card", "wechat", "alipay", "unionpay")
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_AMOUNT_FEN = 100_000_000
STATEMENT_TZ = ZoneInfo("Asia/Shanghai")   # the channels cut their statement at local midnight


class StatementError(ValueError):
    """The file cannot be read; `line` says where (1-based), the messages say what to do."""

    def __init__(self, line: int, zh: str, en: str):
        super().__init__(f"line {line}: {en}")
        self.line, self.zh, self.en = line, zh, en


@dataclass(frozen=True)
class StatementRow:
    ref: str
    kind: str
    amount_fen: int
    settled_at: datetime
    txn_id: str


@dataclass(frozen=True)
class Statement:
    channel: str
    statement_date: str
    rows: list[StatementRow]


def write_statement(channel: str, statement_date: str, rows: list[StatementRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([MAGIC, channel, statement_date])
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: (r.settled_at, r.ref)):
        writer.writerow([row.ref, row.kind, row.amount_fen, row.settled_at.isoformat(), row.txn_id])
    writer.writerow(["END", len(rows), sum(r.amount_fen for r in rows)])
    return out.getvalue().encode("utf-8")


def _row(line: int, fields: list[str]) -> StatementRow:
    if len(fields) != len(COLUMNS):
        raise StatementError(line, f"第{line}行应有{len(COLUMNS)}列", f"line {line} must have {len(COLUMNS)} columns")
    ref, kind, amount, settled, txn = fields
    if not ref or len(ref) > 80 or kind not in ("payment", "refund"):
        raise StatementError(line, f"第{line}行的流水号或类型无效", f"line {line}: bad reference or kind")
    if not amount.isdigit() or not 0 < int(amount) <= MAX_AMOUNT_FEN:
        raise StatementError(line, f"第{line}行金额无效（应为正整数分）", f"line {line}: amount must be whole fen above 0")
    try:
        at = datetime.fromisoformat(settled)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise StatementError(line, f"第{line}行时间无效", f"line {line}: settled_at must be ISO 8601 with an offset")
    return StatementRow(ref, kind, int(amount), at, txn[:64])


def parse_statement(data: bytes) -> Statement:
    """Read a statement strictly; any fault raises StatementError naming the line."""
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(0, "对账文件过大", f"the statement is over {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError(0, "对账文件须为UTF-8编码", "the statement must be UTF-8 text") from None
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise StatementError(0, "对账文件格式错误", f"unreadable CSV: {exc}") from None
    if len(lines) < 3 or len(lines[0]) != 3 or lines[0][0] != MAGIC or lines[0][1] not in CHANNELS:
        raise StatementError(1, "不是对账文件（首行应为 GPSTMT1,渠道,日期）",
                             "not a statement (line 1 must be GPSTMT1,<channel>,<date>)")
    try:
        statement_date = date.fromisoformat(lines[0][2]).isoformat()
    except ValueError:
        raise StatementError(1, "首行日期无效", "line 1: the date must be YYYY-MM-DD") from None
    if lines[1] != COLUMNS:
        raise StatementError(2, "第2行应为列名", f"line 2 must be the header {','.join(COLUMNS)}")
    trailer = lines[-1]
    body = lines[2:-1]
    if len(trailer) != 3 or trailer[0] != "END":
        raise StatementError(len(lines), "文件不完整（缺少 END 结尾行），请重新下载",
                             "the file is incomplete (no END line); download it again")
    rows = [_row(n, fields) for n, fields in enumerate(body, start=3)]
    if trailer[1:] != [str(len(rows)), str(sum(r.amount_fen for r in rows))]:
        raise StatementError(len(lines), "结尾行的笔数或金额与明细不符，请重新下载",
                             "the END line's count or sum does not match the records; download it again")
    refs = [(r.ref, r.kind) for r in rows]
    if len(set(refs)) != len(refs):
        raise StatementError(0, "对账文件有重复流水", "the statement lists a reference twice")
    return Statement(lines[0][1], statement_date, rows)


# --- the simulators' side ------------------------------------------------------------------------

class RecordingBankSimulator(CoreBankingSimulator):
    """The bank core simulator, also keeping when each movement was applied, so it can hand out
    the day's statement as the real core does. `clock` gives unix seconds."""

    def __init__(self, latency_s: float = 0.0, clock=None):  # noqa: ANN001
        super().__init__(latency_s)
        import time

        self._clock = clock or time.time
        self.applied_at: dict[str, tuple[int, datetime]] = {}

    def _apply(self, ref: str, account: str, delta: int) -> BankAnswer:
        answer = super()._apply(ref, account, delta)
        if answer.outcome == "ok":
            self.applied_at[ref] = (delta, datetime.fromtimestamp(self._clock(), timezone.utc))
        return answer

    def forget(self, ref: str) -> None:
        """The core drops a movement (a fault to reconcile against): as if it never happened."""
        self._applied.pop(ref, None)
        self.applied_at.pop(ref, None)

    def statement(self, statement_date: str) -> bytes:
        rows = [StatementRow(ref, "refund" if delta > 0 else "payment", abs(delta), at, f"CB{n:010d}")
                for n, (ref, (delta, at)) in enumerate(sorted(self.applied_at.items()), start=1)
                if at.astimezone(STATEMENT_TZ).date().isoformat() == statement_date]
        return write_statement("bank_card", statement_date, rows)


def wechat_statement(sim: ChannelSimulator, statement_date: str) -> bytes:
    """The QR channel's statement of the orders it saw paid on the day."""
    rows = []
    for no, order in sorted(sim.orders.items()):
        if order.state != "SUCCESS" or not order.success_time:
            continue
        at = datetime.fromisoformat(order.success_time)
        if at.astimezone(STATEMENT_TZ).date().isoformat() == statement_date:
            rows.append(StatementRow(no, "payment", int(order.body["amount"]["total"]), at,
                                     order.transaction_id or ""))
    return write_statement("wechat", statement_date, rows)
