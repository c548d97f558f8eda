"""The payment-channel adapter for QR "native" orders, and a simulator of the channel's server.

The adapter speaks the message shapes of WeChat Pay API v3 native payments:
    POST /v3/pay/transactions/native   {appid, mchid, description, out_trade_no, time_expire,
                                         notify_url, amount: {total, currency}} -> {code_url}
    GET  /v3/pay/transactions/out-trade-no/{no}?mchid=..  -> {trade_state, transaction_id,
                                         success_time, amount: {total, payer_total, ...}, ...}
    POST /v3/pay/transactions/out-trade-no/{no}/close  {mchid} -> 204
    POST /v3/pay/transactions/codepay  {appid, mchid, description, out_trade_no, payer: {auth_code},
                                         amount: {total, currency}} -> the transaction (付款码支付)
    paid notification (POST to notify_url): {id, create_time, event_type: TRANSACTION.SUCCESS,
        resource_type: encrypt-resource, resource: {algorithm: AEAD_AES_256_GCM, ciphertext,
        nonce, associated_data, original_type: transaction}}
Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 ...` signed with the merchant key;
answers and notifications carry Wechatpay-Timestamp/Nonce/Signature/Serial signed with the
platform key, which the adapter verifies; the notification's resource is sealed with the
APIv3 key. The simulator (an httpx transport, the seam the real client runs over) checks and
produces exactly these, so the adapter that talks to the real channel is the one under test.
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, Mapping

import httpx
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TradeState = Literal["NOTPAY", "SUCCESS", "CLOSED", "USERPAYING", "PAYERROR", "REFUND", "REVOKED"]
_AUTH = re.compile(r'WECHATPAY2-SHA256-RSA2048 (.+)')
_PAIR = re.compile(r'(\w+)="([^"]*)"')
MAX_NOTIFY_BYTES = 64 * 1024


class ChannelError(RuntimeError):
    """The channel refused or could not be reached; `code` is the channel's or ours."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class ChannelOrder:
    out_trade_no: str
    trade_state: str
    amount_fen: int
    transaction_id: str | None = None
    success_time: datetime | None = None


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(key: rsa.RSAPublicKey, signature: str, message: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message.encode(), padding.PKCS1v15(),
                   hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def _wechatpay_headers(key: rsa.RSAPrivateKey, serial: str, body: bytes) -> dict[str, str]:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex
    return {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": serial,
            "Wechatpay-Signature": _sign(key, f"{ts}\n{nonce}\n{body.decode()}\n")}


@dataclass
class ChannelKeys:
    """What a merchant holds for the channel: its own key and the platform's public key."""
    mchid: str
    appid: str
    merchant_key: rsa.RSAPrivateKey
    merchant_serial: str
    platform_public: rsa.RSAPublicKey
    platform_serial: str
    api_v3_key: bytes


class WechatNativeChannel:
    """The adapter the backend uses for QR orders; `transport` is the network (or the simulator)."""
    name = "wechat"

    def __init__(self, keys: ChannelKeys, base_url: str = "https://api.mch.weixin.qq.com",
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 5.0):
        self.keys = keys
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout_s)

    def _request(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() if body is not None else b""
        ts, nonce = str(int(time.time())), uuid.uuid4().hex
        sig = _sign(self.keys.merchant_key, f"{method}\n{path}\n{ts}\n{nonce}\n{raw.decode()}\n")
        auth = (f'WECHATPAY2-SHA256-RSA2048 mchid="{self.keys.mchid}",nonce_str="{nonce}",'
                f'signature="{sig}",timestamp="{ts}",serial_no="{self.keys.merchant_serial}"')
        try:
            resp = self._http.request(method, path, content=raw or None, headers={
                "Authorization": auth, "Accept": "application/json",
                **({"Content-Type": "application/json"} if raw else {})})
        except httpx.HTTPError as exc:
            raise ChannelError("unreachable", f"payment channel unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()
            except ValueError:
                err = {}
            raise ChannelError(str(err.get("code", resp.status_code)), str(err.get("message", resp.text[:200])))
        if resp.content and not self._signed_by_platform(resp.headers, resp.content):
            raise ChannelError("bad_signature", "the channel's answer is not signed by the platform key")
        return resp

    def _signed_by_platform(self, headers: Mapping[str, str], body: bytes) -> bool:
        ts, nonce, sig = (headers.get("Wechatpay-Timestamp"), headers.get("Wechatpay-Nonce"),
                          headers.get("Wechatpay-Signature"))
        if not (ts and nonce and sig) or headers.get("Wechatpay-Serial") != self.keys.platform_serial:
            return False
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return False
        return _verify(self.keys.platform_public, sig, f"{ts}\n{nonce}\n{text}\n")

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str:
        """Create the order; returns code_url, the text the lane display shows as a QR code."""
        resp = self._request("POST", "/v3/pay/transactions/native", {
            "appid": self.keys.appid, "mchid": self.keys.mchid, "description": description[:127],
            "out_trade_no": out_trade_no, "time_expire": expires_at.isoformat(timespec="seconds"),
            "notify_url": notify_url, "amount": {"total": amount_fen, "currency": "CNY"}})
        code_url = resp.json().get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ChannelError("bad_answer", "the channel answered without a code_url")
        return code_url

    def query(self, out_trade_no: str) -> ChannelOrder:
        resp = self._request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.keys.mchid}")
        return _order_from_transaction(resp.json())

    def close(self, out_trade_no: str) -> None:
        self._request("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.keys.mchid})

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        """Charge a scanned pay code. SUCCESS, USERPAYING (the payer must confirm: query later) or a
        ChannelError whose code says why (e.g. NOTENOUGH, AUTH_CODE_INVALID). The code is not kept."""
        resp = self._request("POST", "/v3/pay/transactions/codepay", {
            "appid": self.keys.appid, "mchid": self.keys.mchid, "description": description[:127],
            "out_trade_no": out_trade_no, "payer": {"auth_code": auth_code},
            "amount": {"total": amount_fen, "currency": "CNY"}})
        return _order_from_transaction(resp.json())

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str:
        """Give money back to the payer (POST /v3/refund/domestic/refunds). The channel applies one
        out_refund_no once, so a retry after a lost answer is safe. Returns SUCCESS or PROCESSING
        (accepted, paid back by the channel later); ChannelError for a refusal or no answer."""
        resp = self._request("POST", "/v3/refund/domestic/refunds", {
            "out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
            "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"}})
        status = resp.json().get("status")
        if status not in ("SUCCESS", "PROCESSING"):
            raise ChannelError("bad_answer", "the channel answered a refund without a known status")
        return status

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder:
        """A paid notification, verified and decrypted; ChannelError for anything else."""
        if len(body) > MAX_NOTIFY_BYTES:
            raise ChannelError("too_large", "notification body too large")
        if not self._signed_by_platform(headers, body):
            raise ChannelError("bad_signature", "notification not signed by the platform key")
        try:
            note = json.loads(body)
            res = note["resource"]
            if res.get("algorithm") != "AEAD_AES_256_GCM":
                raise ChannelError("bad_notification", "unknown resource algorithm")
            plain = AESGCM(self.keys.api_v3_key).decrypt(
                res["nonce"].encode(), base64.b64decode(res["ciphertext"], validate=True),
                (res.get("associated_data") or "").encode())
            return _order_from_transaction(json.loads(plain))
        except ChannelError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, InvalidTag) as exc:
            raise ChannelError("bad_notification", f"unreadable notification: {type(exc).__name__}") from exc


