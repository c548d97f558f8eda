"""The signing desk (刷脸签约) and what keeps face signings usable across face models.

- `enrol_at_desk`: 1-3 photos -> the same detector and quality gate as a payment, a duplicate
  check against everyone signed (with the model's own duplicate distance), then the signing with
  its templates, its photos SEALED at rest (so a new model can make new templates later), the
  consent and its text version, limits and merchants. Every refusal is in words per photo.
- `retemplate`: recompute every active face signing's templates for another model from its
  sealed photos and publish them (the change feed); signings without photos are listed.
- the 4-digit check: the per-site setting (`face_confirm` change) and each diner's keyed digest
  of the last 4 phone digits (core.face_digits), kept in face_confirm_digits, never the digits.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from backend.errors import api_error
from backend.models.customers import Customer
from backend.models.merchants import Site, SiteFaceConfirm
from backend.models.signings import FaceConfirmDigits, FacePhoto, FaceTemplate, Signing
from backend.services.changes import record_change
from backend.services.customers import get_customer
from backend.services.vault import Vault
from core.face_digits import derive_digits_key, digits_digest, last_digits
from core.reasons import find
from core.reasons.operator import PHOTO_PREFIX
from core.wire import FaceConfirmData, FaceModelData

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_CTX = "face_photos.photo"
TEMPLATE_CTX = "face_templates.template"
CONSENT_VERSION = "face-2026-12"
CONSENT_ZH = ("本人同意开通刷脸支付：银行保存本人的人脸特征模板及签约照片（均加密保存），仅用于在签约商户"
              "刷脸付款及更换识别模型时重新生成模板；解约后模板与照片一并删除。相似人脸时终端会请本人输入"
              "手机号后四位确认。")
CONSENT_EN = ("I agree to pay by face: the bank keeps my face templates and the enrolment photos (both "
              "encrypted), used only to pay at the signed merchants and to make new templates when the "
              "face model changes; both are deleted when I cancel. When faces look alike the terminal "
              "asks for the last 4 digits of my phone.")


@dataclass(frozen=True)
class PhotoVerdict:
    index: int
    name: str
    reason: str                       # ok | a photo problem (core/reasons/operator.py PHOTO)

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def words(self) -> tuple[str, str]:
        return find(PHOTO_PREFIX + self.reason) or (self.reason, self.reason)


@dataclass
class DeskResult:
    ok: bool
    verdicts: list[PhotoVerdict]
    reason: str | None = None         # None | no_usable_face | duplicate | no_consent
    duplicate_of: int | None = None
    duplicate_masked: str | None = None
    signing: Signing | None = None


# --- the engine the backend uses for one model -----------------------------------------------

def engine_for(model_id: str) -> Any:  # noqa: ANN401 - hardware.face.engine.FaceEngine
    """A face engine for `model_id` (the backend imports the face engine for the desk only)."""
    from hardware.face.config import FaceConfig
    from hardware.face.engine import FaceEngine

    return FaceEngine(FaceConfig(encoder=model_id))


def model_of(engine: Any) -> tuple[str, int]:  # noqa: ANN401
    return engine.model.id, engine.model.dimension


def sealed_template(vault: Vault, model_id: str, vector: np.ndarray) -> bytes:
    """A template as it rests: its bytes carry the model id (hardware.face.templates), sealed."""
    from hardware.face.templates import pack

    return vault.seal(pack(model_id, vector), TEMPLATE_CTX)


MAX_PHOTO_PIXELS = 40_000_000   # a 5 MB PNG can claim gigapixels: read the header before decoding


def photo_problem(data: bytes) -> str | None:
    """Why these bytes are not a photo the desk will decode (from the header alone), or None."""
    import io

    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        return "too_large"
    try:
        width, height = Image.open(io.BytesIO(data)).size
    except Image.DecompressionBombError:
        return "too_many_pixels"
    except (UnidentifiedImageError, OSError, ValueError):
        return "bad_frame"
    return "too_many_pixels" if width * height > MAX_PHOTO_PIXELS else None


def decode_photo(data: bytes) -> np.ndarray | None:
    import cv2

    if not data or photo_problem(data) is not None:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


# --- the model's gallery in the backend --------------------------------------------------------

def live_templates(session: Session, vault: Vault, model_id: str, *,
                   other_than: int | None = None) -> dict[int, list[np.ndarray]]:
    """Templates of live (not revoked) face signings made by one model, by customer."""
    from hardware.face.templates import unpack

    query = (select(FaceTemplate.customer_id, FaceTemplate.template_sealed)
             .join(Signing, Signing.id == FaceTemplate.signing_id)
             .where(Signing.status != "revoked"))
    if other_than is not None:
        query = query.where(FaceTemplate.customer_id != other_than)
    out: dict[int, list[np.ndarray]] = {}
    for cid, sealed in session.execute(query).all():
        template = unpack(vault.open(sealed, TEMPLATE_CTX))      # the bytes say which model made it
        if template.model == model_id:
            out.setdefault(cid, []).append(template.vector)
    return out


def template_model(vault: Vault, row: FaceTemplate) -> str:
    from hardware.face.templates import unpack

    return unpack(vault.open(row.template_sealed, TEMPLATE_CTX)).model


def _load_gallery(engine: Any, templates: dict[int, list[np.ndarray]]) -> None:  # noqa: ANN401
    """The engine's gallery holds exactly these people (the backend's engine is per request)."""
    from hardware.face.gallery import Gallery

    gallery = Gallery(engine.model.dimension, engine.config.scoring, model=engine.model.id)
    ids = [cid for cid, rows in templates.items() for _ in rows]
    if ids:
        gallery.load(np.array(ids, dtype=np.int64), np.vstack([r for rows in templates.values() for r in rows]))
    engine.gallery = gallery


# --- the signing desk ------------------------------------------------------------------------

def check_photos(engine: Any, photos: list[tuple[str, bytes]]) -> tuple[list[np.ndarray], list[PhotoVerdict]]:  # noqa: ANN401
    """Each photo through the payment's detector and quality gate: its template, or why not."""
    from hardware.face.enrol import Enroller

    verdicts: list[PhotoVerdict] = []
    images, where = [], []
    for i, (name, data) in enumerate(photos):
        problem = photo_problem(data)
        if problem is not None:
            verdicts.append(PhotoVerdict(i, name, problem))
            continue
        image = decode_photo(data)
        if image is None:
            verdicts.append(PhotoVerdict(i, name, "bad_frame"))
            continue
        images.append(image)
        where.append((i, name))
    found, rejected = Enroller(engine).templates(images)
    refused = dict(rejected)
    templates = iter(found)
    kept = []
    for j, (i, name) in enumerate(where):
        reason = refused.get(j, "ok")
        verdicts.append(PhotoVerdict(i, name, reason))
        if reason == "ok":
            kept.append(next(templates))
    verdicts.sort(key=lambda v: v.index)
    return kept, verdicts


