"""The installer wizard as its own window, for a terminal that has no usable config yet (first
install, or a config the kiosk refused): `gatepay terminal setup --config terminal.yaml`.

Only the screen: the command composes the wizard's services (terminal/installer/services.py:
the store registration writes to, the config file to save) and hands them here.
"""
from __future__ import annotations

import sys
from typing import Callable

from PySide6.QtWidgets import QApplication

from terminal.installer.results import SetupServices
from ui import theme
from ui.i18n import Translator
from ui.keyboard import KeyboardHost
from ui.wizard import InstallerWizard


def run_setup(setup: Callable[[], SetupServices], language: str = "zh_CN", fullscreen: bool = True) -> int:
    """Show the wizard until it is finished or cancelled."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.install_font(app)
    tr = Translator(language)
    wizard = InstallerWizard(tr, setup())
    wizard.finished.connect(lambda _config: app.quit())
    wizard.cancelled.connect(app.quit)
    if fullscreen:                      # the kiosk's touch screen: its fields type on the screen
        KeyboardHost(wizard, tr)
        wizard.showFullScreen()
    else:
        wizard.resize(1024, 640)
        wizard.show()
    return app.exec()
