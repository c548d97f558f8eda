"""The channels' own statement files: WeChat Pay's trade bill and Alipay's detail bill are read
(garbage, a cut file and an oversize one refused with the line), UnionPay's clearing file is
refused in words (its layout is not public), and reconciliation sorts each channel's receipts into
matched / missing on our side / missing on theirs / amount differs."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from backend.reconciliation.alipay_bill import parse_alipay_bill
from backend.reconciliation.channel_file import MAX_FILE_BYTES, StatementError
from backend.reconciliation.statements import parse_any
from backend.reconciliation.unionpay_file import parse_unionpay_clearing
from backend.reconciliation.wechat_bill import parse_wechat_bill
from tests.backend.bills import alipay_bill, wechat_bill
from tests.backend.helpers import bearer, operator_token
from tests.backend.money_helpers import canteen  # noqa: F401  (fixture over SQLite and PostgreSQL)

DAY = "2026-03-02"
ROWS = [("a" * 32, "8.50", f"{DAY} 12:01:02", "4200000001"), ("b" * 32, "12.00", f"{DAY} 12:05:00", "4200000002")]


def refused(parse, data: bytes) -> StatementError:  # noqa: ANN001
    with pytest.raises(StatementError) as caught:
        parse(data)
    assert caught.value.zh and caught.value.en
    return caught.value


def test_a_wechat_trade_bill_is_read_in_fen_with_its_refunds_checked():
    bill = parse_wechat_bill(wechat_bill(ROWS, refunds=[("a" * 32, "1.00", f"{DAY} 13:00:00", "c" * 32)]))
    assert (bill.channel, bill.statement_date) == ("wechat", DAY)
    assert [(r.ref, r.kind, r.amount_fen, r.txn_id) for r in bill.rows] == [
        ("a" * 32, "payment", 850, "4200000001"), ("b" * 32, "payment", 1200, "4200000002")]
    assert bill.rows[0].settled_at.utcoffset().total_seconds() == 8 * 3600
    assert parse_any(wechat_bill(ROWS)) == parse_wechat_bill(wechat_bill(ROWS))


def test_a_wechat_bill_cut_short_garbled_or_too_big_is_refused_with_the_line():
    whole = wechat_bill(ROWS).decode().splitlines()
    assert refused(parse_wechat_bill, "\n".join(whole[:3]).encode()).line == 3          # no summary
    assert refused(parse_wechat_bill, "\n".join(whole[:4]).encode()).line == 4          # summary header only
    short = "\n".join([whole[0], whole[1], *whole[3:]]).encode()                          # a row lost
    assert refused(parse_wechat_bill, short).line == 4
    torn = "\n".join([whole[0], whole[1][:40], *whole[2:]]).encode()
    assert refused(parse_wechat_bill, torn).line == 2
    bad_amount = "\n".join([whole[0], whole[1].replace("`8.50", "`8.5x"), *whole[2:]]).encode()
    assert refused(parse_wechat_bill, bad_amount).line == 2
    assert refused(parse_wechat_bill, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).line == 3   # the NULs: line 3
    assert refused(parse_wechat_bill, "交易时间,x\n".encode()).line == 1                # not its columns
    assert refused(parse_wechat_bill, b"x" * (MAX_FILE_BYTES + 1)).line == 0
    assert refused(parse_any, b"hello").line == 1


def test_an_alipay_detail_bill_is_read_from_the_zip_or_the_gbk_csv():
    for data in (alipay_bill(DAY, ROWS, refunds=1), alipay_bill(DAY, ROWS, refunds=1, zipped=True)):
        bill = parse_any(data)
        assert (bill.channel, bill.statement_date) == ("alipay", DAY)
        assert [(r.ref, r.amount_fen) for r in bill.rows] == [("a" * 32, 850), ("b" * 32, 1200)]


def test_an_alipay_bill_cut_short_or_garbled_is_refused_with_the_line():
    whole = alipay_bill(DAY, ROWS).decode("gb18030").splitlines()
    cut = "\n".join(whole[:6]).encode("gb18030")                                          # ends inside the list
    assert refused(parse_alipay_bill, cut).line == 6
    no_totals = "\n".join(whole[:8]).encode("gb18030")
    assert refused(parse_alipay_bill, no_totals).line == 9
    lying = "\n".join(whole).replace("交易合计：2笔", "交易合计：3笔").encode("gb18030")
    assert refused(parse_alipay_bill, lying).line == 9
    torn = "\n".join([*whole[:5], whole[5][:30], *whole[6:]]).encode("gb18030")
    assert refused(parse_alipay_bill, torn).line == 6
    assert refused(parse_alipay_bill, b"PK\x03\x04broken").line == 0


def test_unionpays_clearing_file_is_refused_in_words_because_its_layout_is_not_public():
    error = refused(parse_unionpay_clearing, b"anything")
    assert "未公开" in error.zh and "not public" in error.en


def _pay(c, code: str, amount: int) -> tuple[str, datetime]:  # noqa: ANN001
    body = {"payment_id": str(uuid.uuid4()), "amount_fen": amount, "meal_period": "lunch",
            "credential": {"kind": "paycode", "paycode": code}, "occurred_at": datetime.now(timezone.utc).isoformat()}
    r = c.client.post("/api/v1/terminal/payments", json=body, auth=c.auth)
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return uuid.UUID(body["payment_id"]).hex, datetime.fromisoformat(r.json()["booked_at"])


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_channels_own_bill_is_reconciled_by_kind(canteen, channel):  # noqa: ANN001, F811
    c = canteen
    code = {"wechat": "134567890123459876", "alipay": "28765432109876549876"}[channel]
    (matched, booked), (differs, _), (missing, _) = _pay(c, code, 850), _pay(c, code, 900), _pay(c, code, 300)
    _pay(c, "6212345678901239876", 700)                   # another channel's money: not on this bill, not missing
    at = booked.astimezone(ZoneInfo("Asia/Shanghai"))
    day, when = at.date().isoformat(), at.strftime("%Y-%m-%d %H:%M:%S")
    rows = [(matched, "8.50", when, "T1"), (differs, "9.01", when, "T2"), ("f" * 32, "5.00", when, "T3")]
    data = wechat_bill(rows) if channel == "wechat" else alipay_bill(day, rows, zipped=True)
    staff = bearer(operator_token(c.app))
    r = c.client.post("/api/v1/reconciliation/channel-statements", content=data, headers=staff)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["channel"], result["statement_date"]) == (channel, day)
    assert result["counts"] == {"matched": 1, "missing_ours": 1, "missing_theirs": 1, "amount_differs": 1,
                                "reversed": 0}
    kinds = {i["ref"]: (i["kind"], i["ours_fen"], i["theirs_fen"]) for i in result["items"]}
    assert kinds == {differs: ("amount_differs", 900, 901), "f" * 32: ("missing_ours", None, 500),
                     missing: ("missing_theirs", 300, None)}
    again = c.client.post("/api/v1/reconciliation/channel-statements", content=data, headers=staff).json()
    assert again["id"] == result["id"]                                # the same file: the first result
    cut = c.client.post("/api/v1/reconciliation/channel-statements", content=data[: len(data) // 2], headers=staff)
    assert cut.status_code == 422 and "bad_statement" in cut.text
