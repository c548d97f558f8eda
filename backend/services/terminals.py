"""Terminals: one-time enrolment codes, registration with the terminal's own Ed25519 key,
disable / re-enable, and the list an operator reads (with last seen)."""
from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import api_error, get_or_404
from backend.models.merchants import Merchant, Site
from backend.models.terminals import EnrolmentCode, Terminal
from backend.services.sites import get_lane
from core.crypto import keyed_hash

# No 0/O, 1/I/L: an installer types the code from a phone or a slip of paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4     # "ABCD-EFGH-JKMN": 12 symbols, about 59 bits
DEFAULT_CODE_VALID_H = 24


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch not in "- ")


def code_hash(hash_key: bytes, code: str) -> str:
    return keyed_hash(hash_key, normalise_code(code), "enrolment_code")


@dataclass(frozen=True)
class NewEnrolmentCode:
    row: EnrolmentCode
    code: str   # shown once; never stored, never logged


def create_enrolment_code(session: Session, hash_key: bytes, *, site: Site, lane_id: int | None,
                          name: str, scene: str | None = None, valid_hours: int = DEFAULT_CODE_VALID_H,
                          created_by: int | None = None, now: datetime) -> NewEnrolmentCode:
    site_scene = "canteen" if site.kind == "canteen" else "parking"
    scene = scene or site_scene
    if scene != site_scene:
        raise api_error(422, "scene_mismatch", f"此场所的终端场景应为「{site_scene}」",
                        f"Terminals at this site have scene {site_scene!r}")
    if lane_id is not None and get_lane(session, lane_id).site_id != site.id:
        raise api_error(422, "lane_not_in_site", "所选通道不属于该场所", "The lane does not belong to this site")
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
    code = "-".join(symbols[i:i + CODE_GROUP_LEN] for i in range(0, len(symbols), CODE_GROUP_LEN))
    row = EnrolmentCode(code_hash=code_hash(hash_key, code), merchant_id=site.merchant_id, site_id=site.id,
                        lane_id=lane_id, scene=scene, terminal_name=name, created_by=created_by,
                        created_at=now, expires_at=now + timedelta(hours=valid_hours))
    session.add(row)
    session.flush()
    return NewEnrolmentCode(row, code)


def public_key_ok(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def register(session: Session, hash_key: bytes, *, code: str, public_key: str, hardware_id: str,
             now: datetime) -> Terminal:
    """Spend an enrolment code (exactly once, even when two terminals race) and create the terminal."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in hardware_id):
        raise api_error(422, "bad_hardware_id", "硬件编号含有无效字符", "The hardware id contains control characters")
    if not public_key_ok(public_key):
        raise api_error(422, "bad_public_key", "终端公钥格式不正确（应为32字节Ed25519公钥的base64）",
                        "The public key must be base64 of a 32-byte Ed25519 public key")
    row = session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash(hash_key, code)))
    if row is None:
        raise api_error(404, "enrolment_code_unknown", "注册码不存在，请核对后重新输入",
                        "No such enrolment code; check it and type it again")
    if row.used_at is not None:
        raise api_error(409, "enrolment_code_used", "该注册码已被使用，请向运营人员申请新的注册码",
                        "This enrolment code was already used; ask the operator for a new one")
    if row.expires_at <= now:
        raise api_error(410, "enrolment_code_expired", "注册码已过期，请向运营人员申请新的注册码",
                        "This enrolment code has expired; ask the operator for a new one")
    if session.get(Merchant, row.merchant_id).status != "approved":
        raise api_error(409, "merchant_not_active", "商户未审核通过或已暂停，暂不能注册终端",
                        "The merchant is not approved (or is suspended); terminals cannot register yet")
    spent = session.execute(update(EnrolmentCode).where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None))
                            .values(used_at=now))
    if spent.rowcount != 1:
        raise api_error(409, "enrolment_code_used", "该注册码已被使用，请向运营人员申请新的注册码",
                        "This enrolment code was already used; ask the operator for a new one")
    terminal = Terminal(merchant_id=row.merchant_id, site_id=row.site_id, lane_id=row.lane_id,
                        name=row.terminal_name, scene=row.scene, status="active", public_key=public_key,
                        hardware_id=hardware_id, registered_at=now, last_seen_at=now)
    session.add(terminal)
    session.flush()
    session.execute(update(EnrolmentCode).where(EnrolmentCode.id == row.id).values(terminal_id=terminal.id))
    from backend.services.campaign_slices import refresh_terminal   # its campaign budget slices, at once
    refresh_terminal(session, terminal.id, now)
    return terminal


def get_terminal(session: Session, terminal_id: int) -> Terminal:
    return get_or_404(session, Terminal, terminal_id, "terminal_not_found", "终端", "Terminal")


def set_disabled(session: Session, terminal: Terminal, disabled: bool, reason: str | None = None, *,
                 now: datetime) -> Terminal:
    """Disable (its signed requests are refused from the next one on) or re-enable a terminal."""
    terminal.status = "disabled" if disabled else "active"
    terminal.disabled_at = now if disabled else None
    terminal.disabled_reason = reason if disabled else None
    session.flush()
    from backend.services.campaign_slices import refresh_terminal   # its campaign budget slices
    refresh_terminal(session, terminal.id, now)
    return terminal


def list_terminals(session: Session, *, merchant_id: int | None = None, site_id: int | None = None) -> list[Terminal]:
    query = select(Terminal).order_by(Terminal.id)
    if merchant_id is not None:
        query = query.where(Terminal.merchant_id == merchant_id)
    if site_id is not None:
        query = query.where(Terminal.site_id == site_id)
    return list(session.scalars(query).all())
