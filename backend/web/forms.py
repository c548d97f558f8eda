"""One way to build, read and re-show a console form.

    NEW_LANE = Form("/admin/sites/{site_id}/lanes", Bi("新建通道", "New lane"), Bi("创建", "Create"), (
        Field("name", Bi("通道名称", "Lane name")),
        Field("direction", Bi("方向", "Direction"), "choice", options=DIRECTIONS),
    ))
    reading = NEW_LANE.read(data)          # data: the posted form (form_data dependency)
    if not reading.ok: page again with NEW_LANE.show(data, reading.errors), status 422
    reading.values["name"] ...             # parsed: yuan -> int fen, int -> int, empty optional -> None

Every field is checked the same way (required, length, no control characters, amounts in 元
parsed exactly to fen with core.money.parse_yuan, whole numbers, HH:MM, dates, choices), and a
wrong field gets its error under it, in both languages. The posted values come back into the
form so nothing typed is lost. The same rules as the API then apply: the page hands the values
to the API's own body model (`model_errors` maps its complaints to fields) and service.

Rows of a table can carry buttons (`Action`, posted with the CSRF token) and links (`Link`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Mapping, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from backend.errors import ApiError, api_error
from backend.web.texts import Bi
from core.money import format_yuan, parse_yuan
from core.wire import MAX_AMOUNT_FEN

KINDS = ("text", "yuan", "int", "hhmm", "date", "choice", "password", "hidden", "checkbox")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_FORM_FIELDS = 60
MAX_VALUE = 2000          # a posted value longer than this is cut before any check (and then refused)
MAX_FORM_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Field:
    name: str
    label: Bi
    kind: str = "text"
    required: bool = True
    max_len: int = 100
    lo: int = 0                      # bounds of int fields, and of yuan fields in fen
    hi: int = MAX_AMOUNT_FEN
    options: tuple[tuple[str, Any], ...] = ()
    value: str = ""                  # what the field shows before anything is posted
    hint: Bi | None = None


@dataclass(frozen=True)
class Reading:
    values: dict[str, Any]
    errors: dict[str, Bi]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Form:
    action: str
    title: Bi
    submit: Bi
    fields: tuple[Field, ...]
    danger: bool = False             # a red button: disabling, suspending, removing
    id: str = ""

    def with_values(self, **values: object) -> "Form":
        """The same form showing other starting values (e.g. a record's current settings)."""
        return replace(self, fields=tuple(replace(f, value=_shown(values[f.name])) if f.name in values else f
                                          for f in self.fields))

    def with_options(self, name: str, options: list[tuple[str, Any]]) -> "Form":
        return replace(self, fields=tuple(replace(f, options=tuple(options)) if f.name == name else f
                                          for f in self.fields))

    def read(self, data: Mapping[str, str]) -> Reading:
        values, errors = {}, {}
        for f in self.fields:
            try:
                values[f.name] = read_field(f, data.get(f.name))
            except FieldProblem as problem:
                errors[f.name] = problem.words
        return Reading(values, errors)

    def show(self, data: Mapping[str, str] | None = None, errors: Mapping[str, Bi] | None = None,
             error: Bi | None = None) -> dict:
        """The template's form: posted values back in their fields, each error under its field,
        `error` (a refusal that is no one field's) above the button."""
        data, errors = data or {}, errors or {}
        shown = []
        for f in self.fields:
            value = data.get(f.name, f.value) if f.kind != "password" else ""
            shown.append({"name": f.name, "label": f.label, "kind": f.kind, "type": _INPUT_TYPE.get(f.kind, "text"),
                          "value": value, "required": f.required and f.kind != "checkbox",
                          "maxlength": f.max_len if f.kind in ("text", "password") else None,
                          "inputmode": {"yuan": "decimal", "int": "numeric"}.get(f.kind),
                          "options": list(f.options) or None, "error": errors.get(f.name), "hint": f.hint})
        return {"action": self.action, "title": self.title, "submit": self.submit, "fields": shown,
                "danger": self.danger, "id": self.id, "error": error}


# HH:MM stays a text box: a time input shows "10:00 AM" in an English browser; the console is 24-hour
_INPUT_TYPE = {"password": "password", "hidden": "hidden", "date": "date", "checkbox": "checkbox"}


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def yuan_text(value: int | None) -> str:
    """The value a yuan field shows for an amount in fen (1250 -> "12.50")."""
    return "" if value is None else format_yuan(value)


class FieldProblem(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.words = Bi(zh, en)


def read_field(f: Field, raw: str | None) -> Any:
    """One posted value, checked and parsed as its field says; FieldProblem in both languages."""
    text = (raw or "")[:MAX_VALUE].strip()
    if f.kind == "checkbox":
        return text == "yes"
    if not text:
        if f.required:
            raise FieldProblem("请填写这一项", "This field is required")
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise FieldProblem("含有不允许的字符（如换行或控制字符）", "Contains characters that are not allowed")
    if f.kind in ("text", "password", "hidden"):
        if len(text) > f.max_len:
            raise FieldProblem(f"太长：最多 {f.max_len} 个字（现有 {len(text)} 个）",
                               f"Too long: at most {f.max_len} characters (this has {len(text)})")
        return text
    if f.kind == "choice":
        if text not in {str(value) for value, _ in f.options}:
            raise FieldProblem("请从列表中选择", "Choose one of the list")
        return text
    if f.kind == "yuan":
        return _yuan(f, text)
    if f.kind == "int":
        if not text.isdigit() or len(text) > 9 or not f.lo <= int(text) <= f.hi:
            raise FieldProblem(f"请填写 {f.lo} 到 {f.hi} 之间的整数", f"Enter a whole number from {f.lo} to {f.hi}")
        return int(text)
    if f.kind == "hhmm":
        if not _HHMM.fullmatch(text):
            raise FieldProblem("请按 时:分 填写，例如 07:30", "Enter a time as HH:MM, e.g. 07:30")
        return text
    if f.kind == "date":
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
        except ValueError:
            pass
        raise FieldProblem("请按 年-月-日 填写，例如 2026-03-01", "Enter a date as YYYY-MM-DD, e.g. 2026-03-01")
    raise AssertionError(f"unknown field kind {f.kind!r}")


def _yuan(f: Field, text: str) -> int:
    try:
        fen = parse_yuan(text) if len(text) <= 12 else None    # 12 characters hold every amount we take
    except ValueError:
        fen = None
    if fen is None:
        raise FieldProblem("请填写金额（元），最多两位小数，例如 12.50",
                           "Enter an amount in yuan with at most 2 decimals, e.g. 12.50")
    if not f.lo <= fen <= f.hi:
        raise FieldProblem(f"金额须在 {format_yuan(f.lo)} 到 {format_yuan(f.hi)} 元之间",
                           f"The amount must be {format_yuan(f.lo)} to {format_yuan(f.hi)} yuan")
    return fen


def model_errors(exc: ValidationError, fields: Mapping[str, str] | None = None) -> tuple[dict[str, Bi], Bi | None]:
    """An API body model's refusal as (errors by form field, the rest). `fields` maps the model's
    field names to the form's where they differ (per_payment_fen -> per_payment)."""
    fields = fields or {}
    by_field: dict[str, Bi] = {}
    rest: list[str] = []
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ())]
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        name = next((fields.get(p, p) for p in reversed(loc) if not p.isdigit()), "")
        if name and loc:
            by_field.setdefault(name, _words(item, message))
        else:
            rest.append(message)
    return by_field, Bi("无法保存：" + "；".join(rest), "Cannot save: " + "; ".join(rest)) if rest else None



