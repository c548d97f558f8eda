"""Merchant endpoints: apply, approve, suspend, reinstate; settlement account; fee parameters."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.params import IdPath, Text
from backend.auth import OperatorPrincipal, ensure_visible, require_roles
from backend.deps import get_session, request_now
from backend.logging import log
from backend.models.merchants import FEE_METHODS, MERCHANT_KINDS, MERCHANT_STATUSES, Merchant
from backend.services import merchants as svc
from core.wire import MAX_AMOUNT_FEN

router = APIRouter(prefix="/api/v1/merchants", tags=["merchants"])
ANY_ROLE = require_roles("operator", "merchant_admin", "auditor")
OPERATOR = require_roles("operator")

MerchantKind = Literal[MERCHANT_KINDS]  # type: ignore[valid-type]
FeeMethod = Literal[FEE_METHODS]  # type: ignore[valid-type]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


def known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class SettlementAccount(_Body):
    account_no: str = Field(min_length=8, max_length=40, pattern=r"^[0-9]+$",
                            title="Settlement account number", description="digits only")
    bank_name: Text(100) = Field(title="Bank of the account")


class MerchantApplication(_Body):
    name: Text(200) = Field(title="Merchant name")
    kind: MerchantKind = Field(title="canteen or parking")
    timezone: str = Field(default="Asia/Shanghai", max_length=64, description="IANA zone of business dates")
    business_day_cutoff: str = Field(default="00:00", pattern=HHMM,
                                     description="local HH:MM at which a business day ends")
    settlement_account: SettlementAccount | None = None

    _known_zone = field_validator("timezone")(lambda cls, v: known_zone(v))


class SuspendRequest(_Body):
    reason: Text(200) = Field(description="why; shown to the merchant")


class FeeIn(_Body):
    method: FeeMethod
    rate_bp: int = Field(ge=0, le=10_000, description="basis points of the amount (60 = 0.6%)")
    min_fen: int = Field(default=0, ge=0, le=MAX_AMOUNT_FEN)
    max_fen: int = Field(default=MAX_AMOUNT_FEN, ge=0, le=MAX_AMOUNT_FEN)
    fee_free: bool = Field(default=False, description="e.g. in-bank transfers: no fee at all")

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "FeeIn":
        if self.min_fen > self.max_fen:
            raise ValueError("min_fen must not exceed max_fen")
        return self


class FeeTable(_Body):
    fees: list[FeeIn] = Field(max_length=len(FEE_METHODS))

    @model_validator(mode="after")
    def _one_per_method(self) -> "FeeTable":
        methods = [f.method for f in self.fees]
        if len(set(methods)) != len(methods):
            raise ValueError("each method may appear only once")
        return self


class FeeOut(BaseModel):
    method: str
    rate_bp: int
    min_fen: int
    max_fen: int
    fee_free: bool


class MerchantOut(BaseModel):
    id: int
    name: str
    kind: str
    status: Literal[MERCHANT_STATUSES]  # type: ignore[valid-type]
    status_reason: str | None
    timezone: str
    business_day_cutoff: str
    settlement_account_no: str | None
    settlement_bank_name: str | None
    created_at: datetime
    approved_at: datetime | None
    suspended_at: datetime | None

    @classmethod
    def of(cls, m: Merchant) -> "MerchantOut":
        return cls.model_validate(m, from_attributes=True)


def visible_merchant(session: Session, who: OperatorPrincipal, merchant_id: int, *,
                     for_update: bool = False) -> Merchant:
    """The merchant, or 404 when it does not exist or the caller may not see it."""
    ensure_visible(who, merchant_id, "商户", "merchant")
    return svc.get_merchant(session, merchant_id, for_update=for_update)


def record_application(session: Session, body: MerchantApplication) -> Merchant:
    """The checked application as a merchant in `applied` (the API and the console page)."""
    account = body.settlement_account
    return svc.apply_merchant(session, name=body.name, kind=body.kind, timezone=body.timezone,
                              business_day_cutoff=body.business_day_cutoff,
                              settlement_account_no=account.account_no if account else None,
                              settlement_bank_name=account.bank_name if account else None)


@router.post("", response_model=MerchantOut, status_code=201)
def apply(body: MerchantApplication, who: OperatorPrincipal = Depends(OPERATOR),
          session: Session = Depends(get_session)) -> MerchantOut:
    """Record a merchant's application (status `applied`)."""
    merchant = record_application(session, body)
    session.commit()
    log.info("merchant_applied", merchant_id=merchant.id, operator_id=who.operator_id)
    return MerchantOut.of(merchant)


