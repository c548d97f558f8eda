"""A payer's app opened an aggregate QR (聚合码, backend/channels/aggregate.py): find the order its
token names, and start that app's channel's in-app payment for the same order.

Every channel's order for one parking order carries the same out_trade_no (the order id's hex)
and the order's amount in fen, so whichever app pays, the paid notification lands on the same
ParkingOrder through that channel's own notify route, and `parking_orders.record_paid` books it
once; a second app that still pays is refunded at its channel there. Opening the page again
asks the channel again with the same out_trade_no: the channel returns the order it has.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.channels import ChannelError
from backend.channels.aggregate import APP_NAMES, PATH, AggregateChannel, out_trade_no_of
from backend.channels.compose import Channels
from backend.models.parking import ParkingOrder
from backend.services.parking_rules import car_park


class QrRefused(Exception):
    """The token names no live order: a 4xx with words in zh and en."""

    def __init__(self, status: int, code: str, zh: str, en: str):
        super().__init__(code)
        self.status, self.code, self.zh, self.en = status, code, zh, en


UNKNOWN = ("qr_unknown", "二维码无效，请扫描车道屏幕上的缴费码", "This QR code is not a payment code: scan the one on the lane screen")
EXPIRED = ("qr_expired", "二维码已过期，请在车道屏幕上重新取码", "This QR code has expired: get a new one at the lane screen")
NOT_OFFERED = ("qr_not_offered", "本系统未开通聚合码", "This system does not offer the aggregate QR code")


@dataclass
class Handover:
    """What the page does: `wechat_jsapi` (WeixinJSBridge with `jsapi`), `open` (send the app to
    `url`: Alipay's cashier, the UnionPay QR order, the bank's order), `oauth` (a redirect to
    WeChat's authorisation first), `help` (an app that cannot pay here) or `paid`."""
    kind: str
    order: ParkingOrder
    app: str | None = None
    url: str = ""
    jsapi: dict[str, str] = field(default_factory=dict)
    apps: list[tuple[str, str]] = field(default_factory=list)   # (zh, en) of the apps that can pay


def aggregate_of(channels: Channels) -> AggregateChannel:
    channel = channels.adapters.get("aggregate")
    if not isinstance(channel, AggregateChannel):
        raise QrRefused(404, *NOT_OFFERED)
    return channel


def find_order(session: Session, channels: Channels, token: str, now: datetime) -> ParkingOrder:
    """The order a token names; QrRefused 404 for garbage or a token no order holds, 410 for an
    order that expired or was closed (the token dies with its order)."""
    aggregate_of(channels)
    no = out_trade_no_of(token)
    order = session.scalar(select(ParkingOrder).where(ParkingOrder.out_trade_no == no)) if no else None
    if order is None or not hmac.compare_digest(order.code_url.rpartition(PATH)[2].encode(), token.encode()):
        raise QrRefused(404, *UNKNOWN)
    if order.status == "closed" or (order.status == "pending" and now > order.expires_at):
        raise QrRefused(410, *EXPIRED)
    return order


def start_payment(session: Session, channels: Channels, order: ParkingOrder, app: str | None,
                  notify_url: Callable[[str], str], page_url: str, oauth_code: str | None) -> Handover:
    """Start `app`'s in-app payment for the order (ChannelError when its channel fails: 502)."""
    aggregate = aggregate_of(channels)
    apps = [APP_NAMES[name] for name in aggregate.members if name in APP_NAMES]
    if order.status == "paid":
        return Handover("paid", order, app, apps=apps)
    channel = aggregate.members.get(app or "")
    if channel is None:
        return Handover("help", order, app, apps=apps)
    site = car_park(session, order.site_id)
    what = "停车费" if order.purpose == "exit" else "月卡续费"
    description = f"{site.name} {what} {order.plate}"
    expires = order.expires_at.astimezone(ZoneInfo(site.timezone))
    no, fen = order.out_trade_no, order.amount_fen
    if app == "wechat":
        if not oauth_code:
            return Handover("oauth", order, app, url=channel.oauth_url(page_url, state="gatepay"), apps=apps)
        openid = channel.openid_for_code(oauth_code)
        return Handover("wechat_jsapi", order, app, apps=apps,
                        jsapi=channel.create_jsapi(no, fen, description, notify_url(app), expires, openid))
    if app == "alipay":
        return Handover("open", order, app, apps=apps,
                        url=channel.wap_pay_url(no, fen, description, notify_url(app), expires))
    # UnionPay QuickPass opens UnionPay's QR order (01/07 qrCode) in the app; the bank's mobile
    # banking opens the bank's own order: both are that channel's merchant-QR order for this order.
    url = channel.create_native(no, fen, description, notify_url(app), expires)
    if not url.startswith(("https://", "http://")):
        raise ChannelError("bad_answer", "the channel's order is not a web address the app can open")
    return Handover("open", order, app, url=url, apps=apps)
