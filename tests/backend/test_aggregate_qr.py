"""The aggregate QR (聚合码) through the real backend app (SQLite and PostgreSQL) and the channel
simulators: a lane's QR order is one https URL of the backend; WeChat, Alipay, UnionPay QuickPass
and the bank's app each open it (told by their User-Agent), pay in their own way, and the order
is paid and booked once at the channel that took the money. Any other browser gets a page naming
the apps; a token that is unknown, expired, malformed or oversize is a clear 4xx; a second app
paying a paid order is refunded at its channel, not booked again."""
from __future__ import annotations

import html
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.api.aggregate_qr import ClientWindow
from backend.channels.compose import all_simulated
from backend.models.ledger import Account, Entry, Posting
from backend.services.ledger import check_ledger
from core.clock import ManualClock
from sync.auth import TerminalAuth
from tests.backend.helpers import make_app, make_merchant_site, register_terminal

BASE = "https://pay.example.test"
UA = {
    "wechat": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN",
    "alipay": "Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0 "
              "Mobile Safari/537.36 AlipayChannelId/5136 NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:393|0|2.75) "
              "AliApp(AP/10.5.36.8100) AlipayClient/10.5.36.8100 Language/zh-Hans",
    "unionpay": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Mobile/15E148 (com.unionpay.chsp) (clientVersion=10.0.4) UnionPay/1.0 CloudPay",
    "bank": "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 GatepayBankApp/5.2",
}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
NOTIFY = {"wechat": "/api/v1/parking/channel/notify", "alipay": "/api/v1/parking/channel/alipay/notify",
          "unionpay": "/api/v1/parking/channel/unionpay/notify", "bank": "/api/v1/parking/channel/bank/notify"}
RULES = {"tariffs": {"default": {"free_minutes": 15, "day": {"first_period_minutes": 60, "first_period_fen": 500,
                                                             "unit_minutes": 60, "unit_fen": 200}}},
         "no_entry_fee_fen": 5000, "repeat_entry": "replace", "plans": []}


def aggregate_settings() -> dict:
    chosen = all_simulated(query_every_s=0)
    return {"channels": {**chosen["channels"], "qr": "aggregate", "public_base_url": BASE}}


def lane(db_url: str, clock: ManualClock | None = None) -> dict:
    app = make_app(db_url, clock=clock, **aggregate_settings())
    client = TestClient(app).__enter__()
    ids = make_merchant_site(app, kind="parking")
    tid, key = register_terminal(client, app, ids["merchant_id"], ids["site_id"], ids["lane_id"], scene="parking")
    auth = TerminalAuth(key, tid, clock=clock.timestamp) if clock else TerminalAuth(key, tid)
    return dict(app=app, client=client, auth=auth, **ids)


@pytest.fixture
def park(db_url: str):  # noqa: ANN201
    p = lane(db_url)
    yield p
    p["client"].__exit__(None, None, None)


