"""Grant CSV errors keep no personal data (issue 12, item 4): a bad `customer_id` cell is often an
ID number or a phone typed into the wrong column. The import report is stored
(subsidy_grant_batches.errors) and shown on /admin/subsidies, so it names the line and a masked form of
the cell, never the cell itself. On SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests.backend.money_helpers import canteen  # noqa: F401 - a fixture

ID_NUMBER, PHONE = "11010519491231002X", "13812345678"


def test_a_bad_customer_id_cell_is_masked_in_the_stored_report(canteen, db_url: str) -> None:  # noqa: ANN001
    program = canteen.program()
    cid = canteen.customer("王五")
    csv_text = f"customer_id,amount_fen\n{ID_NUMBER},100\n{PHONE},100\n{cid},100\n99999,100\n"
    response = canteen.client.post(f"/api/v1/subsidy-programs/{program}/grant-batches", params={"batch_id": "b1"},
                                   content=csv_text.encode(), headers={**canteen.staff, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["rows_booked"] == 1
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(2, "unknown_customer"), (3, "unknown_customer"),
                                                                   (5, "unknown_customer")]
    assert "110***********002X" in report["errors"][0]["message_zh"]
    assert "138****5678" in report["errors"][1]["message_en"]
    assert "99999" in report["errors"][2]["message_en"]         # a customer number is not personal data
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = json.dumps(conn.execute(text("SELECT errors FROM subsidy_grant_batches")).scalar_one(), ensure_ascii=False)
    engine.dispose()
    for secret in (ID_NUMBER, PHONE, ID_NUMBER[6:14], PHONE[3:7]):
        assert secret not in stored and secret not in response.text
