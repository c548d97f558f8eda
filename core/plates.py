"""Chinese number plates: normalise what a camera, an OCR engine or a person typed, and refuse
what cannot be a plate. Pure functions; the backend signs plates with the same rules.

Formats (GA 36-2018 《中华人民共和国机动车号牌》 and its new-energy amendments):

  ordinary      京A12345       province + issuing-authority letter + 5 serial chars   blue | yellow
  coach         京A1234学      ... + 4 serial chars + 学                                yellow
  trailer       京A1234挂      ... + 4 serial chars + 挂                                yellow
  police        京A1234警      ... + 4 serial chars + 警                                white
  consulate     沪A1234领      ... + 4 serial chars + 领                                black
  hk_macau      粤Z1234港/澳   Guangdong plates of Hong Kong / Macau cars               black
  embassy       使014578       使 + 6 digits                                            black
  new_energy_small  粤BD12345  energy letter, a letter or digit, then 4 digits         green
  new_energy_large  粤B12345D  5 digits, then the energy letter                        yellow_green

The issuing-authority letter and the serial never use I or O (they look like 1 and 0), so an
I or O where the format allows a digit is repaired to 1 / 0. The new-energy letter was D (pure
electric) or F (other) in 2016; since the 2022 expansion A–E mean pure electric and F–K other,
so A–H, J, K are accepted there. Military and armed-police plates are out of scope.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# The 31 provincial-level abbreviations of mainland China (GA 36-2018 annex).
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
assert len(PROVINCES) == 31

COLOURS = ("blue", "yellow", "green", "white", "black", "yellow_green")

_AUTHORITY = "ABCDEFGHJKLMNPQRSTUVWXYZ"           # A-Z without I and O
_SERIAL = _AUTHORITY + "0123456789"               # letters without I and O, and digits
_ENERGY = "ABCDEFGHJK"                            # new-energy letters (D/F, expanded to A-K)
_SUFFIX_COLOUR = {"学": "yellow", "挂": "yellow", "警": "white", "领": "black",
                  "港": "black", "澳": "black"}
_SUFFIX_KIND = {"学": "coach", "挂": "trailer", "警": "police", "领": "consulate",
                "港": "hk_macau", "澳": "hk_macau"}

# Which colours each kind may carry. An ordinary plate is blue (small car) or yellow (large).
KIND_COLOURS: dict[str, tuple[str, ...]] = {
    "ordinary": ("blue", "yellow"),
    "new_energy_small": ("green",),
    "new_energy_large": ("yellow_green",),
    "coach": ("yellow",), "trailer": ("yellow",), "police": ("white",),
    "consulate": ("black",), "hk_macau": ("black",), "embassy": ("black",),
}

_COLOUR_ALIASES = {
    "blue": "blue", "蓝": "blue", "蓝色": "blue", "蓝牌": "blue",
    "yellow": "yellow", "黄": "yellow", "黄色": "yellow", "黄牌": "yellow",
    "green": "green", "绿": "green", "绿色": "green", "绿牌": "green", "渐变绿": "green",
    "white": "white", "白": "white", "白色": "white", "白牌": "white",
    "black": "black", "黑": "black", "黑色": "black", "黑牌": "black",
    "yellow_green": "yellow_green", "yellowgreen": "yellow_green", "黄绿": "yellow_green",
    "黄绿色": "yellow_green", "黄绿双拼": "yellow_green",
}

# What cameras say when they could not tell the colour: the same as not saying.
_UNKNOWN_COLOUR = {"unknown", "未知", "none", "0"}

# Separators people and cameras put into plates: spaces, the middle dot, hyphens.
_SEPARATORS = re.compile(r"[\s·•・．.\-_—–]+")
_DIGIT_ONLY = str.maketrans({"O": "0", "I": "1"})


class PlateError(ValueError):
    """A plate or colour that cannot be valid. `zh` and `en` are words for a person."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} ({en})")
        self.code = code
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Plate:
    text: str                 # canonical, e.g. 京A12345, 粤BD12345
    kind: str                 # a key of KIND_COLOURS
    colour: str | None        # None only for an ordinary plate whose colour nobody told us

    @property
    def province(self) -> str:
        return self.text[0]

    @property
    def display(self) -> str:
        """As printed on the plate: 京A·12345."""
        if self.kind == "embassy":
            return f"{self.text[:4]}·{self.text[4:]}"
        return f"{self.text[:2]}·{self.text[2:]}"

    def __str__(self) -> str:
        return self.text


def normalise_colour(colour: str | None) -> str | None:
    """'Yellow-Green', '黄绿', 'yellow_green' -> 'yellow_green'; None stays None."""
    if colour is None:
        return None
    key = unicodedata.normalize("NFKC", str(colour)).strip().lower().replace("-", "_").replace(" ", "_")
    if not key or key in _UNKNOWN_COLOUR:
        return None
    if key in _COLOUR_ALIASES:
        return _COLOUR_ALIASES[key]
    raise PlateError("bad_colour", f"号牌颜色“{colour}”无法识别，应为蓝、黄、绿、白、黑或黄绿。",
                     f"Unknown plate colour {colour!r}; use blue, yellow, green, white, black "
                     f"or yellow_green.")


