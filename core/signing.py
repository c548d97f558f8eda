"""Request signing between a terminal and the backend — the one definition both sides use.

Every terminal request after registration carries four headers:
    X-Gatepay-Terminal   the terminal id the backend gave at registration
    X-Gatepay-Timestamp  unix seconds (integer) when the request was signed
    X-Gatepay-Nonce      32 hex chars, random, never reused
    X-Gatepay-Signature  base64 Ed25519 signature of canonical_request(...)
The backend refuses a timestamp outside its window and a nonce it has already seen.
"""
from __future__ import annotations

import base64
import hashlib
import os
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

H_TERMINAL = "X-Gatepay-Terminal"
H_TIMESTAMP = "X-Gatepay-Timestamp"
H_NONCE = "X-Gatepay-Nonce"
H_SIGNATURE = "X-Gatepay-Signature"


def canonical_request(method: str, path_and_query: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body or b"").hexdigest()
    return f"{method.upper()}\n{path_and_query}\n{timestamp}\n{nonce}\n{digest}".encode()


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def private_key_from_bytes(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_headers(key: Ed25519PrivateKey, terminal_id: int, method: str, path_and_query: str,
                 body: bytes, now: float | None = None) -> dict[str, str]:
    ts = int(time.time() if now is None else now)
    nonce = os.urandom(16).hex()
    sig = key.sign(canonical_request(method, path_and_query, ts, nonce, body))
    return {H_TERMINAL: str(terminal_id), H_TIMESTAMP: str(ts), H_NONCE: nonce,
            H_SIGNATURE: base64.b64encode(sig).decode()}


def verify(public_key_b64: str, signature_b64: str, method: str, path_and_query: str,
           timestamp: int, nonce: str, body: bytes) -> bool:
    """True when the signature is valid; False for any malformed key or signature."""
    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        sig = base64.b64decode(signature_b64, validate=True)
        pub.verify(sig, canonical_request(method, path_and_query, timestamp, nonce, body))
        return True
    except (InvalidSignature, ValueError):
        return False
