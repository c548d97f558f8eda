"""A simulator of WeChat Pay's server, as an httpx transport (the seam the real adapter runs over).

It checks the merchant's request signature the way the platform does (401 SIGN_ERROR otherwise),
keeps orders in a SimStore (shared by every backend worker when composed), signs its answers with
the platform key, and plays the outcomes of backend/channels/sim_plans.py for pay codes. A payer
"scanning and paying" a native order produces the signed, AES-GCM sealed notification the platform
would POST to notify_url; `pay` may be called again for the same order: a duplicate notification.
"""
from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from dataclasses import replace
from functools import lru_cache
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.channels.base import ChannelError, rsa_verify
from backend.channels.sim_plans import plan_of
from backend.channels.sim_store import STATES_OPEN, MemoryStore, SimOrder, SimStore, StoredSimulator
from backend.channels.wechat import (AUTH, PAIR, ChannelKeys, WechatNativeChannel, jsapi_sign_text,
                                     wechatpay_headers)
from core.clock import Clock, SystemClock

BEIJING = ZoneInfo("Asia/Shanghai")              # WeChat Pay writes times as +08:00
WECHAT_CODE = re.compile(r"1[0-5][0-9]{16}")      # 付款码: 18 digits starting 10..15
_DESC = {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭", "USERPAYING": "用户支付中（输入密码）",
         "REVOKED": "已撤销", "PAYERROR": "支付失败"}


