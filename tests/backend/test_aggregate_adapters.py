"""The in-app calls the aggregate QR adds to the adapters, against their simulators, signatures
checked both ways: WeChat's web authorisation and JSAPI order (paySign checked by the payment
sheet with the merchant's key), Alipay's wap pay (the page URL's RSA2 signature checked by the
gateway); a wrong key or a tampered field is refused. And which app a User-Agent is."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.channels import ChannelError
from backend.channels.aggregate import app_of, out_trade_no_of
from backend.channels.alipay_sim import simulated_alipay
from backend.channels.wechat_sim import simulated_channel

EXPIRES = datetime.now(timezone.utc) + timedelta(minutes=10)
NO = "0123456789abcdef0123456789abcdef"


def test_wechat_authorisation_then_jsapi_then_the_payment_sheet_pays_once() -> None:
    channel, sim = simulated_channel()
    back = "https://pay.example.test/pay/q/" + NO + "A" * 22
    url = channel.oauth_url(back, "gatepay")
    assert url.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?") and url.endswith("#wechat_redirect")
    assert "scope=snsapi_base" in url
    code = httpx.URL(sim.authorize(url)).params["code"]
    openid = channel.openid_for_code(code)
    with pytest.raises(ChannelError):                       # a code is used once
        channel.openid_for_code(code)
    params = channel.create_jsapi(NO, 700, "停车费", "https://x/notify", EXPIRES, openid)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert channel.create_jsapi(NO, 700, "停车费", "https://x/notify", EXPIRES, openid)["package"] == params["package"]
    for tampered in ({**params, "package": "prepay_id=wx-other"}, {**params, "timeStamp": "1"}):
        with pytest.raises(ChannelError, match="SIGN_ERROR"):
            sim.jsapi_pay(tampered)
    headers, body = sim.jsapi_pay(params)
    paid = channel.parse_notification(headers, body)
    assert (paid.out_trade_no, paid.trade_state, paid.amount_fen) == (NO, "SUCCESS", 700)
    assert channel.query(NO).trade_state == "SUCCESS" and sim.orders[NO].body["payer"]["openid"] == openid


def test_wechat_authorisation_with_a_wrong_secret_and_jsapi_signed_by_a_wrong_key_are_refused() -> None:
    channel, sim = simulated_channel()
    code = httpx.URL(sim.authorize(channel.oauth_url("https://pay.example.test/x", "s"))).params["code"]
    wrong = type(channel)(replace(channel.keys, oauth_secret="not-the-secret"), transport=sim)
    with pytest.raises(ChannelError, match="40029"):
        wrong.openid_for_code(code)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = type(channel)(replace(channel.keys, merchant_key=stranger), transport=sim)
    with pytest.raises(ChannelError, match="SIGN_ERROR"):         # the platform refuses the order itself
        forged.create_jsapi(NO, 700, "停车费", "https://x/notify", EXPIRES, "o-payer")


def test_alipay_wap_pay_url_is_signed_and_a_tampered_one_is_refused() -> None:
    channel, sim = simulated_alipay()
    url = channel.wap_pay_url(NO, 1250, "停车费", "https://x/alipay/notify", EXPIRES)
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["method"] == "alipay.trade.wap.pay" and '"product_code":"QUICK_WAP_WAY"' in params["biz_content"]
    assert '"total_amount":"12.50"' in params["biz_content"]
    app = httpx.Client(transport=sim)
    cheaper = {**params, "biz_content": params["biz_content"].replace("12.50", "0.01")}
    refused = app.get(url.split("?")[0] + "?" + urlencode(cheaper))
    assert refused.status_code == 400 and "验签" in refused.text and NO not in sim.orders
    assert app.get(url).status_code == 200
    headers, body = sim.pay(NO)
    paid = channel.parse_notification(headers, body)
    assert (paid.trade_state, paid.amount_fen) == ("SUCCESS", 1250)


@pytest.mark.parametrize("ua, app", [
    ("Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN", "wechat"),
    ("Mozilla/5.0 (Linux; Android 13) Nebula AlipayDefined(nt:WIFI) AliApp(AP/10.5.36) AlipayClient/10.5.36.8100", "alipay"),
    ("Mozilla/5.0 (iPhone) Mobile/15E148  (com.unionpay.chsp) (cordova 4.5.4) (UnionPay/1.0 CloudPay)", "unionpay"),
    ("Mozilla/5.0 (Linux; Android 12) Mobile Safari/537.36 GatepayBankApp/5.2", "bank"),
    ("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", None),
    ("", None),
])
def test_the_app_is_told_by_its_user_agent(ua: str, app: str | None) -> None:
    assert app_of(ua, ("GatepayBankApp",)) == app


def test_tokens_are_exactly_the_order_and_22_random_characters() -> None:
    assert out_trade_no_of(NO + "aZ09_-" * 3 + "abcd") == NO
    for bad in ("", NO, NO + "A" * 21, NO + "A" * 23, NO.upper() + "A" * 22, NO + "A" * 21 + "=", "x" * 10_000):
        assert out_trade_no_of(bad) is None
