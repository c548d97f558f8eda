"""Operator endpoints: bank operators create operators (the token is shown once) and list them."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.api.params import IdField, IdPath, IdQuery, Text
from backend.auth import OperatorPrincipal, require_roles
from backend.deps import get_session
from backend.errors import get_or_404
from backend.logging import log
from backend.models.operators import ROLES, Operator
from backend.services import operators as svc

router = APIRouter(prefix="/api/v1/operators", tags=["operators"])
OPERATOR = require_roles("operator")
READERS = require_roles("operator", "auditor")
Role = Literal[ROLES]  # type: ignore[valid-type]


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)
    name: Text(100)
    role: Role
    merchant_id: IdField | None = Field(default=None, description="required for (and only for) merchant_admin")


class OperatorOut(BaseModel):
    id: int
    name: str
    role: str
    merchant_id: int | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, o: Operator) -> "OperatorOut":
        return cls.model_validate(o, from_attributes=True)


class NewOperatorOut(OperatorOut):
    token: str = Field(description="shown once: give it to the person, it cannot be read again")


@router.post("", response_model=NewOperatorOut, status_code=201)
def create_operator(body: OperatorIn, request: Request, who: OperatorPrincipal = Depends(OPERATOR),
                    session: Session = Depends(get_session)) -> NewOperatorOut:
    new = svc.create_operator(session, request.app.state.settings.keys["hash"], name=body.name,
                              role=body.role, merchant_id=body.merchant_id)
    session.commit()
    log.info("operator_created", new_operator_id=new.operator.id, role=body.role, operator_id=who.operator_id)
    return NewOperatorOut(**OperatorOut.of(new.operator).model_dump(), token=new.token)


@router.get("", response_model=list[OperatorOut])
def list_operators(merchant_id: IdQuery = None, _who: OperatorPrincipal = Depends(READERS),
                   session: Session = Depends(get_session)) -> list[OperatorOut]:
    return [OperatorOut.of(o) for o in svc.list_operators(session, merchant_id)]


@router.post("/{operator_id}/deactivate", response_model=OperatorOut)
def deactivate(operator_id: IdPath, who: OperatorPrincipal = Depends(OPERATOR),
               session: Session = Depends(get_session)) -> OperatorOut:
    """Revoke an operator's token (a lost or leaked token, someone who left)."""
    operator = get_or_404(session, Operator, operator_id, "operator_not_found", "操作员", "Operator")
    svc.refuse_last_operator(session, operator)
    operator.active = False
    session.commit()
    log.info("operator_deactivated", target_operator_id=operator_id, operator_id=who.operator_id)
    return OperatorOut.of(operator)
