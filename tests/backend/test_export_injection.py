"""Exports never run formulas (issue 12, item 3): every CSV and xlsx the backend writes (the payout
file, every report) keeps a name like `=cmd|' /C calc'!A0` as text. A spreadsheet reads a cell
starting with = + - @ (or a tab or CR) as a formula; such text cells get a leading apostrophe,
numbers (also negative ones) stay numbers. One helper does it: backend.reports.export.safe_cell."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text, update

from backend.models.merchants import Merchant
from backend.models.terminals import Terminal
from backend.reports.catalog import REPORTS
from backend.reports.export import csv_bytes, safe_cell, xlsx_bytes
from tests.backend.helpers import make_app, make_merchant_site
from tests.backend.money_helpers import open_canteen

PAYLOAD = "=cmd|' /C calc'!A0"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize("value, written", [
    (PAYLOAD, "'" + PAYLOAD), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-", "'-"),
    (-100, -100), (0, 0), ("-12.34", "-12.34"), ("+5", "+5"), ("2026-03-02", "2026-03-02"), ("张*三", "张*三"),
    ("a\x00b\x07c", "a\ufffdb\ufffdc"), (None, None), ("", ""),
])
def test_a_cell_is_written_as_text_that_cannot_start_a_formula(value, written) -> None:  # noqa: ANN001
    assert safe_cell(value) == written


def test_the_shared_writers_neutralise_text_and_keep_numbers() -> None:
    rows = [(PAYLOAD, -100, "-1.00"), ("ok", 5, "0.05")]
    parsed = list(csv.reader(io.StringIO(csv_bytes(("name", "fen", "yuan"), rows).decode("utf-8-sig"))))
    assert parsed[1] == ["'" + PAYLOAD, "-100", "-1.00"]
    sheet = load_workbook(io.BytesIO(xlsx_bytes("t", ("name", "fen", "yuan"), rows,
                                                datetime(2026, 3, 2, tzinfo=timezone.utc)))).active
    name, fen, _ = sheet[2]
    assert name.value == "'" + PAYLOAD and name.data_type == "s"
    assert fen.value == -100 and fen.data_type == "n"


def _no_formula_anywhere(content: bytes, fmt: str) -> list[str]:
    """Every text cell of an export; fails if one could be read as a formula."""
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for c in row]
    else:
        book = load_workbook(io.BytesIO(content))
        found = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
        assert all(c.data_type != "f" for c in found), [c.value for c in found if c.data_type == "f"]
        cells = [c.value for c in found if isinstance(c.value, str)]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
    assert dangerous == [], dangerous
    return cells


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.fixture
def poisoned(db_url: str):  # noqa: ANN201
    """A canteen and a car park whose every name an export shows is the payload."""
    app = make_app(db_url)
    with TestClient(app) as client:
        canteen = open_canteen(app, client)
        park = make_merchant_site(app, kind="parking", name=PAYLOAD)
        with app.state.sessions() as session:
            session.execute(update(Merchant).values(name=PAYLOAD, settlement_bank_name=PAYLOAD))
            session.execute(update(Terminal).values(name=PAYLOAD))
            from backend.models.merchants import Site
            session.execute(update(Site).where(Site.id == park["site_id"]).values(name=PAYLOAD))
            session.commit()
        program = canteen.program(name=PAYLOAD, funder="@" + PAYLOAD)
        diner = canteen.customer("=张三", wallet_fen=5000)
        canteen.grant(program, [(diner, 1000)])
        canteen.post("/api/v1/campaigns", {     # the marketing reports show its name and its funder's
            "name": PAYLOAD, "kind": "fixed", "amount_fen": 100, "budget_fen": 1000, "status": "active",
            "funder_kind": "merchant", "funder_merchant_id": canteen.merchant_id, "merchant_ids": [canteen.merchant_id]})
        canteen.pay(diner, 700, meal_period="+lunch")
        yield canteen


def _months(canteen) -> set[str]:  # noqa: ANN001
    """The pinned month, and the month the ledger stamped its postings with (the same once every
    service takes the one injected clock; until then either may hold the rows)."""
    with canteen.app.state.sessions() as session:
        stamped = session.execute(text("SELECT max(created_at) FROM ledger_postings")).scalar_one()
    if isinstance(stamped, str):
        stamped = datetime.fromisoformat(stamped)
    if stamped.tzinfo is None:
        stamped = stamped.replace(tzinfo=timezone.utc)
    return {canteen.now(SHANGHAI).strftime("%Y-%m"), stamped.astimezone(SHANGHAI).strftime("%Y-%m")}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_report_keeps_a_formula_like_name_as_text(poisoned, fmt: str) -> None:  # noqa: ANN001
    for name in REPORTS:
        cells = []
        for month in sorted(_months(poisoned)):
            response = poisoned.client.get(f"/api/v1/reports/{name}", headers=poisoned.staff,
                                           params={"month": month, "format": fmt})
            assert response.status_code == 200, (name, response.text)
            cells += _no_formula_anywhere(response.content, fmt)
        wanted = {"sales": "'+lunch", "subsidy-beneficiaries": "'=*三"}.get(name, "'" + PAYLOAD)
        assert wanted in cells, (name, cells)
        if name == "subsidy-programs":
            assert "'@" + PAYLOAD in cells                  # the funder


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_payout_file_keeps_merchant_and_bank_names_as_text(poisoned, fmt: str) -> None:  # noqa: ANN001
    day = poisoned.now(SHANGHAI).date().isoformat()
    poisoned.at(poisoned.now() + timedelta(days=1))
    run = poisoned.client.post("/api/v1/settlement/runs", headers=poisoned.staff, json={"business_date": day})
    assert run.status_code == 200, run.text
    response = poisoned.client.get(f"/api/v1/settlement/days/{day}/payout.{fmt}", headers=poisoned.staff)
    assert response.status_code == 200, response.text
    cells = _no_formula_anywhere(response.content, fmt)
    assert cells.count("'" + PAYLOAD) >= 2                 # merchant_name and bank_name
