"""A parking lane forgets finished stays and answered lane events after a week (ParkingStore.prune),
so a busy car park's terminals do not keep every stay forever; open stays, flagged stays and
events still waiting for the backend are never dropped."""
from __future__ import annotations

from datetime import timedelta

import pytest

from terminal.parking_store import KEEP_FINISHED
from tests.terminal.parking_rig import CarPark

pytestmark = pytest.mark.slow


def _count(lane, sql: str) -> int:  # noqa: ANN001
    return lane.store.db.execute(sql).fetchone()[0]


def test_a_week_old_finished_stay_is_pruned_and_open_ones_are_kept(tmp_path):
    park = CarPark(tmp_path)
    try:
        entry, exit_ = park.lane("entry", "in"), park.lane("exit", "out")
        park.driver("京A11111")
        entry.handle(entry.read("京A11111", 0))              # enters and leaves, paid by plate
        entry.handle(entry.read("京C33333", 1))              # enters and stays
        exit_.sync()
        assert exit_.handle(exit_.read("京A11111", 90)).phase == "exit_paid"
        entry.sync()
        exit_.sync()
        stays_in_cache = "SELECT count(*) FROM cache WHERE kind = 'parking_session'"
        assert _count(exit_, stays_in_cache) == 2 and _count(entry, "SELECT count(*) FROM parking_stays") == 2

        exit_.clock.set(exit_.clock.now() + KEEP_FINISHED - timedelta(hours=1))
        assert exit_.scene.parking.prune(exit_.clock.now()) == 0      # not a week yet: nothing goes
        later = exit_.clock.now() + timedelta(hours=2)
        entry.clock.set(later)
        exit_.clock.set(later)
        assert exit_.scene.parking.prune(later) >= 2                   # the exited stay, cached and own; its events
        assert entry.scene.parking.prune(later) >= 1
        assert _count(exit_, stays_in_cache) == 1                      # 京C33333 is still inside
        assert entry.scene.parking.find_inside("京C33333") is not None
        assert entry.scene.parking.find_inside("京A11111") is None
        assert _count(entry, "SELECT count(*) FROM parking_events_out WHERE status != 'queued'") == 0

        park.backend.stop()                                            # a new event cannot be answered now
        entry.handle(entry.read("京D44444", None))
        entry.clock.set(later + 2 * KEEP_FINISHED)
        entry.scene.parking.prune(entry.clock.now())
        assert entry.scene.parking.queue_depth() == 1                  # a queued event is never pruned
    finally:
        park.close()
