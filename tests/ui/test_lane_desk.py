"""A parking lane's desk behind the PIN: the car waiting at the exit, the attendant's actions on
it, the exits of the day; and the lane screen saying why a fallback fee is charged. A real
TerminalCore on a real store file, as an exit lane that cannot reach its backend."""
from __future__ import annotations


import pytest

from hardware.events import PlateRead
from terminal.app import TerminalCore
from tests.terminal.helpers import make_config, seeded_store
from tests.ui.helpers import show, unlock
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow


@pytest.fixture
def lane(tmp_path, clock):  # noqa: ANN001, ANN201
    config = make_config(tmp_path, scene="parking",
                         parking={"direction": "exit", "lane_id": 3, "lane_name": "东门出口"})
    core = TerminalCore(config, seeded_store(tmp_path, clock), clock)
    yield core
    core.store.close()


@pytest.fixture
def kiosk(qtbot, tr, lane):  # noqa: ANN001, ANN201
    window = show(qtbot, KioskWindow(CoreBridge(lane), tr, "parking"), (1280, 800))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)
    return window


def car(lane, plate: str) -> PlateRead:  # noqa: ANN001
    lane.clock.advance(60)
    return PlateRead(plate=plate, colour="blue", confidence=0.97, direction="out", at=lane.clock.now(),
                     camera="cam", image_ref=None)



def _desk_with_a_car_waiting(qtbot, kiosk, lane):  # noqa: ANN001, ANN202
    """京A12345 at the exit with no entry record, the PIN typed: the admin screen's lane desk."""
    lane.handle_event(car(lane, "京A12345"))
    unlock(qtbot, kiosk)
    return kiosk.admin.lane_tabs[0]

def test_the_lane_screen_names_the_lane_and_says_why_a_fallback_fee(qtbot, kiosk, lane) -> None:  # noqa: ANN001
    assert "出口 · 东门出口" in kiosk.screen_widget.visible_text()      # the name, not "3 号车道"
    lane.handle_event(car(lane, "京A12345"))                          # no entry record anywhere
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.phase == "exit_quote")
    text = kiosk.screen_widget.visible_text()
    assert "收费依据" in text and "无入场记录，按本停车场规定收费" in text and "¥50.00" in text
    kiosk.tr.toggle()
    assert "No entry record: the car park's fixed fee" in kiosk.screen_widget.visible_text()


def test_attendant_lets_the_waiting_car_out_free_and_the_exit_is_listed(qtbot, kiosk, lane) -> None:  # noqa: ANN001
    desk = _desk_with_a_car_waiting(qtbot, kiosk, lane)
    assert kiosk.admin.tabs.currentWidget() is desk and kiosk.admin.tabs.tabText(0) == "车道"
    qtbot.waitUntil(lambda: "京A12345" in desk.waiting.text())
    assert "¥50.00" in desk.waiting.text() and "无入场记录" in desk.waiting.text()

    desk.free_button.click()                                          # no reason: refused on the spot
    assert desk.result.text() == "请先填写原因"
    desk.reason.setText("救护车")
    desk.free_button.click()
    qtbot.waitUntil(lambda: desk.result.text().startswith("已处理"))
    assert "管理员放行" in desk.result.text()
    assert lane.current_view().phase == "exit_free"
    qtbot.waitUntil(lambda: desk.exits.rowCount() == 1)
    row = desk.exits.texts()[0]
    assert row[1] == "京A12345" and row[2] == "¥50.00" and row[3] == "¥0.00"
    assert "值班员放行" in row[4] and "救护车" in row[4] and row[5] == "待上传"
    assert desk.waiting.text() == "出口没有待处理的车辆" and not desk.free_button.isEnabled()


def test_attendant_corrects_a_misread_plate(qtbot, kiosk, lane) -> None:  # noqa: ANN001
    desk = _desk_with_a_car_waiting(qtbot, kiosk, lane)
    desk.plate.setText("京B54321")
    desk.correct_button.click()
    qtbot.waitUntil(lambda: "京B54321" in desk.waiting.text())
    assert lane.current_view().plate == "京B54321"
    desk.plate.setText("not a plate")
    desk.correct_button.click()
    qtbot.waitUntil(lambda: desk.result.text() not in ("", "正在处理，请稍候…") and not desk.result.text().startswith("已处理"))
    assert lane.current_view().plate == "京B54321"                     # refused in words, nothing changed


def test_review_keeps_the_car_waiting_and_renewal_needs_the_network(qtbot, kiosk, lane) -> None:  # noqa: ANN001
    desk = _desk_with_a_car_waiting(qtbot, kiosk, lane)
    desk.reason.setText("车牌污损")
    desk.review_button.click()
    qtbot.waitUntil(lambda: desk.result.text() == "已处理：已转人工审核，车辆仍在等待")
    assert lane.current_view().phase == "exit_quote"
    renewal = kiosk.admin.lane_tabs[1]
    assert kiosk.admin.tabs.tabText(1) == "会员续费"
    assert renewal.state.text() == "本停车场暂无可续费的会员套餐" and not renewal.start_button.isEnabled()


def test_a_canteen_admin_screen_has_no_lane_desk(qtbot, tr, core) -> None:  # noqa: ANN001
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    assert window.admin.lane_tabs == [] and window.admin.tabs.tabText(0) == "今日流水"


def test_the_lane_name_comes_from_registration_when_the_config_has_none(qtbot, tr, tmp_path, clock) -> None:  # noqa: ANN001
    from terminal.store import Identity

    store = seeded_store(tmp_path, clock)
    store.save_identity(Identity(terminal_id=7, merchant_id=1, site_id=1, lane_id=3, scene="parking", name="终端",
                                 registered_at=None, lane_name="西门出口", lane_direction="exit"),
                        device_key=b"k" * 32, card_hash_key=b"c" * 32)
    core = TerminalCore(make_config(tmp_path, scene="parking", parking={"direction": "exit", "lane_id": 3}),
                        store, clock)
    try:
        window = show(qtbot, KioskWindow(CoreBridge(core), tr, "parking"), (1280, 800))
        window.bridge.attach()
        qtbot.waitUntil(lambda: window.screen_widget.view is not None)
        assert "出口 · 西门出口" in window.screen_widget.visible_text()
    finally:
        store.close()


def test_renewal_offers_the_plans_and_shows_the_order_qr(qtbot, tr) -> None:  # noqa: ANN001
    from ui import showcase

    port = showcase.ShowcasePort(showcase.parking_views()["idle"], desk=showcase.ShowcaseDesk())
    window = show(qtbot, KioskWindow(CoreBridge(port), tr, "parking"), (1280, 800))
    window.open_admin()
    for key in showcase.ShowcasePort.PIN + "k":
        window.pin.press("ok" if key == "k" else key)
    qtbot.waitUntil(window.bridge.idle)
    renewal = window.admin.lane_tabs[1]
    assert [renewal.plan.itemText(i) for i in range(renewal.plan.count())] == ["1 个月 ¥300.00", "3 个月 ¥800.00"]
    assert renewal.state.text() == "" and renewal.start_button.isEnabled()
    renewal.start()
    assert renewal.state.text() == "请先输入正确的车牌"
    renewal.plate.setText("京A12345")
    renewal.start()
    qtbot.waitUntil(lambda: renewal.state.text() == "请车主扫码支付 ¥300.00")
    assert renewal.qr.pixmap() is not None and not renewal.qr.pixmap().isNull() and renewal.poll.isActive()
    window.admin.leave_button.click()
    assert not renewal.poll.isActive()              # leaving the admin screens stops asking
