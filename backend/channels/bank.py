"""The bank's own codes as a channel: the mobile-banking pay code (手机银行付款码, 被扫) and the bank's
aggregate QR (聚合支付码, 主扫: the customer's mobile banking scans the order and pays it), both as
real-time in-bank transfers into the platform's clearing account at the bank, through the core.

The core's interface is the bank's own (its ESB, not public), so `BankCodeCore` below is the seam
an installation implements over it; `BankCodeCoreSimulator` behaves like one (the same failure
modes as every channel simulator). Every call carries our reference (the payment or order id's
hex) and the core applies a reference once, as with card debits (backend/corebanking.py).
Notifications of a paid aggregate QR are HMAC-SHA256 signed with a key shared with the core.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Mapping, Protocol

from backend.channels.base import MAX_NOTIFY_BYTES, ChannelError, ChannelOrder
from backend.corebanking import BankAnswer

_REFUSED = {"insufficient_funds": "NOTENOUGH", "frozen": "BANK_ACCOUNT_FROZEN", "no_account": "AUTH_CODE_INVALID",
            "code_invalid": "AUTH_CODE_INVALID"}


class BankCodeCore(Protocol):
    def transfer_by_code(self, ref: str, code: str, to_account: str, amount_fen: int) -> BankAnswer: ...
    def open_order(self, ref: str, to_account: str, amount_fen: int, expires_at: datetime) -> str: ...
    def order_state(self, ref: str) -> tuple[str, int, datetime | None]: ...   # (NOTPAY|SUCCESS|CLOSED, fen, paid at)
    def close_order(self, ref: str) -> None: ...
    def reverse(self, ref: str) -> BankAnswer: ...
    def refund(self, ref: str, original_ref: str, amount_fen: int) -> BankAnswer: ...


def notification_signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


class BankCodesChannel:
    name = "bank"

    def __init__(self, core: BankCodeCore, clearing_account: str, notify_key: bytes):
        self.core, self.clearing_account, self.notify_key = core, clearing_account, notify_key

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        answer = self.core.transfer_by_code(out_trade_no, auth_code, self.clearing_account, amount_fen)
        if answer.outcome == "ok":
            return ChannelOrder(out_trade_no, "SUCCESS", answer.amount_fen or amount_fen, f"bank:{out_trade_no}")
        if answer.outcome == "unknown":
            raise ChannelError("unreachable", "the bank core did not answer in time")
        raise ChannelError(_REFUSED.get(answer.outcome, "BANK_DECLINED"), f"bank core: {answer.outcome}")

    def query(self, out_trade_no: str) -> ChannelOrder:
        state, amount, paid_at = self.core.order_state(out_trade_no)
        if state == "NOT_FOUND":
            raise ChannelError("ORDER_NOT_EXIST", "the bank core has no such reference")
        if state == "UNKNOWN":
            raise ChannelError("unreachable", "the bank core cannot tell yet")
        return ChannelOrder(out_trade_no, state, amount, f"bank:{out_trade_no}" if state == "SUCCESS" else None, paid_at)

    def reverse(self, out_trade_no: str) -> None:
        answer = self.core.reverse(out_trade_no)
        if answer.outcome == "not_found":
            raise ChannelError("ORDER_NOT_EXIST", "nothing to reverse")
        if answer.outcome != "ok":
            raise ChannelError("unreachable", f"bank core: {answer.outcome}")

    def close(self, out_trade_no: str) -> None:
        self.core.close_order(out_trade_no)

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str:
        return self.core.open_order(out_trade_no, self.clearing_account, amount_fen, expires_at)

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str:
        answer = self.core.refund(out_refund_no, out_trade_no, refund_fen)
        if answer.outcome == "ok":
            return "SUCCESS"
        if answer.outcome == "unknown":
            raise ChannelError("unreachable", "the bank core did not answer in time")
        raise ChannelError("REFUND_REFUSED", f"bank core: {answer.outcome}")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder:
        if len(body) > MAX_NOTIFY_BYTES:
            raise ChannelError("too_large", "notification body too large")
        given = headers.get("X-Bank-Signature", "")
        if not hmac.compare_digest(given, notification_signature(self.notify_key, body)):
            raise ChannelError("bad_signature", "notification not signed with the core's key")
        try:
            note = json.loads(body)
            return ChannelOrder(str(note["ref"]), "SUCCESS", int(note["amount_fen"]), f"bank:{note['ref']}",
                                datetime.fromisoformat(note["paid_at"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ChannelError("bad_notification", "unreadable notification") from exc

    @staticmethod
    def acknowledgement(accepted: bool) -> tuple[int, str, str]:
        return (200, "application/json", '{"ok":true}') if accepted else (400, "application/json", '{"ok":false}')
