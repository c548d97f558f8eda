"""Import subsidy grants from a CSV file, idempotent by batch id.

Header row, then one grant per row. Columns: `customer_id` or `id_number` (who), and
`amount_fen` or `amount_yuan` (how much). Every bad row is reported with its line number and
the reason; the good rows are booked. Importing the same batch id again books nothing and
returns the first import's report.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import ApiError, api_error
from backend.models.customers import Customer
from backend.models.subsidies import GrantBatch, SubsidyProgram
from backend.services.customers import publish_balance
from backend.services.subsidies import grant
from backend.services.vault import Vault
from core.wire import MAX_AMOUNT_FEN
from core.masking import mask_digits
from core.money import parse_yuan

MAX_ROWS = 100_000
MAX_GRANT_FEN = 100 * MAX_AMOUNT_FEN   # a single grant above a million yuan is a typo


@dataclass
class ImportReport:
    batch_id: str
    program_id: int
    rows_booked: int = 0
    total_fen: int = 0
    errors: list[dict] = field(default_factory=list)
    already_imported: bool = False


class RowError(ValueError):
    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def _amount(row: dict[str, str]) -> int:
    text_fen, text_yuan = (row.get("amount_fen") or "").strip(), (row.get("amount_yuan") or "").strip()
    try:
        # ９, ٩ and 1_000 are numbers to Python, not to an accountant
        if not (text_fen + text_yuan).isascii() or (text_fen and not text_fen.isdigit()):
            raise ValueError
        fen = int(text_fen) if text_fen else parse_yuan(text_yuan)
    except ValueError:
        raise RowError("bad_amount", "金额不是有效数字", "the amount is not a number") from None
    if not 0 < fen <= MAX_GRANT_FEN:
        raise RowError("bad_amount", "金额必须大于0且不超过100万元", "the amount must be above 0 and at most 1,000,000 yuan")
    return fen


def _customer_id(session: Session, vault: Vault, row: dict[str, str]) -> int:
    cid, idn = (row.get("customer_id") or "").strip(), (row.get("id_number") or "").strip()
    if cid:
        if not (cid.isascii() and cid.isdigit() and 0 < int(cid) < 2**31):
            # Not a customer number: often an ID number or a phone typed into the wrong column.
            # The report is kept (grant_batches.errors) and shown on /admin: never the cell itself.
            shown = mask_digits(cid) if len(cid) <= 32 else "…"
            raise RowError("unknown_customer", f"customer_id 列不是客户编号（{shown}）；身份证号请填在 id_number 列",
                           f"customer_id is not a customer number ({shown}); put ID numbers in the id_number column")
        if session.get(Customer, int(cid)) is None:
            raise RowError("unknown_customer", f"客户编号 {cid} 不存在", f"customer {cid} does not exist")
        return int(cid)
    if idn:
        found = session.scalar(select(Customer.id).where(Customer.id_number_hash == vault.hash(idn.upper(), "id_number")))
        if found is None:
            raise RowError("unknown_customer", "没有该身份证号的客户", "no customer has this ID number")
        return found
    raise RowError("no_customer", "缺少客户编号或身份证号", "the row names no customer_id or id_number")


def _rows(reader: csv.DictReader):  # noqa: ANN202
    """(line number in the file, row) for each record; row None where the CSV cannot be read.
    Line numbers are the file's own (blank lines and quoted line breaks counted)."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            continue
        yield reader.line_num, row


def import_grants(session: Session, vault: Vault, program: SubsidyProgram, batch_id: str, csv_text: str,
                  now: datetime) -> ImportReport:
    """Book a CSV of grants (flushed, not committed; the caller commits once)."""
    previous = session.scalar(select(GrantBatch).where(GrantBatch.batch_id == batch_id))
    if previous is not None:
        if previous.program_id != program.id:
            raise api_error(409, "batch_id_reused", "该批次号已用于另一补贴项目，请换一个批次号",
                            "This batch id was used for another program; use a new batch id")
        return ImportReport(batch_id, program.id, previous.rows_booked, previous.total_fen,
                            list(previous.errors), already_imported=True)
    if program.status != "active":
        raise api_error(409, "program_closed", "补贴项目已关闭，不能发放", "The program is closed; it cannot grant")
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"), newline=""))
    try:
        columns = set(reader.fieldnames or [])
    except csv.Error:
        columns = set()
    if not columns & {"customer_id", "id_number"} or not columns & {"amount_fen", "amount_yuan"}:
        raise api_error(422, "bad_csv_header", "表头须含 customer_id 或 id_number，以及 amount_fen 或 amount_yuan",
                        "The header must name customer_id or id_number, and amount_fen or amount_yuan")
    batch = GrantBatch(batch_id=batch_id, program_id=program.id, imported_at=now, errors=[])
    session.add(batch)
    session.flush()
    report = ImportReport(batch_id, program.id)
    touched: set[int] = set()
    for index, (line, row) in enumerate(_rows(reader)):
        if index >= MAX_ROWS:
            report.errors.append({"line": line, "code": "too_many_rows", "message_zh": f"每批最多 {MAX_ROWS} 行",
                                  "message_en": f"at most {MAX_ROWS} rows per batch"})
            break
        try:
            if row is None:
                raise RowError("unreadable", "该行不是有效的CSV（引号或换行有误）", "the row is not valid CSV (quotes or line breaks)")
            if None in row:
                raise RowError("extra_columns", "该行的列数多于表头", "the row has more columns than the header")
            customer_id, amount = _customer_id(session, vault, row), _amount(row)
            with session.begin_nested():
                grant(session, program, customer_id, amount, ref=f"grant:{batch_id}:{line}", batch_pk=batch.id,
                      line_no=line, now=now)
        except (RowError, ApiError) as exc:
            zh, en = (exc.zh, exc.en) if isinstance(exc, RowError) else (exc.detail["message_zh"], exc.detail["message_en"])
            code = exc.code
            report.errors.append({"line": line, "code": code, "message_zh": f"第 {line} 行：{zh}",
                                  "message_en": f"line {line}: {en}"})
            continue
        report.rows_booked += 1
        report.total_fen += amount
        touched.add(customer_id)
    batch.rows_booked, batch.total_fen, batch.errors = report.rows_booked, report.total_fen, report.errors
    for customer_id in sorted(touched):
        publish_balance(session, customer_id, now)
    return report
