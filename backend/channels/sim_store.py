"""Where a channel simulator keeps its orders and refunds.

A real channel keeps them in its own database, which every backend worker reaches; a simulator
that kept them in process memory left a QR order made by one worker unknown to the next (three of
twelve orders stayed pending with `--workers 2`). So a composed simulator keeps them in a
database too (`DatabaseStore`), shared by every worker; `MemoryStore` is for a simulator a test or
the bench builds on its own.

The simulator's tables are not our schema (they stand for the channel's), so they are not in the
Alembic migrations: `DatabaseStore` creates them when a simulator is configured. On SQLite they
go to a file beside the backend's (`x.db` -> `x.channels.db`): SQLite has one writer, and a
request's transaction holds it while the route calls the channel.
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Protocol

from sqlalchemy import Column, Engine, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from backend.db import make_engine

STATES_OPEN = ("NOTPAY", "USERPAYING")


@dataclass
class SimOrder:
    out_trade_no: str
    body: dict
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    payer: str = ""
    code_url: str = ""
    extra: dict = field(default_factory=dict)      # per channel: e.g. the pay code's planned behaviour


class SimStore(Protocol):
    def get(self, no: str) -> SimOrder | None: ...
    def add(self, order: SimOrder) -> SimOrder: ...
    def move(self, no: str, from_states: tuple[str, ...], changed: SimOrder) -> bool: ...
    def by_code(self, code_url: str) -> str | None: ...
    def orders(self) -> dict[str, SimOrder]: ...
    def refund(self, refund_no: str) -> dict | None: ...
    def add_refund(self, refund_no: str, no: str, body: dict) -> dict: ...
    def refunds_of(self, no: str) -> list[dict]: ...
    def refunds(self) -> dict[str, dict]: ...


class StoredSimulator:
    """What every channel simulator shows the tests and the payer's app, read from its store."""
    store: SimStore
    _code_paid: Callable[[SimOrder], SimOrder]     # an order paid by the pay code's payer, in the channel's fields

    @property
    def orders(self) -> dict[str, SimOrder]:
        return self.store.orders()

    @property
    def refunds(self) -> dict[str, dict]:
        return self.store.refunds()

    def order_for_code(self, qr_text: str) -> str | None:
        """Which order a scanned QR text belongs to (what the payer's app does when it scans)."""
        return self.store.by_code(qr_text)

    def _queried(self, sim: SimOrder) -> SimOrder:
        """A query of a pay-code order; the payer of a password plan confirms on the phone before
        the second one."""
        if sim.state != "USERPAYING":
            return sim
        queries = sim.extra.get("queries", 0) + 1
        changed = replace(sim, extra={**sim.extra, "queries": queries})
        if sim.extra.get("plan") == "password_then_paid" and queries >= 2:
            changed = self._code_paid(changed)
        self.store.move(sim.out_trade_no, ("USERPAYING",), changed)
        return self.store.get(sim.out_trade_no) or changed


