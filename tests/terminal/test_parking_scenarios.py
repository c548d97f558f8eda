"""Whole parking scenarios: real terminals (store files, Decider, sync engine, parking scene, relay
gate driver over its simulator) against the real backend process on loopback."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hardware.events import CodeScanned
from terminal.parking_attendant import AttendantError
from tests.terminal.parking_rig import PIN, START, CarPark

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def car_park(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One backend process for the module; each scenario uses its own plates and its own lanes."""
    with CarPark(tmp_path_factory.mktemp("car_park")) as shared:
        yield shared


@pytest.fixture
def park(car_park: CarPark) -> CarPark:
    if car_park.backend.proc is None:        # a scenario that stopped it and failed half-way
        car_park.backend.start()
    return car_park


def test_entry_at_lane_a_exit_at_lane_b_pays_by_qr(park: CarPark):
    entry, exit_ = park.lane("entry", "east-in"), park.lane("exit", "east-out")
    v = entry.handle(entry.read("京A12345", 0))
    assert v.phase == "entry_open" and entry.openings == 1
    exit_.sync()                                              # the exit lane pulls the entry
    v = exit_.handle(exit_.read("京A12345", 125))       # 2 h 05 min: 5.00 + 2.00 + 2.00
    assert (v.phase, v.fee_fen) == ("exit_quote", 900)
    assert v.qr_text and v.qr_text.startswith("weixin://") and exit_.openings == 0
    assert exit_.poll_payment().phase == "exit_quote"   # not paid yet: barrier stays down
    park.driver_pays(v.qr_text)
    v = exit_.poll_payment()
    assert (v.phase, v.pay_kind) == ("exit_paid", "qr") and exit_.openings == 1
    [s] = park.sessions("京A12345")
    assert (s["status"], s["fee_fen"], s["paid_fen"], s["pay_kind"]) == ("exited", 900, 900, "qr")


