"""The parking scene's part of the terminal's SQLite store: the stays this lane knows of, and the
queue of lane events for the backend (POST /terminal/parking/events).

Tables live in the core store's file (same WAL + synchronous FULL connection, same lock), created
here with IF NOT EXISTS, so the scene needs nothing from the core's schema beyond its public API.
Stays pulled from the backend (other lanes' entries) are read from the core's synced cache
(kind "parking_session"); a partial index on the plate keeps that lookup fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.wire import ParkingEvent, ParkingEventResult, ParkingSessionData
from core.clock import from_iso, to_iso
from terminal.store import Store

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS parking_stays (
        session_id TEXT PRIMARY KEY, plate TEXT NOT NULL, plate_colour TEXT NOT NULL,
        entered_at TEXT, entry_lane_id INTEGER, entry_image_ref TEXT,
        status TEXT NOT NULL CHECK (status IN ('inside', 'exited', 'replaced')),
        exited_at TEXT, fee_fen INTEGER, paid_fen INTEGER NOT NULL DEFAULT 0, pay_kind TEXT,
        flagged INTEGER NOT NULL DEFAULT 0, flag_reason TEXT, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS parking_stays_plate ON parking_stays (plate, status)",
    """CREATE TABLE IF NOT EXISTS parking_events_out (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'applied', 'duplicate', 'rejected')),
        attempts INTEGER NOT NULL DEFAULT 0, reason TEXT, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS parking_events_out_status ON parking_events_out (status, seq)",
    """CREATE INDEX IF NOT EXISTS cache_parking_plate ON cache (json_extract(data, '$.plate'))
       WHERE kind = 'parking_session'""",
]


# Finished stays and answered lane events are kept this long, then pruned: a busy car park's lanes
# otherwise keep every stay of every lane forever (thousands a day) in the cache and the queue.
KEEP_FINISHED = timedelta(days=7)


@dataclass(frozen=True)
class Stay:
    session_id: str
    plate: str
    plate_colour: str
    entered_at: datetime | None
    entry_lane_id: int | None
    entry_image_ref: str | None
    status: str
    exited_at: datetime | None = None
    fee_fen: int | None = None
    paid_fen: int = 0
    pay_kind: str | None = None
    flagged: bool = False
    flag_reason: str | None = None


def _stay_from_row(r: dict[str, Any]) -> Stay:
    return Stay(r["session_id"], r["plate"], r["plate_colour"], from_iso(r["entered_at"]), r["entry_lane_id"],
                r["entry_image_ref"], r["status"], from_iso(r["exited_at"]), r["fee_fen"], r["paid_fen"] or 0,
                r["pay_kind"], bool(r["flagged"]), r["flag_reason"])


def _stay_from_wire(d: ParkingSessionData) -> Stay:
    return Stay(str(d.session_id), d.plate, d.plate_colour, d.entered_at, d.entry_lane_id, d.entry_image_ref,
                d.status, d.exited_at, d.fee_fen, d.paid_fen, d.pay_kind, d.flagged, d.flag_reason)


