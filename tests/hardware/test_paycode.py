"""The pay-code classifier: published wallet formats, configured bank/campus formats, and a
clear refusal for everything else (never an exception, whatever was scanned)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.paycode import Classified, CustomCodeFormat, PayCodeRules, Refused, classify

BANK_AND_CAMPUS = PayCodeRules(
    bank=CustomCodeFormat(prefixes=("88",), min_length=20, max_length=20),
    campus=CustomCodeFormat(pattern=r"CAMPUS:[0-9A-F]{16}"),
)


@pytest.mark.parametrize("code, kind", [
    ("134567890123456789", "wechat"),          # 18 digits, 13...
    ("104567890123456789", "wechat"),
    ("154567890123456789", "wechat"),
    ("2845678901234567", "alipay"),            # 16 digits, 28...
    ("254567890123456789012345", "alipay"),    # 24 digits
    ("304567890123456789", "alipay"),          # 18 digits starting 30 is Alipay, not WeChat
    ("6212345678901234567", "unionpay"),       # 19 digits, 62...
])
def test_public_wallet_codes_are_told_apart(code: str, kind: str) -> None:
    assert classify(code) == Classified(kind)


@pytest.mark.parametrize("code", [
    "164567890123456789",           # 16.. is no wallet's prefix
    "13456789012345678",            # WeChat prefix, 17 digits
    "1345678901234567890",          # WeChat prefix, 19 digits
    "284567890123456",              # Alipay prefix, 15 digits
    "2845678901234567890123456",    # Alipay prefix, 25 digits
    "621234567890123456",           # UnionPay prefix, 18 digits
    "https://example.com/pay",      # a URL QR
    "１３４５６７８９０１２３４５６７８９",  # full-width digits
])
def test_anything_else_is_refused_with_words(code: str) -> None:
    result = classify(code)
    assert isinstance(result, Refused)
    assert result.reason == "not_a_pay_code"
    assert "付款码" in result.zh and "pay code" in result.en


def test_reasons_never_quote_the_code() -> None:
    code = "999999999999999999"
    result = classify(code)
    assert isinstance(result, Refused) and code not in result.zh + result.en


def test_bank_and_campus_formats_come_from_config() -> None:
    assert classify("88" + "1" * 18, BANK_AND_CAMPUS) == Classified("bank")
    assert classify("CAMPUS:00FF00FF00FF00FF", BANK_AND_CAMPUS) == Classified("campus")
    assert isinstance(classify("88" + "1" * 18), Refused)          # not configured: refused
    assert isinstance(classify("CAMPUS:00FF", BANK_AND_CAMPUS), Refused)


def test_a_kind_the_terminal_does_not_take_is_refused() -> None:
    rules = PayCodeRules(accept=("wechat",))
    result = classify("2845678901234567", rules)
    assert isinstance(result, Refused) and result.reason == "kind_not_accepted"
    assert classify("134567890123456789", rules) == Classified("wechat")


def test_empty_oversized_and_control_characters() -> None:
    assert classify("").reason == "empty"  # type: ignore[union-attr]
    assert classify("   ").reason == "empty"  # type: ignore[union-attr]
    assert classify("1" * 10_000).reason == "too_long"  # type: ignore[union-attr]
    assert classify("1345678901\x00234567").reason == "bad_characters"  # type: ignore[union-attr]


def test_a_bad_regex_in_config_fails_at_load_naming_the_field() -> None:
    with pytest.raises(ValueError, match="pattern"):
        CustomCodeFormat(pattern="([")
    with pytest.raises(ValueError):
        PayCodeRules(bank={"prefixes": ["88"], "colour": "red"})  # unknown key


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=600), st.binary(max_size=600).map(lambda b: b.decode("latin-1"))))
def test_any_scanned_text_gets_an_answer(text: str) -> None:
    result = classify(text, BANK_AND_CAMPUS)
    assert isinstance(result, (Classified, Refused))
    if isinstance(result, Refused):
        assert result.zh and result.en


@settings(deadline=None)
@given(st.integers(10, 15), st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_every_wechat_shaped_code_is_wechat(head: int, rest: str) -> None:
    assert classify(f"{head}{rest}") == Classified("wechat")
