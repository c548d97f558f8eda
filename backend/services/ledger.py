"""Booking on the double-entry ledger, and the proof that it balances.

`book` is the only writer of entries: it refuses a posting whose debits differ from its credits,
updates each customer account's cached balance under a row lock, and refuses to take a customer account
below zero (the caller's transaction then rolls back: nothing is half-booked).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, bindparam, event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.models.ledger import CUSTOMER_KINDS, Account, Entry, Posting


class LedgerError(RuntimeError):
    """A posting that would break the ledger's rules (unbalanced, or a customer below zero)."""


class Overdraft(LedgerError):
    def __init__(self, account_code: str):
        super().__init__(f"account {account_code} would go below zero")
        self.account_code = account_code


@dataclass(frozen=True)
class Leg:
    account_id: int
    side: str          # "D" takes money out of a customer account, "C" puts it in
    amount_fen: int


# code -> id per database. Accounts are never deleted and their ids never change, so the hot
# counterpart accounts (merchant, clearing) cost no query after their first use. An id enters
# the cache only once the transaction that saw it has committed (a rolled-back insert's id
# must never be reused).
_ID_CACHE: dict[tuple[str, str], int] = {}
_SEEN = "gatepay_seen_account_ids"


def account_id(session: Session, code: str, kind: str, **owner: int | None) -> int:
    key = (str(session.get_bind().url), code)
    found = _ID_CACHE.get(key)
    if found is not None:
        return found
    found = get_or_create_account(session, code, kind, **owner).id
    if _SEEN not in session.info:
        session.info[_SEEN] = {}
        event.listen(session, "after_commit", _cache_seen)
        event.listen(session, "after_rollback", lambda s: s.info[_SEEN].clear())
    session.info[_SEEN][key] = found
    return found


def _cache_seen(session: Session) -> None:
    _ID_CACHE.update(session.info[_SEEN])
    session.info[_SEEN].clear()


def get_or_create_account(session: Session, code: str, kind: str, **owner: int | None) -> Account:
    """The account with this code, created on first use (race-safe through the unique code)."""
    account = session.scalar(select(Account).where(Account.code == code))
    if account is not None:
        return account
    try:
        with session.begin_nested():
            account = Account(code=code, kind=kind, **owner)
            session.add(account)
            session.flush()
    except IntegrityError:
        account = session.scalar(select(Account).where(Account.code == code))
    return account


def wallet_code(customer_id: int) -> str:
    return f"wallet:{customer_id}"


def subsidy_code(customer_id: int, program_id: int) -> str:
    return f"subsidy:{customer_id}:{program_id}"


def wallet_account(session: Session, customer_id: int) -> Account:
    return get_or_create_account(session, wallet_code(customer_id), "wallet", customer_id=customer_id)


def merchant_account_id(session: Session, merchant_id: int) -> int:
    return account_id(session, f"merchant:{merchant_id}", "merchant", merchant_id=merchant_id)


def funding_account_id(session: Session, program_id: int) -> int:
    return account_id(session, f"funder:{program_id}", "subsidy_funding", program_id=program_id)


def campaign_account_id(session: Session, campaign_id: int) -> int:
    """The campaign's funder account: it pays the discounts (docs/MARKETING.md)."""
    return account_id(session, f"campaign:{campaign_id}", "campaign_funding")


def system_account_id(session: Session, kind: str) -> int:
    """deposit_clearing (cash and transfers in), bank_clearing (linked cards), bank_pending."""
    return account_id(session, kind, kind)


def lock_accounts(session: Session, account_ids: list[int]) -> dict[int, Account]:
    """Row-lock accounts in id order (one order everywhere: no deadlocks) and return them fresh.
    PostgreSQL: SELECT ... FOR UPDATE; SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.scalars(select(Account).where(Account.id.in_(ids)).order_by(Account.id)
                           .with_for_update().execution_options(populate_existing=True))
    return {a.id: a for a in rows}


def lock_customer_accounts(session: Session, customer_id: int) -> dict[int, Account]:
    """Row-lock all of a customer's own accounts (wallet and subsidies) in one statement."""
    rows = session.scalars(select(Account).where(Account.customer_id == customer_id,
                                                 Account.kind.in_(CUSTOMER_KINDS))
                           .order_by(Account.id).with_for_update().execution_options(populate_existing=True))
    return {a.id: a for a in rows}


