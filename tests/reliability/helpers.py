"""Small helpers the reliability tests share."""
from __future__ import annotations


def drain(term, cycles: int = 10) -> None:  # noqa: ANN001 - tests.sync.rig.Terminal
    """Sync until the terminal's queue is empty (at most `cycles` cycles), as its sync loop would."""
    for _ in range(cycles):
        term.engine.cycle()
        if term.store.outbox.queue_depth() == 0:
            return
    raise AssertionError(f"queue not drained after {cycles} cycles: {term.store.outbox.queue_depth()} left")
