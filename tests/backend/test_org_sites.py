"""Sites, lanes, meal periods and offline limits; what a site's terminals will pull about them."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.models.changes import SyncChange
from backend.services.changes import changes_since
from core.wire import MealPeriodsData, OfflineLimits
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token

LUNCH = {"code": "lunch", "name_zh": "午餐", "name_en": "Lunch", "start": "11:00", "end": "13:30", "price_fen": 800}
LATE = {"code": "late", "name_zh": "夜宵", "name_en": "Late", "start": "22:00", "end": "01:00"}


@pytest.fixture
def env(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app) as client:
        yield app, client, make_merchant_site(app), bearer(operator_token(app))


def _feed(app, ids: dict, kind: str) -> list[SyncChange]:  # noqa: ANN001
    with app.state.sessions() as s:
        rows = changes_since(s, 0, 100, merchant_id=ids["merchant_id"], site_id=ids["site_id"])
        return [r for r in rows if r.kind == kind]


def test_meal_periods_replace_the_list_and_reach_the_sites_terminals(env) -> None:  # noqa: ANN001
    app, client, ids, op = env
    url = f"/api/v1/sites/{ids['site_id']}/meal-periods"
    assert client.put(url, headers=op, json={"periods": [LUNCH, LATE]}).status_code == 200
    assert client.put(url, headers=op, json={"periods": [LUNCH]}).status_code == 200
    got = MealPeriodsData.model_validate(client.get(url, headers=op).json())
    assert [p.code for p in got.periods] == ["lunch"] and got.periods[0].price_fen == 800
    feed = _feed(app, ids, "meal_periods")
    assert len(feed) == 2 and feed[-1].key == str(ids["site_id"])
    assert MealPeriodsData.model_validate(feed[-1].data) == got
    other = make_merchant_site(app, name="elsewhere")
    assert _feed(app, other, "meal_periods") == []     # another site's terminals do not get them


BAD_PERIODS = [
    [LUNCH, LUNCH],                                              # same code twice
    [LUNCH, {**LATE, "code": "brunch", "start": "10:00", "end": "11:30"}],   # overlap
    [{**LUNCH, "start": "12:00", "end": "12:00"}],               # empty
    [{**LUNCH, "start": "24:00"}],                               # not a time
    [{**LUNCH, "price_fen": -1}],
    [{**LUNCH, "price_fen": 10**12}],
    [{**LUNCH, "price_fen": "8.00"}],
    [{**LUNCH, "code": "Lunch Time"}],
    [{**LATE, "code": f"p{i}", "start": f"{i:02d}:00", "end": f"{i:02d}:30"} for i in range(13)],
]


def test_bad_meal_periods_are_422_and_keep_the_old_list(env) -> None:  # noqa: ANN001
    app, client, ids, op = env
    url = f"/api/v1/sites/{ids['site_id']}/meal-periods"
    client.put(url, headers=op, json={"periods": [LATE]})
    for periods in BAD_PERIODS:
        response = client.put(url, headers=op, json={"periods": periods})
        assert response.status_code == 422 and response.json()["detail"]["code"] == "invalid_request", periods
    assert [p["code"] for p in client.get(url, headers=op).json()["periods"]] == ["late"]
    assert len(_feed(app, ids, "meal_periods")) == 1


def test_offline_limits_start_sensible_and_changes_reach_terminals(env) -> None:  # noqa: ANN001
    app, client, ids, op = env
    url = f"/api/v1/sites/{ids['site_id']}/offline-limits"
    initial = OfflineLimits.model_validate(client.get(url, headers=op).json())
    assert 0 < initial.per_payment_fen <= initial.per_customer_day_fen and initial.max_cache_age_s > 0
    assert OfflineLimits.model_validate(_feed(app, ids, "offline_limits")[0].data) == initial
    tighter = {"per_payment_fen": 2000, "per_customer_day_fen": 4000, "terminal_total_fen": 100_000,
               "max_cache_age_s": 7200}
    assert client.put(url, headers=op, json=tighter).json() == tighter
    assert _feed(app, ids, "offline_limits")[-1].data == tighter


BAD_LIMITS = [
    {"per_payment_fen": -1, "per_customer_day_fen": 1, "terminal_total_fen": 1, "max_cache_age_s": 1},
    {"per_payment_fen": 5000, "per_customer_day_fen": 1000, "terminal_total_fen": 9000, "max_cache_age_s": 1},
    {"per_payment_fen": 1, "per_customer_day_fen": 1, "terminal_total_fen": 10**18, "max_cache_age_s": 1},
    {"per_payment_fen": 1, "per_customer_day_fen": 1, "terminal_total_fen": 1},
    {"per_payment_fen": 1.0, "per_customer_day_fen": 1, "terminal_total_fen": 1, "max_cache_age_s": 1},
]


def test_bad_offline_limits_are_422_and_record_nothing(env) -> None:  # noqa: ANN001
    app, client, ids, op = env
    before = len(_feed(app, ids, "offline_limits"))
    for limits in BAD_LIMITS:
        response = client.put(f"/api/v1/sites/{ids['site_id']}/offline-limits", headers=op, json=limits)
        assert response.status_code == 422, limits
    assert len(_feed(app, ids, "offline_limits")) == before


def test_sites_and_lanes(env) -> None:  # noqa: ANN001
    app, client, ids, op = env
    m = ids["merchant_id"]
    site = client.post(f"/api/v1/merchants/{m}/sites", headers=op, json={"name": "二食堂", "kind": "canteen"})
    assert site.status_code == 201 and site.json()["timezone"] == "Asia/Shanghai"
    wrong = client.post(f"/api/v1/merchants/{m}/sites", headers=op, json={"name": "P", "kind": "car_park"})
    assert wrong.status_code == 422 and wrong.json()["detail"]["code"] == "site_kind_mismatch"
    lane = client.post(f"/api/v1/sites/{site.json()['id']}/lanes", headers=op, json={"name": "1号窗口"})
    assert lane.status_code == 201
    listed = client.get(f"/api/v1/merchants/{m}/sites", headers=op).json()
    assert [len(s["lanes"]) for s in listed] == [1, 1]
    assert client.get("/api/v1/sites/99999", headers=op).status_code == 404
    assert client.get(f"/api/v1/sites/{2**40}", headers=op).status_code == 422   # not a database error
    assert client.get(f"/api/v1/terminals?site_id={2**40}", headers=op).status_code == 422
    assert client.get(f"/api/v1/operators?merchant_id={2**40}", headers=op).status_code == 422
    with app.state.sessions() as s:
        kinds = sorted(s.scalars(select(SyncChange.kind)))
        # its approval; each site's limits and its 4-digit check setting
        assert kinds == ["face_confirm", "face_confirm", "merchant_status", "offline_limits", "offline_limits"]
