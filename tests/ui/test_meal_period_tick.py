"""The canteen screen follows the meal periods by itself: a kiosk started before breakfast opens
at 06:30 and closes at 09:00 without a restart. Time moves on the injected ManualClock; the
runner's loop (terminal/runner.py) calls `core.tick()` about once a second, as this test does."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.clock import ManualClock
from terminal.app import TerminalCore
from tests.terminal.helpers import make_config, seeded_store
from tests.ui.helpers import show
from ui.bridge import CoreBridge
from ui.kiosk import KioskWindow

SHANGHAI_0600 = datetime(2026, 3, 1, 22, 0, tzinfo=timezone.utc)   # Monday 06:00 in Shanghai


@pytest.fixture
def kiosk(qtbot, tr, tmp_path):  # noqa: ANN001, ANN201
    """The canteen kiosk started at 06:00, before breakfast: (clock, core, screen)."""
    clock = ManualClock(SHANGHAI_0600)
    core = TerminalCore(make_config(tmp_path), seeded_store(tmp_path, clock), clock)
    try:
        window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
        window.bridge.attach()
        screen = window.screen_widget
        qtbot.waitUntil(lambda: screen.view is not None)
        yield clock, core, screen
    finally:
        core.store.close()


def test_the_screen_opens_and_closes_with_the_meal_period_without_a_restart(qtbot, kiosk) -> None:  # noqa: ANN001
    clock, core, screen = kiosk
    assert screen.view.phase == "closed"
    core.tick()                                   # nothing changed: the screen stays closed
    clock.advance(minutes=30)                     # 06:30: breakfast opens
    assert core.tick() is True
    qtbot.waitUntil(lambda: screen.view.phase == "idle")
    assert screen.view.meal_period.code == "breakfast" and "早餐" in screen.visible_text()
    clock.advance(minutes=10)
    assert core.tick() is False                   # still breakfast: no new view to draw
    clock.advance(hours=2, minutes=20)            # 09:00: breakfast closes
    assert core.tick() is True
    qtbot.waitUntil(lambda: screen.view.phase == "closed")
    assert "早餐" not in screen.visible_text()


def test_the_closed_screen_says_which_meal_opens_next_and_when(qtbot, tr, kiosk) -> None:  # noqa: ANN001
    clock, core, screen = kiosk
    assert "下一餐：早餐 06:30 开始" in screen.visible_text()
    clock.advance(hours=3)                        # 09:00: breakfast has closed
    core.tick()
    qtbot.waitUntil(lambda: "下一餐：午餐 11:00 开始" in screen.visible_text())
    tr.set_language("en")
    assert "Next: Lunch from 11:00" in screen.visible_text()