# Built once (a statement built per call costs ~4x the CPU of executing a prebuilt one).
_INSERT_POSTING = insert(Posting.__table__).returning(Posting.__table__.c.id)
_INSERT_ENTRIES = insert(Entry.__table__)
_SET_BALANCE = (update(Account.__table__).where(Account.__table__.c.id == bindparam("account_id"))
                .values(balance_fen=bindparam("balance_fen")))


@dataclass(frozen=True)
class BookedPosting:
    """What `book` stored: callers keep the posting id (e.g. on the payment or refund row)."""
    id: int
    ref: str


def book(session: Session, ref: str, kind: str, legs: list[Leg], memo: str = "",
         locked: dict[int, Account] | None = None, *, now: datetime) -> BookedPosting:
    """Book one balanced posting at `now` (the backend's clock: reports and settlement read the
    posting's time). Raises LedgerError / Overdraft; the caller rolls back.
    `locked`: the customer accounts the caller already holds locked (then every other leg must
    be a counterpart account); without it they are looked up and locked here."""
    legs = [leg for leg in legs if leg.amount_fen != 0]
    if not legs or any(leg.amount_fen < 0 or leg.side not in ("D", "C") for leg in legs):
        raise LedgerError(f"posting {ref}: legs must be positive debits and credits")
    debits = sum(leg.amount_fen for leg in legs if leg.side == "D")
    credits = sum(leg.amount_fen for leg in legs if leg.side == "C")
    if debits != credits:
        raise LedgerError(f"posting {ref}: debits {debits} != credits {credits}")
    if locked is None:
        ids = {leg.account_id for leg in legs}
        customer_ids = list(session.scalars(select(Account.id).where(Account.id.in_(ids),
                                                                     Account.kind.in_(CUSTOMER_KINDS))))
        accounts = lock_accounts(session, customer_ids)
    else:
        accounts = {leg.account_id: locked[leg.account_id] for leg in legs if leg.account_id in locked}
    balances = _new_balances(accounts, legs)
    # Core statements, not ORM objects: the ledger rows are never read back in this session,
    # and the unit of work cost more CPU than the SQL on the payment path (bench/profile_payments.py).
    posting = dict(ref=ref, kind=kind, memo=memo[:200], created_at=now)
    if session.get_bind().dialect.name == "postgresql":
        posting_id = _write_in_one(session, posting, legs, balances)
    else:   # SQLite runs in process: a statement costs no round trip
        posting_id = session.execute(_INSERT_POSTING, posting).scalar_one()
        session.execute(_INSERT_ENTRIES, [dict(posting_id=posting_id, account_id=leg.account_id, side=leg.side,
                                               amount_fen=leg.amount_fen) for leg in legs])
        for account_id_, balance in balances.items():
            session.execute(_SET_BALANCE, {"account_id": account_id_, "balance_fen": balance})
    for account_id_, balance in balances.items():
        # The locked ORM object shows the new balance as stored, with nothing left to flush.
        set_committed_value(accounts[account_id_], "balance_fen", balance)
    return BookedPosting(posting_id, ref)


# PostgreSQL: the posting, its entries and the new balances in one statement (data-modifying
# CTEs, each run exactly once): one round trip instead of 2 + one per balance. The same rows as
# the three statements above; entries keep the legs' order (ORDER BY n: their ids follow it).
_ONE_STATEMENT: dict[tuple[int, int], TextClause] = {}


def _one_statement(legs: int, balances: int) -> TextClause:
    found = _ONE_STATEMENT.get((legs, balances))
    if found is None:
        rows = ", ".join(f"({i}, CAST(:a{i} AS INTEGER), CAST(:s{i} AS VARCHAR), CAST(:m{i} AS BIGINT))"
                         for i in range(legs))
        sql = ("WITH p AS (INSERT INTO ledger_postings (ref, kind, memo, created_at) "
               "VALUES (:ref, :kind, :memo, :created_at) RETURNING id), "
               "e AS (INSERT INTO ledger_entries (posting_id, account_id, side, amount_fen) "
               f"SELECT p.id, v.a, v.s, v.m FROM p, (VALUES {rows}) AS v (n, a, s, m) ORDER BY v.n)")
        if balances:
            news = ", ".join(f"(CAST(:b{i} AS INTEGER), CAST(:v{i} AS BIGINT))" for i in range(balances))
            sql += (", u AS (UPDATE ledger_accounts SET balance_fen = b.v "
                    f"FROM (VALUES {news}) AS b (id, v) WHERE ledger_accounts.id = b.id)")
        found = _ONE_STATEMENT[(legs, balances)] = text(sql + " SELECT id FROM p").bindparams(
            bindparam("created_at", type_=Posting.__table__.c.created_at.type))
    return found


