"""A wallet's pay code (付款码) charged at its channel: the one flow for the canteen and the
parking exit.

`charge` makes the one codepay call and reads its answer by each channel's published codes:
paid, declined (our decline code, worded in core/reasons) or unknown (the money may or may not
have been taken). What happens to an unknown outcome is the scene's: the canteen asks until it
knows and reverses what it cannot confirm (`charge_until_known`, the payer waits at the till);
the parking exit keeps its order pending and the lane polls it (parking_orders.refresh).
The channel's order number is the payment id's (or parking order id's) hex, so every retry names
the same order there and the code is charged at most once.
"""
from __future__ import annotations

from dataclasses import dataclass

from backend.channels import ChannelError, ChannelOrder, PaymentChannel
from backend.channels.compose import PayerWait
from backend.errors import api_error
from core.reasons import message

# Channel answers that mean "not taken, and nothing more will happen" -> our decline code;
# any other refusal is channel_declined.
DECLINE_OF: dict[str, str] = {
    "NOTENOUGH": "channel_insufficient_funds", "AUTH_CODE_INVALID": "channel_code_invalid",
    "AUTH_CODE_EXPIRE": "channel_code_invalid", "AUTHCODEEXPIRE": "channel_code_invalid",
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": "channel_insufficient_funds",
    "ACQ.PAYMENT_AUTH_CODE_INVALID": "channel_code_invalid",
    "51": "channel_insufficient_funds", "14": "channel_code_invalid"}     # UnionPay respCode
# No answer we can trust: the money may or may not have been taken. Ask (query) before anything else.
NO_ANSWER = {"unreachable", "bad_answer", "bad_signature"}
UNKNOWN = NO_ANSWER | {"SYSTEMERROR", "SYSTEM_ERROR", "BANKERROR", "USERPAYING", "OUT_TRADE_NO_USED", "ORDERPAID",
                       "500", "502", "503", "504"}
_NOT_THERE = ("ORDER_NOT_EXIST", "TRADE_NOT_EXIST")


@dataclass(frozen=True)
class Charge:
    """The channel's answer to one codepay: `paid` (the order), or `decline` (our code), or
    neither: unknown, with the channel's own `unknown` code (USERPAYING when the payer is asked
    for a password)."""
    paid: ChannelOrder | None = None
    decline: str | None = None
    unknown: str = ""


def charge(channel: PaymentChannel, out_trade_no: str, code: str, amount_fen: int, description: str) -> Charge:
    try:
        order = channel.codepay(out_trade_no, code, amount_fen, description)
    except ChannelError as exc:
        if exc.code in UNKNOWN:
            return Charge(unknown=exc.code)
        return Charge(decline=DECLINE_OF.get(exc.code, "channel_declined"))
    if order.trade_state == "SUCCESS" and order.amount_fen == amount_fen:
        return Charge(paid=order)
    return Charge(unknown=order.trade_state)


def charge_until_known(channel: PaymentChannel, out_trade_no: str, code: str, amount_fen: int, description: str,
                       wait: PayerWait) -> Charge:
    """`charge`, then for an unknown outcome each channel's published rule (a timeout, a system
    error, or the payer asked for a password): query until it is paid, failed or the payer's time
    is up, then reverse it (WeChat 撤销, Alipay alipay.trade.cancel, UnionPay 冲正) so it can never
    be paid later. When not even that gets an answer the caller is told 503 and nothing is stored
    (a retry with the same payment id asks again about the same order: no second charge)."""
    first = charge(channel, out_trade_no, code, amount_fen, description)
    if not first.unknown:
        return first
    for query in range(wait.queries):
        if query:
            wait.sleep(wait.query_every_s)
        try:
            order = channel.query(out_trade_no)
        except ChannelError as exc:
            if exc.code in _NOT_THERE:
                return Charge(decline="channel_not_charged")      # the charge never reached the channel
            continue
        if order.trade_state == "SUCCESS" and order.amount_fen == amount_fen:
            return Charge(paid=order)
        if order.trade_state in ("CLOSED", "REVOKED", "PAYERROR"):
            return Charge(decline="channel_not_charged")
        if order.trade_state != "USERPAYING":
            break
    try:
        channel.reverse(out_trade_no)
        return Charge(decline="channel_not_charged")
    except ChannelError as exc:
        if exc.code in _NOT_THERE:
            return Charge(decline="channel_not_charged")
    raise api_error(503, "channel_outcome_unknown", *message("channel_outcome_unknown"))
