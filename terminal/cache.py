"""The synced cache: what the backend sent this terminal, applied page by page from pull.

A page of changes is validated completely first, then applied with the new cursor in ONE
transaction: a crash or a garbage change half-way leaves the old state and the old cursor.
Face templates are sealed at rest (FieldCipher): a JSON list of base64 templates, each carrying
the id of the face model that made it (hardware.face.templates.pack); a store written before model
ids holds 512-byte dlib templates, which read as model "dlib" — an upgraded terminal keeps its
gallery without rewriting anything. The scenes read through the lookups below;
`items(kind)` serves the kinds other scenes own (tariff, member, parking_session).
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from core.wire import (BalanceSnapshot, CardSigningData, Change, FaceConfirmData, FaceSigningData, MealPeriodsData,
                       MerchantStatusData, OfflineLimits, PlateSigningData, SubsidyProgramData)
from core.clock import from_iso, to_iso
from core.wire.changes import CampaignSliceData

log = logging.getLogger("gatepay.terminal.cache")

if TYPE_CHECKING:
    from terminal.store import Store

# Kinds whose data has a wire model; the others are stored as the JSON object they came as.
DATA_MODELS: dict[str, type[BaseModel]] = {
    "face_signing": FaceSigningData, "card_signing": CardSigningData,
    "plate_signing": PlateSigningData, "balance": BalanceSnapshot,
    "subsidy_program": SubsidyProgramData, "meal_periods": MealPeriodsData,
    "offline_limits": OfflineLimits, "merchant_status": MerchantStatusData,
    "face_confirm": FaceConfirmData, "campaign_slice": CampaignSliceData,
}
DIGITS_KEY_SECRET = "face_confirm_digits_key"   # the 4-digit check's key, sealed in `secrets`


_SIGNING_KINDS = ("face_signing", "card_signing", "plate_signing")


class SliceSpent(RuntimeError):
    """A discount its slice can no longer cover (two payments raced for the last of it): the
    payment is not queued, so no gate opens on a discount nobody funds."""


@dataclass(frozen=True)
class CampaignSlice:
    """This terminal's open budget slice of one instant campaign, with what it has left."""
    data: CampaignSliceData
    left_fen: int


class BadChange(ValueError):
    """A pulled change the terminal cannot read; the whole page is refused."""


@dataclass(frozen=True)
class Signing:
    """A person signed up to pay with a face, card or plate at this site."""
    customer_id: int
    masked_name: str
    status: str                      # active | suspended | revoked
    per_payment_limit_fen: int
    per_day_limit_fen: int
    funding_order: str = "subsidy_first"
    merchant_ids: tuple[int, ...] = ()


def plate_key(plate: str, colour: str) -> str:
    return f"{plate.strip().upper()}:{colour.strip().lower()}"


