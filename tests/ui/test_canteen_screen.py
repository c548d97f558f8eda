"""The canteen gate screen shows what a diner needs to read, for every phase of a payment."""
from __future__ import annotations

from dataclasses import replace

import pytest

from terminal.state import CanteenView, SyncStatus
from ui import showcase
from ui.bridge import CoreBridge
from ui.canteen import CanteenScreen
from ui.kiosk import KioskWindow
from tests.ui.helpers import show

VIEWS = showcase.canteen_views()


@pytest.fixture
def screen(qtbot, tr):  # noqa: ANN001, ANN201
    return show(qtbot, CanteenScreen(tr))


def test_idle_asks_to_look_at_the_camera_with_meal_and_price(screen) -> None:
    screen.render(VIEWS["idle"])
    text = screen.visible_text()
    assert "请看摄像头" in text and "午餐" in text and "¥12.00" in text
    assert "付款码" in text   # the other ways to pay are offered


def test_idle_without_a_fixed_price_waits_for_the_keyed_amount(screen) -> None:
    screen.render(VIEWS["idle_keyed"])
    assert "窗口正在输入金额" in screen.visible_text()
    screen.render(replace(VIEWS["idle_keyed"], keyed_amount_fen=1550))
    assert "¥15.50" in screen.visible_text()


def test_recognising_shows_the_liveness_prompt(screen) -> None:
    screen.render(VIEWS["recognising"])
    assert "请眨眨眼" in screen.visible_text()


def test_paid_shows_masked_name_amount_split_and_balances(screen) -> None:
    screen.render(VIEWS["paid_face"])
    text = screen.visible_text()
    assert "支付成功" in text and "张*三" in text and "¥12.00" in text
    assert "补贴支付 ¥8.00" in text and "个人账户支付 ¥4.00" in text
    assert "补贴余额 ¥16.00" in text and "个人余额 ¥56.30" in text
    assert "张三" not in text   # never the full name


@pytest.mark.parametrize("name, method_words", [("paid_card_offline", "已离线记账"), ("paid_paycode", "付款码")])
def test_card_and_pay_code_payments_show_the_same_outcome(screen, name, method_words) -> None:  # noqa: ANN001
    screen.render(VIEWS[name])
    text = screen.visible_text()
    assert "支付成功" in text and "¥12.00" in text and method_words in text


def test_declined_says_why_and_what_to_do(screen) -> None:
    screen.render(VIEWS["declined"])
    text = screen.visible_text()
    assert "未能支付" in text and "余额不足" in text and "充值" in text


def test_face_rejection_codes_are_worded_by_the_screen(screen) -> None:
    outcome = replace(VIEWS["declined"].outcome, reason="spoof", message_zh="", message_en="")
    screen.render(replace(VIEWS["declined"], outcome=outcome))
    assert "活体检测" in screen.visible_text()
    outcome = replace(outcome, reason="a_code_nobody_knows")
    screen.render(replace(VIEWS["declined"], outcome=outcome))
    assert "请联系工作人员" in screen.visible_text()


def test_already_paid_says_when(screen) -> None:
    screen.render(VIEWS["already_paid"])
    text = screen.visible_text()
    assert "已经付过" in text and "11:49" in text and "无需再付" in text


def test_closed_and_broken_views_do_not_crash(screen) -> None:
    screen.render(VIEWS["closed"])
    assert "暂停服务" in screen.visible_text()
    screen.render(CanteenView("paid", None, SyncStatus(online=True)))   # a paid view without outcome
    assert "现在不是供餐时间" in screen.visible_text()


def test_language_switch_rerenders_the_current_view(screen, tr) -> None:  # noqa: ANN001
    screen.render(VIEWS["paid_face"])
    tr.set_language("en")
    text = screen.visible_text()
    assert "Paid" in text and "From subsidy ¥8.00" in text and "张*三" in text
    assert "支付成功" not in text
    tr.toggle()
    assert "支付成功" in screen.visible_text()


def test_offline_banner_shows_queue_depth_and_goes_away_online(qtbot, tr) -> None:  # noqa: ANN001
    port = showcase.ShowcasePort(VIEWS["idle"])
    window = show(qtbot, KioskWindow(CoreBridge(port), tr, "canteen"))
    window.bridge.attach()
    port.publish(VIEWS["paid_card_offline"])
    qtbot.waitUntil(lambda: window.banner.isVisible())
    assert window.banner.text() == "离线模式 · 待上传 7 笔"
    assert "欧**明" in window.screen_widget.visible_text()
    port.publish(VIEWS["idle"])
    qtbot.waitUntil(lambda: not window.banner.isVisible())


def test_banner_warns_of_clock_skew(qtbot, tr) -> None:  # noqa: ANN001
    from ui.widgets import OfflineBanner

    banner = OfflineBanner(tr)
    qtbot.addWidget(banner)
    banner.show_status(SyncStatus(online=True, clock_skew_s=-95.2))
    assert "95" in banner.text() and "校时" in banner.text()


@pytest.mark.parametrize("size", [(800, 480), (1920, 1080)])
def test_paid_screen_fits_both_kiosk_sizes(qtbot, tr, size) -> None:  # noqa: ANN001
    window = show(qtbot, KioskWindow(CoreBridge(showcase.ShowcasePort()), tr, "canteen"), size)
    window.screen_widget.render(VIEWS["paid_face"])
    qtbot.wait(10)
    card = window.screen_widget.card
    assert window.size().width() == size[0] and window.size().height() == size[1]
    for label in (window.screen_widget.amount, window.screen_widget.detail, window.screen_widget.name):
        bottom = label.mapTo(card, label.rect().bottomLeft()).y()
        assert bottom <= card.height(), f"{label.text()!r} is cut off at {size}"


def test_things_that_are_not_views_are_ignored(qtbot, tr) -> None:  # noqa: ANN001
    port = showcase.ShowcasePort(VIEWS["paid_face"])
    window = show(qtbot, KioskWindow(CoreBridge(port), tr, "canteen"))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)
    shown = window.screen_widget.visible_text()
    assert "张*三" in shown
    for junk in (None, "paid", {"phase": "paid"}, 42, VIEWS):
        port.publish(junk)
    assert window.screen_widget.visible_text() == shown            # the diner's screen stays as it was
    port.publish(VIEWS["declined"])                                # and the next real view still shows
    qtbot.waitUntil(lambda: window.screen_widget.view == VIEWS["declined"])
    assert VIEWS["declined"].outcome.message_zh in window.screen_widget.visible_text()


def test_without_a_face_camera_there_is_no_face_oval_and_no_look_at_the_camera(qtbot, tr) -> None:  # noqa: ANN001
    from terminal.state import CanteenView, MealPeriodView, SyncStatus
    from ui.canteen import CanteenScreen

    screen = show(qtbot, CanteenScreen(tr))
    screen.render(CanteenView("idle", MealPeriodView("lunch", "午餐", "Lunch", 1200), SyncStatus(online=True)))
    assert screen.preview.isVisible() and "请看摄像头" in screen.visible_text()
    screen.set_camera(False)
    assert not screen.preview.isVisible()
    text = screen.visible_text()
    assert "请看摄像头" not in text and "请出示付款码或刷卡" in text and "¥12.00" in text
