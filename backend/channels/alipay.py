"""Alipay face-to-face (支付宝当面付) over the open platform gateway (openapi.alipay.com/gateway.do),
the adapter. Pages it follows are cited in docs/CHANNELS.md.

Every call is a form POST of the public parameters (app_id, method, format=JSON, charset=utf-8,
sign_type=RSA2, timestamp "yyyy-MM-dd HH:mm:ss" Beijing time, version=1.0, [notify_url],
biz_content=<JSON>) plus `sign`: SHA256withRSA with the app's private key over the parameters
other than `sign` whose value is not empty, sorted by name and joined as k=v with "&".
The answer is {"<method with _>_response": {...}, "sign": "..."}: the signature covers the exact
text of the response node, verified with Alipay's public key. Business codes: 10000 done,
10003 waiting for the payer (password), 20000 system error (outcome unknown), 40004 refused
(sub_code says why, e.g. ACQ.BUYER_BALANCE_NOT_ENOUGH), 40002 bad arguments or signature.

    alipay.trade.pay        bar code (被扫): {out_trade_no, scene: bar_code, auth_code, subject, total_amount}
    alipay.trade.precreate  QR order (主扫): {out_trade_no, total_amount, subject, time_expire} -> qr_code
    alipay.trade.wap.pay    手机网站支付, a page call: the signed parameters are the URL (GET to the gateway)
                            the payer's Alipay opens to show its cashier; {out_trade_no, total_amount,
                            subject, product_code: QUICK_WAP_WAY, time_expire} (the aggregate QR, 聚合码)
    alipay.trade.query      {out_trade_no} -> trade_status WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_FINISHED | TRADE_CLOSED
    alipay.trade.cancel     {out_trade_no} -> action close | refund (the unknown-outcome rule: query, then cancel)
    alipay.trade.close      {out_trade_no}  (an unpaid QR order)
    alipay.trade.refund     {out_trade_no, refund_amount, out_request_no} (one out_request_no is applied once)
The asynchronous notification is a form POST (notify_type=trade_status_sync, trade_status, out_trade_no,
trade_no, total_amount, gmt_payment, app_id, ..., sign_type, sign) signed over the sorted parameters
other than sign and sign_type; the merchant answers the text "success" (else Alipay sends it again).
Amounts on the wire are yuan with two decimals; here they are integer fen both ways.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.channels.base import ChannelError, ChannelOrder, form_notification, rsa_sign, rsa_verify

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
BEIJING = ZoneInfo("Asia/Shanghai")
_YUAN = re.compile(r"(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")
_STATES = {"WAIT_BUYER_PAY": "USERPAYING", "TRADE_SUCCESS": "SUCCESS", "TRADE_FINISHED": "SUCCESS",
           "TRADE_CLOSED": "CLOSED"}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(text: object) -> int:
    """Yuan text ("8.50") -> fen (850); anything else is not an amount."""
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise ValueError("not a yuan amount")
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def sign_content(params: Mapping[str, str], *, drop: tuple[str, ...] = ("sign",)) -> str:
    """The text Alipay signs: non-empty parameters but `drop`, sorted by name, k=v joined by &."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in drop and params[k] not in ("", None))


