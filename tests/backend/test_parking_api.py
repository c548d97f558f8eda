"""Parking on the real backend app (in-process ASGI), SQLite and PostgreSQL: rules, members and the
blacklist reach the lanes by the change feed; lane events are applied once; QR orders are paid
through the channel adapter talking to the channel simulator."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from backend.services.changes import changes_page
from core.clock import ManualClock
from sync.auth import TerminalAuth
from core.wire import ParkingEventsResponse, ParkingOrderState
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token, register_terminal
from tests.backend.parking_helpers import RULES, car_park

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai


@pytest.fixture
def park(sqlite_url: str):  # noqa: ANN201
    with car_park(sqlite_url, clock=ManualClock(T0), terminals=2) as p:   # the car park's day is pinned, not today
        yield p


def changes(app, ids, kind: str) -> list[dict]:  # noqa: ANN001
    with app.state.sessions() as s:
        rows = changes_page(s, 0, 1000, merchant_id=ids["merchant_id"], site_id=ids["site_id"]).rows
        return [dict(key=r.key, data=r.data, deleted=r.deleted) for r in rows if r.kind == kind]


def event(kind: str, session_id: uuid.UUID, plate: str = "京A12345", at: datetime = T0, **kw) -> dict:  # noqa: ANN003
    body = {"event_id": str(uuid.uuid4()), "kind": kind, "session_id": str(session_id), "lane_id": None,
            "plate": plate, "plate_colour": "blue", "at": at.isoformat(), **kw}
    return body


def push(p: dict, *events: dict, auth: str = "auth") -> list[str]:
    r = p["client"].post("/api/v1/terminal/parking/events", json={"events": list(events)}, auth=p[auth])
    assert r.status_code == 200, r.text
    return [x.status for x in ParkingEventsResponse.model_validate(r.json()).results]


def sessions(p: dict, **params: object) -> list[dict]:
    r = p["client"].get(f"/api/v1/sites/{p['site_id']}/parking/sessions", params=params, headers=p["op"])
    assert r.status_code == 200, r.text
    return r.json()


def test_rules_reach_the_lanes_and_bad_rules_are_refused(park):  # noqa: ANN001
    p = park
    r = p["client"].put(f"/api/v1/sites/{p['site_id']}/parking/rules", json=RULES, headers=p["op"])
    assert r.status_code == 200, r.text
    feed = changes(p["app"], p, "tariff")
    assert feed[-1]["data"]["tariffs"]["default"]["free_minutes"] == 15
    assert feed[-1]["data"]["version"] == 1
    bad = json.loads(json.dumps(RULES))
    bad["tariffs"]["default"]["free_minuts"] = 10
    r = p["client"].put(f"/api/v1/sites/{p['site_id']}/parking/rules", json=bad, headers=p["op"])
    assert r.status_code == 422 and "free_minuts" in r.text
    assert len(changes(p["app"], p, "tariff")) == 1


def test_entry_at_one_lane_exit_at_another_applied_once(park):  # noqa: ANN001
    p = park
    sid = uuid.uuid4()
    entry = event("entry", sid, image_ref="cam1/0001.jpg")
    assert push(p, entry) == ["applied"]
    assert push(p, entry) == ["duplicate"]                       # a retried push
    r = p["client"].get("/api/v1/terminal/parking/sessions/inside", params={"plate": "京A12345"}, auth=p["auth2"])
    assert r.status_code == 200 and r.json()["session_id"] == str(sid)
    exit_ = event("exit", sid, at=T0 + timedelta(hours=2), fee_fen=700, paid_fen=700, pay_kind="qr",
                  entered_at=T0.isoformat())
    assert push(p, exit_, auth="auth2") == ["applied"]
    [s] = sessions(p)
    assert (s["status"], s["fee_fen"], s["paid_fen"], s["flagged"]) == ("exited", 700, 700, False)
    feed = changes(p["app"], p, "parking_session")
    assert [c["data"]["status"] for c in feed if c["key"] == str(sid)] == ["inside", "exited"]


def test_second_entry_replaces_and_flags_the_old_stay(park):  # noqa: ANN001
    p = park
    first, second = uuid.uuid4(), uuid.uuid4()
    push(p, event("entry", first), event("entry", second, at=T0 + timedelta(hours=1)))
    by_id = {s["session_id"]: s for s in sessions(p)}
    assert by_id[str(first)]["status"] == "replaced" and by_id[str(first)]["flagged"]
    assert by_id[str(second)]["status"] == "inside"


def test_exit_without_entry_is_flagged_and_a_late_entry_attaches_to_it(park):  # noqa: ANN001
    p = park
    exit_sid = uuid.uuid4()
    push(p, event("exit", exit_sid, at=T0 + timedelta(hours=3), fee_fen=5000, paid_fen=5000, pay_kind="fallback"),
         auth="auth2")
    [s] = sessions(p, flagged=True)
    assert s["entered_at"] is None and "no entry record" in s["flag_reason"]
    # the entry lane was offline; its record arrives afterwards
    assert push(p, event("entry", uuid.uuid4(), at=T0)) == ["applied"]
    [s] = sessions(p)
    assert s["session_id"] == str(exit_sid) and s["entered_at"] is not None and s["status"] == "exited"
    assert "arrived after the exit" in s["flag_reason"]


def test_corrected_plate_and_attendant_free_open_are_on_record(park):  # noqa: ANN001
    p = park
    sid = uuid.uuid4()
    push(p, event("entry", sid, plate="京A12346"))
    assert push(p, event("correct_plate", sid, plate="京A12345", old_plate="京A12346", operator="attendant 3")) \
        == ["applied"]
    push(p, event("exit", sid, at=T0 + timedelta(hours=1), fee_fen=500, pay_kind="free_by_attendant",
                  reason="ambulance", operator="attendant 3"))
    [s] = sessions(p)
    assert s["plate"] == "京A12345" and "corrected from 京A12346" in s["flag_reason"]
    assert "ambulance" in s["flag_reason"]
    assert push(p, event("flag", uuid.uuid4(), reason="?")) == ["rejected"]


def test_members_renewal_and_blacklist(park):  # noqa: ANN001
    p = park
    c, site = p["client"], p["site_id"]
    assert c.put(f"/api/v1/sites/{site}/parking/rules", json=RULES, headers=p["op"]).status_code == 200
    r = c.put(f"/api/v1/sites/{site}/parking/members/京A·12345", headers=p["op"],
              json={"plan": "monthly", "valid_from": "2026-11-01", "valid_to": "2026-11-30", "holder_name": "张小三"})
    assert r.status_code == 200, r.text
    assert (r.json()["plate"], r.json()["masked_name"]) == ("京A12345", "张*三")
    rid = str(uuid.uuid4())
    for _ in range(2):   # the same renewal twice books once
        r = c.post(f"/api/v1/sites/{site}/parking/members/京A12345/renewals", headers=p["op"],
                   json={"renewal_id": rid, "plan": "monthly", "amount_fen": 30000})
        assert r.status_code == 200, r.text
    assert r.json()["valid_to"] == "2026-12-31"
    r = c.post(f"/api/v1/sites/{site}/parking/members/京A12345/renewals", headers=p["op"],
               json={"renewal_id": str(uuid.uuid4()), "plan": "monthly", "amount_fen": 100})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "wrong_amount"
    member_feed = changes(p["app"], p, "member")
    assert member_feed[-1]["key"].endswith(":京A12345")
    assert "张小三" not in json.dumps(member_feed, ensure_ascii=False)
    assert c.put(f"/api/v1/sites/{site}/parking/blacklist/粤B00001", headers=p["op"],
                 json={"reason": "unpaid fees"}).status_code == 204
    assert c.delete(f"/api/v1/sites/{site}/parking/blacklist/粤B00001", headers=p["op"]).status_code == 204
    assert [x["deleted"] for x in changes(p["app"], p, "parking_blacklist")] == [False, True]
    r = c.put(f"/api/v1/sites/{site}/parking/blacklist/XX", headers=p["op"], json={"reason": "x"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "bad_plate"


def order_body(amount: int = 700, **kw) -> dict:  # noqa: ANN003
    return {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": amount,
            "session_id": str(uuid.uuid4()), "occurred_at": T0.isoformat(), **kw}


def test_qr_order_paid_by_the_driver_is_seen_by_the_poll(park):  # noqa: ANN001
    p = park
    c = p["client"]
    body = order_body()
    r = c.post("/api/v1/terminal/parking/orders", json=body, auth=p["auth"])
    assert r.status_code == 201, r.text
    order = ParkingOrderState.model_validate(r.json())
    assert order.status == "pending" and order.qr_text.startswith("weixin://wxpay/bizpayurl?pr=")
    again = c.post("/api/v1/terminal/parking/orders", json=body, auth=p["auth"])
    assert again.json()["qr_text"] == order.qr_text                # idempotent by order_id
    conflict = c.post("/api/v1/terminal/parking/orders", json={**body, "amount_fen": 1}, auth=p["auth"])
    assert conflict.status_code == 409
    poll = c.get(f"/api/v1/terminal/parking/orders/{order.order_id}", auth=p["auth"])
    assert poll.json()["status"] == "pending"
    assert c.post("/api/v1/parking/channel-sim/pay", json={"qr_text": order.qr_text}).status_code == 200
    poll = c.get(f"/api/v1/terminal/parking/orders/{order.order_id}", auth=p["auth"])
    assert poll.json()["status"] == "paid" and poll.json()["paid_at"]


def test_poll_learns_of_payment_when_the_notification_is_lost(park):  # noqa: ANN001
    p = park
    c = p["client"]
    order = c.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
    sim = p["app"].state.channels.simulator("wechat")
    sim.pay(sim.order_for_code(order["qr_text"]))                 # notification never delivered
    poll = c.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=p["auth"])
    assert poll.json()["status"] == "paid"


def test_forged_or_garbled_notifications_change_nothing(park):  # noqa: ANN001
    p = park
    c = p["client"]
    order = c.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
    sim = p["app"].state.channels.simulator("wechat")
    headers, body = sim.pay(sim.order_for_code(order["qr_text"]))
    forged = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESX")
    for h, b in [(headers, forged), (headers, body[:40]), ({}, body), (headers, b"\xff" * 100),
                 (headers, b"x" * 70_000)]:
        r = c.post("/api/v1/parking/channel/notify", content=b, headers=h)
        assert r.status_code == 400 and r.json()["code"] == "FAIL"
    with p["app"].state.sessions() as s:
        from backend.models.parking import ParkingOrder
        assert s.get(ParkingOrder, order["order_id"]).status == "pending"
    r = c.post("/api/v1/parking/channel/notify", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["code"] == "SUCCESS"


def test_renewal_paid_by_qr_extends_the_pass(park):  # noqa: ANN001
    p = park
    c = p["client"]
    c.put(f"/api/v1/sites/{p['site_id']}/parking/rules", json=RULES, headers=p["op"])
    order = c.post("/api/v1/terminal/parking/orders", auth=p["auth"],
                   json=order_body(30000, purpose="renewal", plan="monthly", session_id=None)).json()
    c.post("/api/v1/parking/channel-sim/pay", json={"qr_text": order["qr_text"]})
    [m] = changes(p["app"], p, "member")
    assert m["data"]["plan"] == "monthly"
    assert date.fromisoformat(m["data"]["valid_to"]) > date.fromisoformat(m["data"]["valid_from"])


@pytest.mark.parametrize("raw", [b"", b"{", b'{"events": []}', b'{"events": [{"kind": "entry"}]}',
                                 json.dumps({"events": [{"x": 1}] * 501}).encode(), b"\x00\xff" * 50])
def test_garbage_event_pushes_get_a_clear_error_and_store_nothing(park, raw: bytes):  # noqa: ANN001
    p = park
    r = p["client"].post("/api/v1/terminal/parking/events", content=raw, auth=p["auth"],
                         headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_request"
    assert sessions(p) == []


def test_unsigned_calls_are_refused(park):  # noqa: ANN001
    p = park
    r = p["client"].post("/api/v1/terminal/parking/events", json={"events": [event("entry", uuid.uuid4())]})
    assert r.status_code == 401
    assert sessions(p) == []


@pytest.mark.postgres
def test_events_and_orders_on_postgres(pg_url: str):
    app = make_app(pg_url)
    with TestClient(app) as client:
        ids = make_merchant_site(app, kind="parking")
        tid, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking")
        p = dict(app=app, client=client, auth=TerminalAuth(key, tid), op=bearer(operator_token(app)), **ids)
        sid = uuid.uuid4()
        assert push(p, event("entry", sid), event("exit", sid, at=T0 + timedelta(hours=1), fee_fen=500,
                                                  paid_fen=500, pay_kind="qr")) == ["applied", "applied"]
        order = client.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
        client.post("/api/v1/parking/channel-sim/pay", json={"qr_text": order["qr_text"]})
        assert client.get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=p["auth"]).json()["status"] \
            == "paid"


def paycode_body(code: str, amount: int = 700, **kw) -> dict:  # noqa: ANN003
    return {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": amount, "paycode": code,
            "occurred_at": T0.isoformat(), **kw}


def test_pay_code_is_charged_once_and_declines_say_what_to_do(park):  # noqa: ANN001
    p = park
    c = p["client"]
    body = paycode_body("134567890123456789")
    r = c.post("/api/v1/terminal/parking/paycode", json=body, auth=p["auth"])
    assert r.status_code == 200 and r.json()["status"] == "paid", r.text
    again = c.post("/api/v1/terminal/parking/paycode", json=body, auth=p["auth"])
    assert again.json()["status"] == "paid" and again.json()["paid_at"] == r.json()["paid_at"]
    assert len(p["app"].state.channels.simulator("wechat").orders) == 1            # charged at the channel once
    poor = c.post("/api/v1/terminal/parking/paycode", json=paycode_body("134567890123450000"), auth=p["auth"]).json()
    assert (poor["status"], poor["reason"]) == ("closed", "channel_insufficient_funds") and "余额不足" in poor["message_zh"]
    bad = c.post("/api/v1/terminal/parking/paycode", json=paycode_body("999967890123456789"), auth=p["auth"]).json()
    assert (bad["status"], bad["reason"]) == ("closed", "channel_code_invalid") and "刷新" in bad["message_zh"]
    for code in ("", "abc", "1" * 40, "12345678901234567x"):
        r = c.post("/api/v1/terminal/parking/paycode", json=paycode_body(code), auth=p["auth"])
        assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_request"
        assert not code or code not in r.text                                  # a pay code is never echoed


def test_closing_a_qr_order_stops_the_driver_paying_it(park):  # noqa: ANN001
    p = park
    c = p["client"]
    order = c.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
    closed = c.post(f"/api/v1/terminal/parking/orders/{order['order_id']}/close", auth=p["auth"])
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert c.post("/api/v1/parking/channel-sim/pay", json={"qr_text": order["qr_text"]}).status_code == 409
    paid_first = c.post("/api/v1/terminal/parking/orders", json=order_body(), auth=p["auth"]).json()
    c.post("/api/v1/parking/channel-sim/pay", json={"qr_text": paid_first["qr_text"]})
    closed = c.post(f"/api/v1/terminal/parking/orders/{paid_first['order_id']}/close", auth=p["auth"])
    assert closed.json()["status"] == "paid"                                # too late to close: it is paid
