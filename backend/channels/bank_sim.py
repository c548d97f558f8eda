"""A bank core that takes the bank's own codes (simulator): mobile-banking pay codes it issued,
aggregate-QR orders the customer's mobile banking pays, real-time in-bank transfers with the same
failure modes as the other channel simulators (backend/channels/sim_plans.py, by the code's last
four digits). Orders, issued codes, account balances and applied references all live in a
SimStore, so every backend worker (and a bench or test process on the same database) sees one
bank: a balance changes by compare-and-set on its version."""
from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timezone

from backend.channels.bank import BankCodesChannel, notification_signature
from backend.channels.base import ChannelError
from backend.channels.sim_plans import plan_of
from backend.channels.sim_store import STATES_OPEN, MemoryStore, SimOrder, SimStore, StoredSimulator
from backend.corebanking import BankAnswer, CoreBankingSimulator

CODE_PREFIX = "89"          # the simulated mobile-banking app's codes: 20 digits starting 89
APP_PAYER = "6228480000000000018"   # the account the simulated mobile-banking app pays aggregate QRs from


class BankCodeCoreSimulator(StoredSimulator, CoreBankingSimulator):
    def __init__(self, store: SimStore | None = None, notify_key: bytes = b"", latency_s: float = 0.0):
        super().__init__(latency_s)
        self.store: SimStore = store or MemoryStore()
        self.notify_key = notify_key or secrets.token_bytes(32)
        self.open_account(APP_PAYER, 10**12)

    @property
    def orders(self) -> dict[str, SimOrder]:
        return {no: o for no, o in self.store.orders().items() if not no.startswith(("code:", "acct:", "ref:"))}

    # --- accounts, in the store ----------------------------------------------------------------------
    def open_account(self, account: str, balance_fen: int = 0) -> None:
        key = f"acct:{account}"
        found = self.store.add(SimOrder(key, {"balance": balance_fen}, state="v0"))
        if found.body["balance"] != balance_fen:
            self.store.move(key, (found.state,), replace(found, state=f"v{int(found.state[1:]) + 1}",
                                                         body={"balance": balance_fen}))

    def balance(self, account: str) -> int:
        found = self.store.get(f"acct:{account}")
        if found is None:
            raise KeyError(account)
        return found.body["balance"]

    def _move(self, ref: str, account: str, delta: int) -> BankAnswer:
        """Apply a movement once per reference, atomically against other workers."""
        done = self.store.get(f"ref:{ref}")
        if done is not None:
            return BankAnswer(done.body["outcome"], ref, done.body["amount"])
        for _ in range(50):
            found = self.store.get(f"acct:{account}")
            if found is None:
                return BankAnswer("no_account", ref)
            if found.body["balance"] + delta < 0:
                return BankAnswer("insufficient_funds", ref)
            changed = replace(found, state=f"v{int(found.state[1:]) + 1}", body={"balance": found.body["balance"] + delta})
            if self.store.move(f"acct:{account}", (found.state,), changed):
                self.store.add(SimOrder(f"ref:{ref}", {"outcome": "ok", "amount": abs(delta)}, state="DONE"))
                return BankAnswer("ok", ref, abs(delta))
        return BankAnswer("unknown", ref)

    # --- the mobile-banking app ------------------------------------------------------------------
    def issue_code(self, account: str, plan: str = "9876") -> str:
        """A one-time pay code for `account`, as the mobile-banking app shows it (the last four
        digits choose the simulated outcome)."""
        code = CODE_PREFIX + "".join(secrets.choice("0123456789") for _ in range(14)) + plan
        self.store.add(SimOrder(f"code:{code}", {"account": account}))
        return code

    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        """The customer's mobile banking pays an aggregate-QR order: the signed notification."""
        sim = self.store.get(out_trade_no)
        if sim is None:
            raise ChannelError("ORDER_NOT_EXIST", "无此订单")
        expires = sim.body.get("expires_at")
        if sim.state in STATES_OPEN and expires and datetime.now(timezone.utc) > datetime.fromisoformat(expires):
            self.store.move(out_trade_no, STATES_OPEN, replace(sim, state="CLOSED"))
            sim = self.store.get(out_trade_no) or sim
        if sim.state in STATES_OPEN:
            moved = self._move(f"{out_trade_no}:debit", APP_PAYER, -sim.body["amount_fen"])
            if moved.outcome != "ok":
                raise ChannelError("NOTENOUGH", "余额不足")
            self._move(f"{out_trade_no}:credit", sim.body["to"], sim.body["amount_fen"])
            self.store.move(out_trade_no, STATES_OPEN, self._paid(sim, APP_PAYER))
            sim = self.store.get(out_trade_no) or sim
        if sim.state != "SUCCESS":
            raise ChannelError("ORDER_CLOSED", "订单已关闭")
        body = json.dumps({"ref": out_trade_no, "amount_fen": sim.body["amount_fen"], "paid_at": sim.success_time},
                          separators=(",", ":")).encode()
        return {"Content-Type": "application/json", "X-Bank-Signature": notification_signature(self.notify_key, body)}, body

    # --- BankCodeCore ------------------------------------------------------------------------------
    def _paid(self, sim: SimOrder, payer: str) -> SimOrder:
        return replace(sim, state="SUCCESS", payer=payer, transaction_id=f"bank:{sim.out_trade_no}",
                       success_time=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def transfer_by_code(self, ref: str, code: str, to_account: str, amount_fen: int) -> BankAnswer:
        found = self.store.get(ref)
        if found is not None:
            return BankAnswer("ok", ref, amount_fen) if found.state == "SUCCESS" else BankAnswer("unknown", ref)
        issued = self.store.get(f"code:{code}")
        if issued is None or issued.state != "NOTPAY":
            return BankAnswer("code_invalid", ref)          # type: ignore[arg-type] - a code-channel outcome
        plan = plan_of(code)
        if plan == "request_lost":
            return BankAnswer("unknown", ref)
        payer = issued.body["account"]
        sim = SimOrder(ref, {"amount_fen": amount_fen, "to": to_account, "payer": payer},
                       extra={"plan": plan, "queries": 0})
        if plan in ("password_then_paid", "password_never"):
            self.store.add(replace(sim, state="USERPAYING"))
            return BankAnswer("unknown", ref)
        moved = self._move(f"{ref}:debit", payer, -amount_fen)
        if moved.outcome != "ok":
            return BankAnswer(moved.outcome, ref)
        self._move(f"{ref}:credit", to_account, amount_fen)
        self.store.move(f"code:{code}", ("NOTPAY",), replace(issued, state="CLOSED"))   # a code pays once
        self.store.add(self._paid(sim, payer))
        return BankAnswer("unknown", ref) if plan in ("answer_lost", "system_error_paid") else \
            BankAnswer("ok", ref, amount_fen)

    def order_state(self, ref: str) -> tuple[str, int, datetime | None]:
        sim = self.store.get(ref)
        if sim is None:
            return "NOT_FOUND", 0, None
        if sim.state == "USERPAYING":
            queries = sim.extra.get("queries", 0) + 1
            changed = replace(sim, extra={**sim.extra, "queries": queries})
            if sim.extra.get("plan") == "password_then_paid" and queries >= 2:
                self._move(f"{ref}:debit", sim.body["payer"], -sim.body["amount_fen"])
                self._move(f"{ref}:credit", sim.body["to"], sim.body["amount_fen"])
                changed = self._paid(changed, sim.body["payer"])
            self.store.move(ref, ("USERPAYING",), changed)
            sim = self.store.get(ref) or changed
        paid_at = datetime.fromisoformat(sim.success_time) if sim.success_time else None
        return ("USERPAYING" if sim.state == "USERPAYING" else sim.state), sim.body["amount_fen"], paid_at

    def open_order(self, ref: str, to_account: str, amount_fen: int, expires_at: datetime) -> str:
        sim = self.store.add(SimOrder(ref, {"amount_fen": amount_fen, "to": to_account,
                                            "expires_at": expires_at.isoformat()},
                                      code_url=f"https://pay.nxy.example/aggr/{uuid.uuid4().hex[:20]}"))
        return sim.code_url

    def close_order(self, ref: str) -> None:
        sim = self.store.get(ref)
        if sim is not None:
            self.store.move(ref, STATES_OPEN, replace(sim, state="CLOSED"))

    def reverse(self, ref: str) -> BankAnswer:
        sim = self.store.get(ref)
        if sim is None:
            return BankAnswer("not_found", ref)
        if sim.state in STATES_OPEN:
            self.store.move(ref, STATES_OPEN, replace(sim, state="CLOSED"))
        elif sim.state == "SUCCESS" and self.store.move(ref, ("SUCCESS",), replace(sim, state="REVOKED")):
            self._move(f"{ref}:reverse", sim.payer, sim.body["amount_fen"])
            self._move(f"{ref}:reverse-out", sim.body["to"], -sim.body["amount_fen"])
        return BankAnswer("ok", ref)

    def refund(self, ref: str, original_ref: str, amount_fen: int) -> BankAnswer:
        if self.store.refund(ref) is not None:
            return BankAnswer("ok", ref, amount_fen)
        sim = self.store.get(original_ref)
        given = sum(r["amount_fen"] for r in self.store.refunds_of(original_ref))
        if sim is None or sim.state != "SUCCESS" or not 0 < amount_fen <= sim.body["amount_fen"] - given:
            return BankAnswer("no_account", ref)
        self.store.add_refund(ref, original_ref, {"amount_fen": amount_fen})
        self._move(f"{ref}:refund", sim.payer, amount_fen)
        self._move(f"{ref}:refund-out", sim.body["to"], -amount_fen)
        return BankAnswer("ok", ref, amount_fen)


CLEARING_ACCOUNT = "6228489999000000001"     # the platform's clearing account at the bank (simulated)


def simulated_bank_codes(store: SimStore | None = None) -> tuple[BankCodesChannel, BankCodeCoreSimulator]:
    core = BankCodeCoreSimulator(store)
    core.open_account(CLEARING_ACCOUNT, 10**12)
    return BankCodesChannel(core, CLEARING_ACCOUNT, core.notify_key), core
