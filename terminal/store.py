"""The terminal's local store: one SQLite file (sqlite-utils), WAL + synchronous FULL.

    store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), clock)
    store.identity()            # who this terminal is (after registration)
    store.outbox                # payments/refunds/events with the terminal's own sequence numbers
    store.cache                 # what the backend sent: signings, balances, rules, limits
    store.audit                 # append-only log of decisions and admin actions

One connection is shared by the core and the sync threads, guarded by one lock; every write
is a transaction that is durable on disk when the call returns (synchronous FULL). Personal
data (face templates, the device key) is sealed with core.crypto.FieldCipher.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from terminal.audit import AuditLog
from terminal.cache import Cache
from core.clock import Clock, SystemClock, from_iso, to_iso
from core.private_files import private_dir, private_sqlite
from core.crypto import FieldCipher, key_from_text, key_to_text, new_key
from terminal.outbox import Outbox
from terminal.schema import migrate, schema_version

# The one place the terminal's SQLite pragmas are set (a test checks they are on).
PRAGMAS: dict[str, str | int] = {
    "journal_mode": "wal",     # readers never block the writer; a commit is one append
    "synchronous": "FULL",     # fsync on every commit: an approved payment survives a power cut
    "foreign_keys": 1,
    "busy_timeout": 5000,
}

DATA_KEY_ENV = "GATEPAY_TERMINAL_DATA_KEY"
KEY_FILE_NAME = "terminal.key"


class StoreKeyError(RuntimeError):
    """The key that unlocks personal data at rest is missing, unsafe or wrong."""


def load_data_key(data_dir: Path, environ: dict[str, str] | None = None) -> bytes:
    """The at-rest key: from GATEPAY_TERMINAL_DATA_KEY, else data_dir/terminal.key (created 0600).
    A key file others can read is refused: it would unlock every face template."""
    env = os.environ if environ is None else environ
    if env.get(DATA_KEY_ENV):
        return key_from_text(env[DATA_KEY_ENV])
    path = Path(data_dir) / KEY_FILE_NAME
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise StoreKeyError(f"密钥文件权限过宽 {path} ({oct(mode)})，请执行 chmod 600 / key file {path} "
                                f"is readable by others ({oct(mode)}): run chmod 600 on it")
        return key_from_text(path.read_text())
    private_dir(path.parent)
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key_to_text(key))
        f.flush()
        os.fsync(f.fileno())
    return key


def apply_pragmas(conn: sqlite3.Connection) -> None:
    for name, value in PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {value}")


@dataclass(frozen=True)
class Identity:
    terminal_id: int
    merchant_id: int
    site_id: int
    lane_id: int | None
    scene: str
    name: str
    registered_at: datetime | None
    lane_name: str | None = None           # the lane the enrolment code was bound to, as the backend names it
    lane_direction: str | None = None      # entry | exit | both


class Store:
    def __init__(self, db: sqlite_utils.Database, cipher: FieldCipher, clock: Clock, path: Path):
        self.db = db
        self.cipher = cipher
        self.clock = clock
        self.path = path
        self.lock = threading.RLock()
        self._identity: Identity | None = None
        self.audit = AuditLog(self)
        self.cache = Cache(self)
        self.outbox = Outbox(self)

    @classmethod
    def open(cls, path: Path | str, data_key: bytes, clock: Clock | None = None,
             migrate_to: int | None = None) -> "Store":
        path = private_sqlite(path)   # 0600 (its -wal and -shm follow), a new folder 0700
        # isolation_level=None: no implicit transactions; every write goes through db.atomic().
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        apply_pragmas(conn)
        db = sqlite_utils.Database(conn)
        if migrate_to is None:
            migrate(db)
        else:
            migrate(db, migrate_to)
        store = cls(db, FieldCipher(data_key), clock or SystemClock(), path)
        store._check_key()
        return store

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def schema_version(self) -> int:
        with self.lock:
            return schema_version(self.db)

    def pragma(self, name: str) -> object:
        with self.lock:
            return self.db.execute(f"PRAGMA {name}").fetchone()[0]

    # --- meta, secrets ------------------------------------------------------------------------

    def _check_key(self) -> None:
        """A canary sealed with the first key: a wrong key fails here, not mid-payment."""
        sealed = self.get_secret_raw("canary")
        if sealed is None:
            self.put_secret("canary", b"gatepay")
            return
        try:
            self.cipher.open(sealed, "secrets.canary")
        except ValueError as exc:
            raise StoreKeyError(f"数据密钥与数据库不匹配 / the data key does not open {self.path}: "
                                "restore the terminal.key that belongs to this store") from exc

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: object) -> None:
        with self.lock, self.db.atomic():
            self._set_meta_in_tx(values)

    def _set_meta_in_tx(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                            "DO UPDATE SET value = excluded.value",
                            [key, None if value is None else str(value)])

    def get_secret_raw(self, name: str) -> bytes | None:
        with self.lock:
            row = self.db.execute("SELECT sealed FROM secrets WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def put_secret(self, name: str, value: bytes) -> None:
        sealed = self.cipher.seal(value, f"secrets.{name}")
        with self.lock, self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO secrets (name, sealed) VALUES (?, ?)", [name, sealed])

    def get_secret(self, name: str) -> bytes | None:
        sealed = self.get_secret_raw(name)
        return None if sealed is None else self.cipher.open(sealed, f"secrets.{name}")

    # --- identity ------------------------------------------------------------------------------

    def save_identity(self, identity: Identity, device_key: bytes, card_hash_key: bytes) -> None:
        """Registration result and the device key, in one transaction."""
        with self.lock, self.db.atomic():
            for name, value in (("device_key", device_key), ("card_hash_key", card_hash_key)):
                self.db.execute("INSERT OR REPLACE INTO secrets (name, sealed) VALUES (?, ?)",
                                [name, self.cipher.seal(value, f"secrets.{name}")])
            self._set_meta_in_tx({
                "terminal_id": identity.terminal_id, "merchant_id": identity.merchant_id,
                "site_id": identity.site_id, "lane_id": identity.lane_id, "scene": identity.scene,
                "name": identity.name, "lane_name": identity.lane_name, "lane_direction": identity.lane_direction,
                "registered_at": to_iso(identity.registered_at or self.clock.now())})
        self._identity = None

    def identity(self) -> Identity | None:
        """Read once, then kept in memory (every decision needs it; only registration changes it)."""
        if self._identity is None:
            self._identity = self._read_identity()
        return self._identity

    def _read_identity(self) -> Identity | None:
        tid = self.get_meta("terminal_id")
        if tid is None:
            return None
        lane = self.get_meta("lane_id")
        return Identity(terminal_id=int(tid), merchant_id=int(self.get_meta("merchant_id") or 0),
                        site_id=int(self.get_meta("site_id") or 0), lane_id=int(lane) if lane else None,
                        scene=self.get_meta("scene") or "canteen", name=self.get_meta("name") or "",
                        registered_at=from_iso(self.get_meta("registered_at")),
                        lane_name=self.get_meta("lane_name") or None, lane_direction=self.get_meta("lane_direction") or None)

    # --- config copy ---------------------------------------------------------------------------

    def save_config_json(self, text: str) -> None:
        json.loads(text)  # refuse garbage before it is stored
        self.set_meta(config_json=text)

    def config_json(self) -> str | None:
        return self.get_meta("config_json")

    # --- pull cursor ---------------------------------------------------------------------------

    def pull_cursor(self) -> int:
        return int(self.get_meta("pull_cursor", "0") or 0)

    def last_pull_at(self) -> datetime | None:
        return from_iso(self.get_meta("last_pull_at"))

    def last_pull_mono(self) -> float | None:
        """The clock's monotonic reading at the last pull (None: not recorded)."""
        raw = self.get_meta("last_pull_mono")
        return float(raw) if raw else None
