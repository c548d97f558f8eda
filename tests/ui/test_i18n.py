"""Every string exists in both languages with the same placeholders; reasons say what to do."""
from __future__ import annotations

import string

import pytest

from core.reasons import message
from core.reasons.scenes import SCREEN
from ui.i18n import STRINGS, Translator


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_both_languages_present_with_the_same_placeholders(key: str) -> None:
    zh, en = STRINGS[key]
    assert zh.strip() and en.strip()
    assert _fields(zh) == _fields(en)


def test_chinese_first_then_english_at_run_time() -> None:
    tr = Translator()
    heard: list[str] = []
    tr.on_change(heard.append)
    assert tr.t("canteen.look") == "请看摄像头"
    tr.set_language("en")
    assert tr.t("canteen.look") == "Please look at the camera"
    assert heard == ["en"]
    with pytest.raises(ValueError):
        tr.set_language("fr")  # type: ignore[arg-type]


def test_money_is_formatted_from_integer_fen_only() -> None:
    tr = Translator()
    assert tr.money(1205) == "¥12.05"
    with pytest.raises(TypeError):
        tr.money(12.05)  # type: ignore[arg-type]


def test_reason_words_prefer_the_core_then_tables_then_a_safe_sentence() -> None:
    tr = Translator()
    assert tr.reason("over_day_limit", "超过今日限额 50.00 元", "Over 50.00") == "超过今日限额 50.00 元"
    assert "活体" in tr.reason("spoof")
    assert tr.reason("revoked") == message("signing_revoked")[0]       # the catalogue, an old code read as the new
    assert "{" not in tr.reason("over_day_limit")                       # template without values
    assert tr.reason(None) == tr.reason("never_heard_of_it")
    tr.set_language("en")
    assert tr.reason("spoof").startswith("Liveness")


@pytest.mark.parametrize("code", sorted(SCREEN))
def test_every_reason_says_what_to_do(code: str) -> None:
    zh, en = SCREEN[code]
    assert "请" in zh or "再" in zh, zh          # a request or a next step, not just a verdict
    assert len(en.split()) >= 4


def test_durations_read_naturally() -> None:
    tr = Translator()
    assert tr.duration(59) == "0 分钟"
    assert tr.duration(3600 * 26 + 60 * 5) == "26 小时 5 分"