def new_order(p: dict, amount: int = 700) -> dict:
    body = {"order_id": str(uuid.uuid4()), "plate": "京A12345", "amount_fen": amount,
            "session_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat()}
    r = p["client"].post("/api/v1/terminal/parking/orders", json=body, auth=p["auth"])
    assert r.status_code == 201, r.text
    return r.json()


def path_of(order: dict) -> str:
    assert order["qr_text"].startswith(f"{BASE}/pay/q/")
    return order["qr_text"][len(BASE):]


def open_in(p: dict, order: dict, app: str, query: str = "") -> httpx.Response:
    return p["client"].get(path_of(order) + query, headers={"User-Agent": UA.get(app, app)}, follow_redirects=False)


def link(page: str) -> str:
    return html.unescape(re.search(r'id="pay" href="([^"]+)"', page).group(1))


def pay_in_app(p: dict, order: dict, app: str) -> tuple[dict[str, str], bytes]:
    """What the payer's app does with the page: WeChat's authorisation then its payment sheet;
    Alipay's cashier; UnionPay's or the bank's order opened in the app. Returns the channel's
    paid notification."""
    sim = p["app"].state.channels.simulator(app)
    r = open_in(p, order, app)
    if app == "wechat":
        assert r.status_code == 302 and r.headers["location"].startswith("https://open.weixin.qq.com/connect/oauth2/")
        back = httpx.URL(sim.authorize(r.headers["location"]))
        assert back.path == path_of(order).split("?")[0]
        r = open_in(p, order, app, f"?code={back.params['code']}&state={back.params['state']}")
        assert r.status_code == 200 and "getBrandWCPayRequest" in r.text
        params = json.loads(html.unescape(re.search(r'id="handover">(.+?)</script>', r.text).group(1)))
        assert params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
        return sim.jsapi_pay(params)
    assert r.status_code == 200, r.text
    url = link(r.text)
    if app == "alipay":
        assert url.startswith("https://openapi.alipay.com/gateway.do?") and "alipay.trade.wap.pay" in url
        cashier = httpx.Client(transport=sim).get(url)
        assert cashier.status_code == 200 and "收银台" in cashier.text
        return sim.pay(uuid.UUID(order["order_id"]).hex)
    no = sim.order_for_code(url)
    assert no == uuid.UUID(order["order_id"]).hex
    return sim.pay(no)


def clearing_entries(p: dict, order_id: str) -> list[tuple]:
    with p["app"].state.sessions() as s:
        rows = s.execute(select(Account.code, Entry.side, Entry.amount_fen).join(Account, Account.id == Entry.account_id)
                         .join(Posting, Posting.id == Entry.posting_id)
                         .where(Posting.ref == f"payment:{order_id}").order_by(Entry.side)).all()
        assert check_ledger(s) == []
        return [tuple(r) for r in rows]


def poll(p: dict, order: dict) -> dict:
    return p["client"].get(f"/api/v1/terminal/parking/orders/{order['order_id']}", auth=p["auth"]).json()


@pytest.mark.parametrize("app", ["wechat", "alipay", "unionpay", "bank"])
def test_each_app_pays_the_one_code_and_it_is_booked_once(park, app: str) -> None:  # noqa: ANN001
    p = park
    order = new_order(p, 700)
    assert poll(p, order)["status"] == "pending"
    headers, body = pay_in_app(p, order, app)
    for _ in range(2):                              # the notification comes twice: booked once
        assert p["client"].post(NOTIFY[app], content=body, headers=headers).status_code == 200
    assert poll(p, order)["status"] == "paid"
    assert clearing_entries(p, order["order_id"]) == [(f"merchant:{p['merchant_id']}", "C", 700),
                                                      (f"channel_clearing:{app}", "D", 700)]
    again = open_in(p, order, app)                 # the payer scans again: paid, nothing started
    assert again.status_code == 200 and "已支付" in again.text and "Paid" in again.text


def test_a_lost_notification_is_found_by_the_lanes_poll(park) -> None:  # noqa: ANN001
    p = park
    order = new_order(p, 1200)
    pay_in_app(p, order, "alipay")                  # paid at Alipay; its notification never arrives
    assert poll(p, order)["status"] == "paid"
    assert (f"channel_clearing:alipay", "D", 1200) in clearing_entries(p, order["order_id"])


def test_an_unknown_browser_gets_the_apps_that_can_pay(park) -> None:  # noqa: ANN001
    p = park
    order = new_order(p)
    r = open_in(p, order, BROWSER)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    for zh, en in (("微信", "WeChat"), ("支付宝", "Alipay"), ("云闪付", "UnionPay QuickPass"), ("手机银行", "mobile banking")):
        assert zh in r.text and en in r.text
    assert "请用以下App扫码支付" in r.text and 'data-fen="700"' in r.text
    no = uuid.UUID(order["order_id"]).hex
    sims = p["app"].state.channels.simulators
    assert all(no not in sims[name].orders for name in ("wechat", "alipay", "unionpay"))   # nothing started


def test_a_second_app_paying_a_paid_order_is_refunded_not_booked(park) -> None:  # noqa: ANN001
    p = park
    order = new_order(p, 900)
    no = uuid.UUID(order["order_id"]).hex
    alipay = p["app"].state.channels.simulator("alipay")
    cashier = httpx.Client(transport=alipay).get(link(open_in(p, order, "alipay").text))
    assert cashier.status_code == 200                           # a second phone has Alipay's cashier open …
    headers, body = pay_in_app(p, order, "wechat")              # … while the first pays by WeChat
    assert p["client"].post(NOTIFY["wechat"], content=body, headers=headers).status_code == 200
    assert "已支付" in open_in(p, order, "alipay").text           # scanned now: paid, no new cashier
    a_headers, a_body = alipay.pay(no)                          # the open cashier is paid anyway
    for _ in range(2):
        r = p["client"].post(NOTIFY["alipay"], content=a_body, headers=a_headers)
        assert r.status_code == 200 and r.text == "success"
    assert list(alipay.refunds) == [f"D{no}"]                                          # refunded once
    assert [r["refund_fee"] for r in alipay.refunds.values()] == ["9.00"]
    assert clearing_entries(p, order["order_id"]) == [(f"merchant:{p['merchant_id']}", "C", 900),
                                                      ("channel_clearing:wechat", "D", 900)]
    with p["app"].state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Posting).where(Posting.ref == f"payment:{order['order_id']}")) == 1