def test_member_leaves_free_and_a_pass_expiring_inside_pays_only_after_expiry(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    local_start = START.astimezone(SHANGHAI)
    park.put(f"/api/v1/sites/{park.site_id}/parking/members/京B22222",
             {"plan": "monthly", "valid_from": "2026-01-01", "valid_to": local_start.date().isoformat()})
    midnight = datetime.combine(local_start.date() + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    m = (midnight - START).total_seconds() / 60            # the pass ends this many minutes after START
    exit_.sync()
    entry.handle(entry.read("京B22222", m - 180))
    exit_.sync()
    v = exit_.handle(exit_.read("京B22222", m - 60))
    assert (v.phase, v.pay_kind, v.fee_fen) == ("exit_free", "member", 0) and exit_.openings == 1
    entry.handle(entry.read("京B22222", m - 30))
    exit_.sync()
    v = exit_.handle(exit_.read("京B22222", m + 70))  # 70 min after expiry: 5.00 + 2.00, not 100 min
    assert (v.phase, v.fee_fen) == ("exit_quote", 700)


def test_signed_plate_pays_contactless_online_and_offline(park: CarPark):
    park.driver("京C33333")
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京C33333", 0))
    exit_.sync()
    v = exit_.handle(exit_.read("京C33333", 61))       # 1 h 01 min: 5.00 + 2.00
    assert (v.phase, v.pay_kind, v.fee_fen) == ("exit_paid", "contactless", 700)
    assert not v.outcome.offline and exit_.openings == 1
    # second visit; the backend goes down before the car leaves
    entry.handle(entry.read("京C33333", 120))
    exit_.sync()
    park.backend.stop()
    v = exit_.handle(exit_.read("京C33333", 150))
    assert (v.phase, v.pay_kind, v.fee_fen) == ("exit_paid", "contactless", 500)
    assert v.outcome.offline and exit_.openings == 2
    park.backend.start()
    exit_.sync()
    stays = {s["session_id"]: s for s in park.sessions("京C33333")}
    assert sorted(s["paid_fen"] for s in stays.values()) == [500, 700]


def test_repeated_pushes_of_the_same_car_open_once_and_make_one_stay(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    read = entry.read("京D44444", 0)
    for _ in range(3):
        assert entry.handle(read).phase == "entry_open"
    assert entry.openings == 1
    exit_.sync()
    first = exit_.handle(exit_.read("京D44444", 90))
    again = exit_.handle(exit_.read("京D44444", 90.2))
    assert again.qr_text == first.qr_text                    # same order, same QR code
    park.driver_pays(first.qr_text)
    exit_.poll_payment()
    exit_.handle(exit_.read("京D44444", 91))
    assert exit_.openings == 1
    assert len(park.sessions("京D44444")) == 1


def test_misread_plate_corrected_by_the_attendant(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京E55555", 0))
    exit_.sync()
    v = exit_.handle(exit_.read("京E55556", 30))       # misread at the exit: no entry record
    assert v.phase == "exit_quote" and v.fee_fen == 5000
    with pytest.raises(AttendantError):
        exit_.correct_plate("000000", "京E55555")
    v = exit_.correct_plate(PIN, "京E55555")
    assert (v.plate, v.fee_fen) == ("京E55555", 500)
    v = exit_.open_free(PIN, "救护车 ambulance")
    assert (v.phase, v.pay_kind) == ("exit_free", "free_by_attendant") and exit_.openings == 1
    assert [e.action for e in exit_.store.audit.entries() if e.actor == "attendant"] == ["open_free", "correct_plate"]
    [s] = park.sessions("京E55555")
    assert s["flagged"] and "ambulance" in s["flag_reason"]


def test_backend_down_at_exit_without_signing_takes_a_pay_code_only_when_online(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京F66666", 0))
    exit_.sync()
    park.backend.stop()
    v = exit_.handle(exit_.read("京F66666", 45))
    assert v.phase == "exit_quote" and v.qr_text is None and "网络中断" in v.message_zh
    v = exit_.handle(CodeScanned(text="134567890123456789", kind="wechat", at=exit_.clock.now()))
    assert v.phase == "exit_quote" and exit_.openings == 0    # pay codes need the network
    park.backend.start()
    v = exit_.open_free(PIN, "network down, fee collected in cash")
    assert v.phase == "exit_free" and exit_.openings == 1


def test_entry_recorded_offline_is_synced_later_and_the_exit_finds_it(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    park.backend.stop()
    assert entry.handle(entry.read("京G77777", 0)).phase == "entry_open"   # offline entry still opens
    assert entry.openings == 1 and entry.scene.parking.queue_depth() == 1
    park.backend.start()
    entry.sync()
    assert entry.scene.parking.queue_depth() == 0
    exit_.sync()
    v = exit_.handle(exit_.read("京G77777", 100))
    assert v.fee_fen == 700 and v.entered_at is not None


def test_replayed_camera_records_never_open_a_barrier(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京H88888", 0, replayed=True))
    assert entry.openings == 0
    entry.sync()
    exit_.sync()
    exit_.handle(exit_.read("京H88888", 50, replayed=True))
    assert exit_.openings == 0
    [s] = park.sessions("京H88888")
    assert s["status"] == "inside"


def test_blacklisted_plate_is_refused_at_the_entry(park: CarPark):
    park.put(f"/api/v1/sites/{park.site_id}/parking/blacklist/京J99999", {"reason": "逃费 fee evasion"})
    entry = park.lane("entry", "in")
    v = entry.handle(entry.read("京J99999", 0))
    assert v.phase == "entry_refused" and entry.openings == 0


def test_renewal_paid_at_the_terminal_reaches_the_exit_lane(park: CarPark):
    from terminal.parking_renewal import RenewalError, start_renewal

    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    with pytest.raises(RenewalError):
        start_renewal(entry.store, entry.client, "京K10101", "yearly")
    order = start_renewal(entry.store, entry.client, "京K10101", "monthly")
    assert order.amount_fen == 30000 and order.status == "pending"
    park.driver_pays(order.qr_text)
    assert entry.client.order(order.order_id).status == "paid"
    # the pass starts today (the backend's local date): a stay from after local midnight until now
    now = datetime.now(SHANGHAI)
    entered = max(now - timedelta(minutes=50), datetime.combine(now.date(), time(0), tzinfo=SHANGHAI))
    entry.handle(entry.read("京K10101", (entered - START).total_seconds() / 60))
    exit_.sync()                                              # pulls the entry and the new pass
    v = exit_.handle(exit_.read("京K10101", (now - START).total_seconds() / 60))
    assert (v.phase, v.pay_kind) == ("exit_free", "member")


def test_lane_loop_opens_when_the_qr_order_is_paid_and_pushes_queued_events(park: CarPark):
    from terminal.parking_lane import ParkingLane

    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    park.backend.stop()
    entry.handle(entry.read("京L20202", 0))              # queued while the backend is down
    park.backend.start()
    ParkingLane(entry.scene, entry.output, push_every=1).tick()
    assert entry.scene.parking.queue_depth() == 0
    exit_.sync()
    loop = ParkingLane(exit_.scene, exit_.output)
    v = exit_.handle(exit_.read("京L20202", 30))
    loop.tick()
    assert exit_.scene.current_view().phase == "exit_quote" and exit_.openings == 0
    park.driver_pays(v.qr_text)
    loop.tick()
    assert exit_.scene.current_view().phase == "exit_paid" and exit_.openings == 1


def test_pay_code_at_the_exit_closes_the_qr_order_first(park: CarPark):
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京N30303", 0))
    exit_.sync()
    quote = exit_.handle(exit_.read("京N30303", 70))
    assert quote.phase == "exit_quote" and quote.qr_text
    poor = exit_.handle(CodeScanned(text="134567890123450000", kind="wechat", at=exit_.clock.now()))
    assert poor.phase == "exit_quote" and "余额不足" in poor.message_zh and exit_.openings == 0
    assert poor.qr_text and poor.qr_text != quote.qr_text      # the old order closed, a new QR code shown
    quote = poor
    v = exit_.handle(CodeScanned(text="134567890123456789", kind="wechat", at=exit_.clock.now()))
    assert (v.phase, v.pay_kind, v.fee_fen) == ("exit_paid", "paycode", 700) and exit_.openings == 1
    r = park.http.post("/api/v1/parking/channel-sim/pay", json={"qr_text": quote.qr_text})
    assert r.status_code == 409                                # the QR code can no longer be paid
    exit_.sync()
    [s] = park.sessions("京N30303")
    assert (s["pay_kind"], s["paid_fen"]) == ("paycode", 700)


def test_entry_lane_learns_of_an_exit_at_another_lane(park: CarPark):
    entry, exit_ = park.lane("entry", "in", repeat_entry="refuse"), park.lane("exit", "out")
    entry.handle(entry.read("京P40404", 0))
    exit_.sync()
    park.driver_pays(exit_.handle(exit_.read("京P40404", 50)).qr_text)
    exit_.poll_payment()
    exit_.sync()
    entry.sync()                                              # pulls the exit
    v = entry.handle(entry.read("京P40404", 120))       # back the same day: not "already inside"
    assert v.phase == "entry_open" and entry.openings == 2


def test_signed_plate_without_enough_money_gets_the_qr_code(park: CarPark):
    park.driver("京Q50505", wallet_fen=100)
    entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
    entry.handle(entry.read("京Q50505", 0))
    exit_.sync()
    v = exit_.handle(exit_.read("京Q50505", 61))
    assert v.phase == "exit_quote" and v.qr_text and v.outcome.status == "declined"
    assert exit_.openings == 0