@router.get("", response_model=list[MerchantOut])
def list_merchants(status: Literal[MERCHANT_STATUSES] | None = None,  # type: ignore[valid-type]
                   who: OperatorPrincipal = Depends(ANY_ROLE),
                   session: Session = Depends(get_session)) -> list[MerchantOut]:
    query = select(Merchant).order_by(Merchant.id)
    if who.role == "merchant_admin":
        query = query.where(Merchant.id == who.merchant_id)
    if status:
        query = query.where(Merchant.status == status)
    return [MerchantOut.of(m) for m in session.scalars(query).all()]


@router.get("/{merchant_id}", response_model=MerchantOut)
def get_merchant(merchant_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
                 session: Session = Depends(get_session)) -> MerchantOut:
    return MerchantOut.of(visible_merchant(session, who, merchant_id))


def _transition(session: Session, who: OperatorPrincipal, merchant_id: int, action, event: str,  # noqa: ANN001
                **kw: object) -> MerchantOut:
    merchant = visible_merchant(session, who, merchant_id, for_update=True)
    action(session, merchant, **kw)
    session.commit()
    log.info(event, merchant_id=merchant.id, operator_id=who.operator_id)
    return MerchantOut.of(merchant)


@router.post("/{merchant_id}/approve", response_model=MerchantOut)
def approve(merchant_id: IdPath, request: Request, who: OperatorPrincipal = Depends(OPERATOR),
            session: Session = Depends(get_session)) -> MerchantOut:
    """applied -> approved (needs a settlement account on file)."""
    return _transition(session, who, merchant_id, svc.approve, "merchant_approved", now=request_now(request))


@router.post("/{merchant_id}/suspend", response_model=MerchantOut)
def suspend(merchant_id: IdPath, body: SuspendRequest, request: Request, who: OperatorPrincipal = Depends(OPERATOR),
            session: Session = Depends(get_session)) -> MerchantOut:
    """approved -> suspended: its terminals' payments are refused until reinstated."""
    return _transition(session, who, merchant_id, svc.suspend, "merchant_suspended", reason=body.reason,
                       now=request_now(request))


@router.post("/{merchant_id}/reinstate", response_model=MerchantOut)
def reinstate(merchant_id: IdPath, who: OperatorPrincipal = Depends(OPERATOR),
              session: Session = Depends(get_session)) -> MerchantOut:
    """suspended -> approved."""
    return _transition(session, who, merchant_id, svc.reinstate, "merchant_reinstated")


@router.put("/{merchant_id}/settlement-account", response_model=MerchantOut)
def set_settlement_account(merchant_id: IdPath, body: SettlementAccount,
                           who: OperatorPrincipal = Depends(OPERATOR),
                           session: Session = Depends(get_session)) -> MerchantOut:
    merchant = visible_merchant(session, who, merchant_id, for_update=True)
    svc.set_settlement_account(session, merchant, body.account_no, body.bank_name)
    session.commit()
    log.info("merchant_settlement_account_set", merchant_id=merchant.id, operator_id=who.operator_id)
    return MerchantOut.of(merchant)


@router.get("/{merchant_id}/fees", response_model=list[FeeOut])
def get_fees(merchant_id: IdPath, who: OperatorPrincipal = Depends(ANY_ROLE),
             session: Session = Depends(get_session)) -> list[FeeOut]:
    visible_merchant(session, who, merchant_id)
    return [FeeOut.model_validate(f, from_attributes=True) for f in svc.fees_of(session, merchant_id)]


@router.put("/{merchant_id}/fees", response_model=list[FeeOut])
def put_fees(merchant_id: IdPath, body: FeeTable, who: OperatorPrincipal = Depends(OPERATOR),
             session: Session = Depends(get_session)) -> list[FeeOut]:
    """Replace the fee table: one rule per payment method; methods left out cost no fee."""
    merchant = visible_merchant(session, who, merchant_id, for_update=True)
    rows = svc.set_fees(session, merchant, [svc.FeeRule(**f.model_dump()) for f in body.fees])
    session.commit()
    log.info("merchant_fees_set", merchant_id=merchant.id, methods=[r.method for r in rows], operator_id=who.operator_id)
    return [FeeOut.model_validate(r, from_attributes=True) for r in sorted(rows, key=lambda r: r.method)]
