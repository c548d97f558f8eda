"""Tell pay codes apart by their published prefixes and lengths, and refuse everything else.

Sources for the published rules (checked 2026-11):
- WeChat Pay "付款码支付" (micropay) auth_code: 18 digits, starting 10, 11, 12, 13, 14 or 15 —
  https://pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=5_1 ("用户付款码条形码规则").
- Alipay "当面付" auth_code: digits, starting 25..30, 16 to 24 long —
  https://opendocs.alipay.com/open/194/106039/ ("25-30 开头的长度为 16-24 位的数字").
- UnionPay QuickPass (云闪付) C2B payment code: 19 digits starting 62 — UnionPay QR payment
  specification (银联二维码支付规范, C2B 付款码), as summarised with the two above in
  https://cnblogs.com/zhangmo/p/13578409.html ("银联二维码: 62开头19位").
The bank's own mobile-banking code and the campus QR differ per installation, so their prefixes,
lengths and an optional regex come from the config (PayCodeRules).

The code itself is a bearer credential: nothing here logs it, and reasons never quote it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PayKind = Literal["wechat", "alipay", "unionpay", "bank", "campus"]

MAX_CODE_CHARS = 512  # longer than any pay code; refuse without looking further


class CustomCodeFormat(BaseModel):
    """A code format this installation defines (the bank's own code, the campus QR)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefixes: tuple[str, ...] = Field(
        default=(), title="Prefixes / 前缀",
        description="The code must start with one of these; empty = any start.",
        max_length=20)
    min_length: int = Field(default=1, title="Min length / 最短", description="Fewest characters.", ge=1, le=512)
    max_length: int = Field(default=512, title="Max length / 最长", description="Most characters.", ge=1, le=512)
    pattern: str | None = Field(
        default=None, title="Regex / 正则",
        description="Optional regular expression the whole code must match (Python syntax).",
        max_length=300)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return value

    @field_validator("prefixes")
    @classmethod
    def _no_empty_prefix(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p or len(p) > 64 for p in value):
            raise ValueError("each prefix must be 1..64 characters")
        return value

    def matches(self, code: str) -> bool:
        if not self.min_length <= len(code) <= self.max_length:
            return False
        if self.prefixes and not code.startswith(self.prefixes):
            return False
        return self.pattern is None or re.fullmatch(self.pattern, code) is not None


class PayCodeRules(BaseModel):
    """Which codes a terminal accepts. The three public wallets follow their published rules;
    the bank's and the campus format are set per installation (None = not accepted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accept: tuple[PayKind, ...] = Field(
        default=("wechat", "alipay", "unionpay", "bank", "campus"), title="Accepted kinds / 接受的付款码",
        description="Kinds of code this terminal takes; others are refused with a reason.")
    bank: CustomCodeFormat | None = Field(
        default=None, title="Bank mobile-banking code / 本行手机银行付款码",
        description="Format of the bank's own payment code; leave empty if not used.")
    campus: CustomCodeFormat | None = Field(
        default=None, title="Campus QR / 校园码",
        description="Format of the campus or staff card QR; leave empty if not used.")


@dataclass(frozen=True)
class Classified:
    kind: PayKind


@dataclass(frozen=True)
class Refused:
    reason: str        # code for the UI: empty | too_long | not_a_pay_code | kind_not_accepted | bad_characters
    zh: str
    en: str


def _is_digits(code: str) -> bool:
    return code.isascii() and code.isdigit()


def _wallet_kind(code: str) -> PayKind | None:
    if not _is_digits(code):
        return None
    head = int(code[:2]) if len(code) >= 2 else -1
    if len(code) == 18 and 10 <= head <= 15:
        return "wechat"
    if 16 <= len(code) <= 24 and 25 <= head <= 30:
        return "alipay"
    if len(code) == 19 and head == 62:
        return "unionpay"
    return None


def classify(text: str, rules: PayCodeRules | None = None) -> Classified | Refused:
    """Classify a scanned text. The bank's and campus formats are tried first, because an
    installation may deliberately use a prefix inside a public range for its own code."""
    rules = rules or PayCodeRules()
    if len(text) > MAX_CODE_CHARS:
        return Refused("too_long", "码太长，不是付款码，请出示付款码",
                       "code is too long to be a pay code; please show a pay code")
    code = text.strip()
    if not code:
        return Refused("empty", "没有读到内容，请重新扫码", "nothing was read; please scan again")
    if not code.isprintable():
        return Refused("bad_characters", "扫到的内容有乱码，请重新扫码",
                       "the scan contains garbled characters; please scan again")
    kind: PayKind | None = None
    if rules.bank is not None and rules.bank.matches(code):
        kind = "bank"
    elif rules.campus is not None and rules.campus.matches(code):
        kind = "campus"
    else:
        kind = _wallet_kind(code)
    if kind is None:
        return Refused("not_a_pay_code", "这不是可用的付款码，请打开微信、支付宝、云闪付或本行App的付款码",
                       "this is not a pay code we accept; please open the payment code in WeChat, "
                       "Alipay, UnionPay QuickPass or the bank's app")
    if kind not in rules.accept:
        return Refused("kind_not_accepted", "本终端不收此类付款码，请换一种付款方式",
                       "this terminal does not take this kind of code; please pay another way")
    return Classified(kind)