def desk_model(session: Session) -> str:
    """The model the desk checks photos and duplicates with: the newest (the default)."""
    from hardware.face.models import DEFAULT_MODEL

    return DEFAULT_MODEL


def other_models(session: Session, vault: Vault) -> list[str]:
    """Models that live signings still have templates of (terminals not yet switched use them):
    a new signing gets templates for these too, so it pays on every terminal at once."""
    primary = desk_model(session)
    rows = session.scalars(select(FaceTemplate).join(Signing, Signing.id == FaceTemplate.signing_id)
                           .where(Signing.status != "revoked")).all()
    return sorted({template_model(vault, row) for row in rows} - {primary})


def enrol_at_desk(session: Session, vault: Vault, engine: Any, customer_id: int, *,  # noqa: ANN401
                  photos: list[tuple[str, bytes]], consent: bool, consent_at: datetime,
                  per_payment_limit_fen: int, per_day_limit_fen: int, merchant_ids: list[int],
                  now: datetime, also: list[Any] = ()) -> DeskResult:  # noqa: ANN401
    """Sign a diner's face at the desk. Nothing is written unless every step passes. `engine`
    checks the photos and duplicates; `also` are engines of other models in use, whose templates
    are made from the same usable photos."""
    from backend.services import signings as svc
    from hardware.face.enrol import Enroller

    customer = get_customer(session, customer_id)
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise api_error(422, "photo_count", f"请上传1到{MAX_PHOTOS}张照片", f"Upload 1 to {MAX_PHOTOS} photos")
    existing = session.scalar(select(Signing).where(Signing.customer_id == customer.id, Signing.kind == "face",
                                                    Signing.status != "revoked"))
    if existing is not None:
        raise api_error(409, "already_signed", "该客户已有刷脸签约；如需更新请先解约",
                        "This customer already has a face signing; revoke it first")
    templates, verdicts = check_photos(engine, photos)
    if not templates:
        return DeskResult(False, verdicts, "no_usable_face")
    usable = {v.index for v in verdicts if v.ok}
    kept_images = [decode_photo(data) for i, (_name, data) in enumerate(photos) if i in usable]
    made = {model_of(engine)[0]: templates}
    for other in also:
        made[model_of(other)[0]] = Enroller(other).templates(kept_images)[0]
    # One face, one payer: checked in every model still in use (a diner signed before the new
    # model has only old-model templates, and must still be found).
    for checker in (engine, *also):
        mid = model_of(checker)[0]
        if not made[mid]:
            continue
        _load_gallery(checker, live_templates(session, vault, mid, other_than=customer.id))
        dup = Enroller(checker).check_duplicate(customer.id, np.vstack(made[mid]).astype(np.float32))
        if dup is not None:
            other = session.get(Customer, dup[0])
            return DeskResult(False, verdicts, "duplicate", duplicate_of=dup[0],
                              duplicate_masked=other.masked_name if other else None)
    if not consent:
        return DeskResult(False, verdicts, "no_consent")
    signing = svc._new_signing(session, customer, "face", per_payment_limit_fen=per_payment_limit_fen,
                               per_day_limit_fen=per_day_limit_fen, merchant_ids=merchant_ids,
                               funding_order=None, now=now, consent_at=consent_at,
                               consent_text_version=CONSENT_VERSION)
    confirm_digests(session, vault, [customer.id])
    for mid, vectors in made.items():
        for vector in vectors:
            session.add(FaceTemplate(signing_id=signing.id, customer_id=customer.id, created_at=now,
                                     template_sealed=sealed_template(vault, mid, vector)))
    for i, (_name, data) in enumerate(photos):
        if i in usable:
            session.add(FacePhoto(signing_id=signing.id, customer_id=customer.id, created_at=now,
                                  photo_sealed=vault.seal(data, PHOTO_CTX)))
    session.flush()
    svc.publish_signing(session, signing)
    return DeskResult(True, verdicts, signing=signing)