class ParkingStore:
    def __init__(self, store: Store):
        self.store = store
        with store.lock, store.db.atomic():
            for sql in _SCHEMA:
                store.db.execute(sql)

    def _rows(self, sql: str, args: list) -> list[dict[str, Any]]:
        with self.store.lock:
            cur = self.store.db.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    # --- stays -----------------------------------------------------------------------------------

    def save_stay_and_event(self, stay: Stay, event: ParkingEvent | None) -> None:
        """Write the stay and queue its lane event in ONE durable transaction (before any barrier)."""
        s = self.store
        now = to_iso(s.clock.now())
        row = dict(session_id=stay.session_id, plate=stay.plate, plate_colour=stay.plate_colour,
                   entered_at=to_iso(stay.entered_at) if stay.entered_at else None,
                   entry_lane_id=stay.entry_lane_id, entry_image_ref=stay.entry_image_ref, status=stay.status,
                   exited_at=to_iso(stay.exited_at) if stay.exited_at else None, fee_fen=stay.fee_fen,
                   paid_fen=stay.paid_fen, pay_kind=stay.pay_kind, flagged=int(stay.flagged),
                   flag_reason=stay.flag_reason, updated_at=now)
        with s.lock, s.db.atomic():
            cols = ", ".join(row)
            s.db.execute(f"INSERT OR REPLACE INTO parking_stays ({cols}) VALUES ({', '.join('?' * len(row))})",
                         list(row.values()))
            if event is not None:
                self._queue_in_tx(event, now)

    def queue_event(self, event: ParkingEvent) -> None:
        with self.store.lock, self.store.db.atomic():
            self._queue_in_tx(event, to_iso(self.store.clock.now()))

    def _queue_in_tx(self, event: ParkingEvent, now: str) -> None:
        self.store.db.execute("INSERT OR IGNORE INTO parking_events_out (event_id, body, status, created_at) "
                              "VALUES (?, ?, 'queued', ?)", [str(event.event_id), event.model_dump_json(), now])

    def local_inside(self, plate: str) -> Stay | None:
        """This lane's newest open stay of the plate, unless the backend has since told us that it
        ended at another lane (the entry lane learns of exits by pull)."""
        rows = self._rows("SELECT * FROM parking_stays WHERE plate = ? AND status = 'inside' "
                          "ORDER BY entered_at DESC LIMIT 1", [plate])
        if not rows:
            return None
        stay = _stay_from_row(rows[0])
        synced = self.store.cache.item("parking_session", stay.session_id)
        if synced is not None and synced.get("status") != "inside":
            self.save_stay_and_event(_stay_from_wire(ParkingSessionData.model_validate(synced)), None)
            return self.local_inside(plate)
        return stay

    def local(self, session_id: str) -> Stay | None:
        rows = self._rows("SELECT * FROM parking_stays WHERE session_id = ?", [session_id])
        return _stay_from_row(rows[0]) if rows else None

    def synced_inside(self, plate: str) -> Stay | None:
        """The newest stay of this plate still inside, as the backend last told us (another lane's
        entry). A stay this lane closed since is not returned."""
        rows = self._rows("SELECT data FROM cache WHERE kind = 'parking_session' "
                          "AND json_extract(data, '$.plate') = ?", [plate])
        found = [ParkingSessionData.model_validate_json(r["data"]) for r in rows]
        inside = sorted((d for d in found if d.status == "inside" and d.entered_at is not None),
                        key=lambda d: d.entered_at, reverse=True)
        for d in inside:
            mine = self.local(str(d.session_id))
            if mine is None or mine.status == "inside":
                return _stay_from_wire(d)
        return None

    def find_inside(self, plate: str) -> Stay | None:
        """This lane's own record first (it may not have reached the backend yet), then synced ones;
        the later entry wins when both exist."""
        candidates = [s for s in (self.local_inside(plate), self.synced_inside(plate)) if s is not None]
        return max(candidates, key=lambda s: s.entered_at, default=None)  # type: ignore[arg-type, return-value]

    @staticmethod
    def from_wire(data: ParkingSessionData) -> Stay:
        """A stay the backend told us about online (exit lane whose pull has not caught up)."""
        return _stay_from_wire(data)

    # --- lane event queue ------------------------------------------------------------------------

    def queued_events(self, limit: int = 200) -> list[ParkingEvent]:
        rows = self._rows("SELECT body FROM parking_events_out WHERE status = 'queued' ORDER BY seq LIMIT ?", [limit])
        return [ParkingEvent.model_validate_json(r["body"]) for r in rows]

    def queue_depth(self) -> int:
        return self._rows("SELECT count(*) AS n FROM parking_events_out WHERE status = 'queued'", [])[0]["n"]

    def apply_results(self, sent: list[ParkingEvent], results: list[ParkingEventResult]) -> None:
        """Mark each sent event by the backend's answer for it; an event missing from the answer
        stays queued and goes again with the same id."""
        answered = {str(r.event_id): r for r in results}
        with self.store.lock, self.store.db.atomic():
            for e in sent:
                r = answered.get(str(e.event_id))
                if r is None:
                    self.store.db.execute("UPDATE parking_events_out SET attempts = attempts + 1 WHERE event_id = ?",
                                          [str(e.event_id)])
                    continue
                self.store.db.execute("UPDATE parking_events_out SET status = ?, reason = ?, attempts = attempts + 1 "
                                      "WHERE event_id = ?", [r.status, r.reason, str(e.event_id)])

    def events(self, status: str | None = None) -> list[tuple[ParkingEvent, str]]:
        sql, args = "SELECT body, status FROM parking_events_out", []
        if status:
            sql, args = sql + " WHERE status = ?", [status]
        return [(ParkingEvent.model_validate_json(r["body"]), r["status"]) for r in self._rows(sql + " ORDER BY seq",
                                                                                               args)]

    def exit_events(self, limit: int) -> list[tuple[ParkingEvent, str]]:
        """This lane's newest exits first, each with its queue status. Every exit writes one exit
        event, whatever paid it (a QR order leaves no payment in the outbox)."""
        rows = self._rows("SELECT body, status FROM parking_events_out "
                          "WHERE json_extract(body, '$.kind') = 'exit' ORDER BY seq DESC LIMIT ?", [limit])
        return [(ParkingEvent.model_validate_json(r["body"]), r["status"]) for r in rows]

    def prune(self, now: datetime, keep: timedelta = KEEP_FINISHED) -> int:
        """Forget stays that ended (exited or replaced) and lane events the backend answered, older
        than `keep`. Open stays, flagged stays (the review queue) and queued events are kept."""
        cutoff = to_iso(now - keep)
        s = self.store
        finished = ("FROM cache WHERE kind = 'parking_session' AND updated_at < ? "
                    "AND json_extract(data, '$.status') != 'inside' AND NOT coalesce(json_extract(data, '$.flagged'), 0)")
        # A stay this lane opened and another lane closed is closed here only when looked up
        # (local_inside); close it now, before the synced record that says so is forgotten.
        for row in self._rows("SELECT data " + finished, [cutoff]):
            synced = ParkingSessionData.model_validate_json(row["data"])
            mine = self.local(str(synced.session_id))
            if mine is not None and mine.status == "inside":
                self.save_stay_and_event(_stay_from_wire(synced), None)
        with s.lock, s.db.atomic():
            gone = s.db.execute("DELETE " + finished, [cutoff]).rowcount
            gone += s.db.execute("DELETE FROM parking_stays WHERE status != 'inside' AND flagged = 0 "
                                 "AND updated_at < ?", [cutoff]).rowcount
            gone += s.db.execute("DELETE FROM parking_events_out WHERE status != 'queued' AND created_at < ?",
                                 [cutoff]).rowcount
        return gone

    def flagged(self) -> list[Stay]:
        return [_stay_from_row(r) for r in self._rows("SELECT * FROM parking_stays WHERE flagged = 1 "
                                                      "ORDER BY updated_at DESC", [])]
