"""The 4-digit check for close face calls, on a real TerminalCore and store file, offline (no
backend configured). The close call comes from real photos: the SFace engine's two nearest
signed people for a probe photo of one of them."""
from __future__ import annotations

import base64
from functools import lru_cache

import pytest

from core.clock import ManualClock
from hardware.events import FaceConfirm
from core.face_digits import digits_digest
from terminal.app import TerminalCore
from tests.terminal.helpers import Page, make_config, seeded_store

KEY = bytes(range(32))
DIGITS = {101: "1234", 102: "5678"}


@lru_cache(maxsize=1)
def real_close_call() -> tuple[tuple[int, ...], float, float]:
    """Jackie Chan's second photo searched among 101 = Jackie Chan (first photo) and 102 = Kim
    Ryong-sung: the engine's candidates (nearest first) and distances, as a close call carries."""
    from hardware.face.config import FaceConfig
    from hardware.face.engine import FaceEngine
    from hardware.face.enrol import Enroller
    from hardware.face.frames import to_rgb
    from tests.hardware.facekit import photo

    engine = FaceEngine(FaceConfig(encoder="sface"))
    for pid, name in ((101, "Jackie_Chan_0001.jpg"), (102, "Kim_Ryong-sung_0001.jpg")):
        assert Enroller(engine).enrol(pid, [photo(name)]).ok
    rgb = to_rgb(photo("Jackie_Chan_0002.jpg"))
    obs = engine.observe(rgb)
    top = engine.gallery.nearest(engine.probe_template(rgb, obs), 2)
    return tuple(c.person_id for c in top), top[0].distance, top[1].distance - top[0].distance


def sync_check(store, *, enabled: bool = True, band_pct: int = 100, digits: dict[int, str] = DIGITS) -> None:  # noqa: ANN001
    page = Page(start_id=100)
    page.add("face_confirm", 1, {"site_id": 1, "enabled": enabled, "band_pct": band_pct,
                                 "digits_key": base64.b64encode(KEY).decode()})
    for cid, name in ((101, "张*三"), (102, "王*")):
        page.face(cid, name=name)
        page.changes[-1].data["confirm_digits"] = digits_digest(KEY, cid, digits[cid]) if cid in digits else None
    page.apply(store)


@pytest.fixture
def core(tmp_path) -> TerminalCore:  # noqa: ANN001
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    sync_check(store)
    core = TerminalCore(make_config(tmp_path), store, clock)    # no backend: everything offline
    yield core
    store.close()


def close_call(core: TerminalCore) -> FaceConfirm:
    candidates, distance, margin = real_close_call()
    return FaceConfirm(candidates=candidates, distance=min(distance, core.scene.close_calls.running_model().threshold),
                       margin=margin, liveness="passed", at=core.clock.now())


def test_a_close_call_confirmed_by_the_diners_digits_pays_offline(core: TerminalCore) -> None:
    event = close_call(core)
    assert event.candidates[0] == 101 and set(event.candidates) == {101, 102}
    assert core.handle_event(event) is None
    view = core.current_view()
    assert view.phase == "confirm" and view.confirm.tries_left == 3 and not view.confirm.wrong

    outcome = core.key_in_digits("1234")
    assert outcome.status == "approved" and outcome.method == "face" and outcome.offline
    assert outcome.masked_name == "张*三" and core.current_view().phase == "paid"
    tries = core.store.audit.entries(action="face_confirm_try")
    assert [e.detail["result"] for e in tries] == ["accepted"] and tries[0].detail["customer_id"] == 101
    started = core.store.audit.entries(action="face_confirm_start")
    assert started[0].detail["result"] == "asked" and started[0].detail["candidates"] == list(event.candidates)
    assert not any("1234" in str(e.detail) for e in core.store.audit.entries())   # digits never logged


def test_the_other_candidate_keying_their_own_digits_pays_as_themselves(core: TerminalCore) -> None:
    core.handle_event(close_call(core))
    outcome = core.key_in_digits("5678")       # 王* has 3 yuan for a 12-yuan lunch: judged as 王*, not as 张*三
    assert (outcome.status, outcome.reason, outcome.masked_name) == ("declined", "insufficient_funds", "王*")
    assert core.store.audit.entries(action="face_confirm_try")[0].detail["customer_id"] == 102


