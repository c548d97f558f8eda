"""The installer wizard's entry points compose its services in terminal/installer (ui/ only shows
the window): `gatepay terminal setup` opens the terminal's store for registration and starts from
the config file when it is valid; `gatepay terminal screenshots` renders the wizard's screens."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from terminal.installer.services import standalone
from tests.terminal.helpers import PIN_HASH
from tests.terminal.test_runner import ROOT


def gatepay(*args: str) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def test_setup_starts_from_the_files_config_with_the_store_open_in_the_data_dir(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "terminal.yaml"
    path.write_text(f"scene: parking\nbackend_url: http://127.0.0.1:9\nlanguage: en\nadmin_pin_hash: '{PIN_HASH}'\n"
                    "parking: {direction: exit, lane_id: 3}\n", encoding="utf-8")
    with standalone(path, tmp_path / "data") as (services, language):
        made = services()
        assert language == "en"
        assert made.initial["scene"] == "parking" and made.initial["data_dir"] == str(tmp_path / "data")
        assert (tmp_path / "data" / "terminal.db").exists()      # registration keeps the device key here
        assert {f.kind for f in made.discover()} >= {"plate_camera", "gate"}
    path.write_text("scene: canteen\nbackend_url: nope\n", encoding="utf-8")
    with standalone(path, tmp_path / "data") as (services, language):   # a refused config: start afresh
        assert language == "zh_CN" and services().initial == {"data_dir": str(tmp_path / "data")}


def test_the_setup_command_shows_the_wizard_until_closed(tmp_path) -> None:  # noqa: ANN001
    wizard = gatepay("terminal", "setup", "--config", str(tmp_path / "terminal.yaml"),
                     "--data-dir", str(tmp_path / "data"), "--window")
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "data" / "terminal.db").exists() and wizard.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        assert wizard.poll() is None, wizard.communicate()[1]      # the window is up and waiting
        assert (tmp_path / "data" / "terminal.db").exists()
        assert not (tmp_path / "terminal.yaml").exists()          # nothing saved until the installer saves
    finally:
        wizard.send_signal(signal.SIGTERM)
        wizard.communicate(timeout=30)


def test_the_screenshots_command_renders_the_wizard(tmp_path) -> None:  # noqa: ANN001
    run = gatepay("terminal", "screenshots", "--out", str(tmp_path), "--only", "wizard", "--sizes", "800x480")
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    written = {line.rsplit("/", 1)[-1] for line in out.splitlines()}
    assert {"wizard-scene-800x480.png", "wizard-discover-800x480.png", "wizard-doctor-800x480.png"} <= written
    assert all((tmp_path / name).stat().st_size > 1000 for name in written)