class MemoryStore:
    """One process's store (a test's or the bench's own simulator)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[str, SimOrder] = {}
        self._refunds: dict[str, tuple[str, dict]] = {}

    def get(self, no: str) -> SimOrder | None:
        with self._lock:
            found = self._orders.get(no)
            return replace(found) if found else None

    def add(self, order: SimOrder) -> SimOrder:
        with self._lock:
            return replace(self._orders.setdefault(order.out_trade_no, replace(order)))

    def move(self, no: str, from_states: tuple[str, ...], changed: SimOrder) -> bool:
        with self._lock:
            if no not in self._orders or self._orders[no].state not in from_states:
                return False
            self._orders[no] = replace(changed)
            return True

    def by_code(self, code_url: str) -> str | None:
        with self._lock:
            return next((no for no, o in self._orders.items() if o.code_url and o.code_url == code_url), None)

    def orders(self) -> dict[str, SimOrder]:
        with self._lock:
            return {no: replace(o) for no, o in self._orders.items()}

    def refund(self, refund_no: str) -> dict | None:
        with self._lock:
            found = self._refunds.get(refund_no)
            return dict(found[1]) if found else None

    def add_refund(self, refund_no: str, no: str, body: dict) -> dict:
        with self._lock:
            return dict(self._refunds.setdefault(refund_no, (no, dict(body)))[1])

    def refunds_of(self, no: str) -> list[dict]:
        with self._lock:
            return [dict(b) for n, b in self._refunds.values() if n == no]

    def refunds(self) -> dict[str, dict]:
        with self._lock:
            return {k: dict(b) for k, (_n, b) in self._refunds.items()}


_meta = MetaData()
_orders = Table("sim_channel_orders", _meta,
                Column("channel", String(16), primary_key=True), Column("out_trade_no", String(64), primary_key=True),
                Column("state", String(16), nullable=False), Column("code_url", String(256), index=True),
                Column("data", Text, nullable=False))
_refs = Table("channel_refs", _meta,
              Column("channel", String(16), primary_key=True), Column("ref", String(64), primary_key=True),
              Column("value", String(64), nullable=False))
_refunds = Table("sim_channel_refunds", _meta,
                 Column("channel", String(16), primary_key=True), Column("out_refund_no", String(64), primary_key=True),
                 Column("out_trade_no", String(64), nullable=False, index=True), Column("data", Text, nullable=False))


def simulator_database_url(database_url: str) -> str:
    """The simulators' database for a backend on `database_url` (see the module's note on SQLite)."""
    if not database_url.startswith("sqlite"):
        return database_url
    head, _, path = database_url.partition("///")
    if not path or path == ":memory:":
        return database_url
    stem = path[:-3] if path.endswith(".db") else path
    return f"{head}///{stem}.channels.db"


def simulator_engine(database_url: str) -> Engine:
    """The simulators' engine, built as the backend's own (backend.db), with their tables made."""
    engine = make_engine(simulator_database_url(database_url))
    for _ in range(3):      # two workers starting together may race to create the tables
        try:
            _meta.create_all(engine, checkfirst=True)
            break
        except (IntegrityError, ProgrammingError, OperationalError):
            continue
    return engine


def _dump(order: SimOrder) -> str:
    return json.dumps(asdict(order), ensure_ascii=False)


def _load(text: str) -> SimOrder:
    return SimOrder(**json.loads(text))


class DatabaseStore:
    """The store every worker of one backend shares (one channel's rows, by `channel`)."""

    def __init__(self, engine: Engine, channel: str):
        self.engine, self.channel = engine, channel

    def get(self, no: str) -> SimOrder | None:
        with self.engine.connect() as conn:
            text = conn.scalar(select(_orders.c.data).where(_orders.c.channel == self.channel,
                                                            _orders.c.out_trade_no == no))
        return _load(text) if text else None

    def add(self, order: SimOrder) -> SimOrder:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_orders).values(channel=self.channel, out_trade_no=order.out_trade_no,
                                                    state=order.state, code_url=order.code_url, data=_dump(order)))
            return replace(order)
        except IntegrityError:
            found = self.get(order.out_trade_no)
            assert found is not None
            return found

    def move(self, no: str, from_states: tuple[str, ...], changed: SimOrder) -> bool:
        """Change an order only if it is still in one of `from_states` (one winner among workers)."""
        with self.engine.begin() as conn:
            done = conn.execute(update(_orders).where(_orders.c.channel == self.channel, _orders.c.out_trade_no == no,
                                                      _orders.c.state.in_(from_states))
                                .values(state=changed.state, code_url=changed.code_url, data=_dump(changed)))
            return done.rowcount == 1

    def by_code(self, code_url: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(_orders.c.out_trade_no).where(_orders.c.channel == self.channel,
                                                                    _orders.c.code_url == code_url))

    def orders(self) -> dict[str, SimOrder]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_orders.c.out_trade_no, _orders.c.data)
                                .where(_orders.c.channel == self.channel)).all()
        return {no: _load(text) for no, text in rows}

    def refund(self, refund_no: str) -> dict | None:
        with self.engine.connect() as conn:
            text = conn.scalar(select(_refunds.c.data).where(_refunds.c.channel == self.channel,
                                                             _refunds.c.out_refund_no == refund_no))
        return json.loads(text) if text else None

    def add_refund(self, refund_no: str, no: str, body: dict) -> dict:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_refunds).values(channel=self.channel, out_refund_no=refund_no, out_trade_no=no,
                                                     data=json.dumps(body, ensure_ascii=False)))
            return dict(body)
        except IntegrityError:
            return self.refund(refund_no) or dict(body)

    def refunds_of(self, no: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.scalars(select(_refunds.c.data).where(_refunds.c.channel == self.channel,
                                                              _refunds.c.out_trade_no == no)).all()
        return [json.loads(t) for t in rows]

    def refunds(self) -> dict[str, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_refunds.c.out_refund_no, _refunds.c.data)
                                .where(_refunds.c.channel == self.channel)).all()
        return {no: json.loads(text) for no, text in rows}


class DatabaseRefs:
    """A few facts an adapter must remember about its own requests, shared by every worker (UnionPay:
    the txnTime an orderId was sent with, which names the order in later queries)."""

    def __init__(self, engine: Engine, channel: str):
        self.engine, self.channel = engine, channel

    def remember(self, ref: str, value: str) -> str:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_refs).values(channel=self.channel, ref=ref, value=value))
            return value
        except IntegrityError:
            return self.txn_time(ref) or value

    def txn_time(self, ref: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(_refs.c.value).where(_refs.c.channel == self.channel, _refs.c.ref == ref))
