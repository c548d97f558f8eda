"""Personal data at rest: a diner is signed up with a name, ID number, phone, bank card and a face
template; a terminal pulls the signing and takes a payment. Then the raw bytes are searched: the
terminal's SQLite file (+ -wal), the backend's SQLite file (+ -wal) or PostgreSQL's pg_dump of the
whole database, and the backend's log. None holds the name, ID number, phone, card number or the
template (raw float32 bytes or its base64). Masked names (欧**珠) are allowed: they are what the
screen shows."""
from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.backend.money_helpers import CONSENT_AT, template
from tests.sync.rig import Canteen

NAME = "欧阳明珠"
ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"
CARD = "6222020200112233445"


def needles(template_b64: str) -> dict[str, bytes]:
    raw = base64.b64decode(template_b64)
    return {"name": NAME.encode(), "name (JSON-escaped)": json.dumps(NAME).strip('"').encode(),
            "id number": ID_NUMBER.encode(), "id number (lower x)": ID_NUMBER.lower().encode(),
            "phone": PHONE.encode(), "card number": CARD.encode(), "card tail 10": CARD[-10:].encode(),
            "template bytes": raw[16:48], "template base64": template_b64[8:40].encode()}


def found_in(blob: bytes, marks: dict[str, bytes]) -> list[str]:
    return [what for what, needle in marks.items() if needle in blob]


def files_bytes(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def pg_dump(url: str) -> bytes:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(["pg_dump", "--no-owner", plain], capture_output=True, check=True, timeout=120).stdout


def sign_up_and_pay(site: Canteen, tmp: Path) -> tuple[str, Path, str]:
    cid = site.post("/api/v1/customers", {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE})["id"]
    face = template(cid)
    site.post(f"/api/v1/customers/{cid}/signings/face", {
        "consent_at": CONSENT_AT, "consent_text_version": "v1", "templates": [face],
        "per_payment_limit_fen": 100_000, "per_day_limit_fen": 1_000_000})
    r = site.http.put(f"/api/v1/customers/{cid}/bank-card", json={"card_number": CARD}, headers=site.staff)
    assert r.status_code == 200, r.text
    site.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": f"dep-at-rest-{cid}", "amount_fen": 10_000})
    term = site.terminal(tmp / "terminal")
    outcome = term.pay(cid, 500)
    assert outcome.status == "approved"
    term.engine.cycle()
    term.close()
    return face, tmp / "terminal" / "terminal.db", outcome.payment_id


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_plain_personal_data_or_template_in_any_file(db, tmp_path, request):
    db_url = request.getfixturevalue("pg_url") if db == "postgres" else None
    site = Canteen(tmp_path, db_url=db_url)
    try:
        face, terminal_db, payment_id = sign_up_and_pay(site, tmp_path)
        marks = needles(face)
        terminal_raw = files_bytes(terminal_db, Path(f"{terminal_db}-wal"))
        assert len(terminal_raw) > 10_000
        assert payment_id.encode() in terminal_raw        # control: the search does see plain columns
        assert found_in(terminal_raw, marks) == [], "terminal SQLite file"
        if db == "sqlite":
            backend_file = Path(site.db_url.split("///", 1)[1])
            backend_raw = files_bytes(backend_file, Path(f"{backend_file}-wal"))
        else:
            backend_raw = pg_dump(site.db_url)
            assert b"COPY public.customers" in backend_raw     # the dump really holds the rows
        assert "一食堂".encode() in backend_raw              # control: the merchant's name is not personal data
        assert found_in(backend_raw, marks) == [], f"backend {db} raw data"
        log = site.backend.log_path.read_bytes()
        assert found_in(log, marks) == [], "backend log"
    finally:
        site.close()