# --- the 4-digit check ------------------------------------------------------------------------

def digits_key(vault: Vault) -> bytes:
    return derive_digits_key(vault.hash_key)


def confirm_digest(vault: Vault, customer: Customer) -> str | None:
    """The keyed digest of the customer's last 4 phone digits (None without a phone)."""
    if customer.phone_sealed is None:
        return None
    digits = last_digits(vault.open_text(customer.phone_sealed, "customers.phone"))
    return digits_digest(digits_key(vault), customer.id, digits) if digits else None


def confirm_digests(session: Session, vault: Vault, customer_ids: list[int]) -> dict[int, str | None]:
    """Each customer's digest of the last 4 phone digits (None without a phone), made once and
    again only when the phone changes: stretching costs ~6 ms a digest, too much for every pull."""
    if not customer_ids:
        return {}
    stored = {r.customer_id: r for r in session.scalars(
        select(FaceConfirmDigits).where(FaceConfirmDigits.customer_id.in_(customer_ids)))}
    out: dict[int, str | None] = {}
    for customer in session.scalars(select(Customer).where(Customer.id.in_(customer_ids))):
        row = stored.get(customer.id)
        if customer.phone_hash is None:
            if row is not None:
                session.delete(row)
            out[customer.id] = None
            continue
        if row is None or row.phone_hash != customer.phone_hash:
            digest = confirm_digest(vault, customer)
            if digest is None:
                out[customer.id] = None
                continue
            if row is None:
                row = FaceConfirmDigits(customer_id=customer.id, phone_hash=customer.phone_hash, digest=digest)
                session.add(row)
            row.phone_hash, row.digest = customer.phone_hash, digest
        out[customer.id] = row.digest
    session.flush()
    return out


