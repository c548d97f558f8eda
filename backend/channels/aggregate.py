"""The aggregate QR (聚合码): one code for 主扫 that WeChat, Alipay, UnionPay QuickPass (云闪付) and the
bank's mobile banking can all scan, the way aggregate-payment platforms build it.

The QR holds an https URL of this backend, {public_base_url}/pay/q/{token}. The token is the
order's out_trade_no (32 hex) followed by 22 random url-safe characters (128 bits) made when the
order is made; it is kept in the order's code_url, so it is bound to that one order and dies with
it. When a payer's app opens the URL, the app is told by its User-Agent and that channel's in-app
payment is started for the same out_trade_no (WeChat JSAPI, Alipay wap pay, UnionPay's QR order,
the bank's order); whichever channel pays first pays the order (backend/services/aggregate_qr.py).

`AggregateChannel` is what `channels.qr()` gives when `channels.qr = "aggregate"`: making the order
makes only the URL (no channel is called before an app opens it); a query asks every member
channel; closing closes the order at every member that has it.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Mapping

from backend.channels.base import ChannelError, ChannelOrder, PaymentChannel

TOKEN = re.compile(r"[0-9a-f]{32}[A-Za-z0-9_-]{22}")
MAX_TOKEN_CHARS = 54
PATH = "/pay/q/"
NO_SUCH_ORDER = ("ORDER_NOT_EXIST", "ACQ.TRADE_NOT_EXIST", "TRADE_NOT_EXIST")   # an app never opened it there

# The apps' User-Agent markers (sources in docs/CHANNELS.md). The bank's app is told by markers the
# settings give (channels.bank_app_markers); it is checked first: an installer chose it.
UA_MARKERS = (("wechat", ("MicroMessenger",)), ("alipay", ("AlipayClient",)),
              ("unionpay", ("UnionPay/", "CloudPay", "com.unionpay")))
APP_NAMES = {"wechat": ("微信", "WeChat"), "alipay": ("支付宝", "Alipay"),
             "unionpay": ("云闪付", "UnionPay QuickPass"), "bank": ("手机银行", "mobile banking")}


def app_of(user_agent: str, bank_markers: tuple[str, ...] = ()) -> str | None:
    """wechat | alipay | unionpay | bank by the payer's app's User-Agent; None for any other browser."""
    ua = user_agent[:1024]
    if any(marker and marker in ua for marker in bank_markers):
        return "bank"
    return next((app for app, markers in UA_MARKERS if any(m in ua for m in markers)), None)


def out_trade_no_of(token: str) -> str | None:
    """The order a well-formed token names (its first 32 characters); None for garbage."""
    return token[:32] if len(token) <= MAX_TOKEN_CHARS and TOKEN.fullmatch(token) else None


class AggregateChannel:
    """The aggregate QR as a PaymentChannel over the configured member channels."""
    name = "aggregate"

    def __init__(self, members: Mapping[str, PaymentChannel], public_base_url: str):
        self.members = dict(members)
        self.public_base_url = public_base_url.rstrip("/")

    def url_of(self, token: str) -> str:
        return f"{self.public_base_url}{PATH}{token}"

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str:
        """The QR text: this backend's URL with a fresh unguessable token for this order."""
        if not self.public_base_url:
            raise ChannelError("not_configured", "channels.public_base_url is not set")
        return self.url_of(out_trade_no + secrets.token_urlsafe(16))

    def query(self, out_trade_no: str) -> ChannelOrder:
        """Paid at any member: that channel's answer, naming the channel. Else NOTPAY (a member that
        never saw the order answers 'no such order', which is not an error here)."""
        answered = False
        for name, channel in self.members.items():
            try:
                found = channel.query(out_trade_no)
            except ChannelError as exc:
                answered = answered or exc.code in NO_SUCH_ORDER
                continue
            answered = True
            if found.trade_state == "SUCCESS":
                return replace(found, channel=name)
        if not answered and self.members:
            raise ChannelError("unreachable", "no member channel answered")
        return ChannelOrder(out_trade_no, "NOTPAY", 0)

    def close(self, out_trade_no: str) -> None:
        """Close the order at every member that has it (so no app can pay it any more)."""
        for channel in self.members.values():
            try:
                channel.close(out_trade_no)
            except ChannelError:
                continue       # that channel never had it, or it is closed already

    reverse = close

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        raise ChannelError("not_a_paycode_channel", "the aggregate QR takes no pay codes")

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str:
        raise ChannelError("not_a_paycode_channel", "a paid order is refunded by the channel that took it")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder:
        raise ChannelError("bad_notification", "each member channel has its own notification route")

    @staticmethod
    def acknowledgement(accepted: bool) -> tuple[int, str, str]:
        return (200, "text/plain", "ok") if accepted else (400, "text/plain", "fail")
