"""A serial scanner unplugged and plugged back, on a pseudo-terminal behind a by-id style symlink
(what udev gives a USB-serial adapter): the driver reports the loss in plain words, the terminal
keeps running and tries the device again every REOPEN_EVERY_S, and once it is back (same path,
new tty) codes are read again. Bytes cut off by the unplug never become a code."""
from __future__ import annotations

import os

from hardware.scanner import SerialScannerConfig
from core.clock import ManualClock
from terminal.runner import REOPEN_EVERY_S, Runner
from tests.hardware.serial_pty import PtyDevice
from tests.terminal.helpers import make_config

WECHAT = "134567890123456789"
ALIPAY = "2845678901234567"


def poll_codes(runner: Runner, device, tries: int = 60) -> list[str]:  # noqa: ANN001
    codes: list[str] = []
    for _ in range(tries):
        codes += [e.text for e in runner._poll(device)]
        if codes:
            return codes
        os.sched_yield()
    return codes


def test_unplugged_scanner_is_reopened_when_it_is_back(tmp_path, caplog):
    link = tmp_path / "usb-scanner-if00"
    first = PtyDevice().__enter__()
    os.symlink(first.port, link)
    config = make_config(tmp_path / "data", devices=[SerialScannerConfig(type="serial_scanner", name="scanner",
                                                                          port=str(link)).model_dump()])
    clock = ManualClock()
    runner = Runner(config, clock=clock)
    scanner = runner.devices["scanner"]
    scanner.open()
    try:
        first.send(WECHAT.encode() + b"\r\n")
        assert poll_codes(runner, scanner) == [WECHAT]

        first.send(WECHAT[:7].encode())                      # half a code, then the cable is pulled
        first.__exit__(None, None, None)
        assert poll_codes(runner, scanner, tries=3) == []    # no exception out of the loop
        assert any("scanner" in r.message and "reopening" in r.message for r in caplog.records)

        second = PtyDevice().__enter__()                      # plugged back: a new tty, the same path
        os.remove(link)
        os.symlink(second.port, link)
        clock.advance(REOPEN_EVERY_S + 0.1)
        assert poll_codes(runner, scanner, tries=1) == []     # reopened now; nothing sent yet
        second.send(ALIPAY.encode() + b"\r\n")
        assert poll_codes(runner, scanner) == [ALIPAY]        # the half code never became a code
        second.__exit__(None, None, None)
    finally:
        runner.close()
