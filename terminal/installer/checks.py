"""The installer wizard's rules: what each step checks and which field each error belongs to
(Home Assistant's config-flow style), and pydantic's errors in words the installer can act on.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from core.wire import RegisterRequest
from terminal.installer.results import Errors, FieldError

CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")
_CODE_FIELD = RegisterRequest.model_fields["enrolment_code"]
CODE_MIN = next(m.min_length for m in _CODE_FIELD.metadata if getattr(m, "min_length", None))
CODE_MAX = next(m.max_length for m in _CODE_FIELD.metadata if getattr(m, "max_length", None))


def check_scene(scene: str | None, direction: str | None = None) -> Errors:
    if scene not in ("canteen", "parking"):
        return {"scene": FieldError("err.scene_required")}
    if scene == "parking" and direction not in ("entry", "exit"):
        return {"direction": FieldError("err.direction_required")}
    return {}


def check_backend(url: str, code: str) -> Errors:
    errors: Errors = {}
    url, code = url.strip(), code.strip()
    if not url:
        errors["url"] = FieldError("err.url_required")
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors["url"] = FieldError("err.url_invalid")
    if not code:
        errors["code"] = FieldError("err.code_required")
    elif not (CODE_MIN <= len(code) <= CODE_MAX) or not CODE_PATTERN.match(code):
        errors["code"] = FieldError("err.code_invalid")
    return errors


# pydantic error types -> (zh, en) templates; ctx values (ge, le, ...) fill the braces
PYDANTIC_WORDS: dict[str, tuple[str, str]] = {
    "missing": ("必填", "Required"),
    "string_pattern_mismatch": ("格式不对", "Wrong format"),
    "string_too_short": ("太短，至少 {min_length} 个字符", "Too short: at least {min_length} characters"),
    "string_too_long": ("太长，最多 {max_length} 个字符", "Too long: at most {max_length} characters"),
    "greater_than_equal": ("不能小于 {ge}", "Must be at least {ge}"),
    "greater_than": ("必须大于 {gt}", "Must be more than {gt}"),
    "less_than_equal": ("不能大于 {le}", "Must be at most {le}"),
    "less_than": ("必须小于 {lt}", "Must be less than {lt}"),
    "int_parsing": ("请填整数", "Enter a whole number"),
    "int_type": ("请填整数", "Enter a whole number"),
    "float_parsing": ("请填数字", "Enter a number"),
    "bool_parsing": ("请选是或否", "Choose yes or no"),
    "literal_error": ("请从列表中选择", "Choose one from the list"),
    "enum": ("请从列表中选择", "Choose one from the list"),
    "extra_forbidden": ("不认识的设置项", "Unknown setting"),
    "ip_any_address": ("不是有效的 IP 地址，例如 192.168.1.64", "Not a valid IP address, e.g. 192.168.1.64"),
    "too_short": ("至少要有 {min_length} 项", "Add at least {min_length}"),
    "too_long": ("最多 {max_length} 项", "At most {max_length}"),
}


def pydantic_errors(exc: ValidationError) -> Errors:
    """A pydantic ValidationError as one error per top-level field, in both languages. An error
    inside a list of blocks (a camera of the allow-list) is also kept under "field.index.name"
    ("cameras.0.address"), so a form shows it at that row's input."""
    errors: Errors = {}
    for item in exc.errors():
        loc = item.get("loc") or ("",)
        error = _words(item)
        if len(loc) >= 3 and isinstance(loc[1], int):
            errors.setdefault(f"{loc[0]}.{loc[1]}.{loc[2]}", error)
        errors.setdefault(str(loc[0]), error)
    return errors


def _words(item: Any) -> FieldError:
    """One pydantic error item in both languages."""
    words = PYDANTIC_WORDS.get(item.get("type", ""))
    ctx = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, (int, float, str))}
    if words:
        try:
            zh, en = words[0].format(**ctx), words[1].format(**ctx)
        except (KeyError, IndexError):
            zh, en = words
    else:
        # our models write value errors as "english / 中文"; others get a generic lead-in
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        en, _, zh = message.partition(" / ")
        zh = zh or f"设置有误：{message}"
    return FieldError("err.config_invalid", {"error": en}, zh, en)


def validate_model(model: type[BaseModel], values: dict[str, Any]) -> tuple[BaseModel | None, Errors]:
    """Build one device's config; on failure, the errors per field. A name used twice in a
    list of blocks is pointed at the row that repeats it (the model only says the list is wrong)."""
    twice = names_twice(values)
    try:
        config, errors = model.model_validate(values), {}
    except ValidationError as exc:
        config, errors = None, pydantic_errors(exc)
    if twice:
        return None, {**errors, **twice}
    return config, errors


def names_twice(values: dict[str, Any]) -> Errors:
    """"field.index.name" -> error, for every row of a list of blocks whose name an earlier row has."""
    errors: Errors = {}
    for key, rows in values.items():
        if not isinstance(rows, list):
            continue
        seen: set[str] = set()
        for index, row in enumerate(rows):
            name = row.get("name") if isinstance(row, dict) else None
            if name and name in seen:
                errors[f"{key}.{index}.name"] = FieldError("err.name_twice", {"name": name})
            seen.add(name or "")
    return errors


def device_name(kind: str, taken: set[str]) -> str:
    """A unique config name for a new device of `kind` ("scanner", "scanner_2", ...)."""
    name, n = kind, 1
    while name in taken:
        n += 1
        name = f"{kind}_{n}"
    return name
