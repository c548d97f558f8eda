"""How the terminal reads a campaign's discount and an offer from the backend's answer (the real
wire model parses each body, as the sync client does): paid_fen is what was taken, an answer
without it had no discount, and a paid amount that leaves nothing or more than the price is read
as no discount rather than shown. The words say the paid amount first."""
from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from core.wire import PaymentResult
from terminal.decision import paid_words, offer_view, online_discount


def _answer(**extra: object) -> PaymentResult:
    body = {"payment_id": str(uuid.uuid4()), "status": "approved", "amount_fen": 1500,
            "split": [{"source": "wallet", "amount_fen": 1200}], **extra}
    return PaymentResult.model_validate_json(json.dumps(body))


@pytest.mark.parametrize("extra, discount", [
    ({}, 0),                                                       # an answer from before campaigns
    ({"discount_fen": 300, "paid_fen": 1200, "campaign_id": 7}, 300),
    ({"discount_fen": 300}, 0),                                    # no paid_fen: nothing was taken off
    ({"discount_fen": 1500, "paid_fen": 0, "campaign_id": 7}, 0),  # would leave nothing to pay
    ({"paid_fen": 1600}, 0),                                       # more than the price
])
def test_the_discount_is_what_paid_fen_left_off_the_price(extra: dict, discount: int) -> None:
    assert online_discount(_answer(**extra)) == discount


@pytest.mark.parametrize("bad", [
    {"paid_fen": -1}, {"paid_fen": 12.5}, {"paid_fen": "twelve"}, {"discount_fen": 10**12},
    {"offer": {"coupon_id": 1}}, {"offer": {"coupon_id": 1, "campaign_id": 2, "title_zh": "x" * 101}},
    {"offer": "free lunch"},
])
def test_a_garbled_campaign_field_is_refused_by_the_wire_model(bad: dict) -> None:
    with pytest.raises(ValidationError):
        _answer(**bad)


def test_a_truncated_answer_is_refused() -> None:
    body = json.dumps({"payment_id": str(uuid.uuid4()), "status": "approved", "amount_fen": 1500,
                       "offer": {"coupon_id": 1, "campaign_id": 2, "title_zh": "明天午餐立减 2.00 元"}})
    with pytest.raises(ValidationError):
        PaymentResult.model_validate_json(body[: len(body) // 2])


def test_an_offer_becomes_the_view_the_kiosk_shows() -> None:
    answer = _answer(offer={"coupon_id": 31, "campaign_id": 9, "title_zh": "明天午餐立减 2.00 元",
                            "expires_at": "2026-12-04T05:30:00+00:00"})
    view = offer_view(answer.offer)
    assert (view.coupon_id, view.title_zh, view.title_en) == (31, "明天午餐立减 2.00 元", "明天午餐立减 2.00 元")
    assert view.expires_at.isoformat() == "2026-12-04T05:30:00+00:00"
    assert offer_view(_answer().offer) is None


@pytest.mark.parametrize("paid, discount, offline, zh, en", [
    (1200, 300, False, "支付成功 12.00 元（优惠 3.00 元）", "Paid 12.00 yuan (3.00 yuan off)"),
    (1500, 0, False, "支付成功 15.00 元", "Paid 15.00 yuan"),
    (1200, 300, True, "支付成功 12.00 元（优惠 3.00 元；离线记账）", "Paid 12.00 yuan (3.00 yuan off; offline, booked later)"),
    (1500, 0, True, "支付成功 15.00 元（离线记账）", "Paid 15.00 yuan (offline, booked later)"),
])
def test_the_words_say_the_paid_amount_and_the_discount(paid: int, discount: int, offline: bool, zh: str,
                                                         en: str) -> None:
    assert paid_words(paid, discount, offline) == (zh, en)


def test_the_voice_says_the_paid_amount_and_the_discount() -> None:
    from hardware.registry import build_device
    from hardware.voice import VoiceConfig

    voice = build_device(VoiceConfig(type="voice", name="voice", simulated=True))
    voice.say_payment(1200, 5630, discount_fen=300)
    voice.say_payment(1500, 5630)
    assert voice.simulator.said == ["支付成功，消费十二元，已优惠三元，余额五十六元三角", "支付成功，消费十五元，余额五十六元三角"]
