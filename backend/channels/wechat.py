"""WeChat Pay API v3 (微信支付 APIv3): the adapter for pay codes (付款码) and native QR orders.

Message shapes (pay.weixin.qq.com/docs/merchant/apis/..., cited in docs/CHANNELS.md):
    POST /v3/pay/transactions/native   {appid, mchid, description, out_trade_no, time_expire,
                                         notify_url, amount: {total, currency}} -> {code_url}
    POST /v3/pay/transactions/jsapi    {appid, mchid, description, out_trade_no, time_expire, notify_url,
                                         amount: {total, currency}, payer: {openid}} -> {prepay_id}
                                        (JSAPI, in WeChat's browser: the aggregate QR's page hands
                                         {appId, timeStamp, nonceStr, package, signType: RSA, paySign}
                                         to WeixinJSBridge "getBrandWCPayRequest")
    GET  https://api.weixin.qq.com/sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
                                        -> {openid, ...} (web authorisation, scope snsapi_base)
    POST /v3/pay/transactions/codepay  {appid, mchid, description, out_trade_no, payer: {auth_code},
                                         amount: {total, currency}} -> the transaction (付款码支付)
    GET  /v3/pay/transactions/out-trade-no/{no}?mchid=..  -> {trade_state, transaction_id,
                                         success_time, amount: {total, payer_total, ...}, ...}
    POST /v3/pay/transactions/out-trade-no/{no}/close    {mchid} -> 204
    POST /v3/pay/transactions/out-trade-no/{no}/reverse  {appid, mchid} -> 200 (撤销: a pay code
                                         whose outcome stayed unknown; paid money goes back)
    POST /v3/refund/domestic/refunds   {out_trade_no, out_refund_no, amount: {refund, total, currency}}
    paid notification (POST to notify_url): {id, create_time, event_type: TRANSACTION.SUCCESS,
        resource_type: encrypt-resource, resource: {algorithm: AEAD_AES_256_GCM, ciphertext,
        nonce, associated_data, original_type: transaction}}
Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 ...` signed with the merchant key;
answers and notifications carry Wechatpay-Timestamp/Nonce/Signature/Serial signed with the
platform key, which the adapter verifies; the notification's resource is sealed with the
APIv3 key. The simulator (backend/channels/wechat_sim.py, an httpx transport: the seam the real
client runs over) checks and produces exactly these.
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Mapping
from urllib.parse import urlencode

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.channels.base import MAX_NOTIFY_BYTES, ChannelError, ChannelOrder
from backend.channels.base import rsa_sign as _sign
from backend.channels.base import rsa_verify as _verify

TradeState = Literal["NOTPAY", "SUCCESS", "CLOSED", "USERPAYING", "PAYERROR", "REFUND", "REVOKED"]
AUTH = re.compile(r'WECHATPAY2-SHA256-RSA2048 (.+)')
PAIR = re.compile(r'(\w+)="([^"]*)"')
DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
OAUTH_AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
OAUTH_TOKEN = "https://api.weixin.qq.com/sns/oauth2/access_token"


def jsapi_sign_text(app_id: str, timestamp: str, nonce: str, package: str) -> str:
    """What paySign covers (JSAPI 调起支付 签名串): appId, timeStamp, nonceStr, package, one a line."""
    return f"{app_id}\n{timestamp}\n{nonce}\n{package}\n"


def wechatpay_headers(key: rsa.RSAPrivateKey, serial: str, body: bytes) -> dict[str, str]:
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
    oauth_secret: str = ""           # the official account's AppSecret (web authorisation, aggregate QR)


class WechatNativeChannel:
    """The adapter for WeChat Pay; `transport` is the network (or the simulator)."""
    name = "wechat"

    def __init__(self, keys: ChannelKeys, base_url: str = DEFAULT_BASE_URL,
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

    # --- in WeChat's own browser: the aggregate QR (聚合码) -------------------------------------------

    def oauth_url(self, redirect_uri: str, state: str) -> str:
        """Where WeChat's browser is sent to learn the payer's openid silently (snsapi_base)."""
        query = urlencode({"appid": self.keys.appid, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state})
        return f"{OAUTH_AUTHORIZE}?{query}#wechat_redirect"

    def openid_for_code(self, code: str) -> str:
        """The payer's openid for the code WeChat's authorisation gave back (one use, 5 minutes)."""
        if not self.keys.oauth_secret:
            raise ChannelError("oauth_not_configured", "channels.wechat.oauth_app_secret is not set")
        try:
            resp = self._http.get(OAUTH_TOKEN, params={"appid": self.keys.appid, "secret": self.keys.oauth_secret,
                                                       "code": code, "grant_type": "authorization_code"})
            answer = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ChannelError("unreachable", f"WeChat authorisation unreachable: {type(exc).__name__}") from exc
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not isinstance(openid, str) or not openid:
            raise ChannelError(str(answer.get("errcode", "bad_answer")) if isinstance(answer, dict) else "bad_answer",
                               "WeChat did not give the payer's openid")
        return openid

    def create_jsapi(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                     expires_at: datetime, openid: str) -> dict[str, str]:
        """A JSAPI order for the payer inside WeChat; returns what WeixinJSBridge needs to show the
        payment sheet (the same out_trade_no as every other channel's order for this order)."""
        resp = self._request("POST", "/v3/pay/transactions/jsapi", {
            "appid": self.keys.appid, "mchid": self.keys.mchid, "description": description[:127],
            "out_trade_no": out_trade_no, "time_expire": expires_at.isoformat(timespec="seconds"),
            "notify_url": notify_url, "amount": {"total": amount_fen, "currency": "CNY"}, "payer": {"openid": openid}})
        prepay_id = resp.json().get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ChannelError("bad_answer", "the channel answered without a prepay_id")
        ts, nonce, package = str(int(time.time())), uuid.uuid4().hex, f"prepay_id={prepay_id}"
        return {"appId": self.keys.appid, "timeStamp": ts, "nonceStr": nonce, "package": package, "signType": "RSA",
                "paySign": _sign(self.keys.merchant_key, jsapi_sign_text(self.keys.appid, ts, nonce, package))}

    def query(self, out_trade_no: str) -> ChannelOrder:
        resp = self._request("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.keys.mchid}")
        return _order_from_transaction(resp.json())

    def close(self, out_trade_no: str) -> None:
        self._request("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.keys.mchid})

    def reverse(self, out_trade_no: str) -> None:
        """Reverse a pay-code order (撤销): unpaid, it is closed; paid, the money goes back."""
        self._request("POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/reverse",
                      {"appid": self.keys.appid, "mchid": self.keys.mchid})

    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder:
        """Charge a scanned pay code. SUCCESS, USERPAYING (the payer must confirm: query later) or a
        ChannelError whose code says why (e.g. NOTENOUGH, AUTH_CODE_INVALID). The code is not kept."""
        resp = self._request("POST", "/v3/pay/transactions/codepay", {
            "appid": self.keys.appid, "mchid": self.keys.mchid, "description": description[:127],
            "out_trade_no": out_trade_no, "payer": {"auth_code": auth_code},
            "amount": {"total": amount_fen, "currency": "CNY"}})
        if resp.status_code == 202:               # USERPAYING: the payer is asked for a password
            return ChannelOrder(out_trade_no, "USERPAYING", amount_fen)
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

    @staticmethod
    def acknowledgement(accepted: bool) -> tuple[int, str, str]:
        """What WeChat Pay expects back: 200 stops its retries; 4xx/5xx with FAIL asks for another."""
        if accepted:
            return 200, "application/json", '{"code":"SUCCESS","message":"成功"}'
        return 400, "application/json", '{"code":"FAIL","message":"失败"}'

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
