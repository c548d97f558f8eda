"""Offline budget slices of instant campaigns (issue 17, docs/MARKETING.md "Offline budget slices").

A slice is money reserved out of a campaign's budget for one terminal, which may give it away as
discounts while it is offline. Reserving counts in the campaign's `spent_fen` at once, so online
payments and every other slice together can never take more than `budget_fen`:

    campaign.spent_fen = online discounts net of refunds + sum(slice.granted_fen)
                         - what refunds gave back of slice discounts

Opt-in: only a campaign with an offline_campaigns row (allow_offline) gives slices; its row says
the size: share_pct of the budget, at most cap_fen (at most MAX_SLICE_CAP_FEN), from what the
budget has left.
Topped up to that size when less than half is left (after a pushed discount, or by the job).
Delivered through the change feed (kind campaign_slice, key "terminal:campaign", scoped to the
terminal's merchant and site). Spent: a pushed offline payment's claimed discount is charged to
the terminal's open slice, at most what the campaign's rule gives for that price and what the
slice has left. Given back: when the campaign is paused or ended, its time is up or the terminal
is disabled, the slice closes and `granted_fen - used_fen` returns to the budget.

Lock order: the payer's accounts (payments.py), then the campaign row, then the slice row; the
status changes and the job take the campaign row, then its slices: one order everywhere.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.logging import log
from backend.models.base import utcnow
from backend.models.campaigns import Campaign, CampaignSlice, OfflineCampaign
from backend.models.terminals import Terminal
from backend.services.campaigns import _LOCK, Offer, terms_of
from backend.services.changes import record_change
from core.campaigns import Place, applies, discount_fen
from core.wire import PaymentRequest
from core.wire.changes import CampaignSliceData

SLICE_SHARE_PCT = 5            # the usual size of a terminal's slice: this share of the budget ...
SLICE_CAP_FEN = 20_000         # ... but at most 200 yuan
MAX_SLICE_CAP_FEN = 1_000_000  # what one offline terminal may ever hold of one campaign (10,000 yuan)
OFFLINE_METHODS = frozenset({"face", "card", "plate"})   # a pay code always needs the network


def _target_fen(sizing: OfflineCampaign | None, campaign: Campaign) -> int:
    if sizing is None:
        return 0
    return min(sizing.cap_fen, MAX_SLICE_CAP_FEN, campaign.budget_fen * sizing.share_pct // 100)


def allow_offline(session: Session, campaign: Campaign, share_pct: int = SLICE_SHARE_PCT,
                  cap_fen: int = SLICE_CAP_FEN, now: datetime | None = None) -> OfflineCampaign:
    """Let terminals give this instant campaign offline from slices of this size (or change the
    size: a smaller one applies at the next top-up). Terminals get their slices at once if the
    campaign is active."""
    if campaign.mode != "instant":
        raise ValueError("only an instant campaign can be given offline")
    if not (1 <= share_pct <= 100 and 1 <= cap_fen <= MAX_SLICE_CAP_FEN):
        raise ValueError("share_pct is 1..100 and cap_fen 1..1000000")
    row = session.get(OfflineCampaign, campaign.id)
    if row is None:
        row = OfflineCampaign(campaign_id=campaign.id, share_pct=share_pct, cap_fen=cap_fen, created_at=now or utcnow())
        session.add(row)
    row.share_pct, row.cap_fen = share_pct, cap_fen
    session.flush()
    refresh_campaign(session, campaign.id, now)
    return row


def disallow_offline(session: Session, campaign: Campaign, now: datetime | None = None) -> int:
    """Stop giving this campaign offline: its offline_campaigns row goes and every open slice
    closes, what the terminals have not used going back to the budget (as when it pauses).
    Idempotent; returns the fen given back."""
    row = session.get(OfflineCampaign, campaign.id)
    if row is not None:
        session.delete(row)
        session.flush()
    return refresh_campaign(session, campaign.id, now)["returned_fen"]


def offline_sizing(session: Session, campaign_id: int) -> OfflineCampaign | None:
    """The campaign's slice size if it is let out offline (None: online only)."""
    return session.get(OfflineCampaign, campaign_id)


def _wanted(campaign: Campaign, terminal: Terminal, now: datetime | None) -> bool:
    """Whether this terminal should hold a slice of this campaign (at `now`: None = whatever the
    time; the job passes its clock and closes the slices of campaigns whose time is up)."""
    if campaign.status != "active" or campaign.mode != "instant" or terminal.status != "active":
        return False
    if now is not None and campaign.ends_at is not None and now >= campaign.ends_at:
        return False
    if campaign.methods and not OFFLINE_METHODS & set(campaign.methods):
        return False
    return ((not campaign.merchant_ids or terminal.merchant_id in campaign.merchant_ids)
            and (not campaign.site_ids or terminal.site_id in campaign.site_ids)
            and (not campaign.scenes or terminal.scene in campaign.scenes))