def _write_in_one(session: Session, posting: dict, legs: list[Leg], balances: dict[int, int]) -> int:
    values = dict(posting)
    for i, leg in enumerate(legs):
        values.update({f"a{i}": leg.account_id, f"s{i}": leg.side, f"m{i}": leg.amount_fen})
    for i, (account_id_, balance) in enumerate(balances.items()):
        values.update({f"b{i}": account_id_, f"v{i}": balance})
    return session.execute(_one_statement(len(legs), len(balances)), values).scalar_one()


def _new_balances(accounts: dict[int, Account], legs: list[Leg]) -> dict[int, int]:
    """Each locked customer account's balance after the legs; Overdraft if one would go below zero."""
    balances = {account.id: account.balance_fen for account in accounts.values()}
    for leg in legs:
        if leg.account_id in balances:
            balances[leg.account_id] += leg.amount_fen if leg.side == "C" else -leg.amount_fen
    for account_id_, balance in balances.items():
        if balance < 0:
            raise Overdraft(accounts[account_id_].code)
    return {a: b for a, b in balances.items() if b != accounts[a].balance_fen}


def transfer(session: Session, ref: str, kind: str, from_id: int, to_id: int, amount_fen: int,
             memo: str = "", *, now: datetime) -> Posting:
    """The common two-leg posting: money leaves `from_id` (debit) and arrives at `to_id` (credit)."""
    return book(session, ref, kind, [Leg(from_id, "D", amount_fen), Leg(to_id, "C", amount_fen)], memo, now=now)


def reverse_legs(session: Session, posting_id: int) -> list[Leg]:
    """The legs that undo a posting exactly."""
    rows = session.scalars(select(Entry).where(Entry.posting_id == posting_id).order_by(Entry.id))
    return [Leg(e.account_id, "C" if e.side == "D" else "D", e.amount_fen) for e in rows]


# --- the proof ---------------------------------------------------------------------------------

def check_ledger(session: Session) -> list[str]:
    """Every problem found, in plain words; an empty list means the ledger is sound."""
    problems: list[str] = []
    debit = func.coalesce(func.sum(Entry.amount_fen).filter(Entry.side == "D"), 0)
    credit = func.coalesce(func.sum(Entry.amount_fen).filter(Entry.side == "C"), 0)
    for posting_id, ref, d, c in session.execute(
            select(Posting.id, Posting.ref, debit, credit).outerjoin(Entry, Entry.posting_id == Posting.id)
            .group_by(Posting.id, Posting.ref).order_by(Posting.id)):
        if d != c or d == 0:
            problems.append(f"posting {posting_id} ({ref}) is unbalanced: debits {d} fen, credits {c} fen")
    sums = dict(session.execute(select(Entry.account_id, credit - debit).group_by(Entry.account_id)).all())
    for account in session.scalars(select(Account).order_by(Account.id)):
        derived = int(sums.get(account.id, 0))
        if account.kind in CUSTOMER_KINDS and account.balance_fen != derived:
            problems.append(f"account {account.code} shows {account.balance_fen} fen but its entries "
                            f"sum to {derived} fen")
        if account.kind not in CUSTOMER_KINDS and account.balance_fen != 0:
            problems.append(f"account {account.code} has a cached balance ({account.balance_fen} fen); "
                            f"counterpart accounts keep none (entries sum to {derived} fen)")
        if account.kind in CUSTOMER_KINDS and derived < 0:
            problems.append(f"customer account {account.code} is below zero: {derived} fen")
    return problems


def balance_of(session: Session, account_id: int) -> int:
    """Credits minus debits: the cache for a customer account, the sum for any other."""
    account = session.get(Account, account_id)
    if account.kind in CUSTOMER_KINDS:
        return account.balance_fen
    debit = func.coalesce(func.sum(Entry.amount_fen).filter(Entry.side == "D"), 0)
    credit = func.coalesce(func.sum(Entry.amount_fen).filter(Entry.side == "C"), 0)
    return int(session.scalar(select(credit - debit).where(Entry.account_id == account_id)) or 0)
