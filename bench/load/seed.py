"""A scratch PostgreSQL database with the organisation a lunch rush needs: merchants, sites,
one registered terminal (own Ed25519 key) per simulated terminal, and rich diners per terminal."""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from backend.config import BackendSettings
from backend.db import make_engine, make_sessionmaker
from backend.migrate import upgrade
from backend.models.merchants import Site
from backend.services import customers, merchants, sites, terminals
from backend.services.signings import sign_face
from backend.services.vault import Vault, vault_of
from core.signing import new_private_key, public_key_text
from core.crypto import key_to_text, new_key

TERMINALS_PER_SITE = 10
SITES_PER_MERCHANT = 3


@dataclass
class SeededTerminal:
    terminal_id: int
    key: Ed25519PrivateKey
    diners: list[int]


def new_keys() -> dict[str, str]:
    return {"data_key": key_to_text(new_key()), "hash_key": key_to_text(new_key()),
            "card_hash_key": key_to_text(new_key())}


class ScratchDatabase:
    """CREATE DATABASE on enter, DROP ... WITH (FORCE) on exit (unless keep=True)."""

    def __init__(self, admin_url: str, keep: bool = False):
        self.admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
        self.name = f"gp_load_{uuid.uuid4().hex[:8]}"
        self.url = f"{admin_url.rpartition('/')[0]}/{self.name}"
        self.keep = keep

    def __enter__(self) -> "ScratchDatabase":
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        try:
            upgrade(self.url)
        except BaseException:
            self.__exit__()      # __exit__ does not run when __enter__ fails
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.keep:
            return
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def registered_terminal(session: Session, hash_key: bytes, site: Site, name: str, hardware_id: str,
                        now: datetime) -> tuple[int, Ed25519PrivateKey]:
    """A terminal of `site` registered with its own Ed25519 key, as `gatepay terminal register` does."""
    code = terminals.create_enrolment_code(session, hash_key, site=site, lane_id=None, name=name, now=now).code
    key = new_private_key()
    terminal = terminals.register(session, hash_key, code=code, public_key=public_key_text(key),
                                  hardware_id=hardware_id, now=now)
    return terminal.id, key


def rich_diner(session: Session, vault: Vault, rng: np.random.Generator, name: str, deposit_id: str,
               wallet_fen: int, per_day_fen: int, merchant_ids: list[int], now: datetime) -> int:
    """A diner face-signed with a random template (no duplicate check) and `wallet_fen` deposited."""
    person = customers.create_customer(session, vault, name=name)
    vector = rng.normal(size=128).astype("<f4")
    sign_face(session, vault, person.id, templates=[base64.b64encode(vector.tobytes()).decode()],
              consent_at=now, consent_text_version="v1", per_payment_limit_fen=10_000, per_day_limit_fen=per_day_fen,
              merchant_ids=merchant_ids, funding_order=None, now=now, duplicate_distance=0.0)
    customers.deposit(session, person, deposit_id, wallet_fen, now)
    return person.id


def seed(url: str, keys: dict[str, str], n_terminals: int, diners_per_terminal: int = 2,
         wallet_fen: int = 50_000_000, signed_at_own_merchant: bool = False) -> list[SeededTerminal]:
    """signed_at_own_merchant: each diner's signing names the merchant of its terminal (a school's
    pupils at the school canteen); otherwise it allows any merchant of the bank."""
    settings = BackendSettings(database_url=url, **keys)
    vault = vault_of(settings)
    hash_key = settings.keys["hash"]
    rng = np.random.default_rng(0)
    now = datetime.now(timezone.utc)
    engine = make_engine(url)
    out: list[SeededTerminal] = []
    try:
        with make_sessionmaker(engine)() as session:
            site = None
            for i in range(n_terminals):
                if i % (TERMINALS_PER_SITE * SITES_PER_MERCHANT) == 0:
                    merchant = merchants.apply_merchant(
                        session, name=f"load canteen {i // 30}", kind="canteen",
                        settlement_account_no="6222000011112222", settlement_bank_name="load")
                    merchants.approve(session, merchant, now=now)
                if i % TERMINALS_PER_SITE == 0:
                    site = sites.create_site(session, merchant, name=f"load site {i // TERMINALS_PER_SITE}",
                                             kind="canteen")
                terminal_id, key = registered_terminal(session, hash_key, site, f"load {i}", f"load-{i}", now)
                diners = [rich_diner(session, vault, rng, f"食客{i}-{d}", f"load-{i}-{d}", wallet_fen, 1_000_000_000,
                                     [merchant.id] if signed_at_own_merchant else [], now)
                          for d in range(diners_per_terminal)]
                out.append(SeededTerminal(terminal_id, key, diners))
            session.commit()
    finally:
        engine.dispose()
    return out


def current_cursor(url: str) -> int:
    """The change feed's end now: terminals start as if they had already caught up."""
    from sqlalchemy import func, select

    from backend.models.changes import SyncChange

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.max(SyncChange.id))) or 0
    finally:
        engine.dispose()
