"""A simulator of Alipay's open platform gateway for face-to-face payments, as an httpx transport.

It checks the app's RSA2 request signature as Alipay does (40002 isv.invalid-signature), keeps
trades in a SimStore, answers in Alipay's shapes with the response node signed by "Alipay's" key,
plays the pay-code outcomes of backend/channels/sim_plans.py, and when a payer scans a pre-created
QR and pays, produces the form notification Alipay would POST (again: a duplicate notification).
"""
from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.channels.alipay import BEIJING, AlipayChannel, AlipayKeys, beijing_time, fen_of, sign_content, yuan
from backend.channels.base import ChannelError, rsa_sign, rsa_verify
from backend.channels.sim_plans import plan_of
from backend.channels.sim_store import STATES_OPEN, MemoryStore, SimOrder, SimStore, StoredSimulator

ALIPAY_CODE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")      # 25..30 then 16..24 digits in all
_STATUS = {"NOTPAY": "WAIT_BUYER_PAY", "USERPAYING": "WAIT_BUYER_PAY", "SUCCESS": "TRADE_SUCCESS",
           "CLOSED": "TRADE_CLOSED", "REVOKED": "TRADE_CLOSED"}
_OK = {"code": "10000", "msg": "Success"}


def _refused(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


class AlipaySimulator(StoredSimulator, httpx.BaseTransport):
    name = "alipay"

    def __init__(self, app_id: str, app_public: rsa.RSAPublicKey, alipay_key: rsa.RSAPrivateKey,
                 store: SimStore | None = None):
        self.app_id, self.app_public, self.alipay_key = app_id, app_public, alipay_key
        self.store: SimStore = store or MemoryStore()

    def _answer(self, method: str, node: dict, signed: bool = True) -> httpx.Response:
        name = method.replace(".", "_") + "_response"
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        sign = f',"sign":"{rsa_sign(self.alipay_key, node_text)}"' if signed else ""
        return httpx.Response(200, content=f'{{"{name}":{node_text}{sign}}}'.encode(),
                              headers={"Content-Type": "application/json;charset=utf-8"})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":           # a page call (wap.pay) opened in the payer's Alipay
            return self._page(dict(request.url.params))
        params = dict(parse_qsl(request.read().decode(), keep_blank_values=True))
        method = params.get("method", "")
        if params.get("app_id") != self.app_id or params.get("sign_type") != "RSA2" or not rsa_verify(
                self.app_public, params.get("sign", ""), sign_content(params)):
            return self._answer(method or "error", {"code": "40002", "msg": "Invalid Arguments",
                                                    "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"},
                                signed=False)
        biz = json.loads(params.get("biz_content") or "{}")
        handler = {"alipay.trade.pay": self._pay, "alipay.trade.precreate": self._precreate,
                   "alipay.trade.query": self._query, "alipay.trade.cancel": self._cancel,
                   "alipay.trade.close": self._close, "alipay.trade.refund": self._refund}.get(method)
        if handler is None:
            return self._answer("error", {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"})
        return handler(request, method, biz, params)

    def _page(self, params: dict[str, str]) -> httpx.Response:
        """alipay.trade.wap.pay opened in the payer's Alipay: signature checked as for any call,
        the trade created (once per out_trade_no) and Alipay's cashier page answered."""
        if (params.get("method") != "alipay.trade.wap.pay" or params.get("app_id") != self.app_id
                or params.get("sign_type") != "RSA2"
                or not rsa_verify(self.app_public, params.get("sign", ""), sign_content(params))):
            return httpx.Response(400, text="<html><body>验签出错 invalid-signature</body></html>")
        biz = json.loads(params.get("biz_content") or "{}")
        no = biz.get("out_trade_no", "")
        if biz.get("product_code") != "QUICK_WAP_WAY" or not no:
            return httpx.Response(400, text="<html><body>参数错误</body></html>")
        sim = self.store.add(SimOrder(no, biz, extra={"kind": "wap", "notify_url": params.get("notify_url", "")}))
        if sim.body.get("total_amount") != biz.get("total_amount"):
            return httpx.Response(400, text="<html><body>交易信息被篡改</body></html>")
        if sim.state not in STATES_OPEN:
            return httpx.Response(200, text="<html><body>交易已关闭或已支付</body></html>")
        return httpx.Response(200, text=f"<html><body>支付宝收银台 {sim.body['total_amount']} 元</body></html>")

    def _trade(self, sim: SimOrder) -> dict:
        node = {**_OK, "out_trade_no": sim.out_trade_no, "trade_status": _STATUS[sim.state],
                "total_amount": sim.body["total_amount"]}
        if sim.state == "SUCCESS":
            node.update(trade_no=sim.transaction_id, buyer_logon_id="159****5620", send_pay_date=sim.success_time,
                        receipt_amount=sim.body["total_amount"])
        return node

    def _paid(self, sim: SimOrder) -> SimOrder:
        return replace(sim, state="SUCCESS", payer="2088102146225135", success_time=beijing_time(datetime.now(BEIJING)),
                       transaction_id=f"2026{uuid.uuid4().int % 10**24:024d}")

    _code_paid = _paid

    def _pay(self, request: httpx.Request, method: str, biz: dict, _params: dict) -> httpx.Response:
        no, code = biz.get("out_trade_no", ""), str(biz.pop("auth_code", ""))
        found = self.store.get(no)
        if found is not None:
            if found.state == "SUCCESS":
                return self._answer(method, {**self._trade(found), "gmt_payment": found.success_time})
            return self._answer(method, {"code": "10003", "msg": "ORDER_SUCCESS_PAY_INPROCESS", "out_trade_no": no})
        if biz.get("scene") != "bar_code" or not ALIPAY_CODE.fullmatch(code):
            return self._answer(method, _refused("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码无效，请刷新后重试"))
        plan = plan_of(code)
        if plan == "request_lost":
            raise httpx.ConnectTimeout("the request did not reach Alipay", request=request)
        if plan == "insufficient":
            return self._answer(method, _refused("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"))
        sim = SimOrder(no, biz, extra={"plan": plan, "queries": 0, "kind": "bar_code"})
        if plan in ("password_then_paid", "password_never"):
            self.store.add(replace(sim, state="USERPAYING"))
            return self._answer(method, {"code": "10003", "msg": "ORDER_SUCCESS_PAY_INPROCESS", "out_trade_no": no,
                                         "total_amount": biz["total_amount"]})
        sim = self.store.add(self._paid(sim))
        if plan == "answer_lost":
            raise httpx.ReadTimeout("Alipay's answer was lost", request=request)
        if plan == "system_error_paid":
            return self._answer(method, {"code": "20000", "msg": "Service Currently Unavailable",
                                         "sub_code": "aop.ACQ.SYSTEM_ERROR", "sub_msg": "系统繁忙"})
        return self._answer(method, {**self._trade(sim), "gmt_payment": sim.success_time})

    def _precreate(self, _request: httpx.Request, method: str, biz: dict, params: dict) -> httpx.Response:
        no = biz.get("out_trade_no", "")
        sim = self.store.add(SimOrder(no, biz, code_url=f"https://qr.alipay.com/bax0{uuid.uuid4().hex[:20]}",
                                      extra={"kind": "qr", "notify_url": params.get("notify_url", "")}))
        if sim.body.get("total_amount") != biz.get("total_amount"):
            return self._answer(method, _refused("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"))
        return self._answer(method, {**_OK, "out_trade_no": no, "qr_code": sim.code_url})

    def _query(self, _request: httpx.Request, method: str, biz: dict, _params: dict) -> httpx.Response:
        sim = self.store.get(biz.get("out_trade_no", ""))
        if sim is None:
            return self._answer(method, _refused("ACQ.TRADE_NOT_EXIST", "交易不存在"))
        return self._answer(method, self._trade(self._queried(sim)))

    def _cancel(self, _request: httpx.Request, method: str, biz: dict, _params: dict) -> httpx.Response:
        sim = self.store.get(biz.get("out_trade_no", ""))
        if sim is None:
            return self._answer(method, _refused("ACQ.TRADE_NOT_EXIST", "交易不存在"))
        action = "close"
        if sim.state in STATES_OPEN:
            self.store.move(sim.out_trade_no, STATES_OPEN, replace(sim, state="CLOSED"))
        elif sim.state == "SUCCESS":
            self.store.move(sim.out_trade_no, ("SUCCESS",), replace(sim, state="REVOKED"))
            action = "refund"
        return self._answer(method, {**_OK, "out_trade_no": sim.out_trade_no, "retry_flag": "N", "action": action})

    def _close(self, _request: httpx.Request, method: str, biz: dict, _params: dict) -> httpx.Response:
        sim = self.store.get(biz.get("out_trade_no", ""))
        if sim is None:
            return self._answer(method, _refused("ACQ.TRADE_NOT_EXIST", "交易不存在"))
        if sim.state == "SUCCESS":
            return self._answer(method, _refused("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"))
        self.store.move(sim.out_trade_no, STATES_OPEN, replace(sim, state="CLOSED"))
        return self._answer(method, {**_OK, "out_trade_no": sim.out_trade_no})

    def _refund(self, _request: httpx.Request, method: str, biz: dict, _params: dict) -> httpx.Response:
        no, request_no = biz.get("out_trade_no", ""), biz.get("out_request_no", "")
        done = self.store.refund(request_no)
        if done is not None:
            return self._answer(method, done)
        sim = self.store.get(no)
        if sim is None or sim.state != "SUCCESS":
            return self._answer(method, _refused("ACQ.TRADE_NOT_EXIST", "交易不存在或未支付"))
        try:
            amount = fen_of(biz.get("refund_amount"))
        except ValueError:
            return self._answer(method, _refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额无效"))
        given = sum(fen_of(r["refund_fee"]) for r in self.store.refunds_of(no))
        if not 0 < amount <= fen_of(sim.body["total_amount"]) - given:
            return self._answer(method, _refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"))
        return self._answer(method, self.store.add_refund(request_no, no, {
            **_OK, "out_trade_no": no, "trade_no": sim.transaction_id, "fund_change": "Y",
            "refund_fee": yuan(given + amount), "gmt_refund_pay": beijing_time(datetime.now(BEIJING))}))

    # --- what the payer's app does ---------------------------------------------------------------

    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        """The payer pays a pre-created QR trade: the form notification Alipay POSTs to notify_url."""
        sim = self.store.get(out_trade_no)
        if sim is None:
            raise ChannelError("TRADE_NOT_EXIST", "交易不存在")
        if sim.state in STATES_OPEN:
            self.store.move(out_trade_no, STATES_OPEN, self._paid(sim))
            sim = self.store.get(out_trade_no) or sim
        if sim.state != "SUCCESS":
            raise ChannelError("ORDER_CLOSED", "交易已关闭")
        params = {"notify_time": beijing_time(datetime.now(BEIJING)), "notify_type": "trade_status_sync",
                  "notify_id": uuid.uuid4().hex, "app_id": self.app_id, "charset": "utf-8", "version": "1.0",
                  "trade_no": sim.transaction_id or "", "out_trade_no": out_trade_no, "buyer_id": sim.payer,
                  "trade_status": "TRADE_SUCCESS", "total_amount": sim.body["total_amount"],
                  "receipt_amount": sim.body["total_amount"], "subject": sim.body.get("subject", ""),
                  "gmt_create": sim.success_time or "", "gmt_payment": sim.success_time or ""}
        params["sign"] = rsa_sign(self.alipay_key, sign_content(params, drop=("sign", "sign_type")))
        params["sign_type"] = "RSA2"
        return ({"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
                urlencode(params).encode())


@lru_cache(maxsize=None)
def _process_keys(label: str) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


def simulated_alipay(store: SimStore | None = None, fresh_keys: bool = True) -> tuple[AlipayChannel, AlipaySimulator]:
    app_key, alipay_key = _process_keys.__wrapped__(os.urandom(4)) if fresh_keys else _process_keys("alipay")
    app_id = "2021000000000001"
    sim = AlipaySimulator(app_id, app_key.public_key(), alipay_key, store)
    return AlipayChannel(AlipayKeys(app_id, app_key, alipay_key.public_key()), transport=sim), sim
