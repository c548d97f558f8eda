"""Signings (签约): face, card and plate, their limits and status, and what terminals pull.

Face templates arrive as base64 of 128 little-endian float32; each is checked (128 finite
numbers), sealed at rest, and compared with every other signed person's templates: a face
closer than the duplicate distance to someone else is refused (one face, one payer).
Every change is recorded for terminals with masked names only.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.customers import Customer, CustomerGroup
from backend.models.merchants import Merchant
from backend.models.signings import FacePhoto, FaceTemplate, Signing
from backend.services.changes import record_change
from backend.services.customers import get_customer, publish_balance
from backend.services.vault import Vault
from core.wire import CardSigningData, FaceSigningData, PlateSigningData
from core.plates import PlateError, normalise_plate

TEMPLATE_DIM = 128
TEMPLATE_BYTES = TEMPLATE_DIM * 4
DEFAULT_DUPLICATE_DISTANCE = 0.42
MAX_TEMPLATES = 5
_CTX = "face_templates.template"


def decode_template(text: str) -> tuple[str, np.ndarray, bytes]:
    """(model id, vector, the bytes to seal) from base64, or a 422 saying what is wrong. 512 bare
    bytes are a dlib template (the form before model ids); anything else must carry its face
    model (hardware.face.templates.pack) with that model's dimension."""
    from hardware.face.models import get_model
    from hardware.face.templates import TemplateError, unpack

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == TEMPLATE_BYTES:
        vector = np.frombuffer(raw, dtype="<f4")
        if not np.all(np.isfinite(vector)):
            raise api_error(422, "bad_template", "人脸模板含无效数值，请重新采集",
                            "The face template holds invalid numbers; capture the face again")
        return "dlib", vector, raw
    try:
        template = unpack(raw)
        model = get_model(template.model)
    except (TemplateError, ValueError):
        model = template = None
    if model is None or template.dimension != model.dimension:
        raise api_error(422, "bad_template", "人脸模板应为128个浮点数或带模型标识的模板（base64编码），请重新采集",
                        "A face template is 128 float32 numbers, or a template tagged with a known face "
                        "model, in base64; capture the face again")
    return model.id, template.vector, raw


def _refuse_duplicates(session: Session, vault: Vault, customer_id: int,
                       decoded: list[tuple[str, np.ndarray, bytes]], max_distance: float) -> None:
    """Compared only with other people's templates of the SAME model: dlib's as always (raw
    vectors, the backend's `face_duplicate_distance`), another model's at its own scale and
    duplicate distance (hardware.face.models)."""
    from backend.services.face_desk import live_templates
    from hardware.face.gallery import normalised
    from hardware.face.models import get_model

    for model_id in sorted({m for m, _, _ in decoded}):
        others = [v for rows in live_templates(session, vault, model_id, other_than=customer_id).values()
                  for v in rows]
        if not others:
            continue
        mine = np.stack([v for m, v, _ in decoded if m == model_id])
        matrix = np.stack(others)
        limit = max_distance
        if model_id != "dlib":
            spec = get_model(model_id)
            mine, matrix, limit = normalised(mine, spec.scale), normalised(matrix, spec.scale), spec.duplicate_threshold
        for vector in mine:
            if float(np.min(np.linalg.norm(matrix - vector, axis=1))) < limit:
                raise api_error(409, "face_signed_to_another",
                                "此人脸已签约给另一位客户，不能重复签约；请核实身份",
                                "This face is already signed to another person; check the person's identity")


def _check_limits(per_payment: int, per_day: int) -> None:
    if per_payment <= 0 or per_day < per_payment:
        raise api_error(422, "bad_limits", "单笔限额须大于0，且日限额不小于单笔限额",
                        "The per-payment limit must be above 0 and the daily limit at least as high")


def _refuse_unknown_merchants(session: Session, merchant_ids: list[int]) -> None:
    """A signing names only merchants that exist: an unknown id would be a typo that lets the
    diner pay nowhere (and, before, made the signing impossible to revoke)."""
    wanted = set(merchant_ids)
    known = set(session.scalars(select(Merchant.id).where(Merchant.id.in_(wanted)))) if wanted else set()
    missing = sorted(wanted - known)
    if missing:
        shown = ", ".join(str(m) for m in missing[:5])
        raise api_error(422, "merchant_not_found", f"商户不存在：{shown}；请检查商户编号",
                        f"No such merchant: {shown}; check the merchant ids")


