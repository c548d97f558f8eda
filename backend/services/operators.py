"""Operators: create one (its token is returned once and only its keyed hash is kept), list them."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import api_error
from backend.models.merchants import Merchant
from backend.models.operators import ROLES, Operator
from core.crypto import keyed_hash

TOKEN_PREFIX = "gpo_"


def token_hash(hash_key: bytes, token: str) -> str:
    """keyed_hash normalises case, so a token matches case-insensitively; 32 random bytes keep
    well over 200 bits after that."""
    return keyed_hash(hash_key, token, "operator_token")


@dataclass(frozen=True)
class NewOperator:
    operator: Operator
    token: str   # shown once; never stored, never logged


def create_operator(session: Session, hash_key: bytes, *, name: str, role: str,
                    merchant_id: int | None = None) -> NewOperator:
    """Add an operator (flushed, not committed) and return it with its one-time token."""
    name = name.strip()
    if not name or len(name) > 100:
        raise api_error(422, "bad_name", "姓名不能为空且不超过100字", "Give a name of 1 to 100 characters")
    if role not in ROLES:
        raise api_error(422, "bad_role", f"角色必须是 {', '.join(ROLES)} 之一",
                                f"Role must be one of {', '.join(ROLES)}")
    if role == "merchant_admin" and merchant_id is None:
        raise api_error(422, "merchant_required", "商户管理员必须指定所属商户",
                                "A merchant admin needs the merchant it administers (--merchant-id)")
    if role != "merchant_admin" and merchant_id is not None:
        raise api_error(422, "merchant_not_allowed", "只有商户管理员才绑定商户",
                                "Only a merchant admin is bound to a merchant")
    if merchant_id is not None and session.get(Merchant, merchant_id) is None:
        raise api_error(404, "merchant_not_found", f"商户 {merchant_id} 不存在",
                                f"Merchant {merchant_id} does not exist")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    operator = Operator(name=name, role=role, merchant_id=merchant_id,
                        token_hash=token_hash(hash_key, token), active=True)
    session.add(operator)
    session.flush()
    return NewOperator(operator, token)


def refuse_last_operator(session: Session, operator: Operator) -> None:
    """Bank staff (role operator) are the only ones who can make new tokens: deactivating the
    last active one would lock everybody out of the console and the API for good."""
    if not (operator.active and operator.role == "operator"):
        return
    # Lock the active bank-staff rows, so two deactivations at once cannot both pass this check.
    active = session.scalars(select(Operator.id).where(Operator.role == "operator", Operator.active.is_(True))
                             .with_for_update()).all()
    if set(active) <= {operator.id}:
        raise api_error(409, "last_operator", "这是最后一个有效的银行操作员，不能停用；请先新建一个操作员",
                        "This is the last active bank operator and cannot be deactivated; create another one first")


def list_operators(session: Session, merchant_id: int | None = None) -> list[Operator]:
    query = select(Operator).order_by(Operator.id)
    if merchant_id is not None:
        query = query.where(Operator.merchant_id == merchant_id)
    return list(session.scalars(query).all())
