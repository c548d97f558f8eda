"""The lane desk's list of exits: every exit of the day, whatever paid it. A QR exit leaves no
payment in the terminal's outbox (the channel was paid at the backend), so the admin screen's
payment list alone missed it. Real lanes against the real backend process (the parking rig)."""
from __future__ import annotations

import pytest

from terminal.parking_desk import LaneDesk
from terminal.pin import PinGuard
from tests.terminal.parking_rig import PIN, PIN_HASH, park  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow


def desk_of(lane) -> LaneDesk:  # noqa: ANN001
    pin = PinGuard(PIN_HASH, lane.store.audit, lane.clock, lane.decider.tz)
    return LaneDesk(lane.scene, lane.output, pin, lane.decider.business_day)


def test_qr_contactless_and_free_exits_are_all_listed(park) -> None:  # noqa: ANN001
    park.driver("京C33333")
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    for plate in ("京A12345", "京C33333"):
        entry.handle(entry.read(plate, 0))
    exit_.sync()
    desk = desk_of(exit_)

    quote = exit_.handle(exit_.read("京A12345", 125))          # pays the exit order's QR code
    park.driver_pays(quote.qr_text)
    assert exit_.poll_payment().phase == "exit_paid"
    exit_.handle(exit_.read("京C33333", 130))                  # signed plate: contactless
    exit_.handle(exit_.read("京E77777", 131))                  # no entry: let out by the attendant
    desk.open_free(PIN, "消防车")

    rows = {row.plate: row for row in desk.exits()}
    assert rows["京A12345"].pay_kind == "qr" and rows["京A12345"].paid_fen == 900
    assert rows["京C33333"].pay_kind == "contactless" and rows["京C33333"].paid_fen > 0
    assert rows["京E77777"].pay_kind == "free_by_attendant" and rows["京E77777"].reason == "消防车"
    assert [row.plate for row in desk.exits()] == ["京E77777", "京C33333", "京A12345"]    # newest first
    assert len(exit_.store.outbox.items(kind="payment")) == 1     # the contactless one: no QR exit there
    exit_.sync()
    assert all(row.sent for row in desk.exits())
    assert desk.exits(day="2000-01-01") == []
