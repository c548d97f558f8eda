"""The kiosk on a real TerminalCore: views arrive from the core's thread, the screen follows."""
from __future__ import annotations

import threading

import pytest

from hardware.events import FaceMatched


def _from_core_thread(fn) -> None:  # noqa: ANN001
    """Device events reach the core on its own thread, as in the running terminal."""
    worker = threading.Thread(target=fn)
    worker.start()
    worker.join()


def test_idle_screen_shows_the_meal_period_from_the_core(kiosk) -> None:  # noqa: ANN001
    text = kiosk.screen_widget.visible_text()
    assert "请看摄像头" in text and "午餐" in text and "¥12.00" in text


def test_face_payment_from_the_core_thread_shows_paid_then_idle(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    _from_core_thread(lambda: core.handle_event(FaceMatched(customer_id=101, distance=0.3, margin=0.2,
                                                            liveness="passed", at=clock.now())))
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.phase == "paid")
    text = kiosk.screen_widget.visible_text()
    # diner 101: 800 subsidy (capped at 600 per meal) + own account
    assert "支付成功" in text and "¥12.00" in text and "补贴支付 ¥6.00" in text and "个人账户支付 ¥6.00" in text
    assert "补贴余额 ¥2.00" in text and "个人余额 ¥14.00" in text
    assert kiosk.banner.isVisible() and "待上传 1 笔" in kiosk.banner.text()   # no backend: queued offline
    kiosk.outcome_timer.setInterval(0)          # the 4 s display time, shortened for the test
    kiosk.outcome_timer.start()
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.phase == "idle")


def test_rejected_face_and_repeat_are_worded_for_the_diner(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    _from_core_thread(lambda: core.handle_event(FaceMatched(customer_id=102, distance=0.3, margin=0.2,
                                                            liveness="passed", at=clock.now())))
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.phase == "declined")
    assert "未能支付" in kiosk.screen_widget.visible_text()
    assert "余额" in kiosk.screen_widget.visible_text()
    _from_core_thread(lambda: core.handle_event(FaceMatched(customer_id=101, distance=0.3, margin=0.2,
                                                            liveness="passed", at=clock.now())))
    _from_core_thread(lambda: core.handle_event(FaceMatched(customer_id=101, distance=0.3, margin=0.2,
                                                            liveness="passed", at=clock.now())))
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.phase == "already_paid")
    assert "这一餐已经付过了" in kiosk.screen_widget.visible_text()
    assert "12:00" in kiosk.screen_widget.visible_text()     # local time of the earlier payment


def test_cashier_keys_in_the_amount_of_a_meal_priced_at_the_window(qtbot, kiosk, core, clock) -> None:  # noqa: ANN001
    assert not kiosk.amount_button.isVisible()             # lunch has a fixed price
    clock.advance(hours=9, minutes=30)                     # 21:30 in Shanghai: the late meal
    core.clear_outcome()                                   # the core publishes its current view
    qtbot.waitUntil(lambda: "窗口正在输入金额" in kiosk.screen_widget.visible_text())
    assert kiosk.amount_button.isVisible() and kiosk.amount_button.text() == "输入金额"
    kiosk.amount_button.click()
    pad = kiosk.amount
    pad.press(".")
    pad.confirm.click()
    assert pad.error.text().startswith("金额不对")
    for key in ("clear", "1", "5", ".", "5", "0", "9"):    # a third decimal is not taken
        pad.press(key)
    assert pad.entry.text() == "¥15.50"
    pad.confirm.click()
    qtbot.waitUntil(lambda: kiosk.stack.currentWidget() is kiosk.screen_widget)
    qtbot.waitUntil(lambda: "¥15.50" in kiosk.screen_widget.visible_text())
    _from_core_thread(lambda: core.handle_event(FaceMatched(customer_id=101, distance=0.3, margin=0.2,
                                                            liveness="passed", at=clock.now())))
    # nine hours later the cached balances are too old to pay offline: the decision is on the
    # keyed amount and the diner is told where to go
    qtbot.waitUntil(lambda: kiosk.screen_widget.view.outcome is not None)
    assert kiosk.screen_widget.view.outcome.amount_fen == 1550
    assert "人工窗口" in kiosk.screen_widget.visible_text()


def test_safe_mode_says_what_is_wrong_and_offers_the_wizard(qtbot, tr, tmp_path) -> None:  # noqa: ANN001
    from terminal.config import ConfigError, load_config
    from ui.kiosk import SafeModeWindow
    from tests.ui.helpers import services, show

    bad = tmp_path / "terminal.yaml"
    bad.write_text("scene: canteen\nbackend_url: pay.example.cn\nadmin_pin_hash: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(bad, environ={})
    problem = str(refused.value)
    window = show(qtbot, SafeModeWindow(tr, problem, setup=lambda: services(tmp_path, None)))
    assert "backend_url" in window.detail.text() and "暂不能收款" in window.title.text()
    window.wizard_button.click()
    assert window.stack.currentWidget() is window.wizard
    assert window.wizard.current() is window.wizard.scene_page


def test_wizard_reopened_from_admin_and_language_switched_after(qtbot, tr, core, tmp_path) -> None:  # noqa: ANN001
    from tests.ui.helpers import services, show
    from ui.bridge import CoreBridge
    from ui.kiosk import KioskWindow

    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen",
                                     setup=lambda: services(tmp_path, core.store)))
    window.open_wizard()
    gone: list[bool] = []
    window.wizard.destroyed.connect(lambda *_: gone.append(True))
    window.open_wizard()
    qtbot.waitUntil(lambda: bool(gone))           # the first wizard is deleted by Qt
    tr.toggle()                                   # must not reach the deleted wizard
    assert window.wizard.heading.text() == "Choose the scene"
    assert window.title.text() == "Smart canteen · pay by face"
