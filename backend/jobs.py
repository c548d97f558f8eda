"""The backend's periodic jobs, run on a thread of one backend process while it serves.

    resolve_bank      every settings.resolve_bank_every_s: ask the bank again about payments
                      whose outcome it could not tell at payment time, and settle them; and
                      give back bank debits no committed payment booked (bank intents still
                      'asked' after settings.bank_intent_grace_s: the process died or the
                      commit failed between the bank's answer and the commit); and book refunds
                      the bank credited to a card but whose transaction never committed
                      (bank_credit_intents)
    expire_subsidies  every settings.expire_subsidies_every_s: lapse subsidy money whose time is
                      up (day end, month end, the program's date), booked on the ledger
    expire_coupons    every settings.expire_coupons_every_s: mark issued or restored coupons past
                      their expiry as expired, in committed batches (no money moves: an expired
                      coupon was already unusable at payment; this makes its status say so);
                      with it, refresh the terminals' campaign budget slices (top up, close those
                      of campaigns whose time is up; services/campaign_slices.py)

All are idempotent, so a run that is cut short is simply repeated. They run in one process only
(`gatepay backend serve` turns them on in its first worker): two copies of the expiry job racing
could lapse a holding a grant just refilled. Settlement stays a command run after the cut-off
(`gatepay backend settle --day ...`), as it writes payout files for the bank to pick up.
Each job has its own session and transaction; a failure is logged and tried again next time.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

from core.clock import Clock, SystemClock

from backend.logging import log


@dataclass(frozen=True)
class Job:
    name: str
    every_s: float
    run: Callable[[Session, datetime], dict]   # returns what it did, for the log


def resolve_bank(app_state) -> Callable[[Session, datetime], dict]:  # noqa: ANN001
    from backend.corebanking import corebanking_of
    from backend.services.payments import resolve_pending_payments
    from backend.services.vault import vault_of

    def run(session: Session, now: datetime) -> dict:
        settings = app_state.settings
        return resolve_pending_payments(session, corebanking_of(app_state), vault_of(settings), now,
                                        settings.bank_intent_grace_s)
    return run


def expire_subsidies(session: Session, now: datetime) -> dict:
    from backend.services.subsidies import expire_and_publish

    done = expire_and_publish(session, now)
    return {"holdings": len(done), "fen": sum(e.amount_fen for e in done)}


def expire_coupons(session: Session, now: datetime) -> dict:
    from backend.services.campaign_admin import expire_coupons as mark_expired

    from backend.services.campaign_slices import refresh_all

    return {"coupons": mark_expired(session, now), **refresh_all(session, now)}


def backend_jobs(app_state) -> list[Job]:  # noqa: ANN001
    settings = app_state.settings
    return [Job("resolve_bank", settings.resolve_bank_every_s, resolve_bank(app_state)),
            Job("expire_subsidies", settings.expire_subsidies_every_s, expire_subsidies),
            Job("expire_coupons", settings.expire_coupons_every_s, expire_coupons)]


class JobRunner:
    """Runs each job when it is due (first run at start), until stop()."""

    def __init__(self, sessions: Callable[[], Session], jobs: list[Job],
                 clock: Clock | None = None):
        self.sessions, self.jobs = sessions, [j for j in jobs if j.every_s > 0]
        self.clock = clock or SystemClock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gatepay-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout_s)

    def run_once(self, job: Job) -> dict | None:
        try:
            with self.sessions() as session:
                done = job.run(session, self.clock.now())
                session.commit()
        except Exception as exc:  # noqa: BLE001 - a job's failure must not end the others
            log.error("job_failed", job=job.name, error=f"{type(exc).__name__}: {exc}"[:300])
            return None
        if any(done.values()):
            log.info("job_done", job=job.name, **{str(k): v for k, v in done.items()})
        return done

    def _loop(self) -> None:
        due = {job.name: 0.0 for job in self.jobs}
        while not self._stop.is_set():
            for job in self.jobs:
                if time.monotonic() >= due[job.name] and not self._stop.is_set():
                    self.run_once(job)
                    due[job.name] = time.monotonic() + job.every_s
            wait = min(due.values(), default=time.monotonic() + 60) - time.monotonic()
            self._stop.wait(max(0.05, wait))
