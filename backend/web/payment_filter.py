"""The payments list's filter: date range, merchant, terminal, method, status, amount. The form
posts to /admin/payments/search, which sends the browser to /admin/payments?... (no personal
data in it), so a filtered list has an address to come back to, page through and export.
A merchant admin's filter is always its own merchant."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from backend.auth import OperatorPrincipal
from backend.models.merchants import Merchant
from backend.models.payments import Payment
from backend.models.terminals import Terminal
from backend.web.display import yuan_label
from backend.web.forms import Field, Form, Reading
from backend.web.texts import Bi
from core.wire import MAX_AMOUNT_FEN

METHODS = {"face": Bi("刷脸", "face"), "card": Bi("刷卡", "card"), "paycode": Bi("付款码", "pay code"),
           "plate": Bi("车牌", "plate")}
STATUSES = {"approved": Bi("成功", "approved"), "declined": Bi("拒绝", "declined"),
            "pending_bank": Bi("待银行确认", "pending bank")}
_ANY = (("", Bi("全部", "all")),)
FILTER = Form("/admin/payments/search", Bi("查找支付", "Find payments"), Bi("查找", "Search"), (
    Field("date_from", Bi("营业日从", "Business day from"), "date", required=False),
    Field("date_to", Bi("到", "to"), "date", required=False),
    Field("merchant_id", Bi("商户", "Merchant"), "choice", required=False),
    Field("terminal_id", Bi("终端", "Terminal"), "choice", required=False),
    Field("method", Bi("方式", "Method"), "choice", required=False, options=_ANY + tuple(METHODS.items())),
    Field("status", Bi("状态", "Status"), "choice", required=False, options=_ANY + tuple(STATUSES.items())),
    Field("min_yuan", yuan_label("金额不少于", "Amount from"), "yuan", required=False, lo=0, hi=MAX_AMOUNT_FEN),
    Field("max_yuan", yuan_label("不多于", "to"), "yuan", required=False, lo=0, hi=MAX_AMOUNT_FEN)))


def filter_form(session: Session, who: OperatorPrincipal) -> Form:
    """The filter with the merchants and terminals this operator may see as its choices."""
    terminals = select(Terminal.id, Terminal.name).order_by(Terminal.id)
    merchants = select(Merchant.id, Merchant.name).order_by(Merchant.id)
    if who.role == "merchant_admin":
        terminals = terminals.where(Terminal.merchant_id == who.merchant_id)
        merchants = merchants.where(Merchant.id == who.merchant_id)
    form = FILTER.with_options("merchant_id", list(_ANY) + [(str(m), name) for m, name in session.execute(merchants)])
    return form.with_options("terminal_id", list(_ANY) + [(str(t), name) for t, name in session.execute(terminals)])


@dataclass(frozen=True)
class PaymentFilter:
    form: Form
    typed: dict[str, str]
    reading: Reading
    merchant_only: int | None           # a merchant admin's own merchant

    def query(self) -> Select:
        return select(Payment).where(*conditions(self.reading.values, self.merchant_only)).order_by(
            Payment.occurred_at.desc(), Payment.id.desc())

    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.typed.items() if v})


def read_filter(session: Session, params, who: OperatorPrincipal) -> PaymentFilter:  # noqa: ANN001
    form = filter_form(session, who)
    typed = {f.name: (params.get(f.name) or "")[:40] for f in form.fields}
    return PaymentFilter(form, typed, form.read(typed), who.merchant_id if who.role == "merchant_admin" else None)


def conditions(values: dict, merchant_only: int | None) -> list:
    found = []
    if values.get("date_from"):
        found.append(Payment.business_date >= values["date_from"].isoformat())
    if values.get("date_to"):
        found.append(Payment.business_date <= values["date_to"].isoformat())
    for name, column in (("merchant_id", Payment.merchant_id), ("terminal_id", Payment.terminal_id)):
        if values.get(name):
            found.append(column == int(values[name]))
    for name, column in (("method", Payment.method), ("status", Payment.status)):
        if values.get(name):
            found.append(column == values[name])
    if values.get("min_yuan") is not None:
        found.append(Payment.amount_fen >= values["min_yuan"])
    if values.get("max_yuan") is not None:
        found.append(Payment.amount_fen <= values["max_yuan"])
    if merchant_only is not None:
        found.append(Payment.merchant_id == merchant_only)
    return found
