"""The kiosk's 4-digit check screen on a real core: a close face call (real photos' candidates)
opens the keypad; the diner's digits pay, three wrong tries refuse. zh first, en available."""
from __future__ import annotations

from PySide6.QtCore import Qt

from tests.terminal.test_face_confirm import close_call, sync_check


def press(qtbot, screen, digits: str) -> None:  # noqa: ANN001
    for key in digits:
        qtbot.mouseClick(screen.keys[key], Qt.MouseButton.LeftButton)


def test_a_close_call_opens_the_digit_screen_and_the_right_digits_pay(qtbot, kiosk, tr):  # noqa: ANN001
    core, canteen = kiosk.bridge.core, kiosk.screen_widget
    sync_check(core.store)
    core.handle_event(close_call(core))
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.digits)
    assert "请输入手机号后四位" in canteen.visible_text() and "○ ○ ○ ○" in canteen.visible_text()
    tr.set_language("en")
    qtbot.waitUntil(lambda: "Key the last 4 digits of your phone" in canteen.visible_text())
    tr.set_language("zh_CN")
    press(qtbot, canteen.digits, "12")
    assert "● ● ○ ○" in canteen.visible_text()
    press(qtbot, canteen.digits, "34")                  # the fourth digit sends them
    qtbot.waitUntil(lambda: canteen.view is not None and canteen.view.phase == "paid", timeout=5000)
    assert canteen.right.currentWidget() is canteen.card and "张*三" in canteen.visible_text()


def test_three_wrong_tries_on_the_keypad_refuse(qtbot, kiosk):  # noqa: ANN001
    core, canteen = kiosk.bridge.core, kiosk.screen_widget
    sync_check(core.store)
    core.handle_event(close_call(core))
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.digits)
    press(qtbot, canteen.digits, "0000")
    qtbot.waitUntil(lambda: "还可以再试 2 次" in canteen.visible_text())
    press(qtbot, canteen.digits, "0001")
    qtbot.waitUntil(lambda: "还可以再试 1 次" in canteen.visible_text())
    press(qtbot, canteen.digits, "0002")
    qtbot.waitUntil(lambda: canteen.view.phase == "declined", timeout=5000)
    assert "手机号后四位核对未通过" in canteen.visible_text()
    assert core.store.outbox.queue_depth() == 0


def test_back_on_the_digit_screen_ends_the_check_without_paying(qtbot, kiosk):  # noqa: ANN001
    core, canteen = kiosk.bridge.core, kiosk.screen_widget
    sync_check(core.store)
    core.handle_event(close_call(core))
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.digits)
    qtbot.mouseClick(canteen.digits.back, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.card)
    results = [e.detail["result"] for e in core.store.audit.entries(action="face_confirm_try")]
    assert results == ["cancelled"]


def test_a_diner_who_walks_away_from_the_keypad_is_not_left_on_it(qtbot, kiosk):  # noqa: ANN001
    core, canteen = kiosk.bridge.core, kiosk.screen_widget
    canteen.digits.idle.setInterval(200)                 # 30 s on the kiosk
    sync_check(core.store)
    core.handle_event(close_call(core))
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.digits)
    qtbot.waitUntil(lambda: canteen.right.currentWidget() is canteen.card, timeout=5000)
    assert [e.detail["result"] for e in core.store.audit.entries(action="face_confirm_try")] == ["cancelled"]
    assert core.current_view().phase != "confirm"
