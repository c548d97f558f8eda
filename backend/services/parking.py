"""Parking stays: lane events from the terminals (entries, exits, attendant actions), applied once.

Events may arrive late and out of order (a lane that was offline pushes its queue when it is back):
  * an event id seen before is a duplicate and changes nothing;
  * an entry for a car already inside replaces the older stay, which is closed unpaid and flagged
    for review (the camera missed its exit, or the plate was misread);
  * an entry that arrives after the same car already left without an entry record (the exit lane
    charged the fallback fee) is attached to that stay for review instead of opening a new one;
  * the first exit of a stay wins; a later one is kept in the event log and flags the stay.
Every change to a stay is published to the site's lanes as a "parking_session" change.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.logging import log
from backend.models.base import utcnow
from backend.models.merchants import Site
from backend.models.parking import ParkingEventRow, ParkingSession
from backend.services.changes import record_change
from core.wire import MAX_PUSH_ITEMS, ParkingEvent, ParkingEventResult, ParkingSessionData


def session_data(s: ParkingSession) -> ParkingSessionData:
    return ParkingSessionData(
        session_id=s.id, site_id=s.site_id, plate=s.plate, plate_colour=s.plate_colour, entered_at=s.entered_at,
        entry_lane_id=s.entry_lane_id, entry_image_ref=s.entry_image_ref, status=s.status, exited_at=s.exited_at,
        exit_lane_id=s.exit_lane_id, fee_fen=s.fee_fen, paid_fen=s.paid_fen, pay_kind=s.pay_kind,
        flagged=s.flagged, flag_reason=s.flag_reason)


def _publish(session: Session, site: Site, s: ParkingSession) -> None:
    s.updated_at = utcnow()
    session.flush()
    record_change(session, "parking_session", s.id, session_data(s).model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site.id)


def _flag(s: ParkingSession, reason: str) -> None:
    s.flagged = True
    s.flag_reason = reason if not s.flag_reason else f"{s.flag_reason}; {reason}"[:200]


def inside(session: Session, site_id: int, plate: str) -> ParkingSession | None:
    """The latest stay of this plate that has not left."""
    return session.scalar(select(ParkingSession).where(
        ParkingSession.site_id == site_id, ParkingSession.plate == plate, ParkingSession.status == "inside")
        .order_by(ParkingSession.entered_at.desc()).limit(1))


def _entry(session: Session, site: Site, terminal_id: int, e: ParkingEvent) -> str | None:
    sid = str(e.session_id)
    if session.get(ParkingSession, sid) is not None:
        return None
    left_without_entry = session.scalar(select(ParkingSession).where(
        ParkingSession.site_id == site.id, ParkingSession.plate == e.plate, ParkingSession.status == "exited",
        ParkingSession.entered_at.is_(None), ParkingSession.exited_at >= e.at)
        .order_by(ParkingSession.exited_at).limit(1))
    if left_without_entry is not None:
        left_without_entry.entered_at, left_without_entry.entry_lane_id = e.at, e.lane_id
        left_without_entry.entry_terminal_id, left_without_entry.entry_image_ref = terminal_id, e.image_ref
        _flag(left_without_entry, f"entry record arrived after the exit (entry session {sid})")
        _publish(session, site, left_without_entry)
        return None
    older = inside(session, site.id, e.plate)
    if older is not None and older.entered_at is not None and older.entered_at <= e.at:
        older.status = "replaced"
        _flag(older, "entered again without an exit")
        _publish(session, site, older)
    new = ParkingSession(id=sid, site_id=site.id, plate=e.plate, plate_colour=e.plate_colour, status="inside",
                         entered_at=e.at, entry_lane_id=e.lane_id, entry_terminal_id=terminal_id,
                         entry_image_ref=e.image_ref)
    if older is not None and older.status == "inside":
        new.status = "replaced"   # an entry older than the stay already inside: history only
        _flag(new, "older entry arrived late")
    session.add(new)
    _publish(session, site, new)
    return None


def _exit(session: Session, site: Site, terminal_id: int, e: ParkingEvent) -> str | None:
    s = session.get(ParkingSession, str(e.session_id))
    if s is None:   # no entry record at the exit lane: the exit terminal made this id
        s = ParkingSession(id=str(e.session_id), site_id=site.id, plate=e.plate, plate_colour=e.plate_colour,
                           status="inside", entered_at=e.entered_at)
        _flag(s, "no entry record")
        session.add(s)
    elif s.site_id != site.id:
        return "other_site"
    if s.status == "exited":
        _flag(s, f"second exit at {e.at.isoformat()} (lane {e.lane_id})")
        _publish(session, site, s)
        return None
    s.status, s.exited_at, s.exit_lane_id, s.exit_terminal_id = "exited", e.at, e.lane_id, terminal_id
    s.exit_image_ref, s.fee_fen, s.paid_fen, s.pay_kind = e.image_ref, e.fee_fen, e.paid_fen, e.pay_kind
    s.payment_ref = str(e.payment_id or e.order_id or "") or None
    if s.plate != e.plate:
        _flag(s, f"left as {e.plate}")
    if e.pay_kind == "free_by_attendant":
        _flag(s, f"opened free by {e.operator or 'attendant'}: {e.reason or ''}")
    if e.pay_kind == "fallback":
        _flag(s, "fallback fee (no entry record)")
    _publish(session, site, s)
    return None


def _correct(session: Session, site: Site, e: ParkingEvent) -> str | None:
    s = session.get(ParkingSession, str(e.session_id))
    if s is None or s.site_id != site.id:
        return "unknown_session"
    if e.kind == "correct_plate":
        s.plate, s.plate_colour = e.plate, e.plate_colour
        _flag(s, f"plate corrected from {e.old_plate} by {e.operator or 'attendant'}")
    else:
        _flag(s, e.reason or "taken to review")
    _publish(session, site, s)
    return None


def parse_events(payload: Any) -> list[ParkingEvent | ParkingEventResult]:
    """A push body's events, each validated on its own: a malformed one becomes its "rejected"
    answer. Only a body that is not {"events": [...]} or an event without a readable event_id
    (nothing to answer it by) refuses the whole push."""
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_PUSH_ITEMS or set(payload) != {"events"}:
        raise _bad_push(f"推送内容须为 {{\"events\": [...]}}，1到{MAX_PUSH_ITEMS}条",
                        f"A push body is {{\"events\": [...]}} with 1 to {MAX_PUSH_ITEMS} events")
    out: list[ParkingEvent | ParkingEventResult] = []
    for raw in events:
        try:
            out.append(ParkingEvent.model_validate(raw))
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            why = f"malformed: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"[:200]
        try:
            event_id = UUID(str(raw["event_id"]))
        except (TypeError, KeyError, ValueError):
            raise _bad_push("每个事件都须有 event_id（UUID）", "Every event needs an event_id (a UUID)") from None
        out.append(ParkingEventResult(event_id=event_id, status="rejected", reason=why))
    return out


def _bad_push(zh: str, en: str):  # noqa: ANN202
    return api_error(422, "invalid_request", zh, en)


def apply_events(session: Session, terminal_id: int, site_id: int,
                 events: list[ParkingEvent | ParkingEventResult]) -> list[ParkingEventResult]:
    """Apply a terminal's lane events in order; each commits on its own, so one bad event does not
    hold back the rest (an answer already made by parse_events passes through)."""
    site = session.get(Site, site_id)
    results = []
    for e in events:
        if isinstance(e, ParkingEventResult):
            results.append(e)
            continue
        try:
            results.append(_apply_one(session, site, terminal_id, e))
        except (OperationalError, InterfaceError):
            raise   # the database, not the event: the lane sends the push again
        except Exception as exc:  # noqa: BLE001 - a poisoned event is answered, never blocks the queue
            session.rollback()
            log.error("parking_event_failed", terminal_id=terminal_id, event_id=str(e.event_id),
                      error=type(exc).__name__)
            results.append(ParkingEventResult(event_id=e.event_id, status="rejected",
                                              reason=f"unprocessable: {type(exc).__name__}"))
    return results


def _apply_one(session: Session, site: Site | None, terminal_id: int, e: ParkingEvent) -> ParkingEventResult:
    eid = str(e.event_id)
    if session.scalar(select(ParkingEventRow.id).where(ParkingEventRow.event_id == eid)) is not None:
        return ParkingEventResult(event_id=e.event_id, status="duplicate")
    if site is None or site.kind != "car_park":
        return ParkingEventResult(event_id=e.event_id, status="rejected", reason="not_a_car_park")
    handler = {"entry": _entry, "exit": _exit}.get(e.kind)
    problem = handler(session, site, terminal_id, e) if handler else _correct(session, site, e)
    if problem:
        session.rollback()
        return ParkingEventResult(event_id=e.event_id, status="rejected", reason=problem)
    session.add(ParkingEventRow(event_id=eid, session_id=str(e.session_id), terminal_id=terminal_id,
                                kind=e.kind, at=e.at, body=e.model_dump(mode="json")))
    try:
        session.commit()
    except IntegrityError:   # the same event from a concurrent push: booked by the other
        session.rollback()
        return ParkingEventResult(event_id=e.event_id, status="duplicate")
    return ParkingEventResult(event_id=e.event_id, status="applied")
