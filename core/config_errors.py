"""A config file's mistakes in plain zh/en words, with a "did you mean" for a misspelt name.

pydantic says "Extra inputs are not permitted" or "String should match pattern '^https?://...'";
an installer needs "unknown field 'langauge': did you mean 'language'?" and "must start with
http:// or https://". One line per error, naming the field as it is written in the file.
"""
from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Iterable, Literal, Union

from pydantic import BaseModel


def english_only(text: str) -> str:
    """The English half of "中文 / English" lines (`doctor --lang en`); a "field 'x': " prefix stays."""
    out = []
    for line in text.splitlines():
        head, sep, rest = line.partition(" / ")
        if not sep:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        prefix = head.lstrip()[: head.lstrip().index(": ") + 2] if head.lstrip().startswith("field '") else ""
        out.append(f"{indent}{prefix}{rest}")
    return "\n".join(out)


def did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """The one choice a typo most likely meant (None when nothing is close)."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return close[0] if close else None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the type that matters."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _type_tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is None:
        return None
    args = typing.get_args(_unwrap(field.annotation))
    return str(args[0]) if typing.get_origin(_unwrap(field.annotation)) is Literal and args else None


def model_at(root: Any, path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a pydantic error location points into: ('devices', 0, 'modbus_gate') is the
    Modbus gate's config model (a device list item, chosen by its `type` tag)."""
    current: Any = root
    for step in path:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(step, int) and origin in (list, tuple):
            current = typing.get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel) and step in current.model_fields:
            current = current.model_fields[step].annotation
        elif origin in (Union, types.UnionType):
            members = [m for m in typing.get_args(current) if isinstance(m, type) and issubclass(m, BaseModel)]
            current = next((m for m in members if _type_tag(m) == step), None)
            if current is None:
                return None
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _where(loc: tuple[Any, ...], root: Any) -> tuple[Any, ...]:
    """The location as written in the file: without the `type` tags pydantic adds for a device."""
    out: list[Any] = []
    for index, step in enumerate(loc):
        parent = model_at(root, loc[:index])
        if isinstance(step, str) and parent is None and index and isinstance(loc[index - 1], int):
            continue                      # the union's tag step (a device's `type`), not a key
        out.append(step)
    return tuple(out)


def explain(error: dict[str, Any], root: Any, at: tuple[Any, ...] = ()) -> str:
    """One line, zh then en, for one pydantic error of a config validated as `root` (a model, or
    a type such as list[DeviceConfig]); `at` is where `root` sits in the file (("devices",))."""
    loc = tuple(error.get("loc", ()))
    where = ".".join(str(p) for p in at + _where(loc, root)) or "(top level)"
    kind, ctx, given = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        parent = model_at(root, loc[:-1])
        guess = did_you_mean(loc[-1], parent.model_fields) if parent is not None else None
        if guess:
            return (f"field '{where}': 未知字段，是否想写 '{guess}'？ / unknown field: did you mean '{guess}'?")
        known = ", ".join(sorted(parent.model_fields)) if parent is not None else ""
        return (f"field '{where}': 未知字段，请删除或改正 / unknown field: remove or correct it"
                + (f" (known: {known})" if known else ""))
    if kind == "missing":
        return f"field '{where}': 缺少这一项，必须填写 / missing: this field is required"
    if kind == "string_pattern_mismatch" and str(ctx.get("pattern", "")).startswith("^https?://"):
        return (f"field '{where}': 应以 http:// 或 https:// 开头，例如 https://pay.example.cn（现为 {given!r}）"
                f" / must start with http:// or https://, e.g. https://pay.example.cn (it is {given!r})")
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip(" '")]
        guess = did_you_mean(ctx.get("tag", given), tags)
        hint_zh = f"，是否想写 '{guess}'？" if guess else f"，可选：{', '.join(tags)}"
        hint_en = f": did you mean '{guess}'?" if guess else f"; one of: {', '.join(tags)}"
        return (f"field '{where}.type': 没有这种设备类型 {ctx.get('tag', given)!r}{hint_zh}"
                f" / no device type {ctx.get('tag', given)!r}{hint_en}")
    if kind == "union_tag_not_found":
        return f"field '{where}': 设备缺少 type（设备类型） / the device block needs a `type`"
    if kind == "literal_error":
        allowed = [a.strip(" '") for a in str(ctx.get("expected", "")).replace(" or ", ",").split(",") if a.strip(" '")]
        guess = did_you_mean(given, allowed)
        hint = f"; did you mean '{guess}'?" if guess else ""
        return (f"field '{where}': 只能是 {', '.join(allowed)}（现为 {given!r}） / must be one of "
                f"{', '.join(allowed)} (it is {given!r}){hint}")
    return f"field '{where}': 取值无效 / invalid value: {error.get('msg')}"
