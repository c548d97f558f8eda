"""Customers, their groups, their wallet and top-ups, and the linked bank card.

Names, ID numbers, phones and card numbers are sealed (backend.services.vault); ID number and
phone are found by keyed hash; what leaves this module for people is masked (core.masking).
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.customers import FUNDING_ORDERS, Customer, CustomerGroup
from backend.models.ledger import Account, Entry, Posting
from backend.models.merchants import Merchant
from backend.models.signings import Signing
from backend.models.subsidies import SubsidyHolding
from backend.services.changes import record_change
from backend.services.ledger import Overdraft, balance_of, system_account_id, transfer, wallet_account
from backend.services.vault import Vault
from core.wire import BalanceSnapshot, SubsidyBalance
from core.masking import mask_digits, mask_name

_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_CARD = re.compile(r"[0-9]{12,19}")


def not_found(what_zh: str, what_en: str, ident: object):  # noqa: ANN201
    return api_error(404, "not_found", f"{what_zh} {ident} 不存在，请检查编号",
                     f"{what_en} {ident} does not exist; check the id")


# --- groups -----------------------------------------------------------------------------------

def create_group(session: Session, name: str, funding_order: str = "subsidy_first") -> CustomerGroup:
    if session.scalar(select(CustomerGroup.id).where(CustomerGroup.name == name)) is not None:
        raise api_error(409, "group_exists", f"分组“{name}”已存在", f"Group {name!r} already exists")
    group = CustomerGroup(name=name, funding_order=funding_order)
    session.add(group)
    session.flush()
    _publish_group(session, group)
    return group


def set_group_order(session: Session, group: CustomerGroup, funding_order: str) -> CustomerGroup:
    if funding_order not in FUNDING_ORDERS:
        raise api_error(422, "bad_funding_order", "扣款顺序无效", "Unknown funding order")
    group.funding_order = funding_order
    _publish_group(session, group)
    # Face signings carry the effective order to terminals: republish the group's live ones.
    from backend.services.signings import publish_signing

    for signing in session.scalars(select(Signing).join(Customer, Customer.id == Signing.customer_id)
                                   .where(Customer.group_id == group.id, Signing.kind == "face",
                                          Signing.status != "revoked", Signing.funding_order.is_(None))):
        publish_signing(session, signing)
    return group


def _publish_group(session: Session, group: CustomerGroup) -> None:
    record_change(session, "customer_group", group.id, {"funding_order": group.funding_order})


# --- customers --------------------------------------------------------------------------------

def normalise_id_number(value: str) -> str:
    v = value.strip().upper()
    if not _ID_NUMBER.fullmatch(v):
        raise api_error(422, "bad_id_number", "身份证号应为18位（最后一位可为X），请核对",
                        "An ID number has 18 characters (the last may be X); check it")
    return v


def normalise_phone(value: str) -> str:
    v = re.sub(r"[\s-]", "", value)
    if not _PHONE.fullmatch(v):
        raise api_error(422, "bad_phone", "手机号应为11位数字，以1开头", "A phone number has 11 digits starting with 1")
    return v


def create_customer(session: Session, vault: Vault, *, name: str, id_number: str | None = None,
                    phone: str | None = None, group_id: int | None = None) -> Customer:
    name = name.strip()
    if not name:
        raise api_error(422, "bad_name", "姓名不能为空", "Give the customer's name")
    if group_id is not None and session.get(CustomerGroup, group_id) is None:
        raise not_found("分组", "Group", group_id)
    customer = Customer(name_sealed=vault.seal(name, "customers.name"), masked_name=mask_name(name),
                        group_id=group_id)
    if id_number:
        idn = normalise_id_number(id_number)
        customer.id_number_hash = vault.hash(idn, "id_number")
        if session.scalar(select(Customer.id).where(Customer.id_number_hash == customer.id_number_hash)):
            raise api_error(409, "customer_exists", "该身份证号已有客户", "A customer with this ID number exists")
        customer.id_number_sealed = vault.seal(idn, "customers.id_number")
    if phone:
        ph = normalise_phone(phone)
        customer.phone_hash = vault.hash(ph, "phone")
        customer.phone_sealed = vault.seal(ph, "customers.phone")
    session.add(customer)
    session.flush()
    wallet_account(session, customer.id)
    return customer


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise not_found("客户", "Customer", customer_id)
    return customer


def find_customers(session: Session, vault: Vault, *, id_number: str | None = None,
                   phone: str | None = None) -> list[Customer]:
    query = select(Customer).order_by(Customer.id)
    if id_number:
        query = query.where(Customer.id_number_hash == vault.hash(normalise_id_number(id_number), "id_number"))
    if phone:
        query = query.where(Customer.phone_hash == vault.hash(normalise_phone(phone), "phone"))
    return list(session.scalars(query.limit(100)).all())


def customer_view(session: Session, vault: Vault, customer: Customer, now: datetime) -> dict:
    """What an operator sees: masked personal data and balances."""
    idn = vault.open_text(customer.id_number_sealed, "customers.id_number") if customer.id_number_sealed else None
    phone = vault.open_text(customer.phone_sealed, "customers.phone") if customer.phone_sealed else None
    snap = balance_snapshot(session, customer.id, now)
    return {"id": customer.id, "masked_name": customer.masked_name,
            "id_number": mask_digits(idn, 3, 4) if idn else None,
            "phone": mask_digits(phone, 3, 4) if phone else None,
            "group_id": customer.group_id, "status": customer.status,
            "bank_card": customer.bank_card_masked,
            "wallet_fen": snap.wallet_fen,
            "subsidies": [s.model_dump() for s in snap.subsidies]}


def link_bank_card(session: Session, vault: Vault, customer: Customer, card_number: str) -> Customer:
    number = re.sub(r"\s", "", card_number)
    if not _CARD.fullmatch(number):
        raise api_error(422, "bad_card_number", "银行卡号应为12到19位数字", "A bank card number has 12 to 19 digits")
    customer.bank_card_sealed = vault.seal(number, "customers.bank_card")
    customer.bank_card_masked = mask_digits(number, 4, 4)
    return customer


def bank_card_number(vault: Vault, customer: Customer) -> str | None:
    if customer.bank_card_sealed is None:
        return None
    return vault.open_text(customer.bank_card_sealed, "customers.bank_card")


# --- wallet -----------------------------------------------------------------------------------

# a deposit or withdrawal id used again for another amount: (code, zh, en) by the ref's prefix
_REUSED = {"deposit": ("deposit_id_reused", "该充值编号已用于另一笔充值，请换一个编号",
                       "This deposit id was used for a different top-up; use a new id"),
           "withdrawal": ("withdrawal_id_reused", "该取款编号已用于另一笔取款，请换一个编号",
                          "This withdrawal id was used for a different withdrawal; use a new id")}


def _booked_before(session: Session, ref: str, wallet: Account, side: str, amount_fen: int) -> int | None:
    """The posting id of a wallet movement already booked under `ref` (a retry), None if there is
    none; the same id with another amount or direction is refused (409)."""
    existing = session.scalar(select(Posting).where(Posting.ref == ref))
    if existing is None:
        return None
    same = session.scalar(select(Entry.id).where(Entry.posting_id == existing.id, Entry.account_id == wallet.id,
                                                 Entry.side == side, Entry.amount_fen == amount_fen))
    if same is None:
        raise api_error(409, *_REUSED[ref.partition(":")[0]])
    return existing.id


def deposit(session: Session, customer: Customer, deposit_id: str, amount_fen: int, now: datetime) -> tuple[int, bool]:
    """Top up the wallet once per deposit id. Returns (posting id, newly booked)."""
    ref = f"deposit:{deposit_id}"
    wallet = wallet_account(session, customer.id)
    existing = _booked_before(session, ref, wallet, "C", amount_fen)
    if existing is not None:
        return existing, False
    posting = transfer(session, ref, "deposit", system_account_id(session, "deposit_clearing"), wallet.id,
                       amount_fen, memo=f"top-up customer {customer.id}", now=now)
    publish_balance(session, customer.id, now)
    return posting.id, True


def withdraw(session: Session, customer: Customer, withdrawal_id: str, amount_fen: int,
             now: datetime) -> tuple[int, bool]:
    """Pay money out of the wallet once per withdrawal id (cash or transfer out, the reverse of a
    top-up). Never below zero. Returns (posting id, newly booked)."""
    ref = f"withdrawal:{withdrawal_id}"
    wallet = wallet_account(session, customer.id)
    existing = _booked_before(session, ref, wallet, "D", amount_fen)
    if existing is not None:
        return existing, False
    try:
        posting = transfer(session, ref, "withdrawal", wallet.id, system_account_id(session, "deposit_clearing"),
                           amount_fen, memo=f"withdrawal customer {customer.id}", now=now)
    except Overdraft:
        raise api_error(409, "wallet_too_low", "个人账户余额不足，不能取出这么多",
                        "The wallet holds less than that; it cannot be withdrawn") from None
    publish_balance(session, customer.id, now)
    return posting.id, True


def balance_snapshot(session: Session, customer_id: int, now: datetime) -> BalanceSnapshot:
    wallet = wallet_account(session, customer_id)
    holdings = session.scalars(select(SubsidyHolding).where(SubsidyHolding.customer_id == customer_id)
                               .order_by(SubsidyHolding.program_id)).all()
    return BalanceSnapshot(customer_id=customer_id, wallet_fen=wallet.balance_fen, as_of=now,
                           subsidies=[SubsidyBalance(program_id=h.program_id,
                                                     balance_fen=balance_of(session, h.account_id))
                                      for h in holdings])


def snapshot_of(customer_id: int, accounts: dict[int, Account], now: datetime) -> BalanceSnapshot:
    """The snapshot from the customer's accounts already in hand (e.g. locked by a payment)."""
    wallet = sum(a.balance_fen for a in accounts.values() if a.kind == "wallet")
    subsidies = sorted((a.program_id, a.balance_fen) for a in accounts.values() if a.kind == "subsidy")
    return BalanceSnapshot(customer_id=customer_id, wallet_fen=wallet, as_of=now,
                           subsidies=[SubsidyBalance(program_id=p, balance_fen=b) for p, b in subsidies])


