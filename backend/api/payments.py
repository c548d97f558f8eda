"""Payment and refund endpoints: signed terminal calls, and the operator's refund and lookup."""
from __future__ import annotations

from typing import Callable, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from backend.auth import OperatorPrincipal, TerminalPrincipal, current_terminal, ensure_visible, require_roles
from backend.corebanking import corebanking_of
from backend.deps import get_session, request_now
from backend.errors import api_error
from backend.services.campaigns import price_discount_paid
from backend.services.payments import Booked, Where, existing_payment, pay, resolve_pending_payments
from backend.services.channel_booking import pay_by_channel, refund_at_channel, wallet_code_kind
from backend.services.commit import commit_once
from backend.services.refunds import refund
from backend.services.vault import vault_of
from core.reasons import message
from core.wire import MAX_AMOUNT_FEN, PaymentRequest, PaymentResult, RefundRequest, RefundResult, Text, When

router = APIRouter(prefix="/api/v1", tags=["payments"])
REFUNDERS = require_roles("operator", "merchant_admin")
READERS = require_roles("operator", "merchant_admin", "auditor")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def strict_body(model: type[M]) -> Callable:
    """A body dependency that validates JSON strictly: "100" is not an amount, 1 is not a flag.
    The shared wire models are lax by default; money endpoints must not guess."""
    async def parse(request: Request) -> M:
        raw = await request.body()
        try:
            return model.model_validate_json(raw, strict=True)
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]) from None
    return parse


def json_body_doc(model: type[BaseModel]) -> dict:
    """OpenAPI text for a body parsed by strict_body (FastAPI cannot see it)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def book_payment(request: Request, session: Session, terminal: TerminalPrincipal, body: PaymentRequest):  # noqa: ANN201
    where = Where(terminal.merchant_id, terminal.site_id, terminal.terminal_id)
    kind = wallet_code_kind(body, request.app.state.channels)
    if kind is not None:      # WeChat / Alipay / UnionPay pay code: charged at its channel
        return pay_by_channel(session, request.app.state.channels, kind, body, where, request_now(request),
                              lambda attempt: commit_once(session, attempt))
    return commit_once(session, own_funds_booking(request, session, terminal, body))


def own_funds_booking(request: Request, session: Session, terminal: TerminalPrincipal,
                      body: PaymentRequest) -> Callable[[], Booked]:
    """The booking of a payment from the payer's own accounts (wallet, subsidies, bank card), not
    committed: book_payment commits it alone, a push commits several in one transaction."""
    where = Where(terminal.merchant_id, terminal.site_id, terminal.terminal_id)
    bank, vault, now = corebanking_of(request.app.state), vault_of(request.app.state.settings), request_now(request)
    return lambda: pay(session, bank, vault, body, where, now)


def book_refund(request: Request, session: Session, body: RefundRequest, *, merchant_id: int | None,  # noqa: ANN201
                terminal_id: int | None = None, operator_id: int | None = None):
    bank, vault, now = corebanking_of(request.app.state), vault_of(request.app.state.settings), request_now(request)
    refund_at_channel(session, request.app.state.channels, body, merchant_id)   # channel payments: money back first
    return commit_once(session, lambda: refund(session, bank, vault, body, now, merchant_id=merchant_id,
                                               terminal_id=terminal_id, operator_id=operator_id))


@router.post("/terminal/payments", response_model=PaymentResult,
             openapi_extra=json_body_doc(PaymentRequest))
def terminal_payment(request: Request, body: PaymentRequest = Depends(strict_body(PaymentRequest)), session: Session = Depends(get_session),
                     terminal: TerminalPrincipal = Depends(current_terminal)) -> Response:
    """Online authorisation. Idempotent by payment_id: the same request returns the same result;
    the same id with a different payment is refused (409)."""
    return json_response(book_payment(request, session, terminal, body).result)


def json_response(result: BaseModel) -> Response:
    """The answer serialised once by its own model: returned as-is, FastAPI would validate the
    already valid result against response_model again (CPU on the hottest endpoint)."""
    return Response(content=result.model_dump_json(), media_type="application/json")


@router.post("/terminal/refunds", response_model=RefundResult,
             openapi_extra=json_body_doc(RefundRequest))
def terminal_refund(request: Request, body: RefundRequest = Depends(strict_body(RefundRequest)), session: Session = Depends(get_session),
                    terminal: TerminalPrincipal = Depends(current_terminal)) -> Response:
    """Refund a payment made at this terminal's merchant, back to where its money came from."""
    return json_response(book_refund(request, session, body, merchant_id=terminal.merchant_id,
                                     terminal_id=terminal.terminal_id).result)


class OperatorRefundIn(BaseModel):
    """Strict like the terminal's money fields: "100" and 100.0 are not amounts."""
    model_config = ConfigDict(extra="forbid")
    refund_id: UUID = Field(description="made once by the caller: the idempotency key")
    amount_fen: int = Field(gt=0, le=MAX_AMOUNT_FEN, strict=True)
    reason: Text(200)
    occurred_at: When | None = None


@router.post("/payments/{payment_id}/refunds", response_model=RefundResult)
def operator_refund(payment_id: UUID, body: OperatorRefundIn, request: Request,
                    session: Session = Depends(get_session),
                    operator: OperatorPrincipal = Depends(REFUNDERS)) -> RefundResult:
    """A refund by bank staff (any merchant) or a merchant admin (own merchant only)."""
    req = RefundRequest(refund_id=body.refund_id, payment_id=payment_id, amount_fen=body.amount_fen,
                        reason=body.reason, occurred_at=body.occurred_at or request_now(request))
    merchant_id = None if operator.role == "operator" else operator.merchant_id
    return book_refund(request, session, req, merchant_id=merchant_id, operator_id=operator.operator_id).result


@router.post("/payments/resolve-bank")
def resolve_bank(request: Request, session: Session = Depends(get_session),
                 _: OperatorPrincipal = Depends(require_roles("operator"))) -> dict:
    """Ask the bank again about payments whose outcome it could not tell at payment time, and
    settle them; give back card debits no committed payment booked (bank intents past their
    grace period). The backend's resolve_bank job runs the same. Returns how many ended in each state."""
    settings = request.app.state.settings
    counts = resolve_pending_payments(session, corebanking_of(request.app.state), vault_of(settings),
                                      request_now(request), settings.bank_intent_grace_s)
    session.commit()
    return {"resolved": counts}


@router.get("/payments/{payment_id}")
def get_payment(payment_id: UUID, session: Session = Depends(get_session),
                operator: OperatorPrincipal = Depends(READERS)) -> dict:
    payment = existing_payment(session, str(payment_id))
    if payment is None:
        raise api_error(404, "payment_not_found", *message("payment_not_found"))
    ensure_visible(operator, payment.merchant_id, "支付", "payment")
    return {"payment_id": payment.payment_uuid, "merchant_id": payment.merchant_id, "status": payment.status,
            "reason": payment.reason, "amount_fen": payment.amount_fen, "refunded_fen": payment.refunded_fen,
            "method": payment.method, "business_date": payment.business_date, "offline": payment.offline,
            **price_discount_paid(session, payment), "result": payment.result}
