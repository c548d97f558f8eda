"""The signing desk (刷脸签约) on /admin: an operator signs a diner's face from 1-3 photos.

Order on the page and in the check: the photos (each gets its verdict in words: no face, too
small, blurry, not frontal, several faces, not a photo), the duplicate check against everyone
signed (with the face model's own distance), the diner's consent (the text says the photos are
kept sealed), then limits and merchants. Nothing is stored unless all of it passes.

The same page sets the per-site 4-digit check for close calls and lists the face signings that
have no photos (they must come back to the desk before the face model can change for them).
Taking the photos with a terminal's camera is a follow-up (docs/FACE.md).
"""
from __future__ import annotations

import threading
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from backend.deps import get_session, request_now
from backend.errors import ApiError
from backend.models.customers import Customer
from backend.models.merchants import Merchant, Site
from backend.models.signings import FacePhoto, Signing
from backend.services import face_desk as desk
from backend.services.vault import vault_of
from backend.web.render import BANK_READERS, fen, page, render
from backend.web.session import PageUser, admin_roles

router = APIRouter(prefix="/admin", include_in_schema=False)
PATH = "/admin/signing-desk"
_engines: dict[str, object] = {}
_engine_lock = threading.Lock()     # one enrolment at a time: the engine's gallery is per request


def desk_engine(model_id: str):  # noqa: ANN201
    """One engine per model for the process (loading a model takes seconds)."""
    if model_id not in _engines:
        _engines[model_id] = desk.engine_for(model_id)
    return _engines[model_id]