def face_confirm_of(site: Site) -> FaceConfirmData:
    row = object_session(site).get(SiteFaceConfirm, site.id)
    return FaceConfirmData(site_id=site.id, enabled=row.enabled if row else True, band_pct=row.band_pct if row else 100)


def set_face_confirm(session: Session, site: Site, *, enabled: bool, band_pct: int) -> FaceConfirmData:
    if not 0 <= band_pct <= 100:
        raise api_error(422, "bad_band", "确认区间须在0到100%之间", "The confirm band is 0 to 100 percent")
    row = session.get(SiteFaceConfirm, site.id)
    if row is None:
        row = SiteFaceConfirm(site_id=site.id)
        session.add(row)
    row.enabled, row.band_pct = enabled, band_pct
    session.flush()
    data = face_confirm_of(site)
    record_change(session, "face_confirm", site.id, data.model_dump(mode="json", exclude={"digits_key"}),
                  merchant_id=site.merchant_id, site_id=site.id)
    return data


def with_digits_key(data: dict, vault: Vault) -> dict:
    """A face_confirm change as a terminal gets it: with the deployment's digits key, which is
    never written to the change feed's table."""
    return {**data, "digits_key": base64.b64encode(digits_key(vault)).decode()}


# --- model changes ----------------------------------------------------------------------------

@dataclass
class RetemplateReport:
    model: str
    retemplated: list[int] = field(default_factory=list)             # customer ids
    without_photos: list[tuple[int, str]] = field(default_factory=list)   # (customer id, masked name)
    unusable: list[tuple[int, str]] = field(default_factory=list)    # photos the new model refuses


def retemplate(session: Session, vault: Vault, engine: Any, now: datetime) -> RetemplateReport:  # noqa: ANN401
    """Make the engine's model's templates for every active face signing from its sealed photos,
    replace any earlier ones of that model, publish each signing and then the model itself.
    Old models' templates stay until every terminal has switched (they cost only storage)."""
    from backend.services import signings as svc
    from hardware.face.enrol import Enroller

    model_id, dimension = model_of(engine)
    report = RetemplateReport(model_id)
    signings = session.scalars(select(Signing).where(Signing.kind == "face", Signing.status == "active")
                               .order_by(Signing.id)).all()
    enroller = Enroller(engine)
    for signing in signings:
        customer = session.get(Customer, signing.customer_id)
        photos = session.scalars(select(FacePhoto).where(FacePhoto.signing_id == signing.id)
                                 .order_by(FacePhoto.id)).all()
        confirm_digests(session, vault, [customer.id])
        if not photos:
            report.without_photos.append((customer.id, customer.masked_name))
            continue
        images = [decode_photo(vault.open(p.photo_sealed, PHOTO_CTX)) for p in photos]
        found, _rejected = enroller.templates([i for i in images if i is not None])
        if not found:
            report.unusable.append((customer.id, customer.masked_name))
            continue
        for old in session.scalars(select(FaceTemplate).where(FaceTemplate.signing_id == signing.id)):
            if template_model(vault, old) == model_id:
                session.delete(old)
        for vector in found:
            session.add(FaceTemplate(signing_id=signing.id, customer_id=customer.id, created_at=now,
                                     template_sealed=sealed_template(vault, model_id, vector)))
        signing.updated_at = now
        session.flush()
        svc.publish_signing(session, signing)
        report.retemplated.append(customer.id)
    record_change(session, "face_model", "bank", FaceModelData(model=model_id, dimension=dimension)
                  .model_dump(mode="json"))
    return report
