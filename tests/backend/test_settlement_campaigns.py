"""Settlement with campaigns through the real API (issue 17): the merchant is paid full prices less
refunds and fees; the bank's campaign money is part of that; the merchant's own campaigns'
discounts, net of their share of refunds, are set off against its payout, to the fen; the payout
files and the console show both; check-ledger holds and each campaign account ends where it should."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from backend.settlement.models import SettlementDay
from tests.backend.campaign_helpers import account_balance, merchant_balance
from tests.backend.campaign_invariants import campaign_problems
from tests.backend.helpers import make_app, operator_token
from tests.backend.money_helpers import open_canteen
from tests.backend.test_settlement import DAY, NOW, TODAY, download, mine, morning_after, run_day, set_fees
from tests.web.test_admin_pages import browser


@pytest.fixture
def canteen(db_url: str):  # noqa: ANN201
    app = make_app(db_url)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield open_canteen(app, client)


def own_coupons(canteen, customers: list[int], funder: int | None = None, merchant: int | None = None) -> int:  # noqa: ANN001
    """A merchant-funded 1.00-off coupon campaign (funded by `funder`, at `merchant`), one coupon each."""
    own = canteen.post("/api/v1/campaigns", {
        "name": "本店券", "kind": "fixed", "amount_fen": 100, "mode": "coupon", "budget_fen": 1000, "status": "active",
        "funder_kind": "merchant", "funder_merchant_id": funder or canteen.merchant_id,
        "merchant_ids": [merchant or canteen.merchant_id]})
    canteen.post(f"/api/v1/campaigns/{own['id']}/coupons", {
        "issue_id": f"i{own['id']}", "customer_ids": customers,
        "expires_at": (canteen.now() + timedelta(days=5)).isoformat()})
    return own["id"]


def a_day(canteen) -> dict:  # noqa: ANN001
    """Four payments: one with the bank's 满减 (5.00 off from 20.00), three with the merchant's own
    1.00 coupon; a partial refund of the bank's, a full and a partial refund of the merchant's."""
    set_fees(canteen, [{"method": "face", "rate_bp": 60, "min_fen": 10, "max_fen": 500}])
    ann, bob, cat = (canteen.customer(name, wallet_fen=20_000) for name in ("李小安", "王大宝", "赵小猫"))
    bank = canteen.post("/api/v1/campaigns", {"name": "银行满减", "kind": "threshold", "threshold_fen": 2000,
                                              "amount_fen": 500, "budget_fen": 10_000, "status": "active",
                                              "merchant_ids": [canteen.merchant_id]})["id"]
    own = own_coupons(canteen, [ann, bob, cat])
    big = canteen.pay(ann, 3000)                 # bank: 500 off; fee 18
    small = canteen.pay(ann, 1000)               # own: 100 off; fee 10 (the minimum)
    bobs = canteen.pay(bob, 1200)                # own: 100 off; fee 10
    cats = canteen.pay(cat, 1500)                # own: 100 off; fee 10
    assert [p["discount_fen"] for p in (big, small, bobs, cats)] == [500, 100, 100, 100]
    assert canteen.refund(big["payment_id"], 1000)["campaign_fen"] == 166     # the bank's share back
    assert canteen.refund(bobs["payment_id"], 1200)["campaign_fen"] == 100    # full: the coupon's all back
    assert canteen.refund(cats["payment_id"], 600)["campaign_fen"] == 40      # floor(100 * 600 / 1500)
    return {"bank": bank, "own": own, "small": small}


def check_ledger_command(canteen, tmp_path) -> str:  # noqa: ANN001
    """`gatepay backend check-ledger` on the test's database, as an operator would run it."""
    from typer.testing import CliRunner

    from backend.cli import app as backend_cli

    result = CliRunner().invoke(backend_cli, ["check-ledger"], env={
        "GATEPAY_DATABASE_URL": canteen.app.state.settings.database_url,
        "GATEPAY_KEY_FILE": str(tmp_path / "keys.json")})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_day_with_bank_and_merchant_funded_discounts_and_refunds_settles_to_the_fen(canteen, tmp_path) -> None:  # noqa: ANN001
    made = a_day(canteen)
    day = mine(run_day(canteen), canteen.merchant_id)
    assert (day["payments"], day["gross_fen"], day["refunds_fen"], day["fees_fen"]) == (4, 6700, 2800, 48)
    assert (day["campaign_bank_fen"], day["campaign_merchant_fen"]) == (500, 300)
    assert day["wallet_fen"] + day["campaign_bank_fen"] + day["campaign_merchant_fen"] == day["gross_fen"]
    # Own discounts 300, less 100 (bob's full refund) and 40 (cat's partial): 160 off the payout.
    assert day["campaign_setoff_fen"] == 160
    assert day["net_fen"] == 6700 - 2800 - 48 - 160 == 3692
    # What the merchant kept of prices (2000 + 1000 + 0 + 900) less its own discounts (100 + 0 + 60), less fees.
    assert day["net_fen"] == (2000 + 1000 + 0 + 900) - (100 + 0 + 60) - 48
    assert canteen.ledger_ok() == [] and campaign_problems(canteen.app) == []
    assert merchant_balance(canteen) == 0                                  # the payable is paid out in full
    assert account_balance(canteen.app, f"campaign:{made['own']}") == 0   # the merchant paid its own campaign
    assert account_balance(canteen.app, f"campaign:{made['bank']}") == -334  # the bank paid 500 - 166
    assert "ledger balanced" in check_ledger_command(canteen, tmp_path)

    rows = list(csv.DictReader(io.StringIO(download(canteen, DAY, "csv").decode("utf-8-sig"))))
    row = next(r for r in rows if int(r["merchant_id"]) == canteen.merchant_id)
    assert (row["campaign_bank_fen"], row["campaign_setoff_fen"], row["net_fen"], row["net_yuan"]) == (
        "500", "160", "3692", "36.92")
    sheet = load_workbook(io.BytesIO(download(canteen, DAY, "xlsx"))).active
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    mine_row = dict(zip(header, next(r for r in cells if r[2] == canteen.merchant_id)))
    assert (mine_row["campaign_bank_fen"], mine_row["campaign_setoff_fen"], mine_row["net_fen"]) == (500, 160, 3692)

    again = run_day(canteen, at=morning_after(TODAY) + timedelta(hours=2))     # nothing is set off twice
    assert again["closed"] == [] and merchant_balance(canteen) == 0

    console = browser(canteen, operator_token(canteen.app, "merchant_admin", merchant_id=canteen.merchant_id))
    page = console.get("/admin/settlement")
    assert page.status_code == 200 and "本店活动抵扣" in page.text and "活动（银行出资）" in page.text
    assert ">1.60<" in page.text and ">5.00<" in page.text and ">36.92<" in page.text

    settled_on = morning_after(TODAY).astimezone(ZoneInfo(canteen.app.state.settings.timezone))
    statement = canteen.client.get("/api/v1/reports/campaign-funders", headers=canteen.staff,
                                   params={"month": settled_on.strftime("%Y-%m")}).json()["rows"]
    settled = next(r for r in statement if r["funder"] == "merchant" and r["day"] == settled_on.date().isoformat())
    assert (settled["settled_fen"], settled["closing_fen"]) == (160, 0)