def yuan_to_fen(text: str) -> int | None:
    """'12.5' -> 1250; None for anything that is not a positive amount with at most 2 decimals."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > 100_000:
        return None
    return int(value * 100)


def _desk_page(request: Request, session: Session, who, *, status: int = 200, notice: str = "",  # noqa: ANN001
               result: desk.DeskResult | None = None, form: dict | None = None):  # noqa: ANN202
    merchants = list(session.scalars(select(Merchant).where(Merchant.kind == "canteen").order_by(Merchant.id)))
    sites = [(s, desk.face_confirm_of(s)) for s in
             session.scalars(select(Site).where(Site.kind == "canteen").order_by(Site.id))]
    no_photos = session.execute(
        select(Signing.id, Customer.id, Customer.masked_name)
        .join(Customer, Customer.id == Signing.customer_id)
        .where(Signing.kind == "face", Signing.status == "active",
               ~exists().where(FacePhoto.signing_id == Signing.id))
        .order_by(Signing.id).limit(200)).all()
    recent = session.execute(
        select(Signing, Customer.masked_name).join(Customer, Customer.id == Signing.customer_id)
        .where(Signing.kind == "face").order_by(Signing.id.desc()).limit(20)).all()
    return render(request, who, "signing_desk.html", status=status, title_zh="刷脸签约", title_en="Face signing desk",
                  active=PATH, notice=notice, result=result, form=form or {}, merchants=merchants, sites=sites,
                  consent_zh=desk.CONSENT_ZH, consent_en=desk.CONSENT_EN, consent_version=desk.CONSENT_VERSION,
                  max_photos=desk.MAX_PHOTOS, no_photos=no_photos, fen=fen,
                  recent=[(s.id, s.customer_id, name, s.status, fen(s.per_payment_limit_fen),
                           fen(s.per_day_limit_fen), s.consent_text_version or "") for s, name in recent])


@router.get("/signing-desk")
@page
def signing_desk(request: Request, session: Session = Depends(get_session),
                 user: PageUser = Depends(admin_roles(*BANK_READERS))):  # noqa: ANN201
    return _desk_page(request, session, user.who)


def _refusal(result: desk.DeskResult) -> str:
    if result.reason == "no_usable_face":
        return "没有可用的照片，见下表各照片的原因。None of the photos can be used: see each photo's reason below."
    if result.reason == "duplicate":
        return (f"此人脸已签约给另一位客户（{result.duplicate_masked or ''}，编号 {result.duplicate_of}），"
                f"不能重复签约；请核实身份。This face is already signed as someone else "
                f"(customer {result.duplicate_of}); check the person's identity.")
    if result.reason == "no_consent":
        return "请先由客户阅读并同意签约协议。The diner must read and agree to the consent text first."
    return result.reason or ""


@router.post("/signing-desk")
@page
def sign_at_desk(request: Request, customer_id: str = Form(""), consent: str = Form(""),
                 per_payment_yuan: str = Form(""), per_day_yuan: str = Form(""),
                 merchant_ids: list[str] = Form([]), csrf: str = Form(""),
                 photos: list[UploadFile] = File([]), session: Session = Depends(get_session),
                 user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, csrf)
    form = {"customer_id": customer_id, "per_payment_yuan": per_payment_yuan, "per_day_yuan": per_day_yuan,
            "merchant_ids": merchant_ids}
    again = lambda notice, status=422, result=None: _desk_page(  # noqa: E731
        request, session, user.who, status=status, notice=notice, result=result, form=form)
    cid = int(customer_id) if customer_id.strip().isdigit() and len(customer_id.strip()) < 10 else None
    if cid is None or session.get(Customer, cid) is None:
        return again("请填写已有客户的编号。Give the number of an existing customer.")
    uploads = [(p.filename or f"photo {i + 1}", p.file.read(desk.MAX_PHOTO_BYTES + 1))
               for i, p in enumerate(photos) if p is not None and (p.filename or p.size)]
    if not 1 <= len(uploads) <= desk.MAX_PHOTOS:
        return again(f"请上传1到{desk.MAX_PHOTOS}张照片。Upload 1 to {desk.MAX_PHOTOS} photos.")
    per_payment, per_day = yuan_to_fen(per_payment_yuan), yuan_to_fen(per_day_yuan)
    if per_payment is None or per_day is None or per_day < per_payment:
        return again("单笔限额和日限额须为正数（元，最多两位小数），日限额不小于单笔限额。Limits are positive "
                     "yuan amounts (2 decimals at most), the daily one at least the per-payment one.")
    chosen = sorted({int(m) for m in merchant_ids if m.isdigit() and len(m) < 10})
    vault = vault_of(request.app.state.settings)
    now = request_now(request)
    try:
        with _engine_lock:
            result = desk.enrol_at_desk(
                session, vault, desk_engine(desk.desk_model(session)), cid, photos=uploads,
                consent=consent == "yes", consent_at=now, per_payment_limit_fen=per_payment,
                per_day_limit_fen=per_day, merchant_ids=chosen, now=now,
                also=[desk_engine(m) for m in desk.other_models(session, vault)])
    except ApiError as exc:
        session.rollback()
        return again(f"{exc.detail['message_zh']} {exc.detail['message_en']}", status=exc.status_code)
    if not result.ok:
        session.rollback()
        return again(_refusal(result), status=409 if result.reason == "duplicate" else 422, result=result)
    session.commit()
    no_phone = session.get(Customer, cid).phone_hash is None
    return _desk_page(request, session, user.who, result=result,
                      notice=f"签约成功：签约编号 {result.signing.id}，客户 {cid}。终端下次同步后即可刷脸付款。"
                             f" Signed: signing {result.signing.id} for customer {cid}; terminals take it at "
                             "their next sync." + (" 该客户未登记手机号：相似人脸时无法用手机号后四位确认。"
                                                   " The customer has no phone on file: a close call cannot "
                                                   "be confirmed with the last 4 digits." if no_phone else ""))


@router.post("/signing-desk/face-confirm")
@page
def face_confirm(request: Request, site_id: str = Form(""), enabled: str = Form(""), band_pct: str = Form(""),
                 csrf: str = Form(""), session: Session = Depends(get_session),
                 user: PageUser = Depends(admin_roles("operator"))):  # noqa: ANN201
    user.check_csrf(request, csrf)
    site = session.get(Site, int(site_id)) if site_id.isdigit() and len(site_id) < 10 else None
    band = int(band_pct) if band_pct.strip().isdigit() and len(band_pct.strip()) < 4 else -1
    if site is None or not 0 <= band <= 100:
        return _desk_page(request, session, user.who, status=422,
                          notice="请选择场所，确认区间填0到100。Choose a site; the band is 0 to 100.")
    desk.set_face_confirm(session, site, enabled=enabled == "yes", band_pct=band)
    session.commit()
    state = "开启 on" if enabled == "yes" else "关闭 off"
    return _desk_page(request, session, user.who,
                      notice=f"{site.name}：四位数字确认已{state}，区间 {band}%。"
                             f" {site.name}: the 4-digit check is {state.split()[1]}, band {band}%.")
