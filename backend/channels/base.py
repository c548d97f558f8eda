"""What every payment channel adapter shares: its errors, the order it reports, the Protocol the
services call, and the RSA (SHA256withRSA, PKCS#1 v1.5) signing both WeChat Pay v3 and Alipay's
RSA2 use. UnionPay's own scheme lives in its module."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAX_NOTIFY_BYTES = 64 * 1024


class ChannelError(RuntimeError):
    """The channel refused or could not be reached; `code` is the channel's or ours."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code



def form_notification(body: bytes) -> dict[str, str]:
    """The fields of a form-encoded notification (Alipay, UnionPay), before its signature is checked."""
    if len(body) > MAX_NOTIFY_BYTES:
        raise ChannelError("too_large", "notification body too large")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChannelError("bad_notification", "unreadable notification") from exc

@dataclass(frozen=True)
class ChannelOrder:
    """An order as the channel reports it, in one vocabulary for every channel:
    trade_state is NOTPAY | USERPAYING | SUCCESS | CLOSED | REVOKED | PAYERROR | REFUND."""
    out_trade_no: str
    trade_state: str
    amount_fen: int
    transaction_id: str | None = None
    success_time: datetime | None = None
    channel: str | None = None        # which channel paid it, where one order can be paid at several (聚合码)


class PaymentChannel(Protocol):
    """One channel (WeChat Pay, Alipay, UnionPay QR, the bank's own codes). Every call names our
    order by out_trade_no (the payment or order id's hex), so a retry names the same order."""
    name: str

    def create_native(self, out_trade_no: str, amount_fen: int, description: str, notify_url: str,
                      expires_at: datetime) -> str: ...
    def codepay(self, out_trade_no: str, auth_code: str, amount_fen: int, description: str) -> ChannelOrder: ...
    def query(self, out_trade_no: str) -> ChannelOrder: ...
    def close(self, out_trade_no: str) -> None: ...
    def reverse(self, out_trade_no: str) -> None: ...
    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> str: ...
    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> ChannelOrder: ...
    def acknowledgement(self, accepted: bool) -> tuple[int, str, str]: ...   # (status, media type, body)


def rsa_sign(key: rsa.RSAPrivateKey, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, signature: str, message: str | bytes) -> bool:
    data = message.encode() if isinstance(message, str) else message
    try:
        key.verify(base64.b64decode(signature, validate=True), data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or a PEM X.509 certificate."""
    if b"CERTIFICATE" in pem:
        from cryptography import x509

        key = x509.load_pem_x509_certificate(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
