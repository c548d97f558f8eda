"""The admin PIN tried from two places at once (the kiosk's PIN screen and a parking lane's
attendant thread): no more than five wrong PINs are ever checked before the lock, however the
tries interleave."""
from __future__ import annotations

import threading

from core.clock import ManualClock
from terminal.app import TerminalCore
from terminal.pin import PIN_TRIES
from terminal.config import hash_pin
from tests.terminal.helpers import PIN, make_config, seeded_store


def test_wrong_pins_from_many_threads_at_once_get_five_checks_then_the_lock(tmp_path) -> None:
    clock = ManualClock()
    # the real hash strength: each check takes long enough for the threads to overlap
    core = TerminalCore(make_config(tmp_path, admin_pin_hash=hash_pin(PIN)), seeded_store(tmp_path, clock), clock)
    tries = 16
    start = threading.Barrier(tries)
    answers: list[bool] = []

    def guess(n: int) -> None:
        start.wait()
        answers.append(core.verify_pin(f"{n:06d}"))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(tries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [False] * tries
    assert len(core.store.audit.entries(action="pin_failed")) == PIN_TRIES      # checked: five, not more
    assert len(core.store.audit.entries(action="pin_locked")) == tries - PIN_TRIES
    assert not core.verify_pin(PIN) and core.pin_locked_until() is not None  # the right PIN waits too