def read_model(form: Form, data: Mapping[str, Any], model: type[M],
               shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> tuple[M | None, dict[str, Bi], Bi | None]:
    """Read the form, then check its values (through `shape` where the API's body differs) with
    the API's own body model: (the body, or None with errors by field and the rest)."""
    reading = form.read(data)
    if not reading.ok:
        return None, dict(reading.errors), None
    try:
        return model.model_validate(shape(reading.values) if shape else reading.values), {}, None
    except ValidationError as exc:
        errors, error = model_errors(exc)
        return None, errors, error

# pydantic's complaints a form can meet, in both languages (the rest keep the model's own words)
_PYDANTIC_WORDS = {
    "missing": ("请填写这一项", "This field is required"),
    "string_too_short": ("请填写这一项", "This field is required"),
    "string_too_long": ("太长：最多 {max_length} 个字", "Too long: at most {max_length} characters"),
    "string_pattern_mismatch": ("格式不对，请按标签上的说明填写", "Wrong format: see the field's label"),
    "literal_error": ("请从列表中选择", "Choose one of the list"),
    "greater_than_equal": ("不能小于 {ge}", "Must be at least {ge}"),
    "less_than_equal": ("不能大于 {le}", "Must be at most {le}"),
}


def _words(item: Mapping[str, Any], message: str) -> Bi:
    if "time zone" in message:
        return Bi("未知时区，请填写 IANA 名称，例如 Asia/Shanghai", "Unknown time zone: use an IANA name such as Asia/Shanghai")
    words = _PYDANTIC_WORDS.get(str(item.get("type")))
    if words is None:
        return Bi("取值无效：" + message, "Not valid: " + message)
    ctx = item.get("ctx") or {}
    try:
        return Bi(words[0].format(**ctx), words[1].format(**ctx))
    except (KeyError, IndexError):
        return Bi(*words)


def api_words(exc: ApiError) -> Bi:
    """A service's refusal (the API's error shape) as a form error."""
    return Bi(exc.detail["message_zh"], exc.detail["message_en"])


@dataclass(frozen=True)
class Action:
    """A button in a table row: posts `fields` (and the CSRF token) to `href`."""
    href: str
    label: Bi
    fields: dict[str, str] = field(default_factory=dict)
    danger: bool = False
    kind: str = "action"


@dataclass(frozen=True)
class Link:
    href: str
    label: Any
    kind: str = "link"


async def form_data(request: Request) -> dict[str, str]:
    """Page dependency: the posted form as {name: text} (files and repeated names left out).
    A body far larger than any console form is refused before it is read."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise api_error(413, "body_too_large", "提交的内容过大", "The form sent is too large")
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    return {k: v[:MAX_VALUE] for k, v in form.items() if isinstance(v, str)}
