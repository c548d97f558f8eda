"""Registering a terminal with its one-time enrolment code.

The Ed25519 device key is made here, on the terminal; only its public half is sent. The key is
stored sealed in the local store and never leaves it. Every later request is signed with it.
"""
from __future__ import annotations

import base64

import httpx

from sync.auth import TerminalAuth
from sync.client import SyncClient
from core.signing import new_private_key, private_key_bytes, private_key_from_bytes, public_key_text
from core.wire import RegisterRequest
from terminal.store import Identity, Store


def register(store: Store, backend_url: str, enrolment_code: str, *, hardware_id: str = "",
             transport: httpx.BaseTransport | None = None) -> Identity:
    """Register (or re-register) this terminal; raises sync.client.SyncFailure on any failure,
    leaving the store as it was."""
    key = new_private_key()
    client = SyncClient(backend_url, transport=transport)
    try:
        answer = client.register(RegisterRequest(enrolment_code=enrolment_code.strip(),
                                                 public_key=public_key_text(key), hardware_id=hardware_id))
    finally:
        client.close()
    identity = Identity(terminal_id=answer.terminal_id, merchant_id=answer.merchant_id, site_id=answer.site_id,
                        lane_id=answer.lane_id, scene=answer.scene, name=answer.name,
                        registered_at=store.clock.now(), lane_name=answer.lane_name,
                        lane_direction=answer.lane_direction)
    store.save_identity(identity, private_key_bytes(key), base64.b64decode(answer.card_hash_key))
    store.audit.record("installer", "registered", terminal_id=answer.terminal_id, merchant_id=answer.merchant_id)
    return identity


def device_auth(store: Store) -> TerminalAuth | None:
    """The signing auth for this terminal, or None before registration."""
    identity = store.identity()
    raw = store.get_secret("device_key")
    if identity is None or raw is None:
        return None
    return TerminalAuth(private_key_from_bytes(raw), identity.terminal_id)


def card_hash_key(store: Store) -> bytes | None:
    """The key the card reader driver hashes card numbers with (from registration)."""
    return store.get_secret("card_hash_key")
