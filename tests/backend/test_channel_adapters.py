"""Each channel adapter against its simulator (the httpx transport the real client runs over):
signatures checked both ways and a wrong key refused, the published unknown-outcome rule (query,
then reverse/cancel), refunds applied once, duplicate notifications, closed orders."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.channels.alipay import AlipayChannel, AlipayKeys, fen_of, response_node_text, yuan
from backend.channels.alipay_sim import simulated_alipay
from backend.channels.base import ChannelError
from backend.channels.unionpay import UnionPayChannel, UnionPayKeys
from backend.channels.unionpay_sim import simulated_unionpay
from backend.channels.wechat import ChannelKeys, WechatNativeChannel
from backend.channels.wechat_sim import simulated_channel

WECHAT = "1345678901234567"      # + a 2-digit plan suffix below makes 18 digits
ALIPAY = "2876543210987654"      # + 4 digits: 20 digits
UNIONPAY = "621234567890123"     # + 4 digits: 19 digits


def channels():  # noqa: ANN201
    """(name, adapter, simulator, a pay code for a plan suffix)"""
    wechat, wsim = simulated_channel()
    alipay, asim = simulated_alipay()
    unionpay, usim = simulated_unionpay()
    return [("wechat", wechat, wsim, lambda s: WECHAT[:14] + s), ("alipay", alipay, asim, lambda s: ALIPAY + s),
            ("unionpay", unionpay, usim, lambda s: UNIONPAY + s)]


@pytest.fixture(params=["wechat", "alipay", "unionpay"])
def channel(request):  # noqa: ANN001, ANN201
    return next(c for c in channels() if c[0] == request.param)


def no() -> str:
    return uuid.uuid4().hex


def failed_codepay(adapter, pay_code: str) -> tuple[str, str]:  # noqa: ANN001
    """A ¥8.50 code payment the simulator fails (by the code's plan suffix): (its order number,
    the ChannelError's code)."""
    n = no()
    with pytest.raises(ChannelError) as failed:
        adapter.codepay(n, pay_code, 850, "午餐")
    return n, failed.value.code


def test_a_paid_code_is_paid_once_and_a_retry_names_the_same_order(channel):  # noqa: ANN001
    _, adapter, sim, code = channel
    n = no()
    first = adapter.codepay(n, code("9876"), 850, "午餐")
    again = adapter.codepay(n, code("9876"), 850, "午餐")
    assert (first.trade_state, first.amount_fen) == ("SUCCESS", 850) and first.transaction_id
    assert again.transaction_id == first.transaction_id and len(sim.orders) == 1
    assert adapter.query(n).trade_state == "SUCCESS"


def test_requests_signed_with_another_key_are_refused_by_the_channel(channel):  # noqa: ANN001
    name, adapter, sim, code = channel
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if name == "wechat":
        forged = WechatNativeChannel(ChannelKeys(**{**adapter.keys.__dict__, "merchant_key": stranger}), transport=sim)
    elif name == "alipay":
        forged = AlipayChannel(AlipayKeys(adapter.keys.app_id, stranger, adapter.keys.alipay_public_key), transport=sim)
    else:
        forged = UnionPayChannel(UnionPayKeys(**{**adapter.keys.__dict__, "sign_key": stranger}), transport=sim)
    with pytest.raises(ChannelError) as refused:
        forged.codepay(no(), code("9876"), 850, "午餐")
    assert refused.value.code in ("SIGN_ERROR", "401", "isv.invalid-signature", "11")
    assert sim.orders == {}                                        # nothing charged


def test_answers_signed_with_another_key_are_not_believed(channel):  # noqa: ANN001
    name, adapter, sim, code = channel
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    if name == "wechat":
        doubting = WechatNativeChannel(ChannelKeys(**{**adapter.keys.__dict__, "platform_public": stranger}),
                                       transport=sim)
    elif name == "alipay":
        doubting = AlipayChannel(AlipayKeys(adapter.keys.app_id, adapter.keys.app_private_key, stranger), transport=sim)
    else:
        doubting = UnionPayChannel(UnionPayKeys(**{**adapter.keys.__dict__, "unionpay_public": stranger}), transport=sim)
    with pytest.raises(ChannelError) as doubted:
        doubting.codepay(no(), code("9876"), 850, "午餐")
    assert doubted.value.code == "bad_signature"


def test_insufficient_funds_and_garbage_codes_are_refused_with_the_channels_reason(channel):  # noqa: ANN001
    name, adapter, sim, code = channel
    with pytest.raises(ChannelError) as poor:
        adapter.codepay(no(), code("0000"), 850, "午餐")
    assert poor.value.code == {"wechat": "NOTENOUGH", "alipay": "ACQ.BUYER_BALANCE_NOT_ENOUGH", "unionpay": "51"}[name]
    other = "134567890123456789" if name == "unionpay" else "6212345678901234567"   # another channel's code
    with pytest.raises(ChannelError) as garbage:
        adapter.codepay(no(), other, 850, "午餐")
    assert garbage.value.code == {"wechat": "AUTH_CODE_INVALID", "alipay": "ACQ.PAYMENT_AUTH_CODE_INVALID",
                                  "unionpay": "14"}[name]


def test_password_then_paid_is_learnt_by_querying(channel):  # noqa: ANN001
    _, adapter, _, code = channel
    n = no()
    assert adapter.codepay(n, code("1111"), 850, "午餐").trade_state == "USERPAYING"
    assert adapter.query(n).trade_state == "USERPAYING"           # still typing the password
    assert adapter.query(n).trade_state == "SUCCESS"


def test_a_payer_who_walks_away_is_reversed_and_can_no_longer_pay(channel):  # noqa: ANN001
    _, adapter, sim, code = channel
    n = no()
    assert adapter.codepay(n, code("1112"), 850, "午餐").trade_state == "USERPAYING"
    adapter.reverse(n)
    assert adapter.query(n).trade_state in ("REVOKED", "CLOSED")
    with pytest.raises(ChannelError):
        sim.pay(n)                                                 # the late confirmation is refused


def test_a_lost_answer_is_a_timeout_and_the_query_finds_the_money(channel):  # noqa: ANN001
    _, adapter, _, code = channel
    n, failure = failed_codepay(adapter, code("2222"))
    assert failure == "unreachable"
    assert adapter.query(n).trade_state == "SUCCESS"


def test_a_request_that_never_arrived_is_unknown_to_the_channel(channel):  # noqa: ANN001
    _, adapter, _, code = channel
    n, failure = failed_codepay(adapter, code("3333"))
    assert failure == "unreachable"
    with pytest.raises(ChannelError) as unknown:
        adapter.query(n)
    assert unknown.value.code in ("ORDER_NOT_EXIST", "TRADE_NOT_EXIST")


def test_a_system_error_is_an_unknown_outcome_the_query_settles(channel):  # noqa: ANN001
    name, adapter, _, code = channel
    if name == "unionpay":
        pytest.skip("not UnionPay's behaviour: it answers respCode 03 (pending), not an error; "
                    "test_unionpay_answers_a_system_error_as_pending_and_the_query_settles_it covers it")
    n, failure = failed_codepay(adapter, code("4444"))
    assert failure == "SYSTEM_ERROR"
    assert adapter.query(n).trade_state == "SUCCESS"


def test_unionpay_answers_a_system_error_as_pending_and_the_query_settles_it():
    adapter, _ = simulated_unionpay()
    n = no()
    assert adapter.codepay(n, UNIONPAY + "4444", 850, "午餐").trade_state == "USERPAYING"   # respCode 03
    assert adapter.query(n).trade_state == "SUCCESS"


def test_a_paid_code_reversed_gives_the_money_back(channel):  # noqa: ANN001
    _, adapter, _, code = channel
    n = no()
    adapter.codepay(n, code("9876"), 850, "午餐")
    adapter.reverse(n)
    assert adapter.query(n).trade_state in ("REVOKED", "CLOSED")


def test_refunds_are_applied_once_and_never_beyond_what_was_paid(channel):  # noqa: ANN001
    _, adapter, sim, code = channel
    n = no()
    adapter.codepay(n, code("9876"), 900, "午餐")
    assert adapter.refund(n, "r1", 300, 900) == "SUCCESS"
    assert adapter.refund(n, "r1", 300, 900) == "SUCCESS"          # a retry of r1: applied once
    assert len(sim.refunds) == 1
    with pytest.raises(ChannelError):
        adapter.refund(n, "r2", 601, 900)
    assert adapter.refund(n, "r3", 600, 900) == "SUCCESS" and len(sim.refunds) == 2


def test_qr_order_notification_verifies_duplicates_and_closed_orders(channel):  # noqa: ANN001
    name, adapter, sim, _ = channel
    n, expires = no(), datetime.now(timezone.utc) + timedelta(minutes=10)
    qr = adapter.create_native(n, 500, "停车费", "https://gatepay.example/notify", expires)
    assert adapter.create_native(n, 500, "停车费", "https://gatepay.example/notify", expires) == qr
    headers, body = sim.pay(sim.order_for_code(qr))
    paid = adapter.parse_notification(headers, body)
    assert (paid.out_trade_no, paid.trade_state, paid.amount_fen) == (n, "SUCCESS", 500)
    again = adapter.parse_notification(*sim.pay(n))                # the channel sends it again
    assert again.transaction_id == paid.transaction_id
    tampered = body.replace(b"500", b"5") if b"500" in body else body[:-2] + b"x}"
    with pytest.raises(ChannelError):
        adapter.parse_notification(headers, tampered)
    closed = no()
    if name == "unionpay":            # no close call: the QR code times out (payTimeout)
        expires = datetime.now(timezone.utc) - timedelta(seconds=1)
    adapter.create_native(closed, 300, "停车费", "https://gatepay.example/notify", expires)
    adapter.close(closed)
    with pytest.raises(ChannelError):
        sim.pay(closed)
    assert adapter.query(closed).trade_state == "CLOSED"


def test_alipay_money_and_signed_text_helpers():
    assert [yuan(f) for f in (0, 1, 850, 100000)] == ["0.00", "0.01", "8.50", "1000.00"]
    assert [fen_of(t) for t in ("0.01", "8.5", "8.50", "12")] == [1, 850, 850, 1200]
    for bad in ("8.505", "-1.00", "1e3", " 1.00", "", None, 8.5):
        with pytest.raises(ValueError):
            fen_of(bad)
    raw = '{"alipay_trade_query_response":{"code":"10000","msg":"a \\"}\\" b","x":{"y":1}},"sign":"s"}'
    assert response_node_text(raw, "alipay_trade_query_response") == '{"code":"10000","msg":"a \\"}\\" b","x":{"y":1}}'


def test_the_banks_own_codes_are_in_bank_transfers_that_pay_once():
    """The mobile-banking pay code through the core: real-time transfer into the clearing account,
    a code pays once, an unknown outcome is settled by a query, a refund goes back to the payer's
    account, the aggregate QR is paid by the mobile banking and its notification is checked."""
    from backend.channels.bank_sim import CLEARING_ACCOUNT, simulated_bank_codes

    adapter, core = simulated_bank_codes()
    core.open_account("6228481111", 10_000)
    code = core.issue_code("6228481111")
    n = no()
    assert adapter.codepay(n, code, 850, "午餐").trade_state == "SUCCESS"
    assert core.balance("6228481111") == 9_150 and core.balance(CLEARING_ACCOUNT) == 10**12 + 850
    with pytest.raises(ChannelError) as reused:
        adapter.codepay(no(), code, 850, "午餐")
    assert reused.value.code == "AUTH_CODE_INVALID"
    with pytest.raises(ChannelError) as poor:
        adapter.codepay(no(), core.issue_code("6228481111", "9876"), 100_000, "午餐")
    assert poor.value.code == "NOTENOUGH" and core.balance("6228481111") == 9_150
    lost = no()
    with pytest.raises(ChannelError):
        adapter.codepay(lost, core.issue_code("6228481111", "2222"), 500, "午餐")   # taken, answer lost
    assert adapter.query(lost).trade_state == "SUCCESS" and core.balance("6228481111") == 8_650
    assert adapter.refund(n, "r1", 300, 850) == "SUCCESS" == adapter.refund(n, "r1", 300, 850)
    assert core.balance("6228481111") == 8_950
    qr = adapter.create_native(no(), 700, "停车费", "", datetime.now(timezone.utc) + timedelta(minutes=5))
    headers, body = core.pay(core.order_for_code(qr))
    assert adapter.parse_notification(headers, body).amount_fen == 700
    with pytest.raises(ChannelError):
        adapter.parse_notification({**headers, "X-Bank-Signature": "0" * 64}, body)
