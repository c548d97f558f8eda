"""The record of a bank card debit, committed before the bank is asked (an outbox).

A payment's bank debit happens inside the payment's database transaction. If that transaction
never commits (the process is killed, the power goes, the commit fails) the bank may have taken
the money with nothing else on record; this row, committed beforehand, is that record. The
payment's own transaction marks it with the outcome, so a row still `asked` some time later
belongs to no committed payment (backend/services/bank_intents.py settles it).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, fen_column

# asked: committed before the bank call; the payment's transaction has not marked it (yet).
# booked / declined / pending_bank: marked in the committed payment transaction (the bank took it,
#   refused it, or could not tell - then the payment's own pending_bank resolution settles it).
# returning: the bank took it for no committed payment; its credit back is under way.
# returned: credited back (reference reverse:<ref>). not_taken: the bank says it never took it.
INTENT_STATUSES = ("asked", "booked", "declined", "pending_bank", "returning", "returned", "not_taken")


class BankIntent(Base):
    __tablename__ = "bank_intents"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in INTENT_STATUSES) + ")", name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        # the resolution job reads the unsettled ones oldest first
        Index("ix_bank_intents_status_asked_at", "status", "asked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(36), unique=True, doc="the payment id: the bank's reference")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    card_sealed: Mapped[bytes] = mapped_column(LargeBinary, doc="the card asked, sealed as customers.bank_card")
    amount_fen: Mapped[int] = fen_column()
    status: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


# asked: committed before the bank is asked to credit the card; the refund's transaction has not
#   marked it (yet). booked / declined: marked in the committed refund transaction.
# not_taken: the bank says it never credited it (a retry of the refund id may ask again).
# stranded: the bank credited it but the refund can no longer be booked (a person must look).
CREDIT_STATUSES = ("asked", "booked", "declined", "not_taken", "stranded")


class BankCreditIntent(Base):
    """The record of a refund's credit to a bank card, committed before the bank is asked: the
    same outbox as BankIntent, for money going the other way. It holds the refund request, so the
    resolution job can book a refund the bank credited but whose transaction never committed."""
    __tablename__ = "bank_credit_intents"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in CREDIT_STATUSES) + ")", name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_bank_credit_intents_status_asked_at", "status", "asked_at"),
        Index("ix_bank_credit_intents_payment_uuid", "payment_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True, doc="refund:<refund id>, the bank's reference")
    refund_uuid: Mapped[str] = mapped_column(String(36))
    payment_uuid: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    card_sealed: Mapped[bytes] = mapped_column(LargeBinary, doc="the card credited, sealed as customers.bank_card")
    amount_fen: Mapped[int] = fen_column(doc="the card's part of the refund")
    refund_amount_fen: Mapped[int] = fen_column(doc="the whole refund, as requested")
    reason: Mapped[str] = mapped_column(String(200))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"), default=None)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), default=None)
    status: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column()
    settled_at: Mapped[datetime | None] = mapped_column(default=None)
