"""Merchants: the apply -> approve -> suspend (-> reinstate) lifecycle, fees, settlement account.

Rules: a merchant is approved only with a settlement account on file; only an approved merchant
can be suspended, only a suspended one reinstated. Payments at a merchant that is not approved
are refused (`merchant_is_active`, used by the payment service).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.merchants import Merchant, MerchantFee
from backend.services.changes import record_change
from core.wire import MerchantStatusData


def get_merchant(session: Session, merchant_id: int, *, for_update: bool = False) -> Merchant:
    query = select(Merchant).where(Merchant.id == merchant_id)
    merchant = session.scalar(query.with_for_update() if for_update else query)
    if merchant is None:
        raise api_error(404, "merchant_not_found", f"商户 {merchant_id} 不存在", f"Merchant {merchant_id} does not exist")
    return merchant


def merchant_is_active(session: Session, merchant_id: int) -> bool:
    """True when payments may be taken for this merchant (it is approved, not applied or suspended)."""
    return session.scalar(select(Merchant.status).where(Merchant.id == merchant_id)) == "approved"


def apply_merchant(session: Session, *, name: str, kind: str, timezone: str = "Asia/Shanghai",
                   business_day_cutoff: str = "00:00", settlement_account_no: str | None = None,
                   settlement_bank_name: str | None = None) -> Merchant:
    merchant = Merchant(name=name, kind=kind, status="applied", timezone=timezone,
                        business_day_cutoff=business_day_cutoff,
                        settlement_account_no=settlement_account_no,
                        settlement_bank_name=settlement_bank_name)
    session.add(merchant)
    session.flush()
    return merchant


def _wrong_state(merchant: Merchant, action_zh: str, action_en: str, need: str):  # noqa: ANN202
    return api_error(409, "merchant_state",
                     f"商户当前状态为「{merchant.status}」，不能{action_zh}（需要「{need}」）",
                     f"The merchant is {merchant.status}; it cannot be {action_en} (it must be {need})")


def approve(session: Session, merchant: Merchant, *, now: datetime) -> Merchant:
    if merchant.status != "applied":
        raise _wrong_state(merchant, "审核通过", "approved", "applied")
    if not merchant.settlement_account_no:
        raise api_error(409, "settlement_account_missing", "请先登记商户结算账户，再审核通过",
                        "Record the merchant's settlement account before approving it")
    merchant.status, merchant.approved_at, merchant.status_reason = "approved", now, None
    _publish_status(session, merchant)
    return merchant


def suspend(session: Session, merchant: Merchant, reason: str, *, now: datetime) -> Merchant:
    if merchant.status != "approved":
        raise _wrong_state(merchant, "暂停", "suspended", "approved")
    merchant.status, merchant.suspended_at, merchant.status_reason = "suspended", now, reason
    _publish_status(session, merchant)
    return merchant


def reinstate(session: Session, merchant: Merchant) -> Merchant:
    if merchant.status != "suspended":
        raise _wrong_state(merchant, "恢复", "reinstated", "suspended")
    merchant.status, merchant.suspended_at, merchant.status_reason = "approved", None, None
    _publish_status(session, merchant)
    return merchant


def _publish_status(session: Session, merchant: Merchant) -> None:
    """Tell the merchant's terminals (only theirs): a suspension stops offline approvals too."""
    session.flush()
    data = MerchantStatusData(merchant_id=merchant.id, status=merchant.status, reason=merchant.status_reason)
    record_change(session, "merchant_status", merchant.id, data.model_dump(mode="json"), merchant_id=merchant.id)


def set_settlement_account(session: Session, merchant: Merchant, account_no: str, bank_name: str) -> Merchant:
    merchant.settlement_account_no, merchant.settlement_bank_name = account_no, bank_name
    session.flush()
    return merchant


@dataclass(frozen=True)
class FeeRule:
    method: str
    rate_bp: int
    min_fen: int
    max_fen: int
    fee_free: bool = False


def set_fees(session: Session, merchant: Merchant, rules: list[FeeRule]) -> list[MerchantFee]:
    """Replace the merchant's fee table with `rules` (one per method, validated by the caller)."""
    session.execute(delete(MerchantFee).where(MerchantFee.merchant_id == merchant.id))
    rows = [MerchantFee(merchant_id=merchant.id, method=r.method, rate_bp=r.rate_bp,
                        min_fen=r.min_fen, max_fen=r.max_fen, fee_free=r.fee_free) for r in rules]
    session.add_all(rows)
    session.flush()
    return rows


def fees_of(session: Session, merchant_id: int) -> list[MerchantFee]:
    return list(session.scalars(select(MerchantFee).where(MerchantFee.merchant_id == merchant_id)
                                .order_by(MerchantFee.method)).all())


def fee_fen(rule: FeeRule | MerchantFee | None, amount_fen: int) -> int:
    """The merchant's fee on one payment, integer fen: rate rounded half up, then clamped to
    [min, max]; fee-free methods and methods with no rule cost nothing. Never more than the amount."""
    if rule is None or rule.fee_free or amount_fen <= 0:
        return 0
    fee = (amount_fen * rule.rate_bp + 5_000) // 10_000
    fee = min(max(fee, rule.min_fen), rule.max_fen)
    return min(fee, amount_fen)
