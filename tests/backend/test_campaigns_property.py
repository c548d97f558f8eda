"""Property, as a state machine through the real API on SQLite and PostgreSQL: any sequence of
payments (and repeats of them), refunds (partial and full), campaign changes (create, pause,
resume, end; the budget cannot be edited: there is no such call) and coupons (issue, claim,
expiry by time and by the expiry job) keeps the ledger balanced, never spends a campaign beyond
its budget, never lets a coupon serve two payments at once, and:

- the payer pays the price less the discount, the discount comes from an offer that was open
  (an active campaign; a coupon the payer held, usable and unexpired);
- a refund gives the campaign floor(discount × refunded so far / price) less what it already had
  back, and the payer the rest of the refund, from the sources it paid with and no more than
  they paid: money back in proportion to what was paid and what was subsidised;
- the campaign's budget gets that share back (its spent_fen goes down by it), a full refund
  restores an unexpired coupon (an expired one is marked expired);
- coupons and campaigns end up in the state this model of the rules predicts.

The racing version (two terminals at once, PostgreSQL too) is tests/backend/test_campaigns_race.py."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import select

from backend.models.campaigns import Campaign, Coupon
from backend.services.campaign_admin import EXPIRY_GRACE, expire_coupons
from core.clock import ManualClock
from tests.backend.campaign_helpers import campaign
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen, payment_body
from tests.conftest import drop_pg_db, new_pg_db, new_sqlite_db

START = datetime(2026, 3, 30, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TERMS = [dict(kind="fixed", amount_fen=300), dict(kind="random", min_fen=1, max_fen=800),
         dict(kind="percent", percent_off=15, cap_fen=400), dict(kind="threshold", threshold_fen=1000, amount_fen=250)]
MOVES = {"draft": {"active", "ended"}, "active": {"paused", "ended"}, "paused": {"active", "ended"}, "ended": set()}
USABLE = ("issued", "restored")


class CampaignMachine(RuleBasedStateMachine):
    """One canteen, two diners (one with a meal subsidy), and a model of what the rules promise."""
    new_database = staticmethod(lambda: ("", ""))     # set per database by the test below

    @initialize(terms=st.integers(0, 3), budget=st.integers(300, 5000), coupon_terms=st.integers(0, 3))
    def open(self, terms: int, budget: int, coupon_terms: int) -> None:
        self.db_name, url = self.new_database()
        self.app = make_app(url, clock=ManualClock(START))
        self.client = TestClient(self.app).__enter__()
        self.canteen = open_canteen(self.app, self.client)
        self.now = START
        self.diners = [self.canteen.customer("张三", seed=1, wallet_fen=30_000),
                       self.canteen.customer("李四", seed=2, wallet_fen=30_000)]
        program = self.canteen.program()
        self.canteen.grant(program, [(self.diners[0], 5000)])
        self.campaigns: dict[int, dict] = {}        # id -> mode, status, budget, spent (the model's)
        self.coupons: dict[int, dict] = {}          # id -> campaign, customer, expires, status
        self.payments: list[dict] = []              # approved: id, body, answer, refunded, back, paid by source
        self.issues = 0
        # Every run starts with offers (more steps then exercise them): an active instant campaign,
        # and a coupon campaign whose coupon the second diner holds.
        self.create_campaign(terms, budget, coupon=False, status="active")
        self.create_campaign(coupon_terms, 5000, coupon=True, status="active")
        self.give_coupon(1, who=1, hours=24, claim=False)

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.client.__exit__(None, None, None)
            self.app.state.engine.dispose()
            if self.db_name:
                drop_pg_db(self.db_name)

    # --- payments and refunds ---------------------------------------------------------------------

    # Payment ids are drawn, not uuid4(): the random reduction is seeded by the payment id, so a
    # replayed example must send the same ids to take the same path.
    @rule(who=st.integers(0, 1), price=st.integers(1, 4000), payment_id=st.uuids())
    def pay(self, who: int, price: int, payment_id: uuid.UUID) -> None:
        body = payment_body(self.diners[who], price, str(payment_id), occurred_at=self.now)
        before = {cid: dict(c) for cid, c in self.coupons.items()}
        answer = self._send(body)
        if answer["status"] != "approved":
            assert "discount_fen" not in answer                       # a declined payment spends nothing
            return
        discount, paid = answer.get("discount_fen", 0), answer.get("paid_fen", price)
        assert paid + discount == price and 0 <= discount < price
        assert sum(s["amount_fen"] for s in answer["split"]) == paid
        if discount:
            model = self.campaigns[answer["campaign_id"]]
            assert model["status"] == "active"
            assert model["spent"] + discount <= model["budget"]
            model["spent"] += discount
            if model["spent"] >= model["budget"]:
                model["status"] = "ended"
            coupon_id = answer.get("coupon_id")
            assert (coupon_id is None) == (model["mode"] == "instant")
            if coupon_id is not None:
                held = before[coupon_id]
                assert held["customer"] == self.diners[who] and held["status"] in USABLE
                assert held["expires"] > self.now and held["campaign"] == answer["campaign_id"]
                self.coupons[coupon_id]["status"] = "used"
        sources = Counter()
        for line in answer["split"]:
            sources[(line["source"], line.get("program_id"))] += line["amount_fen"]
        self.payments.append({"id": body["payment_id"], "body": body, "answer": answer, "price": price,
                              "discount": discount, "refunded": 0, "back": 0, "sources": sources})

    @precondition(lambda self: self.payments)
    @rule(pick=st.integers(0, 50))
    def repeat_a_payment(self, pick: int) -> None:
        """The same payment id again (a terminal's retry): the stored answer, nothing spent twice."""
        payment = self.payments[pick % len(self.payments)]
        assert self._send(payment["body"]) == payment["answer"]

    @precondition(lambda self: any(p["refunded"] < p["price"] for p in self.payments))
    @rule(pick=st.integers(0, 50), share=st.one_of(st.just(1.0), st.floats(0.01, 1.0)))
    def refund(self, pick: int, share: float) -> None:
        open_ones = [p for p in self.payments if p["refunded"] < p["price"]]
        payment = open_ones[pick % len(open_ones)]
        left = payment["price"] - payment["refunded"]
        amount = max(1, min(left, round(left * share)))
        spent_before = self._spent(payment["answer"].get("campaign_id"))
        answer = self.canteen.refund(payment["id"], amount)
        assert answer["status"] == "refunded", answer
        refunded = payment["refunded"] + amount
        share_back = payment["discount"] * refunded // payment["price"] - payment["back"]
        assert answer.get("campaign_fen", 0) == share_back
        assert sum(s["amount_fen"] for s in answer["split"]) == amount - share_back
        for line in answer["split"]:        # back to sources the payer paid with, no more than they paid
            key = (line["source"], line.get("program_id"))
            assert 0 < line["amount_fen"] <= payment["sources"][key], (line, payment["sources"])
            payment["sources"][key] -= line["amount_fen"]
        payment["refunded"], payment["back"] = refunded, payment["back"] + share_back
        if payment["discount"]:
            model = self.campaigns[payment["answer"]["campaign_id"]]
            model["spent"] -= share_back
            assert self._spent(payment["answer"]["campaign_id"]) == spent_before - share_back
        if refunded == payment["price"]:
            assert payment["back"] == payment["discount"]            # a full refund returns the whole discount
            coupon_id = payment["answer"].get("coupon_id")
            if coupon_id is not None:
                coupon = self.coupons[coupon_id]
                coupon["status"] = "restored" if coupon["expires"] > self.now else "expired"

    # --- campaigns and coupons --------------------------------------------------------------------

    @rule(terms=st.integers(0, 3), budget=st.integers(1, 2000), coupon=st.booleans(),
          status=st.sampled_from(["active", "draft"]))
    def create_campaign(self, terms: int, budget: int, coupon: bool, status: str) -> None:
        mode = "coupon" if coupon else "instant"
        made = campaign(self.canteen, budget_fen=budget, mode=mode, status=status, **TERMS[terms])
        self.campaigns[made["id"]] = {"mode": mode, "status": status, "budget": budget, "spent": 0}

    @precondition(lambda self: self.campaigns)
    @rule(pick=st.integers(0, 50), to=st.sampled_from(["active", "paused", "ended"]))
    def change_status(self, pick: int, to: str) -> None:
        cid = sorted(self.campaigns)[pick % len(self.campaigns)]
        model = self.campaigns[cid]
        response = self.canteen.post(f"/api/v1/campaigns/{cid}/status", {"status": to}, expect=None)
        allowed = to in MOVES[model["status"]]
        assert ("status" in response and response["status"] == to) == allowed, (model, to, response)
        if allowed:
            model["status"] = to

    @precondition(lambda self: any(c["mode"] == "coupon" for c in self.campaigns.values()))
    @rule(pick=st.integers(0, 50), who=st.integers(0, 1), hours=st.integers(1, 48), claim=st.booleans())
    def give_coupon(self, pick: int, who: int, hours: int, claim: bool) -> None:
        ids = sorted(c for c, m in self.campaigns.items() if m["mode"] == "coupon")
        cid, customer = ids[pick % len(ids)], self.diners[who]
        if claim:
            answer = self.canteen.post(f"/api/v1/campaigns/{cid}/claims", {"customer_id": customer}, expect=None)
            got = [answer["coupon_id"]] if "coupon_id" in answer else []
            expires = datetime.fromisoformat(answer["expires_at"]) if got else None
        else:
            expires = self.now + timedelta(hours=hours)
            self.issues += 1
            answer = self.canteen.post(f"/api/v1/campaigns/{cid}/coupons",
                                       {"issue_id": f"issue-{self.issues}", "customer_ids": [customer],
                                        "expires_at": expires.isoformat()}, expect=None)
            got = answer.get("coupon_ids", [])
        open_for_coupons = self.campaigns[cid]["status"] in ("draft", "active")
        assert bool(got) == open_for_coupons, (self.campaigns[cid], answer)
        for coupon_id in got:
            if coupon_id not in self.coupons:      # a claim again answers with the first coupon
                self.coupons[coupon_id] = {"campaign": cid, "customer": customer, "expires": expires,
                                           "status": "issued"}

    @rule(hours=st.integers(1, 30), run_job=st.booleans())
    def later(self, hours: int, run_job: bool) -> None:
        self.now += timedelta(hours=hours)
        self.canteen.at(self.now)
        if run_job:
            with self.app.state.sessions() as session:
                marked = expire_coupons(session, self.now)
            due = [c for c in self.coupons.values() if c["status"] in USABLE and c["expires"] <= self.now - EXPIRY_GRACE]
            assert marked == len(due)
            for coupon in due:
                coupon["status"] = "expired"

    # --- after every step ---------------------------------------------------------------------------

    @invariant()
    def books_budgets_and_coupons_hold(self) -> None:
        if not hasattr(self, "app"):
            return
        assert campaign_problems(self.app) == []
        with self.app.state.sessions() as session:
            coupons = {c.id: c.status for c in session.scalars(select(Coupon))}
            campaigns = {c.id: (c.status, c.spent_fen) for c in session.scalars(select(Campaign))}
        assert coupons == {cid: c["status"] for cid, c in self.coupons.items()}
        assert campaigns == {cid: (c["status"], c["spent"]) for cid, c in self.campaigns.items()}

    def _send(self, body: dict) -> dict:
        response = self.client.post("/api/v1/terminal/payments", json=body, auth=self.canteen.auth)
        assert response.status_code == 200, response.text
        return response.json()

    def _spent(self, campaign_id: int | None) -> int:
        if campaign_id is None:
            return 0
        return self.canteen.client.get(f"/api/v1/campaigns/{campaign_id}", headers=self.canteen.staff).json()["spent_fen"]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_any_sequence_keeps_books_budgets_and_coupons_sound(database: str, request: pytest.FixtureRequest,
                                                            tmp_path) -> None:  # noqa: ANN001
    if database == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        new_database = lambda: ("", new_sqlite_db(template, tmp_path))  # noqa: E731
    else:
        template = request.getfixturevalue("pg_template")
        new_database = lambda: new_pg_db(template)  # noqa: E731

    class Run(CampaignMachine):
        pass

    Run.new_database = staticmethod(new_database)
    # No shrinking: each replay is a fresh database and app (seconds), so shrinking a failure would
    # outlast the test's timeout; the failing sequence (at most 15 steps) is printed as it is.
    run_state_machine_as_test(Run, settings=settings(max_examples=5, stateful_step_count=15, deadline=None,
                                                     phases=[Phase.explicit, Phase.reuse, Phase.generate]))
