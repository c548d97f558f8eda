"""UnionPay QR payments (银联二维码 / 云闪付) through the UnionPay online gateway (全渠道, ACP 5.1.0),
the adapter. Pages it follows are cited in docs/CHANNELS.md.

Every request is a form POST of UnionPay's fields: version=5.1.0, encoding=UTF-8, signMethod=01,
certId, txnType, txnSubType, bizType=000000, channelType=08, accessType=0, merId, orderId,
txnTime (yyyyMMddHHmmss, Beijing), txnAmt (fen), currencyCode=156, backUrl, signature. The
signature (signMethod 01): the fields but `signature`, sorted, joined k=v with "&"; the lowercase
hex SHA-256 of that text is signed with SHA256withRSA by the merchant's signing key. Answers and
notifications are signed the same way by UnionPay's signing certificate (signPubKeyCert); this
adapter verifies them against the UnionPay certificate it was configured with (pinned).

    被扫 pay code      txnType 01, txnSubType 06, qrNo        respCode 00 paid; 03/04/05 unknown: query
    主扫 merchant QR   txnType 01, txnSubType 07              -> qrCode (the text the lane shows)
    query             txnType 00, txnSubType 00 (queryTrans.do) -> origRespCode 00 paid, 03/04/05 pending,
                      respCode 34: no such order
    reversal (冲正)    txnType 99, txnSubType 01, origOrderId/origTxnTime: a pay code whose outcome is unknown
    refund (退货)      txnType 04, txnSubType 00, origQryId
The notification to backUrl is a form POST of the same kind of fields (respCode 00, queryId, ...).
ACP names an order by merId + orderId + txnTime, so the adapter keeps the txnTime it sent for each
orderId (a RefStore every backend worker shares) to ask about it later.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backend.channels.base import ChannelError, ChannelOrder, form_notification

DEFAULT_GATEWAY = "https://gateway.95516.com/gateway/api"
BEIJING = ZoneInfo("Asia/Shanghai")
PENDING = ("03", "04", "05")


def sign_text(fields: Mapping[str, str]) -> str:
    return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "signature")


def acp_sign(key: rsa.RSAPrivateKey, fields: Mapping[str, str]) -> str:
    digest = hashlib.sha256(sign_text(fields).encode("utf-8")).hexdigest()
    return base64.b64encode(key.sign(digest.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def acp_verify(key: rsa.RSAPublicKey, fields: Mapping[str, str]) -> bool:
    digest = hashlib.sha256(sign_text(fields).encode("utf-8")).hexdigest()
    try:
        key.verify(base64.b64decode(fields.get("signature", ""), validate=True), digest.encode(),
                   padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def txn_time(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


class RefStore(Protocol):
    def remember(self, order_id: str, txn_time: str) -> str: ...   # the first txnTime kept wins
    def txn_time(self, order_id: str) -> str | None: ...


class MemoryRefs:
    def __init__(self) -> None:
        self._refs: dict[str, str] = {}

    def remember(self, order_id: str, txn_time: str) -> str:
        return self._refs.setdefault(order_id, txn_time)

    def txn_time(self, order_id: str) -> str | None:
        return self._refs.get(order_id)


@dataclass
class UnionPayKeys:
    mer_id: str
    cert_id: str
    sign_key: rsa.RSAPrivateKey
    unionpay_public: rsa.RSAPublicKey


class UnionPayChannel:
    name = "unionpay"

    def __init__(self, keys: UnionPayKeys, gateway: str = DEFAULT_GATEWAY, transport: httpx.BaseTransport | None = None,
                 timeout_s: float = 5.0, refs: RefStore | None = None, back_url: str = "", clock=datetime.now):  # noqa: ANN001
        self.keys, self.gateway, self.back_url = keys, gateway.rstrip("/"), back_url
        self.refs: RefStore = refs or MemoryRefs()
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout_s)

    def _fields(self, txn_type: str, sub: str, order_id: str, when: str, **more: str) -> dict[str, str]:
        return {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "certId": self.keys.cert_id,
                "txnType": txn_type, "txnSubType": sub, "bizType": "000000", "channelType": "08", "accessType": "0",
                "merId": self.keys.mer_id, "orderId": order_id, "txnTime": when, **more}

    def _post(self, path: str, fields: dict[str, str]) -> dict[str, str]:
        fields["signature"] = acp_sign(self.keys.sign_key, fields)
        try:
            resp = self._http.post(f"{self.gateway}/{path}", data=fields)
        except httpx.HTTPError as exc:
            raise ChannelError("unreachable", f"UnionPay unreachable: {type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise ChannelError(str(resp.status_code), "UnionPay answered an HTTP error")
        answer = dict(parse_qsl(resp.text, keep_blank_values=True))
        if not acp_verify(self.keys.unionpay_public, answer):
            raise ChannelError("bad_signature", "UnionPay's answer is not signed by UnionPay's certificate")
        return answer

    def _now(self) -> str:
        return txn_time(self._clock(BEIJING))

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        when = self.refs.remember(out_trade_no, self._now())
        answer = self._post("backTransReq.do", self._fields("01", "06", out_trade_no, when, qrNo=auth_code,
                                                            txnAmt=str(amount_fen), currencyCode="156",
                                                            backUrl=self.back_url, termId="00000001"))
        code = answer.get("respCode", "")
        if code == "00":
            return ChannelOrder(out_trade_no, "SUCCESS", int(answer.get("txnAmt", amount_fen)), answer.get("queryId"),
                                datetime.strptime(when, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING))
        if code in PENDING:             # accepted, outcome not known yet (e.g. the payer enters a PIN)
            return ChannelOrder(out_trade_no, "USERPAYING", amount_fen)
        raise ChannelError(code or "bad_answer", answer.get("respMsg", "UnionPay refused"))

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str:
        when = self.refs.remember(out_trade_no, self._now())
        answer = self._post("backTransReq.do", self._fields("01", "07", out_trade_no, when, txnAmt=str(amount_fen),
                                                            currencyCode="156", backUrl=notify_url,
                                                            payTimeout=txn_time(expires_at)))
        if answer.get("respCode") != "00" or not answer.get("qrCode"):
            raise ChannelError(answer.get("respCode") or "bad_answer", answer.get("respMsg", "no qrCode"))
        return answer["qrCode"]

    def query(self, out_trade_no: str) -> ChannelOrder:
        when = self.refs.txn_time(out_trade_no)
        if when is None:
            raise ChannelError("ORDER_NOT_EXIST", "no such order was sent to UnionPay")
        answer = self._post("queryTrans.do", self._fields("00", "00", out_trade_no, when))
        code, orig = answer.get("respCode"), answer.get("origRespCode", "")
        if code == "34":
            raise ChannelError("ORDER_NOT_EXIST", "UnionPay has no such order")
        if code != "00":
            raise ChannelError(code or "bad_answer", answer.get("respMsg", "query failed"))
        try:
            amount = int(answer["txnAmt"])
        except (KeyError, ValueError) as exc:
            raise ChannelError("bad_answer", "unreadable UnionPay query") from exc
        state = "SUCCESS" if orig == "00" else "USERPAYING" if orig in PENDING else "CLOSED"
        return ChannelOrder(out_trade_no, state, amount, answer.get("queryId"),
                            datetime.strptime(when, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING) if state == "SUCCESS"
                            else None)

    def reverse(self, out_trade_no: str) -> None:
        """冲正: undo a pay code whose outcome stayed unknown (taken or not, it ends not taken)."""
        when = self.refs.txn_time(out_trade_no)
        if when is None:
            raise ChannelError("ORDER_NOT_EXIST", "no such order was sent to UnionPay")
        answer = self._post("backTransReq.do", self._fields("99", "01", "R" + out_trade_no[1:], self._now(),
                                                            origOrderId=out_trade_no, origTxnTime=when))
        if answer.get("respCode") not in ("00", "34"):
            raise ChannelError(answer.get("respCode") or "bad_answer", answer.get("respMsg", "reversal failed"))

    def close(self, out_trade_no: str) -> None:
        """A merchant QR nobody paid simply times out at UnionPay (payTimeout): nothing to call."""

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str:
        paid = self.query(out_trade_no)
        if paid.trade_state != "SUCCESS" or not paid.transaction_id:
            raise ChannelError("ORDER_NOT_PAID", "the order was not paid")
        when = self.refs.remember(out_refund_no, self._now())
        answer = self._post("backTransReq.do", self._fields("04", "00", out_refund_no, when, txnAmt=str(refund_fen),
                                                            origQryId=paid.transaction_id, backUrl=self.back_url))
        if answer.get("respCode") == "00":
            return "SUCCESS"
        if answer.get("respCode") in PENDING:
            return "PROCESSING"
        raise ChannelError(answer.get("respCode") or "bad_answer", answer.get("respMsg", "refund refused"))

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder:
        fields = form_notification(body)
        if not acp_verify(self.keys.unionpay_public, fields):
            raise ChannelError("bad_signature", "notification not signed by UnionPay's certificate")
        if fields.get("merId") != self.keys.mer_id or fields.get("respCode") != "00":
            raise ChannelError("bad_notification", "not a paid notification for this merchant")
        try:
            return ChannelOrder(fields["orderId"], "SUCCESS", int(fields["txnAmt"]), fields.get("queryId"),
                                datetime.strptime(fields["txnTime"], "%Y%m%d%H%M%S").replace(tzinfo=BEIJING))
        except (KeyError, ValueError) as exc:
            raise ChannelError("bad_notification", "unreadable notification") from exc

    @staticmethod
    def acknowledgement(accepted: bool) -> tuple[int, str, str]:
        """UnionPay stops resending once it gets HTTP 200."""
        return (200, "text/plain", "ok") if accepted else (400, "text/plain", "fail")
