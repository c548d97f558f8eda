"""Customers and signings through the real API: personal data sealed at rest (read from the raw
database file), masked on the way out, found by keyed hash; face, card and plate signings."""
from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.backend.helpers import make_app
from tests.backend.money_helpers import CONSENT_AT, canteen, open_canteen, template  # noqa: F401 - canteen is a fixture

NAME, ID_NUMBER, PHONE = "欧阳小明", "11010519491231002X", "13812345678"


def _face(canteen, cid: int, templates: list[str], expect: int = 201) -> dict:  # noqa: ANN001
    return canteen.post(f"/api/v1/customers/{cid}/signings/face",
                        {"consent_at": CONSENT_AT, "consent_text_version": "v2", "templates": templates,
                         "per_payment_limit_fen": 3000, "per_day_limit_fen": 10000}, expect=expect)


def test_personal_data_is_sealed_at_rest_masked_in_answers_and_searchable(canteen, db_url: str) -> None:  # noqa: ANN001
    created = canteen.post("/api/v1/customers", {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE})
    assert created["masked_name"] == "欧**明"
    assert created["id_number"] == "110***********002X" and created["phone"] == "138****5678"
    found = canteen.client.post("/api/v1/customers/search", json={"phone": PHONE}, headers=canteen.staff).json()
    assert [c["id"] for c in found] == [created["id"]]
    found = canteen.client.post("/api/v1/customers/search", json={"id_number": ID_NUMBER.lower()},
                                headers=canteen.staff)
    assert [c["id"] for c in found.json()] == [created["id"]]
    _face(canteen, created["id"], [template(7)])
    # Read every text and byte column of every table, as someone with the database file would.
    engine = create_engine(db_url)
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table'" if db_url.startswith("sqlite")
            else "SELECT tablename FROM pg_tables WHERE schemaname='public'"))]
        dump = b""
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    dump += value if isinstance(value, bytes) else str(value).encode()
    engine.dispose()
    raw_template = base64.b64decode(template(7))
    for secret in (NAME.encode(), ID_NUMBER.encode(), PHONE.encode(), raw_template, template(7).encode()):
        assert secret not in dump
    assert "欧**明".encode() in dump


def test_bad_personal_data_is_refused_with_words(canteen) -> None:  # noqa: ANN001
    response = canteen.client.post("/api/v1/customers", json={"name": "张三", "id_number": "12345678901234567A"},
                                   headers=canteen.staff)
    assert response.status_code == 422 and response.json()["detail"]["code"] == "bad_id_number"
    canteen.post("/api/v1/customers", {"name": "张三", "id_number": ID_NUMBER})
    again = canteen.client.post("/api/v1/customers", json={"name": "张三丰", "id_number": ID_NUMBER},
                                headers=canteen.staff)
    assert again.status_code == 409


def test_a_face_already_signed_to_another_person_is_refused(canteen) -> None:  # noqa: ANN001
    first = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    second = canteen.post("/api/v1/customers", {"name": "李四"})["id"]
    _face(canteen, first, [template(1)])
    vector = np.frombuffer(base64.b64decode(template(1)), dtype="<f4") + np.float32(0.01)
    near = base64.b64encode(vector.astype("<f4").tobytes()).decode()
    refused = _face(canteen, second, [near], expect=409)
    assert refused["detail"]["code"] == "face_signed_to_another"
    assert "另一位" in refused["detail"]["message_zh"] and "another person" in refused["detail"]["message_en"]
    _face(canteen, second, [template(2)])        # a different face is fine
    signing = canteen.client.get(f"/api/v1/customers/{first}/signings", headers=canteen.staff).json()[0]
    canteen.post(f"/api/v1/signings/{signing['id']}/templates", {"templates": [near]}, expect=200)  # the same person


@pytest.mark.parametrize("bad", [
    base64.b64encode(b"\x00" * 511).decode(),                                      # truncated
    base64.b64encode(np.full(128, np.nan, dtype="<f4").tobytes()).decode(),       # not finite
    "not base64!!", "", base64.b64encode(b"\x00" * 4096).decode(),                # garbage, empty, oversized
])
def test_malformed_templates_are_refused(canteen, bad: str) -> None:  # noqa: ANN001
    cid = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    response = canteen.client.post(f"/api/v1/customers/{cid}/signings/face", headers=canteen.staff, json={
        "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [bad],
        "per_payment_limit_fen": 100, "per_day_limit_fen": 100})
    assert response.status_code == 422 and response.json()["detail"]["code"] == "bad_template"
    assert canteen.client.get(f"/api/v1/customers/{cid}/signings", headers=canteen.staff).json() == []


