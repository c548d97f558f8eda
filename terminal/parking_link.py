"""The parking calls of the terminal's backend client (core.wire parking bodies).

A subclass of the core's SyncClient, so every failure is the same SyncFailure with a reason
and plain words, and requests are signed the same way.
"""
from __future__ import annotations

from urllib.parse import quote
from uuid import UUID

from sync.client import SyncClient, SyncFailure
from core.wire import (ParkingEvent, ParkingEventsRequest, ParkingEventsResponse, ParkingOrderRequest,
                       ParkingOrderState, ParkingPaycodeRequest, ParkingSessionData)


class ParkingClient(SyncClient):
    def push_events(self, events: list[ParkingEvent], timeout_s: float | None = None) -> ParkingEventsResponse:
        return self._call("POST", "/terminal/parking/events", ParkingEventsResponse,
                          body=ParkingEventsRequest(events=events), timeout_s=timeout_s)

    def create_order(self, req: ParkingOrderRequest, timeout_s: float | None = None) -> ParkingOrderState:
        state = self._call("POST", "/terminal/parking/orders", ParkingOrderState, body=req, timeout_s=timeout_s)
        if state.order_id != req.order_id:
            raise SyncFailure("bad_answer", "answer is for another order", maybe_sent=True)
        return state

    def order(self, order_id: UUID, timeout_s: float | None = None) -> ParkingOrderState:
        return self._call("GET", f"/terminal/parking/orders/{order_id}", ParkingOrderState, timeout_s=timeout_s)

    def close_order(self, order_id: UUID, timeout_s: float | None = None) -> ParkingOrderState:
        """Close a pending order (answers status "paid" if the driver paid it meanwhile)."""
        return self._call("POST", f"/terminal/parking/orders/{order_id}/close", ParkingOrderState,
                          timeout_s=timeout_s)

    def pay_by_code(self, req: ParkingPaycodeRequest, timeout_s: float | None = None) -> ParkingOrderState:
        state = self._call("POST", "/terminal/parking/paycode", ParkingOrderState, body=req, timeout_s=timeout_s)
        if state.order_id != req.order_id:
            raise SyncFailure("bad_answer", "answer is for another order", maybe_sent=True)
        return state

    def session_inside(self, plate: str, timeout_s: float | None = None) -> ParkingSessionData | None:
        """The backend's open stay for this plate; None when it has none (404)."""
        try:
            return self._call("GET", f"/terminal/parking/sessions/inside?plate={quote(plate)}",
                              ParkingSessionData, timeout_s=timeout_s)
        except SyncFailure as failure:
            if failure.status_code == 404:
                return None
            raise
