"""UI tests run offscreen (tests/conftest.py sets QT_QPA_PLATFORM) with the project's CJK font."""
from __future__ import annotations

import pytest

from terminal.app import TerminalCore
from core.clock import ManualClock
from tests.terminal.helpers import make_config, seeded_store
from tests.ui.helpers import show
from ui import theme
from ui.bridge import CoreBridge
from ui.i18n import Translator
from ui.kiosk import KioskWindow


@pytest.fixture(scope="session")
def qapp(qapp):  # noqa: ANN001, ANN201 - pytest-qt's application, with our font installed once
    theme.install_font(qapp)
    return qapp


@pytest.fixture
def tr() -> Translator:
    return Translator()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def core(tmp_path, clock) -> TerminalCore:  # noqa: ANN001
    """A real TerminalCore on a real store file: registered, one site's rules, diners 101 and 102."""
    core = TerminalCore(make_config(tmp_path), seeded_store(tmp_path, clock), clock)
    yield core
    core.store.close()


@pytest.fixture
def kiosk(qtbot, tr, core):  # noqa: ANN001, ANN201
    """The canteen kiosk on that core, showing its first view."""
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)
    return window
