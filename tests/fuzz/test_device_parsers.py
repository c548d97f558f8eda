"""Parsers of outside input that had no property test yet (the others are listed in
docs/SECURITY.md with their tests): the terminal's event-line parser (`gatepay terminal
--events`, what a bridge from a third-party device sends), the camera clock-offset learner (times a
plate camera claims), and the spoken-amount words (any fen amount a device may be asked to say).
Any input: a clear None/ValueError or a sane value, never another exception, never a hang."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.events import CardTapped, CodeScanned, FaceMatched
from hardware.plates.camclock import CameraClocks
from hardware.voice import payment_sentence, yuan_words
from core.wire import MAX_AMOUNT_FEN
from core.clock import ManualClock
from terminal.runner import parse_event_line

CLOCK = ManualClock()
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=12)
event_keys = st.sampled_from(["face", "card_hash", "code", "key_in", "liveness", "kind", "x"])


@settings(deadline=None, max_examples=300)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                 st.dictionaries(event_keys, json_values, max_size=4).map(json.dumps),
                 st.sampled_from(['{"face": 1e999}', '{"key_in": -1e999}', '{"face": 1e30}', '{"key_in": 0}',
                                  '{"face": NaN}', '{"face": "12"}', '{"face": true}', "[]", "null"])))
def test_event_lines_give_an_event_or_none(line: str) -> None:
    event = parse_event_line(line, CLOCK)
    if isinstance(event, FaceMatched):
        assert 0 < event.customer_id < 2**53
    elif isinstance(event, tuple):
        assert event[0] == "key_in" and 0 < event[1] <= MAX_AMOUNT_FEN
    else:
        assert event is None or isinstance(event, (CardTapped, CodeScanned))


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.text(max_size=12), st.integers(-10**6, 10**6), st.integers(-10**4, 10**4)),
                max_size=60))
def test_camera_clock_offsets_stay_within_what_was_observed(pushes) -> None:  # noqa: ANN001
    clocks = CameraClocks()
    base = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
    seen: dict[str, list[timedelta]] = {}
    for camera, claimed_s, delay_s in pushes:
        now = base + timedelta(seconds=abs(delay_s))
        seen_at = base + timedelta(seconds=claimed_s)
        clocks.observe(camera, seen_at, now)
        seen.setdefault(camera, []).append(now - seen_at)
    for camera, offsets in seen.items():
        assert min(offsets) - timedelta(seconds=1) <= clocks.offset(camera) <= max(offsets) + timedelta(seconds=1)


@settings(deadline=None, max_examples=300)
@given(st.integers(min_value=-10**12, max_value=10**12), st.none() | st.integers(-10**12, 10**12))
def test_spoken_amounts_are_words_or_a_clear_refusal(amount: int, balance) -> None:  # noqa: ANN001
    try:
        sentence = payment_sentence(amount, balance)
    except ValueError as exc:
        assert str(exc)
        return
    assert sentence.startswith("支付成功") and ("负" in sentence) == (amount < 0 or (balance or 0) < 0)
    assert yuan_words(amount)