def test_wrong_digits_three_times_refuse_and_every_try_is_audited(core: TerminalCore) -> None:
    core.handle_event(close_call(core))
    assert core.key_in_digits("0000") is None
    view = core.current_view()
    assert view.phase == "confirm" and view.confirm.wrong and view.confirm.tries_left == 2
    assert core.key_in_digits("9999") is None
    assert core.current_view().confirm.tries_left == 1
    outcome = core.key_in_digits("1111")
    assert outcome.status == "declined" and outcome.reason == "digits_refused"
    assert "手机号后四位" in outcome.message_zh and "digits" in outcome.message_en
    assert core.key_in_digits("1234") is None          # the check is over: no fourth try pays
    tries = core.store.audit.entries(action="face_confirm_try")
    assert [e.detail["result"] for e in reversed(tries)] == ["wrong", "wrong", "wrong"]
    assert tries[0].detail["final"] == "refused"
    assert core.store.outbox.queue_depth() == 0        # nothing was charged


def test_digits_that_match_two_candidates_are_refused(tmp_path) -> None:  # noqa: ANN001
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    sync_check(store, digits={101: "2468", 102: "2468"})
    core = TerminalCore(make_config(tmp_path), store, clock)
    core.handle_event(close_call(core))
    outcome = core.key_in_digits("2468")
    assert outcome.status == "declined" and outcome.reason == "digits_refused"
    assert store.audit.entries(action="face_confirm_try")[0].detail["result"] == "several_match"
    store.close()


def test_a_site_with_the_check_off_refuses_the_close_call_as_before(tmp_path) -> None:  # noqa: ANN001
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    sync_check(store, enabled=False)
    core = TerminalCore(make_config(tmp_path), store, clock)
    outcome = core.handle_event(close_call(core))
    assert outcome.status == "declined" and outcome.reason == "ambiguous"
    assert core.current_view().phase == "declined"
    assert store.audit.entries(action="face_confirm_start")[0].detail["result"] == "check_off"
    store.close()


def test_a_narrow_band_refuses_a_call_above_it(tmp_path) -> None:  # noqa: ANN001
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    sync_check(store, band_pct=0)
    core = TerminalCore(make_config(tmp_path), store, clock)
    model = core.scene.close_calls.running_model()
    far = FaceConfirm(candidates=(101,), distance=(model.threshold + model.confirm_threshold) / 2,
                      margin=float("inf"), liveness="passed", at=clock.now())
    outcome = core.handle_event(far)
    assert outcome.status == "declined" and outcome.reason == "no_match"
    store.close()


def test_the_digits_key_rests_sealed_and_the_digits_never_rest_plain(core: TerminalCore) -> None:
    raw = b"".join(p.read_bytes() for p in core.store.path.parent.glob("terminal.db*"))   # with the WAL
    assert KEY not in raw and base64.b64encode(KEY) not in raw
    assert core.store.cache.item("face_confirm", "1")["digits_key"] is None
    digests = core.store.cache.face_confirm_digits([101, 102])
    assert all(len(d) == 64 and d not in ("1234", "5678") for d in digests.values())


def test_walking_away_and_back_never_buys_more_guesses(core: TerminalCore) -> None:
    core.handle_event(close_call(core))
    assert core.key_in_digits("0000") is None
    assert core.handle_event(close_call(core)) is None       # looked down at the keypad: same check
    assert core.current_view().confirm.tries_left == 2
    core.key_in_digits("0001")
    assert core.key_in_digits("0002").reason == "digits_refused"
    core.clock.advance(60)
    locked = core.handle_event(close_call(core))              # back a minute later: not asked again
    assert locked.status == "declined" and locked.reason == "digits_locked" and "10分钟" in locked.message_zh
    core.clock.advance(11 * 60)
    assert core.handle_event(close_call(core)) is None        # after the lockout: asked again
    assert core.key_in_digits("1234").status == "approved"
    results = [e.detail["result"] for e in reversed(core.store.audit.entries(action="face_confirm_start"))]
    assert results == ["asked", "continued", "locked", "asked"]