@pytest.mark.parametrize("token", ["", "abc", "../../etc/passwd", "g" * 54, "0" * 32 + "A" * 21, "0" * 32 + "A" * 23,
                                   "0" * 32 + "A" * 22, "x" * 5000, "%00" * 20, "0" * 32 + "A" * 21 + "%0A"])
def test_garbage_and_unknown_tokens_are_a_clear_404(park, token: str) -> None:  # noqa: ANN001
    r = park["client"].get(f"/pay/q/{token}", headers={"User-Agent": UA["wechat"]})
    assert r.status_code == 404
    if r.headers.get("content-type", "").startswith("text/html"):
        assert "二维码无效" in r.text and "not a payment code" in r.text


def test_a_token_of_another_order_with_the_wrong_secret_is_refused(park) -> None:  # noqa: ANN001
    p = park
    order = new_order(p)
    path = path_of(order)
    forged = path[:-22] + ("A" if path[-22] != "A" else "B") + path[-21:]
    r = p["client"].get(forged, headers={"User-Agent": UA["alipay"]})
    assert r.status_code == 404 and "二维码无效" in r.text


def test_an_expired_order_is_410_and_a_closed_one_too(db_url: str) -> None:
    clock = ManualClock(datetime.now(timezone.utc))
    p = lane(db_url, clock)
    try:
        order = new_order(p)
        assert open_in(p, order, BROWSER).status_code == 200
        clock.set(clock.now() + timedelta(minutes=11))
        r = open_in(p, order, "alipay")
        assert r.status_code == 410 and "二维码已过期" in r.text and "expired" in r.text
        assert poll(p, order)["status"] == "closed"
        assert open_in(p, order, "wechat").status_code == 410
    finally:
        p["client"].__exit__(None, None, None)


def test_one_address_is_rate_limited(park) -> None:  # noqa: ANN001
    p = park
    order = new_order(p)
    codes = [open_in(p, order, BROWSER).status_code for _ in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429
    window = ClientWindow(limit=2, window_s=60)
    assert [window.allow("a", t) for t in (0, 1, 2)] == [True, True, False]
    assert window.allow("b", 2) and window.allow("a", 61)


def test_the_aggregate_qr_needs_the_public_address(sqlite_url: str) -> None:
    settings = aggregate_settings()
    settings["channels"]["public_base_url"] = ""
    with pytest.raises(ValueError, match="public_base_url"):
        make_app(sqlite_url, **settings)


def test_live_channels_build_the_aggregate_qr_with_no_simulator_and_wechat_needs_its_secret(sqlite_url, tmp_path):  # noqa: ANN001
    """As deployed: live WeChat and Alipay blocks, qr = aggregate. The aggregate channel is built
    over the real adapters, no simulator route exists; without the official account's secret the
    start fails naming the field (WeChat could not pay)."""
    from backend.channels.aggregate import AggregateChannel
    from backend.channels.alipay import AlipayChannel
    from backend.channels.wechat import WechatNativeChannel
    from tests.backend.test_channel_settings import _pem_pair

    (wk, wp), (ak, ap) = _pem_pair(tmp_path), _pem_pair(tmp_path)
    wechat = {"mode": "live", "mchid": "1900000109", "appid": "wxd678efh567hg6787", "merchant_key_file": wk,
              "merchant_serial": "SERIAL", "platform_key_file": wp, "platform_serial": "PUB_KEY_ID_1",
              "api_v3_key": "a" * 32}
    alipay = {"mode": "live", "app_id": "2021000000000001", "app_private_key_file": ak, "alipay_public_key_file": ap}
    channels = {"wechat": wechat, "alipay": alipay, "qr": "aggregate", "public_base_url": BASE}
    with pytest.raises(ValueError, match="oauth_app_secret"):
        make_app(sqlite_url, simulated=False, channels=channels)
    channels["wechat"] = {**wechat, "oauth_app_secret": "official-account-secret"}
    app = make_app(sqlite_url, simulated=False, channels=channels)
    built = app.state.channels
    aggregate = built.get("aggregate")
    assert isinstance(aggregate, AggregateChannel) and built.simulators == {}
    assert isinstance(aggregate.members["wechat"], WechatNativeChannel) and isinstance(aggregate.members["alipay"], AlipayChannel)
    assert aggregate.members["wechat"].keys.oauth_secret == "official-account-secret"
    with TestClient(app) as client:
        assert client.post("/api/v1/parking/channel-sim/pay", json={"qr_text": "x"}).status_code == 404
        assert client.get(f"/pay/q/{'0' * 32}{'A' * 22}").status_code == 404
