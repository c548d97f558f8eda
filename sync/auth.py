"""httpx authentication that signs every terminal request (core.signing) with the device key.

The test seam is the transport, not this class: tests use the real TerminalAuth against the
real backend (in-process ASGI transport or a process on loopback).
"""
from __future__ import annotations

from typing import Callable, Generator

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.signing import sign_headers


class TerminalAuth(httpx.Auth):
    requires_request_body = True

    def __init__(self, key: Ed25519PrivateKey, terminal_id: int, clock: Callable[[], float] | None = None):
        self._key = key
        self._terminal_id = terminal_id
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = request.url.raw_path.decode()  # path and query exactly as sent
        now = self._clock() if self._clock else None
        request.headers.update(sign_headers(self._key, self._terminal_id, request.method, path,
                                            request.content, now=now))
        yield request
