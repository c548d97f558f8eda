"""Operator endpoints for customers: groups and funding order, personal data (masked on the way
out), search by ID number or phone, wallet top-ups (idempotent by deposit id), bank card link."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.api.params import IdField, IdPath, Text
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session, request_now
from backend.models.customers import CustomerGroup
from backend.errors import api_error
from backend.services import customers as svc
from backend.services import paycodes
from backend.services.campaign_admin import coupons_of
from backend.services.vault import vault_of
from core.wire import MAX_AMOUNT_FEN, FundingOrder

router = APIRouter(prefix="/api/v1", tags=["customers"])
BANK_STAFF = require_roles("operator")
READERS = require_roles("operator", "auditor")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class GroupIn(Strict):
    name: Text(100) = Field(description="e.g. 'Grade 3' or 'Night shift'")
    funding_order: FundingOrder = Field("subsidy_first", description="which money pays first")


class GroupOrderIn(Strict):
    funding_order: FundingOrder


class CustomerIn(Strict):
    name: Text(64)
    id_number: Text(18, min_length=18) | None = Field(None, description="18-character resident ID")
    phone: Text(20, min_length=11) | None = None
    group_id: IdField | None = None


class DepositIn(Strict):
    deposit_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                            description="made by the caller once per top-up: the idempotency key")
    amount_fen: int = Field(gt=0, le=100 * MAX_AMOUNT_FEN)


class BankCardIn(Strict):
    card_number: Text(23, min_length=12)


def _group_out(group: CustomerGroup) -> dict:
    return {"id": group.id, "name": group.name, "funding_order": group.funding_order}


@router.post("/customer-groups", status_code=201)
def create_group(body: GroupIn, session: Session = Depends(get_session),
                 _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    group = svc.create_group(session, body.name, body.funding_order)
    session.commit()
    return _group_out(group)


@router.patch("/customer-groups/{group_id}")
def set_group_order(group_id: IdPath, body: GroupOrderIn, session: Session = Depends(get_session),
                    _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    group = session.get(CustomerGroup, group_id)
    if group is None:
        raise svc.not_found("分组", "Group", group_id)
    svc.set_group_order(session, group, body.funding_order)
    session.commit()
    return _group_out(group)


@router.post("/customers", status_code=201)
def create_customer(body: CustomerIn, request: Request, session: Session = Depends(get_session),
                    _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    vault = vault_of(request.app.state.settings)
    customer = svc.create_customer(session, vault, name=body.name, id_number=body.id_number, phone=body.phone,
                                   group_id=body.group_id)
    session.commit()
    return svc.customer_view(session, vault, customer, request_now(request))


class CustomerSearchIn(Strict):
    """In the body, never the URL: an ID number or phone in a query string lands in every proxy's
    and load balancer's access log."""
    id_number: Text(18) | None = Field(None, description="18-character resident ID (any case)")
    phone: Text(20) | None = None


@router.get("/customers")
def list_customers(request: Request, session: Session = Depends(get_session),
                   _: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    """The first 100 customers, masked. Search by ID number or phone with POST /customers/search."""
    if {"id_number", "phone"} & set(request.query_params):
        raise api_error(422, "search_in_body", "请用 POST /api/v1/customers/search 在请求体中查询身份证号或手机号",
                        "Search by ID number or phone with POST /api/v1/customers/search, in the body")
    vault = vault_of(request.app.state.settings)
    return [svc.customer_view(session, vault, c, request_now(request)) for c in svc.find_customers(session, vault)]


@router.post("/customers/search")
def search_customers(body: CustomerSearchIn, request: Request, session: Session = Depends(get_session),
                     _: OperatorPrincipal = Depends(READERS)) -> list[dict]:
    """Customers by ID number and/or phone (by keyed hash; answers are masked)."""
    vault = vault_of(request.app.state.settings)
    found = svc.find_customers(session, vault, id_number=body.id_number, phone=body.phone)
    return [svc.customer_view(session, vault, c, request_now(request)) for c in found]


@router.get("/customers/{customer_id}")
def get_customer(customer_id: IdPath, request: Request, session: Session = Depends(get_session),
                 _: OperatorPrincipal = Depends(READERS)) -> dict:
    vault = vault_of(request.app.state.settings)
    now = request_now(request)
    return {**svc.customer_view(session, vault, svc.get_customer(session, customer_id), now),
            "coupons": coupons_of(session, customer_id, now)}


@router.post("/customers/{customer_id}/deposits", status_code=201)
def deposit(customer_id: IdPath, body: DepositIn, request: Request, response: Response,
            session: Session = Depends(get_session), _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    customer = svc.get_customer(session, customer_id)
    posting_id, new = svc.deposit(session, customer, body.deposit_id, body.amount_fen, request_now(request))
    session.commit()
    if not new:
        response.status_code = 200
    return {"deposit_id": body.deposit_id, "posting_id": posting_id, "booked": new,
            "wallet_fen": svc.balance_snapshot(session, customer.id, request_now(request)).wallet_fen}


@router.put("/customers/{customer_id}/bank-card")
def link_bank_card(customer_id: IdPath, body: BankCardIn, request: Request, session: Session = Depends(get_session),
                   _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    vault = vault_of(request.app.state.settings)
    customer = svc.link_bank_card(session, vault, svc.get_customer(session, customer_id), body.card_number)
    session.commit()
    return svc.customer_view(session, vault, customer, request_now(request))


@router.post("/customers/{customer_id}/paycode", status_code=201)
def issue_paycode(customer_id: IdPath, request: Request, session: Session = Depends(get_session),
                  _: OperatorPrincipal = Depends(BANK_STAFF)) -> dict:
    """A one-time pay code for the bank's app (or the campus app) to show: it pays once, within
    `ttl_s`. Called by the app's server with bank-staff credentials; only its keyed hash is kept."""
    customer = svc.get_customer(session, customer_id)
    if customer.status != "active":
        raise api_error(409, "customer_closed", "账户已关闭，不能生成付款码", "The account is closed: no pay code")
    now = request_now(request)
    code, expires = paycodes.issue(session, request.app.state.settings.keys["hash"], customer.id, now)
    session.commit()
    return {"paycode": code, "expires_at": expires.isoformat(), "ttl_s": int((expires - now).total_seconds())}
