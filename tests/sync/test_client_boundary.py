"""The sync client at its boundary (an httpx transport standing in for the network): every
failure becomes one SyncFailure with a reason and plain words; garbage, truncated and oversized
answers are refused without a crash; and a payment row exists BEFORE its request leaves."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.client import SyncClient, SyncFailure
from terminal.sync_loops import Backoff
from sync.status import SyncTracker, skew_warning
from core.wire import Credential, PaymentRequest
from core.clock import ManualClock
from terminal.decision import Decider, PaymentIntent
from tests.terminal.helpers import seeded_store


def client_answering(handler) -> SyncClient:  # noqa: ANN001
    from sync.auth import TerminalAuth
    from core.signing import new_private_key

    return SyncClient("http://backend.test", TerminalAuth(new_private_key(), 7), transport=httpx.MockTransport(handler))


def a_payment() -> PaymentRequest:
    import uuid

    return PaymentRequest(payment_id=uuid.uuid4(), amount_fen=100, credential=Credential(kind="face", customer_id=1),
                          occurred_at=datetime.now(timezone.utc))


@pytest.mark.parametrize("status, reason, maybe_sent", [
    (500, "server_error", True), (503, "server_error", True), (401, "unauthorised", False),
    (403, "unauthorised", False), (422, "refused", False), (404, "refused", False)])
def test_http_errors_become_one_failure_type(status, reason, maybe_sent):
    client = client_answering(lambda request: httpx.Response(status, json={"detail": "no"}))
    with pytest.raises(SyncFailure) as failure:
        client.authorise(a_payment(), 0.8)
    assert (failure.value.reason, failure.value.maybe_sent) == (reason, maybe_sent)
    zh, en = failure.value.words
    assert zh and en


@pytest.mark.parametrize("exc, reason, maybe_sent", [
    (httpx.ConnectError, "unreachable", False), (httpx.ConnectTimeout, "unreachable", False),
    (httpx.ReadTimeout, "timeout", True), (httpx.RemoteProtocolError, "unreachable", True)])
def test_network_errors_say_whether_the_request_may_have_landed(exc, reason, maybe_sent):
    def handler(request):  # noqa: ANN001, ANN202
        raise exc("fault", request=request)
    with pytest.raises(SyncFailure) as failure:
        client_answering(handler).authorise(a_payment(), 0.8)
    assert (failure.value.reason, failure.value.maybe_sent) == (reason, maybe_sent)


def test_an_answer_for_another_payment_is_refused():
    other = a_payment()
    body = {"payment_id": str(other.payment_id), "status": "approved", "amount_fen": 100}
    with pytest.raises(SyncFailure, match="another payment"):
        client_answering(lambda r: httpx.Response(200, json=body)).authorise(a_payment(), 0.8)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.recursive(st.none() | st.integers() | st.text(max_size=10),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                              max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_garbage_answers_are_a_bad_answer_never_a_crash(body):
    client = client_answering(lambda request: httpx.Response(200, content=body))
    with pytest.raises(SyncFailure) as failure:
        client.pull(0, 10)
    assert failure.value.reason == "bad_answer"


def test_truncated_and_oversized_pull_answers():
    good = {"cursor": 1, "more": False, "server_time": datetime.now(timezone.utc).isoformat(), "changes": []}
    text = json.dumps(good)
    with pytest.raises(SyncFailure, match="bad_answer"):
        client_answering(lambda r: httpx.Response(200, content=text[:-5].encode())).pull(0, 10)
    huge = {**good, "changes": [{"id": i, "kind": "balance", "key": "1", "data": {"x": "y" * 100}} for i in range(3000)]}
    page = client_answering(lambda r: httpx.Response(200, json=huge)).pull(0, 10)
    assert len(page.changes) == 3000          # parsed; the store then refuses the malformed data (test_store)


def test_payment_is_stored_before_the_request_leaves(tmp_path):
    clock = ManualClock()
    store = seeded_store(tmp_path, clock)
    seen = {}

    def handler(request):  # noqa: ANN001, ANN202
        body = json.loads(request.content)
        item = store.outbox.get(body["payment_id"])
        seen["status"] = item.status if item else None
        raise httpx.ReadTimeout("lost", request=request)

    decider = Decider(store, clock, SyncTracker(), client_answering(handler))
    out = decider.decide(PaymentIntent(Credential(kind="face", customer_id=101), 500, meal_period="lunch"))
    assert seen["status"] == "authorising"
    assert out.status == "approved" and out.offline
    [pushed] = store.outbox.pending(10)
    assert str(pushed.payment.payment_id) == out.payment_id         # the same key, not a new one


def test_backoff_grows_with_jitter_and_resets():
    backoff = Backoff(base_s=1, cap_s=60, rng=random.Random(1))
    delays = [backoff.failure() for _ in range(8)]
    assert 1 <= delays[0] <= 2 and all(d <= 60 for d in delays) and delays[-1] >= 30
    assert len(set(delays)) == len(delays)
    backoff.success()
    assert backoff.failure() <= 2


def test_status_goes_offline_probes_back_and_warns_about_skew():
    tracker = SyncTracker(probe_interval_s=15)
    t0 = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
    assert tracker.should_try_online(t0)
    tracker.note_failure(SyncFailure("unreachable", maybe_sent=False), t0)
    status = tracker.snapshot(queue_depth=3)
    assert not status.online and status.offline_since == t0 and status.queue_depth == 3
    assert "连不上后台" in status.last_error
    assert not tracker.should_try_online(t0 + timedelta(seconds=5))
    assert tracker.should_try_online(t0 + timedelta(seconds=15))
    tracker.note_failure(SyncFailure("timeout", maybe_sent=True), t0 + timedelta(seconds=15))
    assert tracker.snapshot().offline_since == t0                     # offline since the first failure
    tracker.note_pull(t0 + timedelta(seconds=20))
    tracker.note_skew(-45.2)
    status = tracker.snapshot()
    assert status.online and status.offline_since is None and status.last_pull == t0 + timedelta(seconds=20)
    assert "45" in skew_warning(status) and status.last_error == skew_warning(status)
    tracker.note_skew(10)
    assert skew_warning(tracker.snapshot()) is None
