"""A simulator of the UnionPay online gateway (ACP 5.1.0) for QR payments, as an httpx transport:
checks the merchant's signature as UnionPay does (respCode 11 otherwise), keeps orders in a
SimStore, signs its answers and notifications with "UnionPay's" key, and plays the pay-code
outcomes of backend/channels/sim_plans.py."""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.channels.base import ChannelError
from backend.channels.sim_plans import plan_of
from backend.channels.sim_store import STATES_OPEN, MemoryStore, SimOrder, SimStore, StoredSimulator
from backend.channels.unionpay import (BEIJING, MemoryRefs, RefStore, UnionPayChannel, UnionPayKeys, acp_sign,
                                       acp_verify, txn_time)

UNIONPAY_CODE = re.compile(r"62[0-9]{17}")           # C2B 付款码: 19 digits starting 62
_ORIG = {"SUCCESS": "00", "USERPAYING": "05", "NOTPAY": "05", "CLOSED": "12", "REVOKED": "12"}


class UnionPaySimulator(StoredSimulator, httpx.BaseTransport):
    name = "unionpay"

    def __init__(self, mer_id: str, cert_id: str, merchant_public: rsa.RSAPublicKey, unionpay_key: rsa.RSAPrivateKey,
                 store: SimStore | None = None):
        self.mer_id, self.cert_id = mer_id, cert_id
        self.merchant_public, self.unionpay_key = merchant_public, unionpay_key
        self.store: SimStore = store or MemoryStore()

    def _answer(self, req: dict, **fields: str) -> httpx.Response:
        out = {k: req[k] for k in ("version", "encoding", "signMethod", "txnType", "txnSubType", "bizType",
                                   "accessType", "merId", "orderId", "txnTime") if k in req}
        out.update(fields)
        out["signature"] = acp_sign(self.unionpay_key, out)
        return httpx.Response(200, content=urlencode(out).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        req = dict(parse_qsl(request.read().decode(), keep_blank_values=True))
        if req.get("merId") != self.mer_id or req.get("certId") != self.cert_id or \
                not acp_verify(self.merchant_public, req):
            return self._answer(req, respCode="11", respMsg="验证签名失败")
        kind = (request.url.path.rsplit("/", 1)[-1], req.get("txnType"), req.get("txnSubType"))
        handler = {("backTransReq.do", "01", "06"): self._codepay, ("backTransReq.do", "01", "07"): self._qr,
                   ("queryTrans.do", "00", "00"): self._query, ("backTransReq.do", "99", "01"): self._reverse,
                   ("backTransReq.do", "04", "00"): self._refund}.get(kind)
        if handler is None:
            return self._answer(req, respCode="12", respMsg="交易类型不支持")
        return handler(request, req)

    def _expire(self, sim: SimOrder) -> SimOrder:
        """A merchant QR past its payTimeout is closed: UnionPay has no close call, the code expires."""
        timeout = sim.body.get("payTimeout")
        if sim.state in STATES_OPEN and timeout and txn_time(datetime.now(BEIJING)) > timeout:
            self.store.move(sim.out_trade_no, STATES_OPEN, replace(sim, state="CLOSED"))
            return self.store.get(sim.out_trade_no) or sim
        return sim

    def _paid(self, sim: SimOrder) -> SimOrder:
        return replace(sim, state="SUCCESS", transaction_id=f"{uuid.uuid4().int % 10**21:021d}",
                       success_time=sim.body["txnTime"], payer="6212********4567")

    def _codepay(self, request: httpx.Request, req: dict) -> httpx.Response:
        no, code = req["orderId"], req.pop("qrNo", "")
        found = self.store.get(no)
        if found is not None:
            return self._answer(req, respCode="00" if found.state == "SUCCESS" else "05", respMsg="成功",
                                queryId=found.transaction_id or "", txnAmt=found.body["txnAmt"])
        if not UNIONPAY_CODE.fullmatch(code):
            return self._answer(req, respCode="14", respMsg="无效付款码")
        plan = plan_of(code)
        if plan == "request_lost":
            raise httpx.ConnectTimeout("the request did not reach UnionPay", request=request)
        if plan == "insufficient":
            return self._answer(req, respCode="51", respMsg="余额不足")
        sim = SimOrder(no, req, extra={"plan": plan, "queries": 0, "kind": "code"})
        if plan in ("password_then_paid", "password_never"):
            self.store.add(replace(sim, state="USERPAYING"))
            return self._answer(req, respCode="05", respMsg="交易处理中，请稍后查询")
        sim = self.store.add(self._paid(sim))
        if plan == "answer_lost":
            raise httpx.ReadTimeout("UnionPay's answer was lost", request=request)
        if plan == "system_error_paid":
            return self._answer(req, respCode="03", respMsg="交易通讯超时，请发起查询交易")
        return self._answer(req, respCode="00", respMsg="成功", queryId=sim.transaction_id or "", txnAmt=req["txnAmt"])

    def _qr(self, _request: httpx.Request, req: dict) -> httpx.Response:
        qr = f"https://qr.95516.com/00010000/01{uuid.uuid4().int % 10**20:020d}"
        sim = self.store.add(SimOrder(req["orderId"], req, code_url=qr,
                                      extra={"kind": "qr", "backUrl": req.get("backUrl", "")}))
        if sim.body.get("txnAmt") != req.get("txnAmt"):
            return self._answer(req, respCode="12", respMsg="重复交易")
        return self._answer(req, respCode="00", respMsg="成功", qrCode=sim.code_url)

    def _query(self, _request: httpx.Request, req: dict) -> httpx.Response:
        sim = self.store.get(req["orderId"])
        if sim is None or sim.body.get("txnTime") != req.get("txnTime"):
            return self._answer(req, respCode="34", respMsg="查无此交易")
        sim = self._expire(sim)
        if sim.state == "USERPAYING":
            queries = sim.extra.get("queries", 0) + 1
            changed = replace(sim, extra={**sim.extra, "queries": queries})
            if sim.extra.get("plan") == "password_then_paid" and queries >= 2:
                changed = self._paid(changed)
            self.store.move(sim.out_trade_no, ("USERPAYING",), changed)
            sim = self.store.get(sim.out_trade_no) or changed
        return self._answer(req, respCode="00", respMsg="成功", origRespCode=_ORIG[sim.state],
                            txnAmt=sim.body["txnAmt"], queryId=sim.transaction_id or "")

    def _reverse(self, _request: httpx.Request, req: dict) -> httpx.Response:
        sim = self.store.get(req.get("origOrderId", ""))
        if sim is None:
            return self._answer(req, respCode="34", respMsg="原交易不存在")
        if sim.state in STATES_OPEN:
            self.store.move(sim.out_trade_no, STATES_OPEN, replace(sim, state="CLOSED"))
        elif sim.state == "SUCCESS":
            self.store.move(sim.out_trade_no, ("SUCCESS",), replace(sim, state="REVOKED"))
        return self._answer(req, respCode="00", respMsg="成功")

    def _refund(self, _request: httpx.Request, req: dict) -> httpx.Response:
        done = self.store.refund(req["orderId"])
        if done is not None:
            return self._answer(req, **done)
        sim = next((o for o in self.store.orders().values() if o.transaction_id == req.get("origQryId")), None)
        if sim is None or sim.state != "SUCCESS":
            return self._answer(req, respCode="35", respMsg="原交易不存在或状态不正确")
        given = sum(int(r["txnAmt"]) for r in self.store.refunds_of(sim.out_trade_no))
        amount = int(req.get("txnAmt", "0") or 0)
        if not 0 < amount <= int(sim.body["txnAmt"]) - given:
            return self._answer(req, respCode="36", respMsg="退货金额超限")
        return self._answer(req, **self.store.add_refund(req["orderId"], sim.out_trade_no, {
            "respCode": "00", "respMsg": "成功", "txnAmt": str(amount),
            "queryId": f"{uuid.uuid4().int % 10**21:021d}"}))

    # --- what the payer's app does ---------------------------------------------------------------

    def pay(self, out_trade_no: str) -> tuple[dict[str, str], bytes]:
        sim = self.store.get(out_trade_no)
        if sim is None:
            raise ChannelError("ORDER_NOT_EXIST", "查无此交易")
        sim = self._expire(sim)
        if sim.state in STATES_OPEN:
            self.store.move(out_trade_no, STATES_OPEN, self._paid(sim))
            sim = self.store.get(out_trade_no) or sim
        if sim.state != "SUCCESS":
            raise ChannelError("ORDER_CLOSED", "订单已关闭")
        note = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "01", "txnSubType": "07",
                "bizType": "000000", "accessType": "0", "merId": self.mer_id, "orderId": out_trade_no,
                "txnTime": sim.body["txnTime"], "txnAmt": sim.body["txnAmt"], "currencyCode": "156",
                "queryId": sim.transaction_id or "", "respCode": "00", "respMsg": "成功",
                "settleDate": sim.body["txnTime"][4:8], "traceTime": sim.body["txnTime"][4:]}
        note["signature"] = acp_sign(self.unionpay_key, note)
        return {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}, urlencode(note).encode()


@lru_cache(maxsize=None)
def _process_keys(label: object) -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return (rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048))


def simulated_unionpay(store: SimStore | None = None, refs: RefStore | None = None,
                       fresh_keys: bool = True) -> tuple[UnionPayChannel, UnionPaySimulator]:
    sign_key, unionpay_key = _process_keys.__wrapped__(os.urandom(4)) if fresh_keys else _process_keys("unionpay")
    mer_id, cert_id = "777290058110048", "69629715588"
    sim = UnionPaySimulator(mer_id, cert_id, sign_key.public_key(), unionpay_key, store)
    keys = UnionPayKeys(mer_id, cert_id, sign_key, unionpay_key.public_key())
    return UnionPayChannel(keys, transport=sim, refs=refs or MemoryRefs()), sim
