"""Builders for terminal tests: a real store file, a cache page as the backend would send it."""
from __future__ import annotations

import base64
import struct
from datetime import datetime, timedelta
from pathlib import Path

from core.wire import Change
from core.clock import ManualClock
from terminal.config import TerminalConfig, hash_pin
from core.crypto import new_key
from terminal.store import Identity, Store

PIN = "246810"
PIN_HASH = hash_pin(PIN, iterations=1000)   # fast in tests; production uses the default

MEAL_PERIODS = [
    {"code": "breakfast", "name_zh": "早餐", "name_en": "Breakfast", "start": "06:30", "end": "09:00", "price_fen": 500},
    {"code": "lunch", "name_zh": "午餐", "name_en": "Lunch", "start": "11:00", "end": "13:30", "price_fen": 1200},
    {"code": "dinner", "name_zh": "晚餐", "name_en": "Dinner", "start": "17:00", "end": "19:30", "price_fen": 1000},
    {"code": "late", "name_zh": "夜宵", "name_en": "Late", "start": "21:00", "end": "01:00", "price_fen": None,
     "max_meals": 0},
]

LIMITS = {"per_payment_fen": 3000, "per_customer_day_fen": 5000, "terminal_total_fen": 20000,
          "max_cache_age_s": 3600}


def template(seed: float) -> str:
    return base64.b64encode(struct.pack("<128f", *[seed + i / 1000 for i in range(128)])).decode()


def make_config(data_dir: Path, **over: object) -> TerminalConfig:
    base = {"scene": "canteen", "backend_url": "http://127.0.0.1:9", "admin_pin_hash": PIN_HASH,
            "data_dir": str(data_dir), "liveness_required": True}
    base.update(over)
    return TerminalConfig.model_validate(base)


def open_store(path: Path, clock: ManualClock | None = None, key: bytes | None = None) -> Store:
    return Store.open(path, key or KEY, clock or ManualClock())


KEY = new_key()


def register_fake(store: Store, terminal_id: int = 7, merchant_id: int = 1) -> None:
    """An identity as registration would leave it (for tests that never reach a backend)."""
    store.save_identity(Identity(terminal_id=terminal_id, merchant_id=merchant_id, site_id=1, lane_id=None,
                                 scene="canteen", name="一号窗口", registered_at=None),
                        device_key=b"k" * 32, card_hash_key=b"c" * 32)


class Page:
    """A page of pulled changes, built with the wire models' field names."""

    def __init__(self, start_id: int = 1):
        self.changes: list[Change] = []
        self._id = start_id

    def add(self, kind: str, key: object, data: dict | None = None, deleted: bool = False) -> "Page":
        self.changes.append(Change(id=self._id, kind=kind, key=str(key), deleted=deleted, data=data or {}))
        self._id += 1
        return self

    def face(self, customer_id: int, name: str = "张*三", status: str = "active", order: str = "subsidy_first",
             per_payment: int = 5000, per_day: int = 20000) -> "Page":
        return self.add("face_signing", customer_id, {
            "customer_id": customer_id, "masked_name": name, "status": status,
            "templates": [template(customer_id)], "per_payment_limit_fen": per_payment,
            "per_day_limit_fen": per_day, "funding_order": order})

    def card(self, card_hash: str, customer_id: int, status: str = "active") -> "Page":
        return self.add("card_signing", card_hash, {
            "card_hash": card_hash, "customer_id": customer_id, "masked_name": "李*", "status": status,
            "per_payment_limit_fen": 5000, "per_day_limit_fen": 20000})

    def balance(self, customer_id: int, wallet: int, subsidies: dict[int, int] | None = None,
                as_of: datetime | None = None) -> "Page":
        return self.add("balance", customer_id, {
            "customer_id": customer_id, "wallet_fen": wallet,
            "subsidies": [{"program_id": p, "balance_fen": b} for p, b in (subsidies or {}).items()],
            "as_of": (as_of or datetime(2026, 3, 1, tzinfo=ManualClock().now().tzinfo)).isoformat()})

    def program(self, program_id: int, kind: str = "monthly", merchants: list[int] | None = None,
                periods: list[str] | None = None, per_meal_cap: int | None = None) -> "Page":
        return self.add("subsidy_program", program_id, {
            "program_id": program_id, "name": "学生餐补", "kind": kind, "merchant_ids": merchants or [],
            "meal_periods": periods or [], "per_meal_cap_fen": per_meal_cap})

    def periods(self, periods: list[dict] | None = None) -> "Page":
        return self.add("meal_periods", 1, {"site_id": 1, "timezone": "Asia/Shanghai",
                                            "periods": periods or MEAL_PERIODS})

    def limits(self, **over: int) -> "Page":
        return self.add("offline_limits", 1, {**LIMITS, **over})

    def apply(self, store: Store, at: datetime | None = None) -> None:
        store.cache.apply_changes(self.changes, cursor=self._id - 1, pulled_at=at or store.clock.now())


def seeded_store(tmp_path: Path, clock: ManualClock | None = None) -> Store:
    """A registered store with one site's rules and two diners: 101 (subsidy 800 + wallet 2000)
    and 102 (wallet 300 only), card 'c-102' signed to 102."""
    clock = clock or ManualClock()
    store = open_store(tmp_path / "terminal.db", clock)
    register_fake(store)
    (Page().periods().limits().program(1, periods=["lunch", "dinner"], per_meal_cap=600)
     .face(101).balance(101, 2000, {1: 800}, as_of=clock.now() - timedelta(minutes=5))
     .face(102, name="王*").balance(102, 300, as_of=clock.now() - timedelta(minutes=5))
     .card("c-102", 102)).apply(store)
    return store
