"""The admin screen's shift tab with the real backend process behind the terminal: offline the
shift closes and says the backend check is pending with a "check again" button; a payment the
backend cannot take is listed in the backend's words; once it is in, the check agrees."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from tests.sync.faults import FaultTransport
from tests.sync.rig import Canteen
from tests.ui.helpers import show, showcase_admin, unlock
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow


def _close_confirmed(admin) -> None:  # noqa: ANN001
    admin.shift_button.click()      # the running totals, and "confirm"
    admin.shift_button.click()      # confirmed: the shift is closed and checked with the backend


def _kiosk(qtbot, tr, core) -> KioskWindow:  # noqa: ANN001
    kiosk = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    kiosk.bridge.attach()
    return kiosk


@contextmanager
def _closed_offline(qtbot, kiosk, canteen, term, cid: int, fen: int, shown: str) -> Iterator[None]:  # noqa: ANN001
    """With the backend down: pay `fen` offline, close the shift on the admin screen and wait until
    it shows `shown`; the body runs still offline, and the backend comes back after it."""
    canteen.backend.stop()
    try:
        assert term.pay(cid, fen).offline
        unlock(qtbot, kiosk)
        kiosk.admin.tabs.setCurrentIndex(3)
        _close_confirmed(kiosk.admin)
        qtbot.waitUntil(lambda: shown in kiosk.admin.shift_text.text(), timeout=15000)
        yield
    finally:
        canteen.backend.start()


@pytest.fixture(scope="module")
def canteen(tmp_path_factory):  # noqa: ANN001, ANN201
    site = Canteen(tmp_path_factory.mktemp("backend"))
    yield site
    site.close()


def test_shift_tab_shows_the_pending_check_the_differences_and_then_agreement(qtbot, tr, tmp_path,
                                                                              canteen) -> None:  # noqa: ANN001
    cid = canteen.diner()
    faults = FaultTransport()
    term = canteen.terminal(tmp_path / "t", transport=faults)
    core = canteen.core(term)
    kiosk = _kiosk(qtbot, tr, core)
    admin = kiosk.admin
    try:
        with _closed_offline(qtbot, kiosk, canteen, term, cid, 650, "合计"):
            pass                                    # what it says is checked with the backend back
        assert "后台核对未完成" in admin.shift_text.text() and "重新核对" in admin.shift_text.text()
        assert admin.recheck_button.isVisible()

        faults.plan("/terminal/sync/push", "500", times=2)     # the backend cannot take the payment yet
        admin.recheck_button.click()
        qtbot.waitUntil(lambda: "后台核对：" in admin.shift_text.text(), timeout=15000)
        text = admin.shift_text.text()
        assert "发现 2 处不一致" in text and "这笔支付还在终端队列中，请立即上传" in text
        assert "刷脸：终端 ¥6.50，后台 ¥0.00" in text and "（刷脸支付 " in text and not admin.recheck_button.isVisible()
        tr.set_language("en")
        assert "2 differences" in admin.shift_text.text()
        assert "still in the terminal's queue" in admin.shift_text.text()
        tr.set_language("zh_CN")

        # The payment goes in (the second planned 500 may still be ahead: push until the queue is empty).
        qtbot.waitUntil(lambda: core.sync_now().queue_depth == 0, timeout=30000)
        _close_confirmed(admin)                              # the next shift: nothing taken
        # A bound, not a speed check: on a loaded two-worker CI run the close and its check took >15 s.
        qtbot.waitUntil(lambda: "后台核对：一致" in admin.shift_text.text(), timeout=45000)
        assert "刷脸" not in admin.shift_text.text() and "尚未上传" not in admin.shift_text.text()
    finally:
        kiosk.close()
        term.close()


@pytest.mark.parametrize("size", [(800, 480), (1920, 1080)])
def test_a_shift_with_many_differences_still_fits_the_screen(qtbot, tr, size) -> None:  # noqa: ANN001
    from dataclasses import replace

    from terminal.state import ShiftDifferenceRow
    from tests.ui.test_layout_fits import clipped_labels
    from ui import showcase

    window = showcase_admin(qtbot, tr, size)
    missing = [ShiftDifferenceRow(kind="not_booked", payment_id=f"{i:08x}-0000-4000-8000-000000000000",
                                  method="face", terminal_fen=1200,
                                  message_zh="终端记录的这笔支付后台没有，请联系运营核查",
                                  message_en="The terminal took this payment but the backend has none: call the operator")
               for i in range(9)]
    window.admin._show_shift(replace(showcase.shift_totals(), backend_checked=True, differences=missing,  # noqa: SLF001
                                     pushed_for_check=1))
    window.admin.tabs.setCurrentIndex(3)
    for language, more in (("zh_CN", "另有 3 处"), ("en", "3 more")):
        tr.set_language(language)
        qtbot.wait(1)
        assert more in window.admin.shift_text.text()
        assert clipped_labels(window) == [], language


def test_a_shift_closed_offline_is_checked_by_itself_once_the_backend_answers(qtbot, tr, tmp_path,
                                                                              canteen) -> None:  # noqa: ANN001
    cid = canteen.diner()
    term = canteen.terminal(tmp_path / "t")
    core = canteen.core(term)
    kiosk = _kiosk(qtbot, tr, core)
    admin = kiosk.admin
    try:
        with _closed_offline(qtbot, kiosk, canteen, term, cid, 480, "后台核对未完成"):
            assert "自动核对" in admin.shift_text.text()
            assert core.recheck_pending_shift() is not None and admin.recheck_button.isVisible()   # still offline
        core.sync_now()                 # what the background sync does after a good cycle: nobody presses anything
        qtbot.waitUntil(lambda: "后台核对：一致" in admin.shift_text.text(), timeout=15000)
        assert "¥4.80" in admin.shift_text.text() and not admin.recheck_button.isVisible()
        assert core.recheck_pending_shift() is None                          # checked once, not again and again
        assert [e.action for e in term.store.audit.entries()].count("auto_recheck_shift") == 2
    finally:
        kiosk.close()
