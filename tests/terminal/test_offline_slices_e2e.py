"""A campaign's budget slice end to end (issue 17): the real backend process on loopback, a real
terminal (store file, Decider, sync engine) whose link is cut on demand. The terminal pulls its
slice, gives the discount offline, pushes, and the backend books it against the slice; a terminal
built before slices skips the new change kind and keeps working at full price."""
from __future__ import annotations

from functools import partialmethod

import pytest
from sqlalchemy import select

import sync.client
from backend.models.campaigns import Campaign, CampaignSlice
from backend.services.campaign_slices import allow_offline
from terminal.demo.backend_process import BackendProcess
from tests.sync.faults import FaultTransport
from tests.sync.rig import Canteen

PAY = "/terminal/payments"
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:   # a loaded test machine may take over 30 s to start it
        patch.setattr(BackendProcess, "start", partialmethod(BackendProcess.start, timeout=180))
        canteen = Canteen(tmp_path_factory.mktemp("slices"))
    yield canteen
    canteen.close()


def offline_campaign(site, budget_fen: int = 10_000) -> int:  # noqa: ANN001
    cid = site.post("/api/v1/campaigns", {"name": "午餐立减", "kind": "fixed", "amount_fen": 300, "budget_fen": budget_fen,
                                          "merchant_ids": [site.merchant_id], "status": "active"})["id"]
    with site.app.state.sessions() as session:
        allow_offline(session, session.get(Campaign, cid), share_pct=10, cap_fen=1000)
        session.commit()
    return cid


def slice_of(site, campaign_id: int, terminal_id: int) -> CampaignSlice | None:  # noqa: ANN001
    with site.app.state.sessions() as session:
        found = session.scalar(select(CampaignSlice).where(CampaignSlice.campaign_id == campaign_id,
                                                           CampaignSlice.terminal_id == terminal_id,
                                                           CampaignSlice.status == "open"))
        session.expunge_all()
        return found


def test_the_terminal_gives_the_discount_offline_and_the_push_books_it_on_its_slice(site, tmp_path):
    faults = FaultTransport()
    term = site.terminal(tmp_path, transport=faults)
    diner = site.diner(wallet_fen=5_000)
    cid = offline_campaign(site)
    term.engine.cycle()                                          # pulls the diner and the slice
    tid = term.store.identity().terminal_id
    [mine] = term.store.cache.campaign_slices(tid)
    assert (mine.data.campaign_id, mine.left_fen) == (cid, 1000)

    faults.plan(PAY, "refuse", times=2)                          # the backend cannot be reached
    first, second = term.pay(diner, 1200), term.pay(diner, 800)
    assert first.status == second.status == "approved" and first.offline and second.offline
    assert term.store.cache.campaign_slices(tid)[0].left_fen == 400
    report = term.engine.cycle()
    assert report.booked == 2 and report.failure is None
    assert site.wallet(diner) == 5_000 - 900 - 500               # each paid price - 3.00, as shown
    piece = slice_of(site, cid, tid)
    assert piece.used_fen == 600 and piece.granted_fen == 1600   # topped up: less than half was left
    term.engine.cycle()
    assert term.store.cache.campaign_slices(tid)[0].left_fen == 1000
    assert site.ledger_problems() == []

    site.post(f"/api/v1/campaigns/{cid}/status", {"status": "paused"}, expect=200)
    term.engine.cycle()
    assert term.store.cache.campaign_slices(tid) == []           # paused: nothing more offline
    faults.plan(PAY, "refuse")
    assert term.pay(diner, 1000).status == "approved"
    assert term.engine.cycle().booked == 1 and site.wallet(diner) == 5_000 - 900 - 500 - 1000
    term.close()
    faults.close()


def test_a_terminal_older_than_slices_skips_them_and_pays_full_price(site, tmp_path, monkeypatch):
    old_kinds = sync.client.CHANGE_KINDS - {"campaign_slice"}
    monkeypatch.setattr(sync.client, "CHANGE_KINDS", old_kinds)   # what a terminal built before them knows
    faults = FaultTransport()
    term = site.terminal(tmp_path, transport=faults)
    diner = site.diner(wallet_fen=5_000)
    cid = offline_campaign(site)
    report = term.engine.cycle()
    assert report.failure is None and report.bad_change is None, report
    tid = term.store.identity().terminal_id
    assert slice_of(site, cid, tid) is not None                  # the backend did send it ...
    assert term.store.cache.items("campaign_slice") == {}        # ... the old terminal skipped it
    assert term.store.cache.face_signing(diner) is not None      # and applied the rest of the page
    faults.plan(PAY, "refuse")
    assert term.pay(diner, 1200).status == "approved"
    assert term.engine.cycle().booked == 1 and site.wallet(diner) == 5_000 - 1200
    assert site.ledger_problems() == []
    term.close()
    faults.close()