def test_plate_signing_validates_chinese_plates_and_pays_by_plate(canteen) -> None:  # noqa: ANN001
    cid = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    canteen.deposit(cid, 5000)
    limits = {"per_payment_limit_fen": 3000, "per_day_limit_fen": 6000}
    for plate, colour in (("京A12345", "purple"), ("京A1234", "blue"), ("粤BD12345", "blue"), ("XX12345", "blue")):
        response = canteen.client.post(f"/api/v1/customers/{cid}/signings/plate", headers=canteen.staff,
                                       json={"plate": plate, "plate_colour": colour, **limits})
        assert response.status_code == 422, (plate, response.text)
        assert response.json()["detail"]["message_zh"]
    signed = canteen.post(f"/api/v1/customers/{cid}/signings/plate",
                          {"plate": "粤b·d12345", "plate_colour": "绿", **limits})
    assert (signed["plate"], signed["plate_colour"]) == ("粤BD12345", "green")
    dup = canteen.client.post(f"/api/v1/customers/{cid}/signings/plate", headers=canteen.staff,
                              json={"plate": "粤BD12345", "plate_colour": "green", **limits})
    assert dup.status_code == 409
    response = canteen.client.post("/api/v1/terminal/payments", auth=canteen.auth, json={
        "payment_id": "0b4a4f8e-6a2b-4f0e-9d5e-1a2b3c4d5e6f", "amount_fen": 1200,
        "credential": {"kind": "plate", "plate": "粤BD12345", "plate_colour": "green"},
        "occurred_at": "2026-03-10T12:00:00+08:00"})
    assert response.json()["status"] == "approved"
    assert canteen.view(cid)["wallet_fen"] == 3800


def test_card_signing_pays_by_keyed_hash(canteen) -> None:  # noqa: ANN001
    cid = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    canteen.deposit(cid, 1000)
    card_hash = "ab" * 32
    canteen.post(f"/api/v1/customers/{cid}/signings/card",
                 {"card_hash": card_hash, "per_payment_limit_fen": 500, "per_day_limit_fen": 1000})
    response = canteen.client.post("/api/v1/terminal/payments", auth=canteen.auth, json={
        "payment_id": "1b4a4f8e-6a2b-4f0e-9d5e-1a2b3c4d5e6f", "amount_fen": 400,
        "credential": {"kind": "card", "card_hash": card_hash.upper()}, "occurred_at": "2026-03-10T12:00:00+08:00"})
    assert response.json()["status"] == "approved" and response.json()["masked_name"] == "张*"


def test_top_up_is_idempotent_by_deposit_id(canteen) -> None:  # noqa: ANN001
    cid = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
    body = {"deposit_id": "counter-2026-0001", "amount_fen": 5000}
    first = canteen.client.post(f"/api/v1/customers/{cid}/deposits", json=body, headers=canteen.staff)
    again = canteen.client.post(f"/api/v1/customers/{cid}/deposits", json=body, headers=canteen.staff)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["posting_id"] == again.json()["posting_id"] and again.json()["booked"] is False
    clash = canteen.client.post(f"/api/v1/customers/{cid}/deposits", json={**body, "amount_fen": 6000},
                                headers=canteen.staff)
    assert clash.status_code == 409 and clash.json()["detail"]["code"] == "deposit_id_reused"
    assert canteen.view(cid)["wallet_fen"] == 5000
    for bad in ({"deposit_id": "counter-2026-0002", "amount_fen": 0}, {"deposit_id": "x", "amount_fen": 5},
                {"deposit_id": "counter-2026-0003", "amount_fen": "5"}):
        response = canteen.client.post(f"/api/v1/customers/{cid}/deposits", json=bad, headers=canteen.staff)
        assert response.status_code == 422
    assert canteen.view(cid)["wallet_fen"] == 5000


def test_unknown_ids_are_a_clear_404(canteen) -> None:  # noqa: ANN001
    for method, path, body in (
            ("get", "/api/v1/customers/424242", None),
            ("post", "/api/v1/customers/424242/deposits", {"deposit_id": "counter-0000001", "amount_fen": 5}),
            ("post", "/api/v1/signings/424242/revoke", {"reason": "x"}),
            ("post", "/api/v1/subsidy-grants/424242/clawback", {}),
            ("post", "/api/v1/customers", {"name": "张三", "group_id": 424242})):
        response = canteen.client.request(method, path, json=body, headers=canteen.staff)
        assert response.status_code == 404, path
        assert response.json()["detail"]["message_zh"] and response.json()["detail"]["message_en"]
    assert canteen.client.get("/api/v1/customers/99999999999", headers=canteen.staff).status_code == 422


def test_duplicate_face_distance_is_configurable(db_url: str) -> None:
    app = make_app(db_url, face_duplicate_distance=0.0)
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        first = canteen.post("/api/v1/customers", {"name": "张三"})["id"]
        twin = canteen.post("/api/v1/customers", {"name": "张四"})["id"]
        _face(canteen, first, [template(1)])
        _face(canteen, twin, [template(1)])   # the check is switched off: identical twins may both sign
