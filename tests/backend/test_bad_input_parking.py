"""Bad input from a parking lane (issue 12, item 2): a malformed or poisoned lane event is rejected
on its own and the rest of the batch applied; a blacklist reason with control characters is a
clear 422. On SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from core.clock import ManualClock
from tests.backend.bad_input_helpers import assert_clear_422, count
from tests.backend.parking_helpers import car_park

LANE_T0 = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai


@pytest.fixture
def lane(db_url: str):  # noqa: ANN201
    with car_park(db_url, clock=ManualClock(LANE_T0)) as p:
        yield p


def _lane_event(kind: str = "entry", **kw) -> dict:  # noqa: ANN003
    return {"event_id": str(uuid.uuid4()), "kind": kind, "session_id": str(uuid.uuid4()), "lane_id": None,
            "plate": "京A12345", "plate_colour": "blue", "at": LANE_T0.isoformat(), **kw}


@pytest.mark.parametrize("field", ["image_ref", "reason", "operator", "plate", "plate_colour"])
def test_control_characters_in_a_lane_event_reject_that_event_only(lane, db_url: str, field: str) -> None:  # noqa: ANN001
    bad = _lane_event(**{field: "京A1\x0045"})
    good = _lane_event(plate="京B54321")
    response = lane["client"].post("/api/v1/terminal/parking/events", json={"events": [bad, good]}, auth=lane["auth"])
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "applied"]
    assert response.json()["results"][0]["event_id"] == bad["event_id"]
    assert count(db_url, "parking_events") == 1


def test_a_poisoned_lane_event_is_rejected_and_the_rest_applied(lane, db_url: str) -> None:  # noqa: ANN001
    engine = create_engine(db_url)
    with engine.begin() as conn:
        if db_url.startswith("sqlite"):
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON parking_sessions WHEN NEW.plate = '京A66666' "
                              "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"))
        else:
            conn.execute(text("CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.plate = '京A66666' "
                              "THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER poison BEFORE INSERT ON parking_sessions FOR EACH ROW "
                              "EXECUTE FUNCTION poison()"))
    engine.dispose()
    events = [_lane_event(plate="京A11111"), _lane_event(plate="京A66666"), _lane_event(plate="京A22222")]
    response = lane["client"].post("/api/v1/terminal/parking/events", json={"events": events}, auth=lane["auth"])
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["applied", "rejected", "applied"]
    assert count(db_url, "parking_sessions") == 2


@pytest.mark.parametrize("body", [{"reason": "逃费\x00"}, {"reason": ""}])
def test_a_blacklist_reason_with_control_characters_is_a_422(lane, db_url: str, body: dict) -> None:  # noqa: ANN001
    response = lane["client"].put(f"/api/v1/sites/{lane['site_id']}/parking/blacklist/京A12345", json=body,
                                  headers=lane["op"])
    assert_clear_422(response)
    assert count(db_url, "parking_blacklist") == 0