def _publish(session: Session, campaign: Campaign, piece: CampaignSlice, terminal: Terminal) -> None:
    terms = terms_of(campaign)
    data = CampaignSliceData(
        slice_id=piece.id, terminal_id=terminal.id, campaign_id=campaign.id, status=piece.status,
        granted_fen=piece.granted_fen, kind=terms.kind, amount_fen=terms.amount_fen, min_fen=terms.min_fen,
        max_fen=terms.max_fen, percent_off=terms.percent_off, cap_fen=terms.cap_fen, threshold_fen=terms.threshold_fen,
        merchant_ids=sorted(terms.merchant_ids), site_ids=sorted(terms.site_ids), scenes=sorted(terms.scenes),
        methods=sorted(terms.methods), starts_at=terms.starts_at, ends_at=terms.ends_at,
        per_customer_limit=campaign.per_customer_limit, per_customer_daily_limit=campaign.per_customer_daily_limit)
    record_change(session, "campaign_slice", f"{terminal.id}:{campaign.id}", data.model_dump(mode="json"),
                  merchant_id=terminal.merchant_id, site_id=terminal.site_id)


def _open_slice(session: Session, campaign_id: int, terminal_id: int) -> CampaignSlice | None:
    return session.scalar(select(CampaignSlice).where(
        CampaignSlice.campaign_id == campaign_id, CampaignSlice.terminal_id == terminal_id,
        CampaignSlice.status == "open").with_for_update())


def _top_up(session: Session, campaign: Campaign, piece: CampaignSlice | None, terminal: Terminal,
            target: int, now: datetime) -> int:
    """Grant the slice back up to `target` when less than half is left (the campaign row is
    locked by the caller). Returns the fen granted."""
    left = piece.granted_fen - piece.used_fen if piece is not None else 0
    if target <= 0 or left * 2 >= target:
        return 0
    grant = min(target - left, campaign.budget_fen - campaign.spent_fen)
    if grant <= 0:
        return 0
    if piece is None:
        piece = CampaignSlice(campaign_id=campaign.id, terminal_id=terminal.id, granted_fen=0, used_fen=0,
                              status="open", created_at=now, updated_at=now)
        session.add(piece)
    piece.granted_fen += grant
    piece.updated_at = now
    campaign.spent_fen += grant
    session.flush()
    _publish(session, campaign, piece, terminal)
    return grant


def _close(session: Session, campaign: Campaign, piece: CampaignSlice, terminal: Terminal, now: datetime) -> int:
    """Close the slice: what the terminal has not pushed as used goes back to the budget.
    Returns the fen given back."""
    back = piece.granted_fen - piece.used_fen
    piece.granted_fen, piece.status, piece.closed_at, piece.updated_at = piece.used_fen, "closed", now, now
    campaign.spent_fen -= back
    session.flush()
    _publish(session, campaign, piece, terminal)
    return back


def refresh_campaign(session: Session, campaign_id: int, now: datetime | None = None) -> dict[str, int]:
    """Bring one campaign's slices in line with its status: open and top up a slice for every
    terminal that should hold one, close the others. Idempotent."""
    at, now = now, now or utcnow()
    campaign = session.scalars(_LOCK, {"campaign_id": campaign_id}).one()
    done = {"granted_fen": 0, "returned_fen": 0}
    if campaign.mode != "instant":
        return done
    target = _target_fen(session.get(OfflineCampaign, campaign.id), campaign)
    pieces = {p.terminal_id: p for p in session.scalars(select(CampaignSlice).where(
        CampaignSlice.campaign_id == campaign.id, CampaignSlice.status == "open")
        .order_by(CampaignSlice.id).with_for_update())}
    if target <= 0 and not pieces:
        return done   # an online-only campaign: nothing to do
    terminals = session.scalars(select(Terminal).order_by(Terminal.id)).all()
    for terminal in terminals:
        piece = pieces.get(terminal.id)
        if target > 0 and _wanted(campaign, terminal, at):
            done["granted_fen"] += _top_up(session, campaign, piece, terminal, target, now)
        elif piece is not None:
            done["returned_fen"] += _close(session, campaign, piece, terminal, now)
    return done


