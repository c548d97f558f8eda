"""One-time pay codes of our own: the bank's mobile-banking code and the campus code.

The customer's app asks `POST /api/v1/customers/{id}/paycode` for a code and shows it as a QR /
barcode; a terminal scans it and sends it as a `paycode` credential. The code is 20 digits
starting 88 (outside every public wallet's range: WeChat 10-15, Alipay 25-30, UnionPay 62), lives
`CODE_TTL` and pays once. Only its keyed hash (HMAC with the backend's hash key) is stored, so
a database reader cannot replay codes. A terminal's PayCodeRules can accept them as `bank` or
`campus` with prefixes ("88",), length 20..20.

`redeem` is given the hash key and the request's clock by its caller (find_payer, from pay).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.models.base import Base, utcnow
from core.crypto import keyed_hash

CODE_PREFIX = "88"
CODE_DIGITS = 20
CODE_TTL = timedelta(seconds=60)


class CustomerPaycode(Base):
    """A one-time code issued to a customer (only its keyed hash)."""
    __tablename__ = "customer_paycodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def is_own_code(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit() and code.startswith(CODE_PREFIX)


def _hash(key: bytes, code: str) -> str:
    return keyed_hash(key, code, "customer_paycode")


def issue(session: Session, key: bytes, customer_id: int, now: datetime) -> tuple[str, datetime]:
    """A fresh code and its expiry (flushed; the caller commits). Shown once, never stored."""
    code = CODE_PREFIX + "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS - len(CODE_PREFIX)))
    expires = now + CODE_TTL
    session.add(CustomerPaycode(code_hash=_hash(key, code), customer_id=customer_id, expires_at=expires,
                                created_at=now))
    session.flush()
    return code, expires


def redeem(session: Session, code: str, key: bytes, now: datetime) -> int | str:
    """The customer a code names, using it up (in the caller's transaction, so a payment that rolls
    back leaves the code unused); else a decline reason (worded in core/reasons)."""
    if not is_own_code(code.strip()):
        return "paycode_unknown"
    row = session.scalar(select(CustomerPaycode).where(CustomerPaycode.code_hash == _hash(key, code.strip()))
                         .with_for_update())
    if row is None:
        return "paycode_unknown"
    if row.used_at is not None:
        return "paycode_used"
    if now >= row.expires_at:
        return "paycode_expired"
    # conditional update: of two payments racing on one code only one sees a row change
    taken = session.execute(update(CustomerPaycode).where(CustomerPaycode.id == row.id,
                                                          CustomerPaycode.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    return row.customer_id if taken == 1 else "paycode_used"

