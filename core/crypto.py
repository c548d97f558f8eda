"""Encryption of personal data at rest and keyed hashes for searching it, shared by the terminal
store and the backend (one implementation, one format).

Format of a sealed value: b"g1" + 12-byte nonce + AES-256-GCM ciphertext+tag. The `context`
(e.g. "customers.name") is bound as associated data, so a value copied into another column
does not decrypt.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"g1"


class DecryptionError(ValueError):
    """A sealed value is corrupt, truncated, or was sealed with another key or context."""


def new_key() -> bytes:
    return os.urandom(32)


def key_from_text(text: str) -> bytes:
    """Keys travel as base64 text in settings; refuse anything that is not 32 bytes."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("key must be base64 of 32 random bytes") from exc
    if len(raw) != 32:
        raise ValueError(f"key must be 32 bytes, got {len(raw)}")
    return raw


def key_to_text(key: bytes) -> str:
    return base64.b64encode(key).decode()


class FieldCipher:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("FieldCipher needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes | str, context: str) -> bytes:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if not sealed or sealed[:2] != _VERSION or len(sealed) < 2 + 12 + 16:
            raise DecryptionError(f"not a sealed value for {context}")
        try:
            return self._aead.decrypt(sealed[2:14], sealed[14:], context.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"sealed value for {context} fails authentication") from exc

    def open_text(self, sealed: bytes, context: str) -> str:
        return self.open(sealed, context).decode()


def keyed_hash(key: bytes, value: str, purpose: str) -> str:
    """HMAC-SHA256 hex of a normalised value, for lookups (ID number, card number, phone)
    without storing the value. `purpose` separates hash spaces (a card hash never equals a
    phone hash of the same digits)."""
    msg = purpose.encode() + b"\x00" + value.strip().upper().encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()