_SIGNED_MERCHANTS = (select(Signing.merchant_ids)   # ORM attributes: autoflushes a new signing first
                     .where(Signing.customer_id == bindparam("customer_id"), Signing.status != "revoked"))


def balance_merchants(session: Session, customer_id: int) -> list[int] | None:
    """The merchants whose terminals need this diner's balance: those the diner's live (not
    revoked) signings allow. None = every merchant (a signing allows any merchant, or none is live)."""
    merchants: set[int] = set()
    rows = session.execute(_SIGNED_MERCHANTS, {"customer_id": customer_id}).scalars().all()
    for ids in rows:
        if not ids:
            return None
        merchants.update(int(m) for m in ids)
    if merchants:
        # Only merchants that exist: a signing stored before they were checked may name one that
        # does not, and its change row would break the commit (a revocation must never fail).
        merchants &= set(session.scalars(select(Merchant.id).where(Merchant.id.in_(merchants))))
    return sorted(merchants) or None


def record_balance(session: Session, customer_id: int, data: dict) -> None:
    """One balance change per merchant where the diner can pay (a bank-wide one if anywhere):
    with 300 terminals, a change every terminal pulls costs 300 rows served per payment."""
    merchants = balance_merchants(session, customer_id)
    for merchant_id in merchants or [None]:
        record_change(session, "balance", customer_id, data, merchant_id=merchant_id)


def publish_snapshot(session: Session, snap: BalanceSnapshot) -> BalanceSnapshot:
    record_balance(session, snap.customer_id, snap.model_dump(mode="json"))
    return snap


def publish_balance(session: Session, customer_id: int, now: datetime) -> BalanceSnapshot:
    return publish_snapshot(session, balance_snapshot(session, customer_id, now))