def _new_signing(session: Session, customer: Customer, kind: str, *, per_payment_limit_fen: int,
                 per_day_limit_fen: int, merchant_ids: list[int], funding_order: str | None,
                 now: datetime, **extra) -> Signing:  # noqa: ANN003
    _check_limits(per_payment_limit_fen, per_day_limit_fen)
    _refuse_unknown_merchants(session, merchant_ids)
    signing = Signing(customer_id=customer.id, kind=kind, status="active",
                      per_payment_limit_fen=per_payment_limit_fen, per_day_limit_fen=per_day_limit_fen,
                      merchant_ids=sorted(set(merchant_ids)), funding_order=funding_order,
                      created_at=now, updated_at=now, **extra)
    session.add(signing)
    session.flush()
    return signing


def sign_face(session: Session, vault: Vault, customer_id: int, *, templates: list[str], consent_at: datetime,
              consent_text_version: str, per_payment_limit_fen: int, per_day_limit_fen: int,
              merchant_ids: list[int], funding_order: str | None, now: datetime,
              duplicate_distance: float = DEFAULT_DUPLICATE_DISTANCE) -> Signing:
    customer = get_customer(session, customer_id)
    existing = session.scalar(select(Signing).where(Signing.customer_id == customer.id, Signing.kind == "face",
                                                    Signing.status != "revoked"))
    if existing is not None:
        raise api_error(409, "already_signed", "该客户已有刷脸签约；如需更新请先解约或添加模板",
                        "This customer already has a face signing; revoke it or add templates to it")
    signing = _new_signing(session, customer, "face", per_payment_limit_fen=per_payment_limit_fen,
                           per_day_limit_fen=per_day_limit_fen, merchant_ids=merchant_ids,
                           funding_order=funding_order, now=now, consent_at=consent_at,
                           consent_text_version=consent_text_version)
    add_templates(session, vault, signing, templates, now=now, duplicate_distance=duplicate_distance)
    return signing


def add_templates(session: Session, vault: Vault, signing: Signing, templates: list[str], *, now: datetime,
                  duplicate_distance: float = DEFAULT_DUPLICATE_DISTANCE) -> Signing:
    if signing.kind != "face" or signing.status == "revoked":
        raise api_error(409, "not_a_live_face_signing", "只能给有效的刷脸签约添加模板",
                        "Templates can only be added to a face signing that is not revoked")
    count = len(session.scalars(select(FaceTemplate.id).where(FaceTemplate.signing_id == signing.id)).all())
    if not templates or count + len(templates) > MAX_TEMPLATES:
        raise api_error(422, "template_count", f"每人需1到{MAX_TEMPLATES}个人脸模板",
                        f"A person needs 1 to {MAX_TEMPLATES} face templates")
    decoded = [decode_template(t) for t in templates]
    _refuse_duplicates(session, vault, signing.customer_id, decoded, duplicate_distance)
    for _model, _vector, raw in decoded:
        session.add(FaceTemplate(signing_id=signing.id, customer_id=signing.customer_id, created_at=now,
                                 template_sealed=vault.seal(raw, _CTX)))
    signing.updated_at = now
    session.flush()
    publish_signing(session, signing)
    return signing


def _refuse_if_signed(session: Session, kind: str, what_zh: str, what_en: str, *match) -> None:  # noqa: ANN002
    """One card or plate pays for one person: refuse while another live signing holds it."""
    taken = session.scalar(select(Signing.id).where(Signing.kind == kind, Signing.status != "revoked", *match))
    if taken is not None:
        raise api_error(409, f"{kind}_already_signed", f"{what_zh}已签约，请先解约原签约",
                        f"{what_en} is already signed; revoke the existing signing first")


def sign_card(session: Session, customer_id: int, *, card_hash: str, per_payment_limit_fen: int,
              per_day_limit_fen: int, merchant_ids: list[int], now: datetime) -> Signing:
    customer = get_customer(session, customer_id)
    card_hash = card_hash.strip().lower()
    _refuse_if_signed(session, "card", "此卡", "This card", Signing.card_hash == card_hash)
    signing = _new_signing(session, customer, "card", per_payment_limit_fen=per_payment_limit_fen,
                           per_day_limit_fen=per_day_limit_fen, merchant_ids=merchant_ids, funding_order=None,
                           now=now, card_hash=card_hash)
    publish_signing(session, signing)
    return signing


