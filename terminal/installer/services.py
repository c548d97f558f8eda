"""The wizard's real services, composed: `register` bound to the terminal's store, devices found
and tested for real, the config checked and saved to its file. The entry points (`gatepay
terminal setup`, the safe-mode screen, the running kiosk) build them here and hand them to the
wizard, which only presents.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from terminal.installer.results import SetupServices

DEFAULT_DATA_DIR = "var/terminal"


def services_for(config_path: Path, register: Callable[[str, str], Any],
                 base: dict[str, Any]) -> Callable[[], SetupServices]:
    """The wizard's real services: `register` as given, devices found and tested for real, the
    config checked and saved to `config_path` on top of `base` (the config it starts from).
    Discovery offers the base's devices again, so a re-run keeps what was set up."""
    from terminal.installer import config, devices, doctor, live_test

    def discover(scene: str | None = None, direction: str | None = None) -> list[Any]:
        lane = base.get("parking") or {}
        return devices.discover_devices(scene or base.get("scene"), current=base.get("devices"),
                                               direction=direction or lane.get("direction"),
                                               data_dir=base.get("data_dir"))

    return lambda: SetupServices(
        register=register, discover=discover,
        models_for=devices.models_for, live_test=live_test.live_test,
        validate=config.validator(base), save=config.saver(config_path, base),
        doctor=doctor.doctor, initial=base)


def for_running_terminal(config: Any, register: Callable[[str, str], Any] | None,
                         config_path: Path | None) -> Callable[[], SetupServices] | None:
    """The wizard's services behind a running kiosk's PIN, starting from its config (None
    without a way to register)."""
    from terminal.installer.config import plain_data

    if register is None:
        return None
    base = plain_data(config) if hasattr(config, "model_dump") else dict(config or {})   # secrets kept
    return services_for(config_path or Path("gatepay-terminal.yaml"), register, base)


@contextmanager
def standalone(config_path: Path, data_dir: Path | None = None) -> Iterator[tuple[Callable[[], SetupServices], str]]:
    """The wizard on its own, for a terminal without a usable config: it starts from the file's
    config when that is valid, and registers with the store in `data_dir` (the config's, else
    var/terminal), which is open while the block runs. Yields (services, language)."""
    from core.clock import SystemClock
    from terminal.installer.backend import registration
    from terminal.installer.config import existing_config
    from terminal.store import Store, load_data_key

    base = existing_config(config_path)
    data_dir = Path(data_dir or base.get("data_dir") or DEFAULT_DATA_DIR)
    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    try:
        start = {**base, "data_dir": str(data_dir)}
        yield services_for(config_path, registration(store), start), base.get("language", "zh_CN")
    finally:
        store.close()
