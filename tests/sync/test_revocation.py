"""What the backend decides after the fact: a revocation pulled while offline payments are
queued, and an offline approval the backend cannot honour (shown to the admin)."""
from __future__ import annotations

from tests.sync.faults import FaultTransport

PAY = "/terminal/payments"


def test_revocation_pulled_while_offline_payments_are_queued(site, tmp_path):
    term, faults, cid = site.terminal_with_faults(tmp_path, wallet_fen=10_000)
    faults.plan(PAY, "refuse", times=4)
    queued = [term.pay(cid, 300) for _ in range(3)]
    assert all(o.status == "approved" and o.offline for o in queued)

    site.revoke(cid)
    faults.plan("/sync/push", "500")
    report = term.engine.cycle()                      # push fails, pull still brings the revocation
    assert report.failure is not None and report.pulled >= 1
    assert term.store.cache.face_signing(cid).status == "revoked"
    assert term.store.outbox.queue_depth() == 3       # nothing queued was dropped

    refused = term.pay(cid, 300)                      # offline again: now refused, with words
    assert (refused.status, refused.reason) == ("declined", "signing_revoked") and "解除" in refused.message_zh

    term.engine.cycle()
    final = {term.store.outbox.get(o.payment_id).status for o in queued}
    assert final <= {"booked", "declined"} and term.store.outbox.queue_depth() == 0
    booked = site.payments(term.store.identity().terminal_id)
    approved_there = [o.payment_id for o in queued if booked.get(o.payment_id) == "approved"]
    assert site.wallet(cid) == 10_000 - 300 * len(approved_there)


def test_offline_approval_declined_after_the_fact_is_shown_to_the_admin(site, tmp_path):
    faults = FaultTransport()
    term = site.terminal(tmp_path / "a", transport=faults)
    other = site.terminal(tmp_path / "b")
    cid = site.diner(wallet_fen=1000)
    term.engine.cycle()
    faults.plan(PAY, "refuse")
    out = term.pay(cid, 800)                          # offline: the snapshot says 10.00 yuan
    assert out.status == "approved" and out.offline
    assert other.pay(cid, 500).status == "approved"   # meanwhile spent at another window, online

    core = site.core(term)
    report = term.engine.cycle()
    assert report.declined == 1
    [row] = core.declined_after_fact()
    assert row.payment_id == out.payment_id and row.status == "declined_after_fact"
    assert core.sync_status().declined_after_fact == 1
    assert any(e.action == "push_declined" for e in term.store.audit.entries())
    assert site.wallet(cid) == 500                    # no overdraft on the backend
