"""The parking lane screen: plate, times, fee, how it is paid, and the QR code when payment is due."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtGui import QImage

from ui import showcase
from ui.parking import ParkingScreen
from tests.ui.helpers import UI_DATA, show

PLATE_PHOTO = str(UI_DATA / "plate-wan-A195K9.jpg")
VIEWS = showcase.parking_views(PLATE_PHOTO)


@pytest.fixture
def screen(qtbot, tr):  # noqa: ANN001, ANN201
    return show(qtbot, ParkingScreen(tr), (1920, 1080))


def test_exit_quote_shows_plate_times_fee_and_a_readable_qr(screen) -> None:
    screen.render(VIEWS["exit_quote"])
    text = screen.visible_text()
    assert "皖A195K9" in text and "出口 · 2 号车道" in text
    assert "2026-11-25 09:46" in text and "2 小时 17 分" in text and "¥15.00" in text
    assert "请扫码缴费" in text and "微信、支付宝扫一扫" in text
    assert screen.has_qr()
    # the QR on screen decodes to the exit order (read back with the project's code reader)
    from pyzbar.pyzbar import decode
    import numpy as np

    image = screen.qr.pixmap().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    assert [d.data.decode() for d in decode(pixels[:, : image.width()].copy())] == [VIEWS["exit_quote"].qr_text]


def test_plate_photo_is_shown(screen) -> None:
    screen.render(VIEWS["exit_quote"])
    assert screen.image.pixmap() is not None and not screen.image.pixmap().isNull()
    screen.render(replace(VIEWS["exit_quote"], image_ref="/nonexistent/plate.jpg"))
    assert screen.image.text() == "无车牌图片"


@pytest.mark.parametrize("name, words", [
    ("exit_contactless", ["支付成功", "无感支付", "¥15.00"]),
    ("exit_member", ["免费通行", "月卡车辆"]),
    ("barrier_opening", ["道闸开启，请通行"]),
    ("exit_refused", ["暂不能出场", "没有找到入场记录", "值班员"]),
    ("entry_open", ["入口", "欢迎入场", "皖A195K9"]),
    ("idle", ["欢迎光临"]),
])
def test_each_lane_state_says_what_happens(screen, name, words) -> None:  # noqa: ANN001
    screen.render(VIEWS[name])
    text = screen.visible_text()
    for word in words:
        assert word in text
    assert not screen.has_qr()   # only a quote needs the QR


def test_english_lane_screen(screen, tr) -> None:  # noqa: ANN001
    screen.render(VIEWS["exit_quote"])
    tr.set_language("en")
    text = screen.visible_text()
    assert "Exit · Lane 2" in text and "2 h 17 min" in text and "Scan to pay" in text
    assert screen.has_qr()


@pytest.mark.parametrize("qr_text, apps", [
    ("weixin://wxpay/bizpayurl?pr=abc123", "请用微信扫一扫"),
    ("https://qr.alipay.com/bax01234567890", "请用支付宝扫一扫"),
    ("https://qr.95516.com/00010000/0112345678901234567890", "请用云闪付或银行App扫一扫"),
])
def test_the_screen_names_the_apps_that_can_pay_this_qr(screen, qr_text: str, apps: str) -> None:  # noqa: ANN001
    screen.render(replace(VIEWS["exit_quote"], qr_text=qr_text))
    text = screen.visible_text()
    assert apps in text and "也可出示付款码" in text and screen.has_qr()
    others = {"微信", "支付宝", "云闪付"} - {w for w in ("微信", "支付宝", "云闪付") if w in apps}
    assert not any(f"请用{o}" in text for o in others)


def test_the_aggregate_qr_names_every_app_and_stays_readable(screen, tr) -> None:  # noqa: ANN001
    """channels.qr = aggregate: one https code of the backend that WeChat, Alipay, UnionPay QuickPass
    and mobile banking all open; the screen names them all (zh, then en) and the longer URL still
    decodes from the screen."""
    from pyzbar.pyzbar import decode
    import numpy as np

    view = VIEWS["exit_quote_aggregate"]
    screen.render(view)
    assert "微信、支付宝、云闪付或手机银行扫码" in screen.visible_text() and "也可出示付款码" in screen.visible_text()
    image = screen.qr.pixmap().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    assert [d.data.decode() for d in decode(pixels[:, : image.width()].copy())] == [view.qr_text]
    tr.set_language("en")
    assert "WeChat, Alipay, UnionPay QuickPass or mobile banking" in screen.visible_text()


def test_a_qr_payment_says_it_was_paid_by_qr_in_both_languages(qtbot) -> None:  # noqa: ANN001
    from ui.i18n import Translator

    paid_by_qr = replace(VIEWS["exit_contactless"], pay_kind="qr")
    english = show(qtbot, ParkingScreen(Translator("en")), (1920, 1080))
    english.render(paid_by_qr)
    assert "Paid by QR" in english.visible_text()
    assert "Scan the QR code" not in english.visible_text()   # the car has paid: nothing left to scan
    chinese = show(qtbot, ParkingScreen(Translator()), (1920, 1080))
    chinese.render(paid_by_qr)
    assert "已扫码支付" in chinese.visible_text()
