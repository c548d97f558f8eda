"""A pseudo-terminal pair with a simulated device on the master side, so the real drivers
(pyserial on the slave path) are tested against the real bytes a device would send.

    with PtyDevice(respond=board.handle) as dev:      # answers requests (a relay board)
        driver config port = dev.port
    with PtyDevice() as dev: dev.send(b"123\r\n")      # talks on its own (a scanner)
"""
from __future__ import annotations

import os
import select
import threading
import tty


class PtyDevice:
    def __init__(self, respond=None):  # noqa: ANN001 - Callable[[bytes], bytes]
        self._respond = respond
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pty-device")

    def __enter__(self) -> "PtyDevice":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            self.received += data
            if self._respond is not None:
                reply = self._respond(data)
                if reply:
                    os.write(self.master, reply)


def poll_until(device, count: int, tries: int = 100) -> list:  # noqa: ANN001
    """Poll a device (scanner, card reader) until `count` events came or ~2 s passed."""
    events: list = []
    for _ in range(tries):
        events += device.poll(0.02)
        if len(events) >= count:
            break
    return events


class NullModem:
    """Two pseudo-terminals wired to each other like a null-modem cable: what is written to
    `port_a` is read on `port_b` and back. For two real programs that each open a port path."""

    def __init__(self) -> None:
        self._pairs = [os.openpty(), os.openpty()]
        for master, slave in self._pairs:
            tty.setraw(master)
            tty.setraw(slave)
        self.port_a = os.ttyname(self._pairs[0][1])
        self.port_b = os.ttyname(self._pairs[1][1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="null-modem")

    def __enter__(self) -> "NullModem":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for pair in self._pairs:
            for fd in pair:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _run(self) -> None:
        a, b = self._pairs[0][0], self._pairs[1][0]
        while not self._stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.02)
            for fd in ready:
                try:
                    os.write(b if fd == a else a, os.read(fd, 4096))
                except OSError:
                    return