def sign_plate(session: Session, customer_id: int, *, plate: str, plate_colour: str, per_payment_limit_fen: int,
               per_day_limit_fen: int, merchant_ids: list[int], now: datetime) -> Signing:
    customer = get_customer(session, customer_id)
    try:
        parsed = normalise_plate(plate, plate_colour)
    except PlateError as exc:
        raise api_error(422, exc.code, exc.zh, exc.en) from exc
    if parsed.colour is None:
        raise api_error(422, "colour_required", "请填写号牌颜色（蓝或黄）", "Give the plate colour (blue or yellow)")
    _refuse_if_signed(session, "plate", "此车牌", "This plate", Signing.plate == parsed.text,
                      Signing.plate_colour == parsed.colour)
    signing = _new_signing(session, customer, "plate", per_payment_limit_fen=per_payment_limit_fen,
                           per_day_limit_fen=per_day_limit_fen, merchant_ids=merchant_ids, funding_order=None,
                           now=now, plate=parsed.text, plate_colour=parsed.colour)
    publish_signing(session, signing)
    return signing


_TRANSITIONS = {"suspend": ({"active"}, "suspended"), "resume": ({"suspended"}, "active"),
                "revoke": ({"active", "suspended"}, "revoked")}


def change_status(session: Session, signing_id: int, action: str, reason: str, now: datetime) -> Signing:
    signing = session.get(Signing, signing_id, with_for_update=True)
    if signing is None:
        raise api_error(404, "not_found", f"签约 {signing_id} 不存在", f"Signing {signing_id} does not exist")
    allowed_from, to = _TRANSITIONS[action]
    if signing.status not in allowed_from:
        raise api_error(409, "wrong_state", f"签约当前为{signing.status}，不能执行此操作",
                        f"The signing is {signing.status}; it cannot be {to} now")
    signing.status, signing.status_reason, signing.updated_at = to, reason[:200], now
    if to == "revoked" and signing.kind == "face":
        # A revoked face must not stay anywhere: drop the templates, terminals drop their copies.
        for template in session.scalars(select(FaceTemplate).where(FaceTemplate.signing_id == signing.id)):
            session.delete(template)
        for photo in session.scalars(select(FacePhoto).where(FacePhoto.signing_id == signing.id)):
            session.delete(photo)
    session.flush()
    publish_signing(session, signing)
    return signing


def effective_funding_order(session: Session, signing: Signing | None, customer: Customer) -> str:
    if signing is not None and signing.funding_order:
        return signing.funding_order
    if customer.group_id is not None:
        group = session.get(CustomerGroup, customer.group_id)
        if group is not None:
            return group.funding_order
    return "subsidy_first"


def publish_signing(session: Session, signing: Signing) -> None:
    """Record the signing's current state for terminals. Face templates are NOT copied into the
    change feed (it is not encrypted); the pull endpoint attaches them, opened from the vault."""
    customer = session.get(Customer, signing.customer_id)
    common = dict(customer_id=customer.id, masked_name=customer.masked_name, status=signing.status,
                  per_payment_limit_fen=signing.per_payment_limit_fen, per_day_limit_fen=signing.per_day_limit_fen)
    deleted = signing.status == "revoked"
    if signing.kind == "face":
        data = FaceSigningData(templates=[], merchant_ids=list(signing.merchant_ids),
                               funding_order=effective_funding_order(session, signing, customer), **common)
        record_change(session, "face_signing", customer.id, data.model_dump(mode="json"), deleted=deleted)
    elif signing.kind == "card":
        data = CardSigningData(card_hash=signing.card_hash, **common)
        record_change(session, "card_signing", signing.card_hash, data.model_dump(mode="json"), deleted=deleted)
    else:
        data = PlateSigningData(plate=signing.plate, plate_colour=signing.plate_colour, **common)
        record_change(session, "plate_signing", f"{signing.plate}:{signing.plate_colour}",
                      data.model_dump(mode="json"), deleted=deleted)
    # Balance changes go only to the merchants the diner's signings allow: a merchant this
    # signing adds gets the current balance now, not at the diner's next payment.
    publish_balance(session, customer.id, signing.updated_at)


def templates_for_terminal(session: Session, vault: Vault, customer_ids: list[int]) -> dict[int, list[str]]:
    """Opened templates of live face signings, base64, for the pull endpoint: every model's (each
    carries its model id, hardware.face.templates), so a terminal can fill a new model's gallery
    before it switches."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(FaceTemplate.customer_id, FaceTemplate.template_sealed)
        .join(Signing, Signing.id == FaceTemplate.signing_id)
        .where(FaceTemplate.customer_id.in_(customer_ids), Signing.status != "revoked")
        .order_by(FaceTemplate.id)).all()
    out: dict[int, list[str]] = {}
    for cid, sealed in rows:
        out.setdefault(cid, []).append(base64.b64encode(vault.open(sealed, _CTX)).decode())
    return out
