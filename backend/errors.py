"""The one error shape of the API: {"detail": {"code", "message_zh", "message_en"}}.

Chinese first, English available, and the message says what to do. Request bodies that fail
validation get the same shape (code "invalid_request") plus the offending fields.
"""
from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ApiError(HTTPException):
    """An HTTPException whose detail is the API's error shape (so `code` can be tested)."""

    @property
    def code(self) -> str:
        return self.detail["code"]


def api_error(status: int, code: str, zh: str, en: str, headers: dict[str, str] | None = None) -> ApiError:
    """Build (not raise) an API error: `raise api_error(404, "merchant_not_found", "...", "...")`."""
    return ApiError(status, detail={"code": code, "message_zh": zh, "message_en": en}, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict]:
    # Only where and what: the rejected input is not echoed (it may hold a pay code).
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()[:20]]


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = _field_errors(exc)
    where = ", ".join(".".join(f["loc"][1:] or f["loc"]) for f in fields[:5])
    return JSONResponse(status_code=422, content={"detail": {
        "code": "invalid_request",
        "message_zh": f"请求内容有误，请检查这些字段后重试：{where}",
        "message_en": f"The request is not valid; check these fields and try again: {where}",
        "errors": fields,
    }})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)


def get_or_404(session, model, object_id: int, code: str, name_zh: str, name_en: str):  # noqa: ANN001, ANN201
    """`session.get(model, id)`, or a 404 naming what is missing ("场所 7 不存在" / "Site 7 does not exist")."""
    found = session.get(model, object_id)
    if found is None:
        raise api_error(404, code, f"{name_zh} {object_id} 不存在", f"{name_en} {object_id} does not exist")
    return found