class ChannelSimulator(StoredSimulator, httpx.BaseTransport):
    """Behaves like WeChat Pay's API v3 server for one merchant."""
    name = "wechat"

    def __init__(self, merchant_public: rsa.RSAPublicKey, platform_key: rsa.RSAPrivateKey, platform_serial: str,
                 api_v3_key: bytes, store: SimStore | None = None):
        self.merchant_public, self.platform_key = merchant_public, platform_key
        self.platform_serial, self.api_v3_key = platform_serial, api_v3_key
        self.store: SimStore = store or MemoryStore()
        self.clock: Clock = SystemClock()     # the backend gives its own: paid times follow it
        self.appid, self.oauth_secret = "", ""      # the official account, for web authorisation
        self._oauth_codes: dict[str, str] = {}      # code -> openid, each used once

    def _answer(self, status: int, payload: dict | None) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        headers = wechatpay_headers(self.platform_key, self.platform_serial, body) if body else {}
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json", **headers})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.weixin.qq.com":
            return self._oauth_token(request)
        path = request.url.raw_path.decode()
        body = request.read()
        m = AUTH.fullmatch(request.headers.get("Authorization", ""))
        parts = dict(PAIR.findall(m.group(1))) if m else {}
        message = f"{request.method}\n{path}\n{parts.get('timestamp')}\n{parts.get('nonce_str')}\n{body.decode()}\n"
        if not parts or not rsa_verify(self.merchant_public, parts.get("signature", ""), message):
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        if request.method == "POST" and path == "/v3/pay/transactions/native":
            return self._native(json.loads(body))
        if request.method == "POST" and path == "/v3/pay/transactions/jsapi":
            return self._jsapi(json.loads(body))
        if request.method == "POST" and path == "/v3/pay/transactions/codepay":
            return self._codepay(request, json.loads(body))
        if request.method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(json.loads(body))
        q = re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/?]+)(\?mchid=\w+|/close|/reverse)", path)
        sim = self.store.get(q.group(1)) if q else None
        if sim is None:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        if q.group(2) == "/close":
            self.store.move(sim.out_trade_no, ("NOTPAY",), replace(sim, state="CLOSED"))
            return self._answer(204, None)
        if q.group(2) == "/reverse":
            return self._reverse(sim)
        return self._answer(200, self._transaction(self._queried(sim)))

    def _native(self, order: dict) -> httpx.Response:
        no = order["out_trade_no"]
        sim = self.store.add(SimOrder(no, order, code_url=f"weixin://wxpay/bizpayurl?pr={uuid.uuid4().hex[:16]}"))
        if sim.body.get("amount") != order["amount"]:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
        return self._answer(200, {"code_url": sim.code_url})

    def _jsapi(self, order: dict) -> httpx.Response:
        if not str(order.get("payer", {}).get("openid", "")):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "缺少参数 payer.openid"})
        no = order["out_trade_no"]
        sim = self.store.add(SimOrder(no, order, extra={"prepay_id": f"wx{uuid.uuid4().hex[:30]}"}))
        if sim.body.get("amount") != order["amount"] or "prepay_id" not in sim.extra:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
        return self._answer(200, {"prepay_id": sim.extra["prepay_id"]})

    def _oauth_token(self, request: httpx.Request) -> httpx.Response:
        """sns/oauth2/access_token: a code from the authorisation page, used once, for the openid."""
        q = request.url.params
        openid = self._oauth_codes.pop(q.get("code", ""), None)
        if q.get("appid") != self.appid or q.get("secret") != self.oauth_secret or q.get(
                "grant_type") != "authorization_code" or openid is None:
            return httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"})
        return httpx.Response(200, json={"access_token": uuid.uuid4().hex, "expires_in": 7200,
                                         "refresh_token": uuid.uuid4().hex, "openid": openid, "scope": "snsapi_base"})

    def _codepay(self, request: httpx.Request, order: dict) -> httpx.Response:
        code = str(order.get("payer", {}).pop("auth_code", ""))
        no = order["out_trade_no"]
        found = self.store.get(no)
        if found is not None:                      # a retry of the same out_trade_no: same answer
            return self._answer(200, self._transaction(found))
        if not WECHAT_CODE.fullmatch(code):
            return self._answer(400, {"code": "AUTH_CODE_INVALID", "message": "付款码无效，请刷新付款码后重试"})
        plan = plan_of(code)
        if plan == "request_lost":
            raise httpx.ConnectTimeout("the request did not reach the channel", request=request)
        if plan == "insufficient":
            return self._answer(403, {"code": "NOTENOUGH", "message": "用户余额不足"})
        sim = SimOrder(no, order, extra={"plan": plan, "queries": 0})
        if plan in ("password_then_paid", "password_never"):
            sim.state = "USERPAYING"
            self.store.add(sim)
            return self._answer(202, {"code": "USERPAYING", "message": "需要用户输入支付密码"})
        sim = self.store.add(self._code_paid(sim))
        if plan == "answer_lost":
            raise httpx.ReadTimeout("the channel's answer was lost", request=request)
        if plan == "system_error_paid":
            return self._answer(500, {"code": "SYSTEM_ERROR", "message": "系统异常，请用相同参数重新调用"})
        return self._answer(200, self._transaction(sim))

    def _now_text(self) -> str:
        return self.clock.now().astimezone(BEIJING).isoformat(timespec="seconds")

    def _paid(self, sim: SimOrder, payer: str) -> SimOrder:
        return replace(sim, state="SUCCESS", payer=payer, success_time=self._now_text(),
                       transaction_id=f"42000{time.time_ns() // 1000}{uuid.uuid4().int % 10000:04d}")

    def _code_paid(self, sim: SimOrder) -> SimOrder:
        return self._paid(sim, "o-paycode-payer")

    def _reverse(self, sim: SimOrder) -> httpx.Response:
        if sim.state in STATES_OPEN:
            self.store.move(sim.out_trade_no, STATES_OPEN, replace(sim, state="REVOKED"))
        elif sim.state == "SUCCESS":               # paid: the money goes back to the payer
            self.store.move(sim.out_trade_no, ("SUCCESS",), replace(sim, state="REVOKED"))
        return self._answer(200, {"appid": sim.body.get("appid"), "mchid": sim.body.get("mchid"),
                                  "out_trade_no": sim.out_trade_no})

    def _refund(self, req: dict) -> httpx.Response:
        """Refunds of a paid order, each out_refund_no applied once, never more than was paid."""
        no, refund_no, amount = req.get("out_trade_no"), req.get("out_refund_no"), req.get("amount", {})
        done = self.store.refund(refund_no)
        if done is not None:
            return self._answer(200, done)
        sim = self.store.get(no)
        if sim is None or sim.state != "SUCCESS":
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在或未支付"})
        given = sum(r["amount"]["refund"] for r in self.store.refunds_of(no))
        total = sim.body["amount"]["total"]
        if amount.get("total") != total or not 0 < amount.get("refund", 0) <= total - given:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "退款金额超过可退金额"})
        return self._answer(200, self.store.add_refund(refund_no, no, {
            "refund_id": f"50000{uuid.uuid4().int % 10**10:010d}", "out_refund_no": refund_no, "out_trade_no": no,
            "status": "SUCCESS", "amount": {"refund": amount["refund"], "total": total, "currency": "CNY"}}))

    def _transaction(self, sim: SimOrder) -> dict:
        total = sim.body["amount"]["total"]
        tx = {"appid": sim.body["appid"], "mchid": sim.body["mchid"], "out_trade_no": sim.out_trade_no,
              "trade_type": _trade_type(sim.body), "trade_state": sim.state,
              "trade_state_desc": _DESC.get(sim.state, ""), "amount": {"total": total, "currency": "CNY"}}
        if sim.state == "SUCCESS":
            tx.update(transaction_id=sim.transaction_id, success_time=sim.success_time,
                      bank_type="OTHERS", payer={"openid": sim.payer},
                      amount={"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"})
        return tx

    # --- what the payer's app does ---------------------------------------------------------------

    def authorize(self, oauth_url: str, openid: str = "o-jsapi-payer") -> str:
        """WeChat's authorisation page (snsapi_base, silent): the URL it sends the browser back to."""
        url = httpx.URL(oauth_url.split("#")[0])
        q = url.params
        if (url.host != "open.weixin.qq.com" or q.get("appid") != self.appid or q.get("scope") != "snsapi_base"
                or q.get("response_type") != "code" or not q.get("redirect_uri")):
            raise ChannelError("10003", "redirect_uri 参数错误")
        code = uuid.uuid4().hex
        self._oauth_codes[code] = openid
        back = httpx.URL(q["redirect_uri"])
        return str(back.copy_merge_params({"code": code, "state": q.get("state", "")}))

    def jsapi_pay(self, params: dict[str, str]) -> tuple[dict[str, str], bytes]:
        """WeixinJSBridge getBrandWCPayRequest: the payment sheet checks paySign with the merchant's
        key and the prepay_id, then the payer pays; returns the notification, as `pay` does."""
        text = jsapi_sign_text(params.get("appId", ""), params.get("timeStamp", ""), params.get("nonceStr", ""),
                               params.get("package", ""))
        if params.get("signType") != "RSA" or not rsa_verify(self.merchant_public, params.get("paySign", ""), text):
            raise ChannelError("SIGN_ERROR", "支付验证签名失败")
        prepay = params.get("package", "").removeprefix("prepay_id=")
        no = next((no for no, o in self.store.orders().items() if o.extra.get("prepay_id") == prepay), None)
        if no is None:
            raise ChannelError("ORDER_NOT_EXIST", "prepay_id 无效")
        return self.pay(no, payer="o-jsapi-payer")

    def pay(self, out_trade_no: str, payer: str = "o-simulated-payer") -> tuple[dict[str, str], bytes]:
        """The payer's app pays the order: returns the notification (headers, body) that the channel
        would POST to the order's notify_url. Again for a paid order: the same, duplicated."""
        sim = self.store.get(out_trade_no)
        if sim is None:
            raise ChannelError("ORDER_NOT_EXIST", "订单不存在")
        if sim.state in STATES_OPEN:
            self.store.move(out_trade_no, STATES_OPEN, self._paid(sim, payer))
            sim = self.store.get(out_trade_no) or sim
        if sim.state != "SUCCESS":
            raise ChannelError("ORDER_CLOSED", "订单已关闭")
        nonce, aad = uuid.uuid4().hex[:12], "transaction"
        cipher = AESGCM(self.api_v3_key).encrypt(nonce.encode(), json.dumps(self._transaction(sim)).encode(),
                                                 aad.encode())
        note = {"id": str(uuid.uuid4()), "create_time": sim.success_time, "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                             "ciphertext": base64.b64encode(cipher).decode(), "associated_data": aad,
                             "nonce": nonce}}
        body = json.dumps(note, ensure_ascii=False).encode()
        return wechatpay_headers(self.platform_key, self.platform_serial, body), body