def test_a_later_refund_gives_the_merchant_its_discount_back_and_another_merchants_campaign(canteen) -> None:  # noqa: ANN001
    made = a_day(canteen)
    other = open_canteen(canteen.app, canteen.client)
    dan = canteen.customer("钱小丹", wallet_fen=5000)
    # The other merchant funds a coupon used at this canteen: the canteen is paid in full, the
    # other merchant pays the discount.
    sponsored = own_coupons(canteen, [dan], funder=other.merchant_id, merchant=canteen.merchant_id)
    assert canteen.pay(dan, 800)["discount_fen"] == 100
    first = run_day(canteen)
    assert mine(first, canteen.merchant_id)["campaign_setoff_fen"] == 160          # its own only
    assert mine(first, canteen.merchant_id)["campaign_merchant_fen"] == 400        # 300 own + 100 the other's
    sponsor = mine(first, other.merchant_id)
    assert (sponsor["gross_fen"], sponsor["campaign_setoff_fen"], sponsor["net_fen"]) == (0, 100, -100)
    assert account_balance(canteen.app, f"campaign:{sponsored}") == 0

    next_day = NOW + timedelta(days=1)
    canteen.at(next_day)
    assert canteen.refund(made["small"]["payment_id"], 1000)["campaign_fen"] == 100   # ann's coupon payment, whole
    canteen.at(NOW)
    second = mine(run_day(canteen, next_day.date().isoformat()), canteen.merchant_id)
    # The refund of yesterday's payment is an adjustment (-1000); the campaign's 100 comes back.
    assert (second["adjustments_fen"], second["campaign_setoff_fen"], second["net_fen"]) == (-1000, -100, -900)
    assert canteen.ledger_ok() == [] and campaign_problems(canteen.app) == []
    assert merchant_balance(canteen) == 0 and account_balance(canteen.app, f"campaign:{made['own']}") == 0


def test_a_day_closed_before_campaigns_keeps_its_payout_columns(canteen) -> None:  # noqa: ANN001
    cid = canteen.customer(wallet_fen=5000)
    canteen.pay(cid, 1200)
    run_day(canteen)
    with canteen.app.state.sessions() as session:      # as migration 0015 leaves a day closed before it
        session.execute(update(SettlementDay).values(campaign_bank_fen=None, campaign_merchant_fen=None,
                                                     campaign_setoff_fen=None))
        session.commit()
    header = download(canteen, DAY, "csv").decode("utf-8-sig").splitlines()[0]
    assert header == ("reference,business_date,merchant_id,merchant_name,bank_name,account_no,gross_fen,"
                      "refunds_fen,fees_fen,adjustments_fen,net_fen,net_yuan,action")
    page = browser(canteen, canteen.token).get("/admin/settlement")
    assert page.status_code == 200 and "—" in page.text