def _clean(text: str) -> str:
    if not isinstance(text, str):
        raise PlateError("empty", "没有号牌号码，请输入号牌。", "No plate number given; enter the plate.")
    s = unicodedata.normalize("NFKC", text)         # full-width Ａ１ -> A1
    s = _SEPARATORS.sub("", s).upper()
    if not s:
        raise PlateError("empty", "没有号牌号码，请输入号牌。", "No plate number given; enter the plate.")
    if len(s) > 16:
        raise PlateError("too_long", "号牌号码太长，请检查后重新输入。",
                         "The plate number is too long; check it and enter it again.")
    return s


def _bad(s: str, why_zh: str, why_en: str) -> PlateError:
    return PlateError("bad_format", f"“{s}”不是有效的号牌：{why_zh}。请检查后重新输入。",
                      f"{s!r} is not a valid plate: {why_en}. Check it and enter it again.")


def _serial_ok(chars: str) -> bool:
    return all(c in _SERIAL for c in chars)


def _classify(s: str) -> tuple[str, str]:
    """Return (canonical text, kind) or raise PlateError naming what is wrong."""
    if s[0] == "使":
        body = s[1:].translate(_DIGIT_ONLY)
        if len(body) == 6 and body.isascii() and body.isdigit():
            return "使" + body, "embassy"
        raise _bad(s, "使馆号牌应为“使”加 6 位数字", "an embassy plate is 使 and 6 digits")
    if s[0] not in PROVINCES:
        raise _bad(s, "第一个字应为省、自治区、直辖市的简称", "the first character must be a province abbreviation")
    if len(s) < 2 or s[1] not in _AUTHORITY:
        raise _bad(s, "第二位应为发牌机关字母（不用 I、O）",
                   "the second character must be the issuing-authority letter (never I or O)")
    head, rest = s[:2], s[2:]
    if len(rest) == 5 and rest[-1] in _SUFFIX_KIND:
        serial = rest[:4].translate(_DIGIT_ONLY)
        if not _serial_ok(serial):
            raise _bad(s, "序号只能是数字和字母", "the serial may only hold digits and letters")
        kind = _SUFFIX_KIND[rest[-1]]
        if kind == "hk_macau" and head != "粤Z":
            raise _bad(s, "港澳号牌以“粤Z”开头", "Hong Kong and Macau plates start with 粤Z")
        return head + serial + rest[-1], kind
    rest = rest.translate(_DIGIT_ONLY)
    if len(rest) == 5:
        if not _serial_ok(rest):
            raise _bad(s, "序号只能是数字和字母", "the serial may only hold digits and letters")
        return head + rest, "ordinary"
    if len(rest) == 6:
        if rest[0] in _ENERGY and rest[1] in _SERIAL and rest[2:].isascii() and rest[2:].isdigit():
            return head + rest, "new_energy_small"
        if rest[:5].isascii() and rest[:5].isdigit() and rest[5] in _ENERGY:
            return head + rest, "new_energy_large"
        raise _bad(s, "新能源号牌应为能源字母（D、F 等）在序号首位（小型车）或末位（大型车）",
                   "a new-energy plate has its energy letter (D, F, ...) first in the serial "
                   "(small car) or last (large car)")
    raise _bad(s, f"长度为 {len(s)} 位，普通号牌 7 位、新能源号牌 8 位",
               f"it has {len(s)} characters; ordinary plates have 7, new-energy plates 8")


def normalise_plate(text: str, colour: str | None = None) -> Plate:
    """Canonical plate from free input, or PlateError. A colour given must fit the format."""
    s = _clean(text)
    canonical, kind = _classify(s)
    wanted = normalise_colour(colour)
    allowed = KIND_COLOURS[kind]
    if wanted is None:
        return Plate(canonical, kind, allowed[0] if len(allowed) == 1 else None)
    if wanted not in allowed:
        raise PlateError(
            "colour_mismatch",
            f"号牌“{canonical}”的颜色不应是{_zh_colour(wanted)}，应为"
            f"{'或'.join(_zh_colour(c) for c in allowed)}。请核对号牌颜色。",
            f"Plate {canonical} cannot be {wanted}; it should be {' or '.join(allowed)}. "
            f"Check the plate colour.")
    return Plate(canonical, kind, wanted)


def is_valid_plate(text: str, colour: str | None = None) -> bool:
    try:
        normalise_plate(text, colour)
    except PlateError:
        return False
    return True


_ZH_COLOUR = {"blue": "蓝色", "yellow": "黄色", "green": "绿色", "white": "白色", "black": "黑色",
              "yellow_green": "黄绿色"}


def _zh_colour(colour: str) -> str:
    return _ZH_COLOUR[colour]