def _concerned(extra=None):  # noqa: ANN001, ANN202 - a further condition on the open slices
    """Campaigns whose slices may need a change: offline-enabled and active, or holding open slices."""
    open_slices = select(CampaignSlice.campaign_id).where(CampaignSlice.status == "open")
    if extra is not None:
        open_slices = open_slices.where(extra)
    active = (Campaign.status == "active") & Campaign.id.in_(select(OfflineCampaign.campaign_id))
    return select(Campaign.id).where(Campaign.mode == "instant", active | Campaign.id.in_(open_slices)) \
        .order_by(Campaign.id)


def refresh_all(session: Session, now: datetime) -> dict[str, int]:
    """The job: every campaign concerned (top-ups, new terminals, campaigns whose time is up)."""
    total = {"granted_fen": 0, "returned_fen": 0}
    for campaign_id in session.scalars(_concerned()).all():
        for key, value in refresh_campaign(session, campaign_id, now).items():
            total[key] += value
    return total


def refresh_terminal(session: Session, terminal_id: int, now: datetime | None = None) -> None:
    """A terminal disabled (its slices close) or enabled again (it gets slices)."""
    for campaign_id in session.scalars(_concerned(CampaignSlice.terminal_id == terminal_id)).all():
        refresh_campaign(session, campaign_id, now)


# --- a pushed offline payment ------------------------------------------------------------------

def offline_offer(session: Session, terminal_id: int | None, req: PaymentRequest, payment, place: Place,
                  at: datetime) -> Offer | None:  # noqa: ANN001 - payment: the Payment being booked
    """The discount a pushed offline payment claims (offline_campaign_id / offline_discount_fen),
    as far as the terminal's open slice of that campaign covers it: at most what the campaign's
    rule gives for this price and payment id, and what the slice has left. The diner pays what
    the terminal told them (price - claimed); a part the slice does not cover is not the
    campaign's: the merchant whose terminal gave it bears it, so the payment is booked at
    price - uncovered (the merchant is credited that; the campaign pays the covered part).
    Returns the covered offer (None when nothing is covered)."""
    claimed = req.offline_discount_fen
    if claimed <= 0 or req.offline_campaign_id is None:
        return None
    covered, piece, campaign = 0, None, None
    if terminal_id is not None and session.get(Campaign, req.offline_campaign_id) is not None:
        campaign = session.scalars(_LOCK, {"campaign_id": req.offline_campaign_id}).one()
        piece = _open_slice(session, campaign.id, terminal_id)
        if piece is not None:
            terms = terms_of(campaign)
            fair = discount_fen(terms, req.amount_fen, payment.payment_uuid) if applies(terms, place, at) else 0
            covered = max(0, min(claimed, fair, piece.granted_fen - piece.used_fen))
    payment.amount_fen = req.amount_fen - (claimed - covered)
    if covered < claimed:   # a tampered or stale terminal: the operator should see it
        log.warning("offline_discount_not_covered", terminal_id=terminal_id, campaign_id=req.offline_campaign_id,
                    payment_id=payment.payment_uuid, claimed_fen=claimed, covered_fen=covered)
    return Offer(campaign, None, covered, slice_id=piece.id) if covered > 0 else None


def spend(session: Session, offer: Offer, now: datetime | None = None) -> None:
    """The booked payment's discount comes out of its slice (already reserved from the budget);
    then the slice is topped up if it runs low."""
    now = now or utcnow()
    taken = session.execute(update(CampaignSlice).where(
        CampaignSlice.id == offer.slice_id, CampaignSlice.status == "open",
        CampaignSlice.used_fen + offer.discount_fen <= CampaignSlice.granted_fen)
        .values(used_fen=CampaignSlice.used_fen + offer.discount_fen, updated_at=now))
    if taken.rowcount != 1:
        raise RuntimeError(f"slice {offer.slice_id} cannot cover {offer.discount_fen} fen")   # rolls back
    piece = session.get(CampaignSlice, offer.slice_id, populate_existing=True)
    terminal = session.get(Terminal, piece.terminal_id)
    target = _target_fen(session.get(OfflineCampaign, offer.campaign.id), offer.campaign)
    if target > 0 and _wanted(offer.campaign, terminal, None):
        _top_up(session, offer.campaign, piece, terminal, target, now)


def slices_of(session: Session, campaign_id: int) -> list[CampaignSlice]:
    return list(session.scalars(select(CampaignSlice).where(CampaignSlice.campaign_id == campaign_id)
                                .order_by(CampaignSlice.id)).all())
