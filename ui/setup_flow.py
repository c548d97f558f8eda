"""The installer wizard's rules, without Qt: what each step checks and which field each error
belongs to (Home Assistant's config-flow style), and how failures become words.

An error is a `FieldError`: the i18n key and its values, so the wizard shows it in the person's
language and can switch language without asking again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from core.wire import RegisterRequest

CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]+$")
_CODE_FIELD = RegisterRequest.model_fields["enrolment_code"]
CODE_MIN = next(m.min_length for m in _CODE_FIELD.metadata if getattr(m, "min_length", None))
CODE_MAX = next(m.max_length for m in _CODE_FIELD.metadata if getattr(m, "max_length", None))


@dataclass(frozen=True)
class FieldError:
    key: str                                  # i18n key, e.g. "err.url_invalid"
    values: dict[str, Any] = field(default_factory=dict)
    zh: str = ""                              # words that came from elsewhere (backend, device)
    en: str = ""


Errors = dict[str, FieldError]                # field name -> its error ("" = the whole step)


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


def _backend_words(response: httpx.Response) -> tuple[str, str]:
    """The backend's own error sentence ({"detail": {"message_zh", "message_en"}}), if any."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        return "", ""
    if isinstance(detail, dict):
        return str(detail.get("message_zh") or ""), str(detail.get("message_en") or "")
    return "", ""


# sync.client.SyncFailure reasons -> the field the installer should look at
SYNC_FAILURE_FIELD = {"unreachable": ("url", "err.cannot_connect"), "timeout": ("url", "err.cannot_connect"),
                      "refused": ("code", "err.code_rejected"), "unauthorised": ("code", "err.code_rejected")}


def registration_error(exc: BaseException) -> Errors:
    """Which field a failed registration points at, in words the installer can act on."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and hasattr(exc, "maybe_sent"):      # sync.client.SyncFailure
        if reason in SYNC_FAILURE_FIELD:
            name, key = SYNC_FAILURE_FIELD[reason]
            return {name: FieldError(key)}
        zh, en = getattr(exc, "words", ("", ""))
        return {"url": FieldError("err.register_failed", {"error": en or reason}, zh and f"注册失败：{zh}",
                                  en and f"Registration failed: {en}")}
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout,
                        httpx.RemoteProtocolError, ConnectionError, TimeoutError)):
        return {"url": FieldError("err.cannot_connect")}
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        zh, en = _backend_words(response)
        if 400 <= response.status_code < 500:
            return {"code": FieldError("err.code_rejected", zh=zh, en=en)}
        return {"url": FieldError("err.register_failed", {"error": f"HTTP {response.status_code}"}, zh, en)}
    if isinstance(exc, httpx.TransportError):
        return {"url": FieldError("err.cannot_connect")}
    zh = str(getattr(exc, "zh", "") or getattr(exc, "message_zh", ""))
    en = str(getattr(exc, "en", "") or getattr(exc, "message_en", ""))
    return {"": FieldError("err.register_failed", {"error": str(exc) or type(exc).__name__}, zh, en)}


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


def plain_data(config: BaseModel) -> dict[str, Any]:
    """A config as the plain data a file holds, secrets in clear: pydantic's JSON dump writes a
    SecretStr as "**********", which saved would lock out the cameras that know the real one."""
    data = config.model_dump(mode="json")
    _reveal(config, data)
    return data


def _reveal(value: Any, data: Any) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            inner = getattr(value, name)
            if isinstance(inner, SecretStr):
                data[name] = inner.get_secret_value()
            else:
                _reveal(inner, data.get(name))
    elif isinstance(value, (list, tuple)) and isinstance(data, list):
        for inner, dumped in zip(value, data):
            _reveal(inner, dumped)


@dataclass(frozen=True)
class FoundDevice:
    """A device the wizard found (or a simulator it offers), with a starting config."""
    kind: str          # camera | scanner | card_reader | gate | voice | plate_camera | display
    label: str         # what the installer reads: "/dev/ttyUSB0 (CH340)", "摄像头 0", "模拟扫码器"
    config: dict[str, Any]
    kinds: tuple[str, ...] = ()   # a serial port could be any of these: the installer says which
    checked: bool = True          # ticked when the list first appears


@dataclass(frozen=True)
class LiveTestResult:
    """One live device test, in both languages; a camera test also carries its frame and boxes."""
    ok: bool
    zh: str
    en: str
    frame: Any = None                      # numpy BGR image for the preview
    boxes: tuple[tuple[int, int, int, int], ...] = ()   # (top, right, bottom, left)
    learned: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)   # rows the test
    # found for a list field ({"cameras": ({"serialno", "address"},)}): the form fills them in


@dataclass(frozen=True)
class DoctorLine:
    name: str
    ok: bool
    zh: str
    en: str
    fix_zh: str = ""
    fix_en: str = ""
    simulator: bool = False      # passed, but stands in for hardware: not ready for service


def device_name(kind: str, taken: set[str]) -> str:
    """A unique config name for a new device of `kind` ("scanner", "scanner_2", ...)."""
    name, n = kind, 1
    while name in taken:
        n += 1
        name = f"{kind}_{n}"
    return name
