"""A canteen for terminal<->backend tests and the bench: the real backend as a process on
loopback (terminal/demo/backend_process.py), seeded through its real operator API, and a real terminal
(store file, Decider, sync engine) registered with a one-time code."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from backend.models.payments import Payment
from sync.client import SyncClient
from terminal.sync_loops import SyncEngine
from sync.status import SyncTracker
from core.wire import Credential
from terminal.app import TerminalCore
from core.clock import SystemClock
from core.crypto import new_key
from terminal.decision import Decider, PaymentIntent
from terminal.enrol import device_auth, register
from terminal.store import Store
from tests.backend.helpers import TEST_KEYS, bearer, make_app, make_merchant_site, operator_token
from tests.backend.money_helpers import CONSENT_AT, template
from tests.sync.faults import FaultTransport
from terminal.demo.backend_process import BackendProcess
from tests.terminal.helpers import make_config

ENV_KEYS = {f"GATEPAY_{k.upper()}": v for k, v in TEST_KEYS.items()}
ALL_DAY = [{"code": "lunch", "name_zh": "全天", "name_en": "All day", "start": "00:00", "end": "00:00",
            "price_fen": 500, "max_meals": 0}]
LIMITS = {"per_payment_fen": 5000, "per_customer_day_fen": 100_000, "terminal_total_fen": 10_000_000,
          "max_cache_age_s": 86_400}


@dataclass
class Terminal:
    store: Store
    client: SyncClient
    tracker: SyncTracker
    decider: Decider
    engine: SyncEngine
    data_dir: Path

    def pay(self, customer_id: int, amount_fen: int = 500):  # noqa: ANN201 - PaymentOutcome
        return self.decider.decide(PaymentIntent(Credential(kind="face", customer_id=customer_id), amount_fen,
                                                 meal_period="lunch"))

    def close(self) -> None:
        self.client.close()
        self.store.close()


@dataclass
class Canteen:
    tmp: Path
    port: int | None = None
    db_url: str | None = None            # default: a SQLite file in tmp (PostgreSQL: an empty database)
    backend_command: list[str] | None = None   # default: `gatepay backend serve` (see BackendProcess)
    customers: list[int] = field(default_factory=list)
    signings: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db_url = self.db_url or f"sqlite:///{self.tmp / 'backend.db'}"
        self.backend = BackendProcess(self.db_url, self.tmp, port=self.port, extra_env=ENV_KEYS,
                                      command=self.backend_command).start()
        self.app = make_app(self.db_url)        # the same database, for seeding and checking
        ids = make_merchant_site(self.app, "canteen", name="一食堂")
        self.merchant_id, self.site_id = ids["merchant_id"], ids["site_id"]
        self.http = httpx.Client(base_url=self.backend.url, timeout=20)
        self.staff = bearer(operator_token(self.app))
        self.put(f"/api/v1/sites/{self.site_id}/offline-limits", LIMITS)

    @property
    def url(self) -> str:
        return self.backend.url

    def put(self, path: str, body: dict) -> dict:
        r = self.http.put(path, json=body, headers=self.staff)
        assert r.status_code in (200, 204), r.text
        return r.json() if r.content else {}

    def post(self, path: str, body: dict, expect: int = 201) -> dict:
        r = self.http.post(path, json=body, headers=self.staff)
        assert r.status_code == expect, r.text
        return r.json()

    def diner(self, wallet_fen: int = 100_000, name: str = "张小三") -> int:
        cid = self.post("/api/v1/customers", {"name": name})["id"]
        self.signings[cid] = self.post(f"/api/v1/customers/{cid}/signings/face", {
            "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [template(cid)],
            "per_payment_limit_fen": 100_000, "per_day_limit_fen": 10_000_000})["id"]
        if wallet_fen:
            self.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": f"dep-{uuid.uuid4().hex}",
                                                           "amount_fen": wallet_fen})
        self.customers.append(cid)
        return cid

    def revoke(self, customer_id: int) -> None:
        r = self.http.post(f"/api/v1/signings/{self.signings[customer_id]}/revoke", headers=self.staff,
                           json={"reason": "card lost, face signing withdrawn"})
        assert r.status_code == 200, r.text

    def wallet(self, customer_id: int) -> int:
        r = self.http.get(f"/api/v1/customers/{customer_id}", headers=self.staff)
        assert r.status_code == 200, r.text
        return r.json()["wallet_fen"]

    def ledger_problems(self) -> list[str]:
        r = self.http.get("/api/v1/ledger/check", headers=self.staff)
        assert r.status_code == 200, r.text
        return r.json()["problems"]

    def payments(self, terminal_id: int | None = None) -> dict[str, str]:
        """payment_uuid -> status, as booked on the backend."""
        with self.app.state.sessions() as s:
            q = select(Payment.payment_uuid, Payment.status)
            if terminal_id is not None:
                q = q.where(Payment.terminal_id == terminal_id)
            return dict(s.execute(q).all())

    def payment_count(self) -> int:
        with self.app.state.sessions() as s:
            return s.scalar(select(func.count()).select_from(Payment))

    def code(self, name: str = "一号窗口") -> str:
        return self.post("/api/v1/enrolment-codes", {"site_id": self.site_id, "name": name, "scene": "canteen"})["code"]

    def terminal(self, data_dir: Path, *, key: bytes | None = None, url: str | None = None,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 2.0) -> Terminal:
        """A registered terminal whose cache is pulled; `url`/`transport` put a proxy in between."""
        clock = SystemClock()
        store = Store.open(data_dir / "terminal.db", key or new_key(), clock)
        if store.identity() is None:
            register(store, self.url, self.code())
        tracker = SyncTracker(probe_interval_s=0)
        client = SyncClient(url or self.url, device_auth(store), transport=transport)
        decider = Decider(store, clock, tracker, client, authorise_timeout_s=timeout_s)
        engine = SyncEngine(store, client, tracker, clock, push_timeout_s=10)
        engine.cycle()
        return Terminal(store, client, tracker, decider, engine, data_dir)

    def terminal_with_faults(self, data_dir: Path, wallet_fen: int) -> tuple[Terminal, FaultTransport, int]:
        """A terminal whose link can be broken on demand, a diner with `wallet_fen` in the wallet,
        and the terminal synced once more so it holds the diner's signing."""
        faults = FaultTransport()
        term = self.terminal(data_dir, transport=faults)
        cid = self.diner(wallet_fen=wallet_fen)
        term.engine.cycle()
        return term, faults, cid

    def core_config(self, data_dir: Path, **over: object):  # noqa: ANN201 - TerminalConfig
        return make_config(data_dir, backend_url=self.url, meal_periods=ALL_DAY, debounce_s=1, **over)

    def core(self, term: Terminal, **over: object) -> TerminalCore:
        return TerminalCore(self.core_config(term.data_dir, **over), term.store, term.decider.clock,
                            client=term.client, tracker=term.tracker)

    def close(self) -> None:
        self.http.close()
        self.backend.stop()
        self.app.state.engine.dispose()