def _order_from_transaction(tx: dict) -> ChannelOrder:
    try:
        success = tx.get("success_time")
        return ChannelOrder(out_trade_no=str(tx["out_trade_no"]), trade_state=str(tx["trade_state"]),
                            amount_fen=int(tx["amount"]["total"]), transaction_id=tx.get("transaction_id"),
                            success_time=datetime.fromisoformat(success) if success else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise ChannelError("bad_answer", f"unreadable transaction: {type(exc).__name__}") from exc


# --- the simulator: the channel's server, as an httpx transport ----------------------------------

@dataclass
class _SimOrder:
    body: dict
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    payer: str = ""
    code_url: str = ""


@dataclass
class ChannelSimulator(httpx.BaseTransport):
    """Behaves like the channel: checks the merchant's signature, keeps orders, signs answers,
    and when a payer "scans and pays" a code_url, produces the encrypted, signed notification."""
    merchant_public: rsa.RSAPublicKey
    platform_key: rsa.RSAPrivateKey
    platform_serial: str
    api_v3_key: bytes
    orders: dict[str, _SimOrder] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)

    def _answer(self, status: int, payload: dict | None) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        headers = _wechatpay_headers(self.platform_key, self.platform_serial, body) if body else {}
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json", **headers})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        body = request.read()
        m = _AUTH.fullmatch(request.headers.get("Authorization", ""))
        parts = dict(_PAIR.findall(m.group(1))) if m else {}
        message = f"{request.method}\n{path}\n{parts.get('timestamp')}\n{parts.get('nonce_str')}\n{body.decode()}\n"
        if not parts or not _verify(self.merchant_public, parts.get("signature", ""), message):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        if request.method == "POST" and path == "/v3/pay/transactions/native":
            order = json.loads(body)
            no = order["out_trade_no"]
            if no in self.orders:
                if self.orders[no].body["amount"] != order["amount"]:
                    return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
            else:
                self.orders[no] = _SimOrder(order, code_url=f"weixin://wxpay/bizpayurl?pr={uuid.uuid4().hex[:16]}")
            return self._answer(200, {"code_url": self.orders[no].code_url})
        if request.method == "POST" and path == "/v3/pay/transactions/codepay":
            return self._codepay(json.loads(body))
        if request.method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(json.loads(body))
        q = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/?]+)(\?mchid=\w+|/close)", path)
        if q is None or q.group(1) not in self.orders:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        sim = self.orders[q.group(1)]
        if q.group(2) == "/close":
            if sim.state == "NOTPAY":
                sim.state = "CLOSED"
            return self._answer(204, None)
        return self._answer(200, self._transaction(sim))

    def _codepay(self, order: dict) -> httpx.Response:
        """Pay codes as an aggregating acquirer takes them: WeChat (18 digits, 10-15), Alipay (16-24
        digits, 25-30) and UnionPay (19 digits, 62); one ending in 0000 has no money behind it."""
        code = str(order.get("payer", {}).pop("auth_code", ""))
        no = order["out_trade_no"]
        if no in self.orders:                      # a retry of the same out_trade_no: same answer
            return self._answer(200, self._transaction(self.orders[no]))
        if not re.fullmatch(r"1[0-5][0-9]{16}|(2[5-9]|30)[0-9]{14,22}|62[0-9]{17}", code):
            return self._answer(400, {"code": "AUTH_CODE_INVALID", "message": "付款码无效，请刷新付款码后重试"})
        if code.endswith("0000"):
            return self._answer(403, {"code": "NOTENOUGH", "message": "用户余额不足"})
        sim = self.orders[no] = _SimOrder(order)
        sim.state, sim.payer = "SUCCESS", "o-paycode-payer"
        sim.transaction_id = f"42000{int(time.time() * 1000)}{len(self.orders):04d}"
        sim.success_time = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
        return self._answer(200, self._transaction(sim))

    def _refund(self, req: dict) -> httpx.Response:
        """Refunds of a paid order, each out_refund_no applied once, never more than was paid."""
        no, refund_no, amount = req.get("out_trade_no"), req.get("out_refund_no"), req.get("amount", {})
        if refund_no in self.refunds:
            return self._answer(200, self.refunds[refund_no])
        sim = self.orders.get(no)
        if sim is None or sim.state != "SUCCESS":
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在或未支付"})
        given = sum(r["amount"]["refund"] for r in self.refunds.values() if r["out_trade_no"] == no)
        total = sim.body["amount"]["total"]
        if amount.get("total") != total or not 0 < amount.get("refund", 0) <= total - given:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "退款金额超过可退金额"})
        self.refunds[refund_no] = {"refund_id": f"50000{len(self.refunds) + 1:010d}", "out_refund_no": refund_no,
                                   "out_trade_no": no, "status": "SUCCESS",
                                   "amount": {"refund": amount["refund"], "total": total, "currency": "CNY"}}
        return self._answer(200, self.refunds[refund_no])

    def _transaction(self, sim: _SimOrder) -> dict:
        total = sim.body["amount"]["total"]
        tx = {"appid": sim.body["appid"], "mchid": sim.body["mchid"], "out_trade_no": sim.body["out_trade_no"],
              "trade_type": "MICROPAY" if "payer" in sim.body else "NATIVE", "trade_state": sim.state,
              "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(sim.state, ""),
              "amount": {"total": total, "currency": "CNY"}}
        if sim.state == "SUCCESS":
            tx.update(transaction_id=sim.transaction_id, success_time=sim.success_time,
                      bank_type="OTHERS", payer={"openid": sim.payer},
                      amount={"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"})
        return tx

    def order_for_code(self, code_url: str) -> str | None:
        """Which order a scanned QR text belongs to (what the payer's app does when it scans)."""
        return next((no for no, sim in self.orders.items() if sim.code_url == code_url), None)

    def pay(self, out_trade_no: str, payer: str = "o-simulated-payer") -> tuple[dict[str, str], bytes]:
        """The payer's banking app pays the order: returns the notification (headers, body) that the
        channel would POST to the order's notify_url."""
        sim = self.orders[out_trade_no]
        if sim.state == "CLOSED":
            raise ChannelError("ORDER_CLOSED", "订单已关闭")
        if sim.state == "NOTPAY":
            sim.state = "SUCCESS"
            sim.transaction_id = f"42000{int(time.time() * 1000)}{len(self.orders):04d}"
            sim.success_time = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
            sim.payer = payer
        nonce, aad = uuid.uuid4().hex[:12], "transaction"
        cipher = AESGCM(self.api_v3_key).encrypt(nonce.encode(), json.dumps(self._transaction(sim)).encode(),
                                                 aad.encode())
        note = {"id": str(uuid.uuid4()), "create_time": sim.success_time, "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                             "ciphertext": base64.b64encode(cipher).decode(), "associated_data": aad,
                             "nonce": nonce}}
        body = json.dumps(note, ensure_ascii=False).encode()
        return _wechatpay_headers(self.platform_key, self.platform_serial, body), body


def simulated_channel() -> tuple[WechatNativeChannel, ChannelSimulator]:
    """A channel adapter wired to a fresh simulator with its own keys (demo, tests, bench)."""
    merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    api_v3_key = os.urandom(32)
    sim = ChannelSimulator(merchant_key.public_key(), platform_key, "PLATFORM-SIM-1", api_v3_key)
    keys = ChannelKeys(mchid="1900000109", appid="wxd678efh567hg6787", merchant_key=merchant_key,
                       merchant_serial="MERCHANT-SIM-1", platform_public=platform_key.public_key(),
                       platform_serial="PLATFORM-SIM-1", api_v3_key=api_v3_key)
    return WechatNativeChannel(keys, base_url="https://api.mch.weixin.qq.com", transport=sim), sim
