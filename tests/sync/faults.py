"""An httpx transport at the boundary that puts faults between the terminal and the REAL
backend: the request may be forwarded (the backend acts on it) and its answer lost, slowed,
cut in half, doubled or replaced by garbage. Nothing of ours is mocked: the client above and
the backend behind are the real ones.

    faults = FaultTransport()
    faults.plan("/terminal/payments", "lose_answer")     # next matching request only
"""
from __future__ import annotations

import json
import threading
import time

import httpx

FAULTS = ("500", "refuse", "lose_answer", "slow", "half", "twice", "garbage", "resend", "newer_backend")


class FaultTransport(httpx.BaseTransport):
    def __init__(self, slow_s: float = 1.5):
        self._inner = httpx.HTTPTransport()
        self._plan: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.slow_s = slow_s
        self.forwarded: list[str] = []

    def plan(self, path_part: str, fault: str, times: int = 1) -> None:
        assert fault in FAULTS, fault
        with self._lock:
            self._plan += [(path_part, fault)] * times

    def _take(self, path: str) -> str | None:
        with self._lock:
            for i, (part, fault) in enumerate(self._plan):
                if part in path:
                    del self._plan[i]
                    return fault
        return None

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.forwarded.append(request.url.path)
        response = self._inner.handle_request(request)
        response.read()
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._take(request.url.path)
        if fault is None:
            return self._forward(request)
        if fault == "refuse":                       # never reached the backend
            raise httpx.ConnectError("connection refused (fault)", request=request)
        if fault == "500":                          # the backend failed before acting
            return httpx.Response(500, json={"detail": "boom"}, request=request)
        if fault == "resend":                       # a retry by a proxy: the backend sees it twice
            self._forward(request)
            return self._forward(request)
        answer = self._forward(request)             # from here on the backend HAS acted on it
        if fault == "lose_answer":
            raise httpx.ReadTimeout("answer lost (fault)", request=request)
        if fault == "slow":
            read_timeout = (request.extensions.get("timeout") or {}).get("read") or 5.0
            time.sleep(min(self.slow_s, read_timeout))
            if self.slow_s > read_timeout:
                raise httpx.ReadTimeout("answered too slowly (fault)", request=request)
            return answer
        if fault == "garbage":
            return httpx.Response(200, content=b'{"results": [{"seq": "x"', request=request)
        body = json.loads(answer.content)
        if fault == "newer_backend":                # a pull answer with a change kind from a later release
            future = {"id": body["cursor"], "kind": "queue_music", "key": "1", "deleted": False, "data": {"x": 1}}
            body["changes"] = [future, *body["changes"]]
        if fault == "half":
            body["results"] = body["results"][: len(body["results"]) // 2]
        elif fault == "twice":
            body["results"] = body["results"] + body["results"]
        return httpx.Response(answer.status_code, json=body, request=request)

    def close(self) -> None:
        self._inner.close()
