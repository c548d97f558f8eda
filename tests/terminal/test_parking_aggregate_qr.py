"""The exit lane with channels.qr = aggregate, end to end: real lane terminals against the real
backend process. The lane shows one QR, an https URL of the backend, and its display text names
every app that can scan it; a payer's UnionPay QuickPass opens that URL over HTTP, is handed the
UnionPay QR order, pays it at the (simulated) channel, and the lane's poll opens the barrier."""
from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from backend.channels.compose import all_simulated
from terminal.demo.backend_process import free_port
from tests.terminal.parking_rig import CarPark

UNIONPAY_APP = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Mobile/15E148  (com.unionpay.chsp) (cordova 4.5.4) (updebug 0) (version 1009) (UnionPay/1.0 CloudPay)")


@pytest.fixture(scope="module")
def park(tmp_path_factory):  # noqa: ANN001, ANN201
    port = free_port()
    channels = {**all_simulated(query_every_s=0)["channels"], "qr": "aggregate",
                "public_base_url": f"http://127.0.0.1:{port}"}
    with CarPark(tmp_path_factory.mktemp("aggregate"), extra_env={"GATEPAY_CHANNELS": json.dumps(channels)},
                 port=port) as car_park:
        yield car_park


def test_one_code_every_app_can_scan_is_shown_and_paid_by_unionpay_quickpass(park: CarPark) -> None:
    entry, exit_ = park.lane("entry", "agg-in"), park.lane("exit", "agg-out")
    entry.handle(entry.read("京Q88888", 0))
    exit_.sync()
    quote = exit_.handle(exit_.read("京Q88888", 70))
    assert quote.phase == "exit_quote" and quote.fee_fen == 700
    assert quote.qr_text.startswith(f"{park.backend.url}/pay/q/")
    assert "微信、支付宝、云闪付或手机银行扫码" in quote.message_zh                  # the lane display's line
    assert "WeChat, Alipay, UnionPay QuickPass or mobile banking" in quote.message_en
    with httpx.Client(timeout=10) as phone:
        assert "请用以下App扫码支付" in phone.get(quote.qr_text, headers={"User-Agent": "Mozilla/5.0"}).text
        page = phone.get(quote.qr_text, headers={"User-Agent": UNIONPAY_APP})
    assert page.status_code == 200
    unionpay_order = html.unescape(re.search(r'id="pay" href="([^"]+)"', page.text).group(1))
    assert exit_.poll_payment().phase == "exit_quote" and exit_.openings == 0
    park.driver_pays(unionpay_order)               # the payer confirms in UnionPay QuickPass
    paid = exit_.poll_payment()
    assert (paid.phase, paid.pay_kind) == ("exit_paid", "qr") and exit_.openings == 1
    [stay] = park.sessions("京Q88888")
    assert (stay["status"], stay["paid_fen"], stay["pay_kind"]) == ("exited", 700, "qr")
