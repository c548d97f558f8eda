"""The backend's one validated configuration model, read from the environment (GATEPAY_*)."""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.channels.settings import ChannelSettings, CoreBankingSettings
from core.crypto import key_from_text, key_to_text, new_key


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEPAY_", extra="ignore")

    database_url: str = Field("sqlite:///var/backend.db", title="Database URL",
                              description="SQLite file (default) or postgresql+psycopg://user@host/db")
    key_file: Path = Field(Path("var/backend-keys.json"), title="Key file",
                           description="Where data/hash keys are kept when not given in the environment")
    data_key: str | None = Field(None, description="base64 32-byte AES key for personal data at rest")
    hash_key: str | None = Field(None, description="base64 32-byte HMAC key for searchable hashes")
    card_hash_key: str | None = Field(None, description="base64 32-byte key terminals hash card numbers with")
    timezone: str = Field("Asia/Shanghai", description="Default merchant time zone")
    signature_window_s: int = Field(300, ge=5, le=3600, description="Accepted terminal clock skew")
    face_duplicate_distance: float = Field(0.42, ge=0.0, le=2.0, title="Duplicate face distance",
                                           description="A new face template closer than this (Euclidean, 128-d) "
                                                       "to another signed person's is refused")
    run_jobs: bool = Field(False, description="Run the periodic jobs (backend/jobs.py) in this process; "
                                              "`gatepay backend serve` turns it on in one worker")
    resolve_bank_every_s: float = Field(120, ge=0, description="Bank outcome resolution interval (0: off)")
    bank_intent_grace_s: float = Field(60, ge=0, description="A bank debit no committed payment booked is "
                                                               "given back once its intent is this old")
    expire_subsidies_every_s: float = Field(300, ge=0, description="Subsidy expiry interval (0: off)")
    expire_coupons_every_s: float = Field(600, ge=0, description="Coupon expiry interval (0: off)")
    channels: ChannelSettings = Field(default_factory=ChannelSettings, title="Payment channels / 支付渠道",
                                      description="Each channel live (keys, certificates, merchant numbers, "
                                                  "endpoints) or a simulator; left out: not offered")
    corebanking: CoreBankingSettings | None = Field(None, title="Bank core / 核心系统",
                                                    description="The bank core for card debits; left out: "
                                                                "card debits are declined")
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=1, le=65535)
    log_json: bool = True

    @cached_property
    def keys(self) -> dict[str, bytes]:
        """Keys from the environment, else from the key file (created 0600 on first start)."""
        given = {"data": self.data_key, "hash": self.hash_key, "card": self.card_hash_key}
        if all(given.values()):
            return {k: key_from_text(v) for k, v in given.items()}
        stored: dict[str, str] = {}
        if self.key_file.exists():
            stored = json.loads(self.key_file.read_text())
        changed = False
        for name in given:
            if not stored.get(name):
                stored[name] = key_to_text(new_key())
                changed = True
        if changed:
            self._store_keys(stored, replace=self.key_file.exists())
            stored = json.loads(self.key_file.read_text())   # a racing first start may have won
        return {k: key_from_text(given[k] or stored[k]) for k in given}

    def _store_keys(self, keys: dict[str, str], *, replace: bool) -> None:
        """Write the key file whole and durably, 0600. A new file is linked into place only if
        none exists yet, so processes starting together (backend workers) all keep the first
        one's keys instead of each sealing data under its own; a key lost to a power cut would
        make every sealed field unreadable, hence the fsyncs."""
        folder = self.key_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{self.key_file.name}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(keys, f)
                f.flush()
                os.fsync(f.fileno())
            if replace:
                os.replace(temp, self.key_file)
            else:
                try:
                    os.link(temp, self.key_file)
                except FileExistsError:
                    pass
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            temp.unlink(missing_ok=True)