def _trade_type(body: dict) -> str:
    if "payer" not in body:
        return "NATIVE"
    return "JSAPI" if body["payer"].get("openid") else "MICROPAY"


@lru_cache(maxsize=None)
def _process_keys(label: str) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey, bytes]:
    """The simulator's keys, made once per process (2048-bit RSA takes ~0.1 s to make)."""
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048), os.urandom(32))


def simulated_channel(store: SimStore | None = None, fresh_keys: bool = True
                      ) -> tuple[WechatNativeChannel, ChannelSimulator]:
    """The real adapter wired to a simulator (demo, tests, bench). `fresh_keys=False` reuses this
    process's simulator keys (a composed backend builds one per app; tests build many apps)."""
    merchant_key, platform_key, api_v3_key = (_process_keys.__wrapped__("fresh") if fresh_keys
                                              else _process_keys("wechat"))
    sim = ChannelSimulator(merchant_key.public_key(), platform_key, "PLATFORM-SIM-1", api_v3_key, store)
    sim.appid, sim.oauth_secret = "wxd678efh567hg6787", "sim-oauth-secret"
    keys = ChannelKeys(mchid="1900000109", appid=sim.appid, merchant_key=merchant_key,
                       merchant_serial="MERCHANT-SIM-1", platform_public=platform_key.public_key(),
                       platform_serial="PLATFORM-SIM-1", api_v3_key=api_v3_key, oauth_secret=sim.oauth_secret)
    return WechatNativeChannel(keys, transport=sim), sim
