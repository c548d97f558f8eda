"""The reports: each a name, a header and a row query. Rows come from SQL aggregates and are
yielded one at a time (server-side cursor), so a large export streams instead of filling memory.

Months are calendar months in the backend's time zone (Asia/Shanghai by default): ledger times
are cut at local midnight, business dates compared as text.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.reports import campaign_reports

ONLINE_WITHIN = timedelta(minutes=2)


@dataclass(frozen=True)
class Params:
    month: str                      # YYYY-MM
    timezone: str = "Asia/Shanghai"
    merchant_id: int | None = None  # set: only this merchant's rows
    now: datetime | None = None

    @property
    def first_day(self) -> date:
        return date.fromisoformat(f"{self.month}-01")

    @property
    def next_first_day(self) -> date:
        first = self.first_day
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)

    def instants(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.timezone)
        return (datetime.combine(self.first_day, datetime.min.time(), tz),
                datetime.combine(self.next_first_day, datetime.min.time(), tz))


def check_month(month: str) -> str:
    try:
        first = date.fromisoformat(f"{month}-01")
        if len(month) != 7 or not 2000 <= first.year <= 2100:
            raise ValueError
    except ValueError:
        raise api_error(422, "bad_month", f"月份应为 2000–2100 年间的 YYYY-MM：{month[:20]}",
                        f"The month must be YYYY-MM between 2000 and 2100: {month[:20]}") from None
    return month


@dataclass(frozen=True)
class Report:
    name: str
    title_zh: str
    title_en: str
    header: tuple[str, ...]
    rows: Callable[[Session, Params], Iterator[tuple]]
    merchant_scoped: bool   # a merchant admin may read it (its own rows only)


def _stream(session: Session, sql: str, params: dict) -> Iterator[tuple]:
    result = session.execute(text(sql).execution_options(yield_per=2000), params)
    for row in result:
        yield tuple(row)


# Subsidy money moves on the ledger; a subsidy account's entries say what happened to it.
_SUBSIDY_FLOWS = """
    SUM(CASE WHEN p.kind = 'subsidy_grant' AND e.side = 'C' THEN e.amount_fen ELSE 0 END) AS granted,
    SUM(CASE WHEN p.kind = 'payment' AND e.side = 'D' THEN e.amount_fen
             WHEN p.kind IN ('refund', 'payment_reversal') AND e.side = 'C' THEN -e.amount_fen ELSE 0 END) AS spent,
    SUM(CASE WHEN p.kind = 'subsidy_expiry' AND e.side = 'D' THEN e.amount_fen ELSE 0 END) AS expired,
    SUM(CASE WHEN p.kind = 'subsidy_clawback' AND e.side = 'D' THEN e.amount_fen ELSE 0 END) AS clawed_back
    FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
    JOIN ledger_postings p ON p.id = e.posting_id
    WHERE a.kind = 'subsidy' AND p.created_at >= :start AND p.created_at < :end"""


def _subsidy_by_program(session: Session, p: Params) -> Iterator[tuple]:
    start, end = p.instants()
    yield from _stream(session, f"""
        SELECT :month, sp.id, sp.name, sp.funder, f.granted, f.spent, f.expired, f.clawed_back
        FROM (SELECT a.program_id AS program_id, {_SUBSIDY_FLOWS} GROUP BY a.program_id) f
        JOIN subsidy_programs sp ON sp.id = f.program_id ORDER BY sp.id""",
                       {"month": p.month, "start": start, "end": end})


def _subsidy_by_beneficiary(session: Session, p: Params) -> Iterator[tuple]:
    start, end = p.instants()
    yield from _stream(session, f"""
        SELECT :month, f.program_id, f.customer_id, c.masked_name, f.granted, f.spent, f.expired, f.clawed_back
        FROM (SELECT a.program_id AS program_id, a.customer_id AS customer_id, {_SUBSIDY_FLOWS}
              GROUP BY a.program_id, a.customer_id) f
        JOIN customers c ON c.id = f.customer_id ORDER BY f.program_id, f.customer_id""",
                       {"month": p.month, "start": start, "end": end})


def _month_dates(p: Params) -> dict:
    return {"month": p.month, "first": p.first_day.isoformat(), "next": p.next_first_day.isoformat(),
            "m": p.merchant_id, "all": p.merchant_id is None}


def _subsidy_by_merchant(session: Session, p: Params) -> Iterator[tuple]:
    yield from _stream(session, """
        SELECT :month, pay.merchant_id, m.name, l.program_id, COUNT(*), SUM(l.amount_fen - l.refunded_fen)
        FROM payment_lines l JOIN payments pay ON pay.id = l.payment_id JOIN merchants m ON m.id = pay.merchant_id
        WHERE l.source = 'subsidy' AND pay.status = 'approved' AND pay.business_date >= :first
          AND pay.business_date < :next AND (:all OR pay.merchant_id = :m)
        GROUP BY pay.merchant_id, m.name, l.program_id ORDER BY pay.merchant_id, l.program_id""", _month_dates(p))


def _sales(session: Session, p: Params) -> Iterator[tuple]:
    yield from _stream(session, """
        SELECT merchant_id, business_date, COALESCE(meal_period, ''), method, COUNT(*), SUM(amount_fen),
               SUM(refunded_fen), SUM(amount_fen - refunded_fen)
        FROM payments WHERE status = 'approved' AND business_date >= :first AND business_date < :next
          AND (:all OR merchant_id = :m)
        GROUP BY merchant_id, business_date, COALESCE(meal_period, ''), method
        ORDER BY merchant_id, business_date, COALESCE(meal_period, ''), method""", _month_dates(p))


def _parking(session: Session, p: Params) -> Iterator[tuple]:
    """revenue_fen: exit fees of the month's exits; then member renewals by how they were paid:
    through the channel (QR), or at the counter (cash or card the car park took itself, which
    settlement reports but does not pay out)."""
    start, end = p.instants()
    yield from _stream(session, """
        SELECT st.id, st.name, st.merchant_id,
               (SELECT COUNT(*) FROM parking_sessions s WHERE s.site_id = st.id AND s.entered_at >= :start
                  AND s.entered_at < :end),
               (SELECT COUNT(*) FROM parking_sessions s WHERE s.site_id = st.id AND s.exited_at >= :start
                  AND s.exited_at < :end),
               (SELECT COALESCE(SUM(s.paid_fen), 0) FROM parking_sessions s WHERE s.site_id = st.id
                  AND s.exited_at >= :start AND s.exited_at < :end),
               (SELECT COUNT(*) FROM parking_sessions s WHERE s.site_id = st.id AND s.status = 'inside'),
               (SELECT COALESCE(SUM(r.amount_fen), 0) FROM parking_member_renewals r
                  JOIN parking_members pm ON pm.id = r.member_id
                  WHERE pm.site_id = st.id AND r.paid_via = 'qr' AND r.created_at >= :start AND r.created_at < :end),
               (SELECT COALESCE(SUM(r.amount_fen), 0) FROM parking_member_renewals r
                  JOIN parking_members pm ON pm.id = r.member_id
                  WHERE pm.site_id = st.id AND r.paid_via = 'operator' AND r.created_at >= :start
                    AND r.created_at < :end)
        FROM sites st WHERE st.kind = 'car_park' AND (:all OR st.merchant_id = :m) ORDER BY st.id""",
                       {**_month_dates(p), "start": start, "end": end})


def _terminal_health(session: Session, p: Params) -> Iterator[tuple]:
    from backend.reconciliation.models import TerminalShift
    from backend.models.terminals import Terminal
    from sqlalchemy import select

    now = p.now
    query = select(Terminal).order_by(Terminal.id)
    if p.merchant_id is not None:
        query = query.where(Terminal.merchant_id == p.merchant_id)
    for t in session.scalars(query):
        shift = session.scalar(select(TerminalShift).where(TerminalShift.terminal_id == t.id)
                               .order_by(TerminalShift.received_at.desc(), TerminalShift.id.desc()).limit(1))
        online = t.status == "active" and t.last_seen_at is not None and now - t.last_seen_at <= ONLINE_WITHIN
        queue = len(shift.result.get("push_payment_ids", [])) if shift else ""
        yield (t.id, t.name, t.merchant_id, t.status, "online" if online else "offline",
               t.last_seen_at.isoformat() if t.last_seen_at else "", t.last_push_at.isoformat() if t.last_push_at else "",
               queue, shift.status if shift else "")


REPORTS = {r.name: r for r in (
    Report("subsidy-programs", "补贴使用（按项目）", "Subsidy usage per program",
           ("month", "program_id", "program", "funder", "granted_fen", "spent_fen", "expired_fen", "clawed_back_fen"),
           _subsidy_by_program, False),
    Report("subsidy-beneficiaries", "补贴使用（按受益人）", "Subsidy usage per beneficiary",
           ("month", "program_id", "customer_id", "name_masked", "granted_fen", "spent_fen", "expired_fen",
            "clawed_back_fen"), _subsidy_by_beneficiary, False),
    Report("subsidy-merchants", "补贴使用（按商户）", "Subsidy spent per merchant",
           ("month", "merchant_id", "merchant", "program_id", "payment_lines", "spent_fen"), _subsidy_by_merchant, True),
    Report("sales", "商户销售（按日/餐次/方式）", "Merchant sales per day, meal period and method",
           ("merchant_id", "business_date", "meal_period", "method", "payments", "amount_fen", "refunded_fen",
            "net_fen"), _sales, True),
    Report("parking", "停车收入与占用", "Parking revenue and occupancy per car park",
           ("site_id", "car_park", "merchant_id", "entries", "exits", "revenue_fen", "inside_now",
            "renewals_qr_fen", "renewals_counter_fen"), _parking, True),
    Report("terminal-health", "终端健康", "Terminal health",
           ("terminal_id", "name", "merchant_id", "status", "online", "last_seen_at", "last_push_at",
            "queue_at_last_shift_close", "last_shift"), _terminal_health, True),
    # Marketing (issue 17, docs/MARKETING.md "Reports"): a merchant admin sees the campaigns its
    # merchant funds, its own sales with any campaign, and its own statement.
    Report("campaigns", "营销活动（按活动）", "Campaigns: coupons, uses, discount cost, sales, budget left",
           ("month", "campaign_id", "campaign", "funder", "funder_merchant_id", "status", "budget_fen",
            "coupons_issued_to_date", "coupons_used", "payments", "sales_fen", "refunded_fen", "discount_cost_fen",
            "budget_left_fen"), campaign_reports.per_campaign, True),
    Report("campaign-merchants", "营销活动（按商户）", "Campaigns per merchant",
           ("month", "merchant_id", "merchant", "campaign_id", "campaign", "funder", "payments", "coupons_used",
            "sales_fen", "refunded_fen", "discount_cost_fen"), campaign_reports.per_merchant, True),
    Report("campaign-funders", "活动出资方对账单", "Campaign funder's statement",
           ("month", "funder", "funder_merchant_id", "funder_name", "day", "opening_fen", "discounts_fen",
            "given_back_fen", "settled_fen", "closing_fen"), campaign_reports.funder_statement, True),
)}


def get_report(name: str) -> Report:
    report = REPORTS.get(name)
    if report is None:
        raise api_error(404, "unknown_report", f"没有名为 {name[:40]} 的报表", f"There is no report named {name[:40]}")
    return report


# Chinese column titles for screens (exports keep the machine names, stable for other tools).
COLUMN_ZH = {
    "month": "月份", "program_id": "项目编号", "program": "项目", "funder": "出资方", "granted_fen": "发放",
    "spent_fen": "消费", "expired_fen": "过期", "clawed_back_fen": "收回", "customer_id": "客户编号",
    "name_masked": "姓名", "merchant_id": "商户编号", "merchant": "商户", "payment_lines": "笔数",
    "business_date": "营业日", "meal_period": "餐次", "method": "方式", "payments": "笔数", "amount_fen": "金额",
    "refunded_fen": "已退款", "net_fen": "净额", "site_id": "场所编号", "car_park": "停车场", "entries": "入场",
    "exits": "出场", "revenue_fen": "收入", "inside_now": "在场车辆",
    "renewals_qr_fen": "会员续费（扫码）", "renewals_counter_fen": "会员续费（柜台自收）", "terminal_id": "终端编号", "name": "名称",
    "status": "状态", "online": "在线", "last_seen_at": "最后在线", "last_push_at": "最后上传",
    "queue_at_last_shift_close": "上次交班时队列", "last_shift": "上次交班",
    "campaign_id": "活动编号", "campaign": "活动", "funder_merchant_id": "出资商户编号", "budget_fen": "预算",
    "coupons_issued_to_date": "累计发券", "coupons_used": "用券", "sales_fen": "带动销售", "discount_cost_fen": "优惠成本",
    "budget_left_fen": "剩余预算", "funder_name": "出资方名称", "day": "日期", "opening_fen": "期初",
    "discounts_fen": "优惠支出", "given_back_fen": "退款退回", "settled_fen": "结算抵扣", "closing_fen": "期末",
}
