"""A parking campaign at the exit, end to end: the car park's rig (real backend process, a real
lane terminal with its store file and simulated relay gate) and the lane screen offscreen. The car
park runs an instant 3.00 reduction; a signed plate leaves after 61 minutes (fee 7.00). The lane
screen shows the 4.00 paid big with the fee and the discount, the camera's LED board and voice
(the LaneAnswer) say 4.00 and the discount, the wallet loses 4.00, and the exit record keeps the
fee: the campaign pays the car park the rest, as settlement does."""
from __future__ import annotations

from functools import partialmethod

import pytest

from terminal.demo.backend_process import BackendProcess
from terminal.parking_lane import ParkingLane
from tests.backend.campaign_helpers import campaign
from tests.terminal.parking_rig import CarPark
from tests.ui.helpers import show
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def park(tmp_path_factory):  # noqa: ANN001, ANN201
    with pytest.MonkeyPatch.context() as patch:   # a loaded test machine may take over 30 s to start it
        patch.setattr(BackendProcess, "start", partialmethod(BackendProcess.start, timeout=180))
        shared = CarPark(tmp_path_factory.mktemp("carpark"))
    with shared:
        yield shared


def _wallet(park, customer_id: int) -> int:  # noqa: ANN001
    response = park.http.get(f"/api/v1/customers/{customer_id}", headers=park.staff)
    assert response.status_code == 200, response.text
    return response.json()["wallet_fen"]


def test_a_signed_plate_pays_the_discounted_fee_and_the_lane_says_so(qtbot, tr, park) -> None:  # noqa: ANN001
    campaign(park, kind="fixed", amount_fen=300, budget_fen=10_000, scenes=["parking"])
    cid = park.driver("京D20261", wallet_fen=50_000)
    entry, exit_ = park.lane("entry", "d-in"), park.lane("exit", "d-out")
    entry.handle(entry.read("京D20261", 0))
    exit_.sync()
    window = show(qtbot, KioskWindow(CoreBridge(exit_), tr, "parking"))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)

    answer = ParkingLane(exit_.scene, exit_.output).decide(exit_.read("京D20261", 61))
    qtbot.waitUntil(lambda: window.screen_widget.view.phase == "exit_paid")
    outcome = window.screen_widget.view.outcome
    assert (outcome.price_fen, outcome.discount_fen, outcome.paid_fen) == (700, 300, 400)
    screen = window.screen_widget
    assert screen.amount.text() == "¥4.00"                                # big: what the driver paid
    text = screen.visible_text()
    assert "应付 ¥7.00，优惠 ¥3.00" in text and "无感支付" in text and "应付金额\n¥7.00" in text
    assert answer.open_barrier is False and exit_.openings == 1          # the relay, not the camera, lifts it
    assert answer.display == ("京D20261", "已缴费 4.00 元（优惠 3.00 元），一路顺风")
    assert answer.voice == "已缴费 4.00 元（优惠 3.00 元），一路顺风"
    tr.set_language("en")
    assert "Fee ¥7.00, ¥3.00 off" in screen.visible_text()
    assert window.screen_widget.view.message_en == "Paid 4.00 yuan (3.00 yuan off): have a good trip"
    tr.set_language("zh_CN")

    assert _wallet(park, cid) == 50_000 - 400
    exit_.sync()
    [stay] = park.sessions("京D20261")
    assert (stay["fee_fen"], stay["paid_fen"], stay["pay_kind"]) == (700, 700, "contactless")