def beijing_time(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def response_node_text(raw: str, node: str) -> str | None:
    """The exact text of `"node": {...}` in an answer: what Alipay's signature covers."""
    start = raw.find(f'"{node}"')
    if start < 0:
        return None
    brace = raw.find("{", start)
    depth, in_string, escaped = 0, False, False
    for i in range(brace, len(raw)):
        ch = raw[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return raw[brace:i + 1]
    return None


@dataclass
class AlipayKeys:
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey


class AlipayChannel:
    name = "alipay"

    def __init__(self, keys: AlipayKeys, gateway: str = DEFAULT_GATEWAY,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 5.0, clock=datetime.now):  # noqa: ANN001
        self.keys = keys
        self.gateway = gateway
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout_s)

    def _signed(self, method: str, biz: dict, notify_url: str | None = None) -> dict[str, str]:
        params = {"app_id": self.keys.app_id, "method": method, "format": "JSON", "charset": "utf-8",
                  "sign_type": "RSA2", "timestamp": beijing_time(self._clock(BEIJING)), "version": "1.0",
                  "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":"))}
        if notify_url:
            params["notify_url"] = notify_url
        params["sign"] = rsa_sign(self.keys.app_private_key, sign_content(params))
        return params

    def wap_pay_url(self, out_trade_no: str, amount_fen: int, subject: str, notify_url: str,
                    expires_at: datetime) -> str:
        """alipay.trade.wap.pay: the URL that opens Alipay's cashier for this order inside the payer's
        Alipay (the same out_trade_no as every other channel's order for it); the paid
        notification comes to notify_url like a QR order's."""
        params = self._signed("alipay.trade.wap.pay", {
            "out_trade_no": out_trade_no, "total_amount": yuan(amount_fen), "subject": subject[:256],
            "product_code": "QUICK_WAP_WAY", "time_expire": beijing_time(expires_at)}, notify_url)
        return f"{self.gateway}?{urlencode(params)}"

    def _call(self, method: str, biz: dict, notify_url: str | None = None) -> dict:
        params = self._signed(method, biz, notify_url)
        try:
            resp = self._http.post(self.gateway, data=params,
                                   headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        except httpx.HTTPError as exc:
            raise ChannelError("unreachable", f"Alipay unreachable: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise ChannelError(str(resp.status_code), "Alipay answered an HTTP error")
        node_name = method.replace(".", "_") + "_response"
        text = resp.text
        node_text = response_node_text(text, node_name)
        try:
            answer = json.loads(node_text) if node_text else None
            sign = json.loads(text).get("sign")
        except ValueError:
            answer, sign = None, None
        if not isinstance(answer, dict):
            raise ChannelError("bad_answer", "Alipay answered without a response node")
        if answer.get("code") == "40002":          # our arguments or signature: nothing was done
            raise ChannelError(str(answer.get("sub_code", "40002")), str(answer.get("sub_msg", "invalid arguments")))
        if not isinstance(sign, str) or not rsa_verify(self.keys.alipay_public_key, sign, node_text):
            raise ChannelError("bad_signature", "Alipay's answer is not signed by Alipay's key")
        return answer

    @staticmethod
    def _raise_refusal(answer: dict) -> None:
        code = answer.get("code")
        if code == "20000":
            raise ChannelError("SYSTEM_ERROR", str(answer.get("sub_msg", "Alipay system error")))
        if code not in ("10000", "10003"):
            raise ChannelError(str(answer.get("sub_code", code)), str(answer.get("sub_msg", answer.get("msg", ""))))

    def _order(self, answer: dict, out_trade_no: str, state: str | None = None) -> ChannelOrder:
        try:
            state = state or _STATES[answer["trade_status"]]
            paid_at = answer.get("send_pay_date") or answer.get("gmt_payment")
            return ChannelOrder(out_trade_no=str(answer.get("out_trade_no", out_trade_no)), trade_state=state,
                                amount_fen=fen_of(answer["total_amount"]), transaction_id=answer.get("trade_no"),
                                success_time=datetime.strptime(paid_at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
                                if paid_at and state == "SUCCESS" else None)
        except (KeyError, ValueError, TypeError) as exc:
            raise ChannelError("bad_answer", f"unreadable Alipay trade: {type(exc).__name__}") from exc

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        answer = self._call("alipay.trade.pay", {"out_trade_no": out_trade_no, "scene": "bar_code",
                                                 "auth_code": auth_code, "subject": description[:256],
                                                 "total_amount": yuan(amount_fen),
                                                 "product_code": "FACE_TO_FACE_PAYMENT"})
        self._raise_refusal(answer)
        if answer["code"] == "10003":               # ORDER_SUCCESS_PAY_INPROCESS: the payer enters a password
            return ChannelOrder(out_trade_no, "USERPAYING", amount_fen)
        return self._order({**answer, "total_amount": answer.get("total_amount", yuan(amount_fen))},
                           out_trade_no, "SUCCESS")

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str:
        answer = self._call("alipay.trade.precreate", {"out_trade_no": out_trade_no, "total_amount": yuan(amount_fen),
                                                       "subject": description[:256],
                                                       "time_expire": beijing_time(expires_at)}, notify_url)
        self._raise_refusal(answer)
        qr = answer.get("qr_code")
        if not isinstance(qr, str) or not qr:
            raise ChannelError("bad_answer", "Alipay answered a pre-create without a qr_code")
        return qr

    def query(self, out_trade_no: str) -> ChannelOrder:
        answer = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            raise ChannelError("TRADE_NOT_EXIST", "交易不存在")
        self._raise_refusal(answer)
        return self._order(answer, out_trade_no)

    def close(self, out_trade_no: str) -> None:
        answer = self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        if answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            self._raise_refusal(answer)

    def reverse(self, out_trade_no: str) -> None:
        """alipay.trade.cancel: unpaid, the trade is closed; paid, the money goes back. retry_flag Y
        means Alipay could not do it now: an unknown outcome for the caller to try again."""
        answer = self._call("alipay.trade.cancel", {"out_trade_no": out_trade_no})
        if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            raise ChannelError("TRADE_NOT_EXIST", "交易不存在")
        if answer.get("retry_flag") == "Y":
            raise ChannelError("SYSTEM_ERROR", "Alipay asks for the cancel to be tried again")
        self._raise_refusal(answer)

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str:
        answer = self._call("alipay.trade.refund", {"out_trade_no": out_trade_no, "refund_amount": yuan(refund_fen),
                                                    "out_request_no": out_refund_no})
        self._raise_refusal(answer)
        return "SUCCESS"

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder:
        params = form_notification(body)
        sign = params.get("sign", "")
        if params.get("sign_type") != "RSA2" or not rsa_verify(
                self.keys.alipay_public_key, sign, sign_content(params, drop=("sign", "sign_type"))):
            raise ChannelError("bad_signature", "notification not signed by Alipay's key")
        if params.get("app_id") != self.keys.app_id:
            raise ChannelError("bad_notification", "notification for another app")
        if params.get("trade_status") not in _STATES:
            raise ChannelError("bad_notification", "unknown trade_status")
        return self._order(params, params.get("out_trade_no", ""))

    @staticmethod
    def acknowledgement(accepted: bool) -> tuple[int, str, str]:
        """What Alipay expects back: the text "success" stops its retries."""
        return (200, "text/plain", "success") if accepted else (200, "text/plain", "fail")
