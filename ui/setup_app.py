"""The installer wizard on its own, for a terminal that has no usable config yet (first install,
or a config the kiosk refused):

    python -m ui.setup_app --config /etc/gatepay/terminal.yaml [--data-dir var/terminal] [--window]

This is a composition root like the kiosk's: it opens the terminal's store (where registration
keeps the device key) and hands the wizard a `register(url, code)` bound to it; the wizard itself
still only calls the functions it is given.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from ui.wizard import SetupServices


def existing_config(path: Path) -> dict[str, Any]:
    """The config to start from: the file's, when it is valid; otherwise nothing."""
    from terminal.config import ConfigError, load_config
    from ui.setup_flow import plain_data

    if not path.exists():
        return {}
    try:
        return plain_data(load_config(path, environ={}))   # secrets as they are, to be saved again
    except ConfigError:
        return {}


def services_for(config_path: Path, register: Callable[[str, str], Any],
                 base: dict[str, Any]) -> Callable[[], SetupServices]:
    """The wizard's real services: `register` as given, devices found and tested for real, the
    config checked and saved to `config_path` on top of `base` (the config it starts from).
    Discovery offers the base's devices again, so a re-run keeps what was set up."""
    from ui import setup_config, setup_services

    def discover(scene: str | None = None, direction: str | None = None) -> list[Any]:
        lane = base.get("parking") or {}
        return setup_services.discover_devices(scene or base.get("scene"), current=base.get("devices"),
                                               direction=direction or lane.get("direction"),
                                               data_dir=base.get("data_dir"))

    return lambda: SetupServices(
        register=register, discover=discover,
        models_for=setup_services.models_for, live_test=setup_services.live_test,
        validate=setup_config.validator(base), save=setup_config.saver(config_path, base),
        doctor=setup_config.doctor, initial=base)


def run_setup(config_path: Path, data_dir: Path | None = None, fullscreen: bool = True) -> int:
    from PySide6.QtWidgets import QApplication

    from terminal import enrol
    from core.clock import SystemClock
    from terminal.store import Store, load_data_key
    from ui import theme
    from ui.i18n import Translator
    from ui.wizard import InstallerWizard

    base = existing_config(config_path)
    data_dir = Path(data_dir or base.get("data_dir") or "var/terminal")
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    try:
        app = QApplication.instance() or QApplication(sys.argv[:1])
        theme.install_font(app)
        tr = Translator(base.get("language", "zh_CN"))
        register = lambda url, code: enrol.register(store, url, code)  # noqa: E731
        start = {**base, "data_dir": str(data_dir)}
        wizard = InstallerWizard(tr, services_for(config_path, register, start)())
        wizard.finished.connect(lambda _config: app.quit())
        wizard.cancelled.connect(app.quit)
        if fullscreen:
            wizard.showFullScreen()
        else:
            wizard.resize(1024, 640)
            wizard.show()
        return app.exec()
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gatepay installer wizard")
    parser.add_argument("--config", type=Path, required=True, help="terminal config file to write (YAML or JSON)")
    parser.add_argument("--data-dir", type=Path, default=None, help="the terminal's data directory")
    parser.add_argument("--window", action="store_true", help="a window instead of full screen")
    args = parser.parse_args(argv)
    return run_setup(args.config, args.data_dir, fullscreen=not args.window)


if __name__ == "__main__":
    sys.exit(main())
