"""A merchant the bank suspends stops taking payments at its terminals: online the backend
refuses them, and the suspension reaches the terminals by sync so they refuse offline too
(before, a suspended canteen's terminals kept approving offline within their limits)."""
from __future__ import annotations

PAY = "/terminal/payments"


def test_a_suspended_merchant_is_refused_online_and_offline_until_reinstated(site, tmp_path):
    term, faults, cid = site.terminal_with_faults(tmp_path, wallet_fen=10_000)
    assert term.pay(cid, 300).status == "approved"
    assert term.store.cache.merchant_status(site.merchant_id).status == "approved"   # from its approval

    site.post(f"/api/v1/merchants/{site.merchant_id}/suspend", {"reason": "合同到期"}, expect=200)
    online = term.pay(cid, 300)
    assert (online.status, online.reason) == ("declined", "merchant_suspended")

    term.engine.cycle()
    status = term.store.cache.merchant_status(site.merchant_id)
    assert (status.status, status.reason) == ("suspended", "合同到期")
    faults.plan(PAY, "refuse")
    offline = term.pay(cid, 300)                       # the network is down: still refused
    assert (offline.status, offline.reason) == ("declined", "merchant_suspended")
    assert "暂停" in offline.message_zh and "suspended" in offline.message_en
    assert term.store.outbox.queue_depth() == 0        # nothing queued that the backend would refuse later

    site.post(f"/api/v1/merchants/{site.merchant_id}/reinstate", {}, expect=200)
    term.engine.cycle()
    assert term.store.cache.merchant_status(site.merchant_id).status == "approved"
    faults.plan(PAY, "refuse")
    again = term.pay(cid, 300)
    assert again.status == "approved" and again.offline
    term.engine.cycle()
    assert term.store.outbox.queue_depth() == 0
    assert site.wallet(cid) == 10_000 - 600
    assert site.ledger_problems() == []
    term.close()