class Cache:
    def __init__(self, store: "Store"):
        self._s = store

    # --- applying a pulled page ---------------------------------------------------------------

    def apply_changes(self, changes: list[Change], cursor: int, pulled_at: datetime, mono: float | None = None) -> int:
        """Apply one page and move the cursor, atomically. Returns the number applied. `mono` is
        the clock's monotonic reading at the pull: a wall clock set back cannot make it younger."""
        parsed = [(c, self._parse(c)) for c in changes]
        s = self._s
        with s.lock, s.db.atomic():
            for change, data in parsed:
                self._apply_one(change, data)
            s._set_meta_in_tx({"pull_cursor": cursor, "last_pull_at": to_iso(pulled_at), "last_pull_mono": mono})
        return len(parsed)

    def mark_pulled(self, pulled_at: datetime, mono: float | None = None) -> None:
        """A pull that brought nothing new still proves the cache is current."""
        self._s.set_meta(last_pull_at=to_iso(pulled_at), last_pull_mono=mono)

    @staticmethod
    def _parse(change: Change) -> BaseModel | dict | None:
        if change.deleted:
            # A revoked signing is kept as a tombstone (no templates) so the diner is told
            # "disabled", not "not signed up"; anything else deleted is simply removed.
            model = DATA_MODELS.get(change.kind)
            if change.kind in _SIGNING_KINDS and change.data:
                try:
                    found = model.model_validate(change.data)
                except ValidationError:
                    return None
                extra = {"templates": []} if change.kind == "face_signing" else {}
                return found.model_copy(update={"status": "revoked", **extra})
            return None
        model = DATA_MODELS.get(change.kind)
        try:
            return model.model_validate(change.data) if model else dict(change.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise BadChange(f"change {change.id} ({change.kind}) field {where}: {first.get('msg')}") from None

    def _apply_one(self, change: Change, data: Any) -> None:
        db, now = self._s.db, to_iso(self._s.clock.now())
        table, pk = {"face_signing": ("face_signings", "customer_id"),
                     "card_signing": ("card_signings", "card_hash"),
                     "plate_signing": ("plate_signings", "key"),
                     "balance": ("balances", "customer_id")}.get(change.kind, ("cache", None))
        if data is None:  # deleted
            if pk:
                db.execute(f"DELETE FROM {table} WHERE {pk} = ?", [change.key])
            else:
                db.execute("DELETE FROM cache WHERE kind = ? AND key = ?", [change.kind, change.key])
            return
        if isinstance(data, FaceSigningData):
            sealed = self._s.cipher.seal(json.dumps(data.templates), "face_signings.templates")
            db["face_signings"].upsert({
                "customer_id": data.customer_id, "masked_name": data.masked_name, "status": data.status,
                "templates": sealed, "per_payment_limit_fen": data.per_payment_limit_fen,
                "per_day_limit_fen": data.per_day_limit_fen, "funding_order": data.funding_order,
                "merchant_ids": json.dumps(data.merchant_ids), "confirm_digits": data.confirm_digits,
                "updated_at": now}, pk="customer_id")
        elif isinstance(data, CardSigningData):
            db["card_signings"].upsert({**data.model_dump(), "updated_at": now}, pk="card_hash")
        elif isinstance(data, PlateSigningData):
            db["plate_signings"].upsert({**data.model_dump(), "key": plate_key(data.plate, data.plate_colour),
                                         "updated_at": now}, pk="key")
        elif isinstance(data, BalanceSnapshot):
            self.put_balance_in_tx(data)
        elif isinstance(data, FaceConfirmData):
            if data.digits_key:   # sealed like the device key, not in the readable cache table
                db.execute("INSERT OR REPLACE INTO secrets (name, sealed) VALUES (?, ?)", [
                    DIGITS_KEY_SECRET, self._s.cipher.seal(base64.b64decode(data.digits_key),
                                                           f"secrets.{DIGITS_KEY_SECRET}")])
            db.execute("INSERT OR REPLACE INTO cache (kind, key, data, updated_at) VALUES (?, ?, ?, ?)",
                       [change.kind, change.key, data.model_copy(update={"digits_key": None}).model_dump_json(), now])
        else:
            body = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data, ensure_ascii=False)
            db.execute("INSERT OR REPLACE INTO cache (kind, key, data, updated_at) VALUES (?, ?, ?, ?)",
                       [change.kind, change.key, body, now])

    def put_balance_in_tx(self, snap: BalanceSnapshot) -> None:
        """Keep the newest snapshot: an online answer and a pull may arrive in either order. The
        caller holds the store's lock and transaction (a pull, or the outbox recording an answer)."""
        self._s.db.execute(
            "INSERT INTO balances (customer_id, wallet_fen, subsidies, as_of) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(customer_id) DO UPDATE SET wallet_fen = excluded.wallet_fen, "
            "subsidies = excluded.subsidies, as_of = excluded.as_of WHERE excluded.as_of >= balances.as_of",
            [snap.customer_id, snap.wallet_fen, json.dumps([x.model_dump() for x in snap.subsidies]),
             to_iso(snap.as_of)])

    # --- lookups -------------------------------------------------------------------------------

    def _row(self, sql: str, args: list) -> dict | None:
        with self._s.lock:
            cur = self._s.db.execute(sql, args)
            row = cur.fetchone()
            return dict(zip([d[0] for d in cur.description], row)) if row else None

    def face_signing(self, customer_id: int) -> Signing | None:
        r = self._row("SELECT * FROM face_signings WHERE customer_id = ?", [customer_id])
        if not r:
            return None
        return Signing(r["customer_id"], r["masked_name"], r["status"], r["per_payment_limit_fen"],
                       r["per_day_limit_fen"], r["funding_order"], tuple(json.loads(r["merchant_ids"] or "[]")))

    def card_signing(self, card_hash: str) -> Signing | None:
        r = self._row("SELECT * FROM card_signings WHERE card_hash = ?", [card_hash])
        return self._simple(r)

    def plate_signing(self, plate: str, colour: str) -> Signing | None:
        r = self._row("SELECT * FROM plate_signings WHERE key = ?", [plate_key(plate, colour)])
        return self._simple(r)

    def _simple(self, r: dict | None) -> Signing | None:
        if not r:
            return None
        face = self.face_signing(r["customer_id"])  # the person's funding order lives on the face signing
        order = face.funding_order if face else "subsidy_first"
        return Signing(r["customer_id"], r["masked_name"], r["status"], r["per_payment_limit_fen"],
                       r["per_day_limit_fen"], order)

    def _face_rows(self) -> list[tuple[int, list[Any]]]:
        """Active signed faces with their templates (hardware.face.templates.Template), opened in
        memory only; a damaged template is left out (logged), never a crash of the face loop."""
        from hardware.face.templates import TemplateError, unpack

        with self._s.lock:
            rows = self._s.db.execute("SELECT customer_id, templates FROM face_signings "
                                      "WHERE status = 'active' ORDER BY customer_id").fetchall()
        out = []
        for cid, sealed in rows:
            found = []
            for text in json.loads(self._s.cipher.open_text(sealed, "face_signings.templates")):
                try:
                    found.append(unpack(base64.b64decode(text)))
                except (TemplateError, ValueError):
                    log.error("face signing %s holds a damaged template: skipped", cid)
            out.append((cid, found))
        return out

    def face_gallery(self, model: str = "dlib") -> list[tuple[int, list[bytes]]]:
        """Active signed faces with their raw templates of ONE face model (little-endian float32
        each), for the 1:N matcher; people without a template of that model are left out.
        `model` defaults to dlib, the model of every template stored before model ids."""
        out = []
        for cid, templates in self._face_rows():
            mine = [t.vector.astype("<f4").tobytes() for t in templates if t.model == model]
            if mine:
                out.append((cid, mine))
        return out

    def face_models(self) -> dict[int, set[str]]:
        """For each active signed face: the models it has templates for (the model-switch rule,
        hardware.face.templates.choose_model, reads this)."""
        return {cid: {t.model for t in templates} for cid, templates in self._face_rows()}

    def face_confirm_digits(self, customer_ids: list[int]) -> dict[int, str | None]:
        """The keyed digests of the last 4 phone digits of active face signings (None: no phone)."""
        if not customer_ids:
            return {}
        marks = ", ".join("?" for _ in customer_ids)
        with self._s.lock:
            rows = self._s.db.execute(f"SELECT customer_id, confirm_digits FROM face_signings WHERE status = 'active' "
                                      f"AND customer_id IN ({marks})", [int(c) for c in customer_ids]).fetchall()
        return {cid: digest for cid, digest in rows}

    def face_confirm(self) -> tuple[FaceConfirmData, bytes | None] | None:
        """The site's 4-digit check setting and its key (None: the backend never sent one)."""
        found = self.items("face_confirm")
        if not found:
            return None
        return FaceConfirmData.model_validate(next(iter(found.values()))), self._s.get_secret(DIGITS_KEY_SECRET)

    def balance(self, customer_id: int) -> BalanceSnapshot | None:
        r = self._row("SELECT * FROM balances WHERE customer_id = ?", [customer_id])
        if not r:
            return None
        return BalanceSnapshot(customer_id=r["customer_id"], wallet_fen=r["wallet_fen"],
                               subsidies=json.loads(r["subsidies"]), as_of=from_iso(r["as_of"]))

    def items(self, kind: str) -> dict[str, dict]:
        """Every cached object of one kind, by key (e.g. items('tariff') for the parking scene)."""
        with self._s.lock:
            rows = self._s.db.execute("SELECT key, data FROM cache WHERE kind = ?", [kind]).fetchall()
        return {k: json.loads(d) for k, d in rows}

    def item(self, kind: str, key: str) -> dict | None:
        r = self._row("SELECT data FROM cache WHERE kind = ? AND key = ?", [kind, key])
        return json.loads(r["data"]) if r else None

    def subsidy_programs(self) -> dict[int, SubsidyProgramData]:
        return {int(k): SubsidyProgramData.model_validate(v) for k, v in self.items("subsidy_program").items()}

    def meal_periods(self) -> MealPeriodsData | None:
        found = self.items("meal_periods")
        return MealPeriodsData.model_validate(next(iter(found.values()))) if found else None

    def offline_limits(self) -> OfflineLimits | None:
        found = self.items("offline_limits")
        return OfflineLimits.model_validate(next(iter(found.values()))) if found else None

    def merchant_status(self, merchant_id: int) -> MerchantStatusData | None:
        """The last status the backend sent for this merchant (None: never changed since approval)."""
        found = self.item("merchant_status", str(merchant_id))
        return MerchantStatusData.model_validate(found) if found else None

    # --- campaign budget slices (issue 17) -------------------------------------------------------

    def campaign_slices(self, terminal_id: int) -> list[CampaignSlice]:
        """This terminal's open slices with money left (slices sent for other terminals of the
        site are ignored), lowest campaign id first."""
        found = []
        for raw in self.items("campaign_slice").values():
            data = CampaignSliceData.model_validate(raw)
            if data.terminal_id != terminal_id or data.status != "open":
                continue
            left = data.granted_fen - self._slice_spent(data.slice_id)
            if left > 0:
                found.append(CampaignSlice(data, left))
        return sorted(found, key=lambda x: x.data.campaign_id)

    def _slice_spent(self, slice_id: int) -> int:
        r = self._row("SELECT COALESCE(SUM(discount_fen), 0) AS spent FROM campaign_slice_uses WHERE slice_id = ?",
                      [slice_id])
        return int(r["spent"])

    def slice_uses(self, campaign_id: int, customer_id: int, business_day: str | None = None) -> int:
        """Discounts of this campaign this terminal gave the diner (on one day, if given)."""
        sql = "SELECT count(*) AS n FROM campaign_slice_uses WHERE campaign_id = ? AND customer_id = ?"
        args: list = [campaign_id, customer_id]
        if business_day is not None:
            sql, args = sql + " AND business_day = ?", args + [business_day]
        return int(self._row(sql, args)["n"])

    def spend_slice_in_tx(self, payment_id: str, campaign_id: int, discount_fen: int, customer_id: int | None,
                          business_day: str) -> None:
        """Take a discount from this terminal's open slice of the campaign; the caller (the outbox
        queueing the payment) holds the store's lock and transaction, so the spend and the payment
        are durable together or not at all. Raises SliceSpent when the slice cannot cover it."""
        identity = self._s.identity()
        own = [x for x in self.campaign_slices(identity.terminal_id if identity else 0)
               if x.data.campaign_id == campaign_id]
        if not own or own[0].left_fen < discount_fen:
            raise SliceSpent(f"campaign {campaign_id}: slice cannot cover {discount_fen} fen")
        self._s.db.execute(
            "INSERT INTO campaign_slice_uses (payment_id, slice_id, campaign_id, customer_id, business_day, "
            "discount_fen, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [payment_id, own[0].data.slice_id, campaign_id, customer_id, business_day, discount_fen,
             to_iso(self._s.clock.now())])

    def counts(self) -> dict[str, int]:
        with self._s.lock:
            return {t: self._s.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("face_signings", "card_signings", "plate_signings", "balances", "cache")}
