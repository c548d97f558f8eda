"""Personal data at rest: seal and open a column's value, and the keyed hash used to find it.

One object built from the backend's keys, so every service seals with the same contexts:
the context is "<table>.<column>", so a value copied into another column does not open.
"""
from __future__ import annotations

from dataclasses import dataclass

from backend.config import BackendSettings
from core.crypto import FieldCipher, keyed_hash


@dataclass(frozen=True)
class Vault:
    cipher: FieldCipher
    hash_key: bytes

    def seal(self, value: str | bytes, context: str) -> bytes:
        return self.cipher.seal(value, context)

    def open_text(self, sealed: bytes, context: str) -> str:
        return self.cipher.open_text(sealed, context)

    def open(self, sealed: bytes, context: str) -> bytes:
        return self.cipher.open(sealed, context)

    def hash(self, value: str, purpose: str) -> str:
        return keyed_hash(self.hash_key, value, purpose)


def vault_of(settings: BackendSettings) -> Vault:
    keys = settings.keys
    return Vault(FieldCipher(keys["data"]), keys["hash"])
