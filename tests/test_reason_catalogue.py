"""One reason catalogue (core/reasons): every reason code the backend, the terminal and the
devices can emit has a Chinese and an English sentence there, and no other module keeps a
code -> (zh, en) table of its own."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from core.reasons import ALIASES, CATALOGUE, canonical, find, message, voice_prompt
from core.reasons.voice import VOICE_PROMPTS
from hardware.voice import PROMPTS

ROOT = Path(__file__).resolve().parents[1]
EMITTERS = ("backend", "terminal", "core", "sync", "hardware", "ui")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")     # a code, not a person's free text ("meal spilt")
# calls -> the positions of their reason argument
REASON_CALLS = {"_declined": (0, 3), "_refused": (0,), "_reject": (0,), "refuse": (1,), "message": (0,), "find": (0,)}
# functions whose returned strings are reason codes
DECIDERS = re.compile(r"decline|reason|^redeem$|^_book$|^returned_debit$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _python_files(folders=EMITTERS):  # noqa: ANN001, ANN202
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _strings(node: ast.AST | None):  # noqa: ANN202
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Dict):          # {"frozen": "bank_card_frozen", ...}.get(x, "bank_declined")
        for value in [*node.func.value.values, *node.args[1:]]:
            yield from _strings(value)


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _codes_in(tree: ast.AST):  # noqa: ANN202
    """Reason codes as the code writes them: `reason=`/`decline=` arguments, assignments to a
    `...reason`/`...decline`, the first string given to a decline helper, what a deciding function
    returns, and the values of a `..._OF` mapping of channel answers to our codes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in ("reason", "decline"):
                    yield from _strings(kw.value)
            for at in REASON_CALLS.get(_name(node.func), ()):
                yield from _strings(node.args[at] if at < len(node.args) else None)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                pairs = zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple) and \
                    isinstance(node.value, ast.Tuple) else [(target, node.value)]
                for name, value in pairs:
                    if _name(name).endswith(("reason", "decline")):
                        yield from _strings(value)
                    if _name(name).endswith("DECLINE_OF") and isinstance(value, ast.Dict):
                        for v in value.values:
                            yield from _strings(v)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and DECIDERS.search(node.name):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    yield from _strings(inner.value)


def emitted_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in _python_files():
        for code in _codes_in(ast.parse(path.read_text(encoding="utf-8"))):
            if CODE.match(code):
                found.setdefault(code, str(path.relative_to(ROOT)))
    return found


def test_the_collector_sees_the_known_emitters() -> None:
    codes = emitted_codes()
    for code in ("insufficient_funds", "over_payment_limit", "paycode_used", "bank_card_frozen",
                 "channel_insufficient_funds", "channel_not_charged", "offline_per_day", "digits_locked",
                 "unknown_code", "not_registered", "interrupted", "payment_not_approved"):
        assert code in codes, code


def test_a_signing_that_is_not_active_declines_in_words() -> None:
    from backend.models.signings import SIGNING_STATUSES

    # backend/services/payers.py declines with f"signing_{status}", which no collector can read
    assert {f"signing_{s}" for s in SIGNING_STATUSES if s != "active"} <= set(CATALOGUE)


def test_every_emitted_reason_has_chinese_and_english_words() -> None:
    missing = {code: where for code, where in emitted_codes().items() if canonical(code) not in CATALOGUE}
    assert missing == {}


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_each_entry_is_worded_in_both_languages_with_the_same_values(code: str) -> None:
    zh, en = CATALOGUE[code]
    assert zh.strip() and en.strip() and CJK.search(zh) and not CJK.search(en)

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    assert fields(zh) == fields(en)


def test_values_are_filled_by_one_helper_fen_shown_in_yuan() -> None:
    assert message("over_day_limit", limit=5000) == ("超过今日限额 50.00 元，请明天再来或使用其他方式",
                                                     "Over your daily limit of 50.00 yuan: pay another way")
    assert find("over_day_limit") is None                        # a sentence never shows "{limit}"
    assert message("over_day_limit") == message("declined") == message("never_heard_of") == message(None)


def test_old_codes_read_as_the_new_ones() -> None:
    # offline declines stored by terminals before the catalogue said revoked / suspended / not_this_merchant,
    # and a parking pay-code answer carried the channel's own code
    for old, new in ALIASES.items():
        assert new in CATALOGUE and old not in CATALOGUE
        assert message(old) == message(new)
    assert "解除" in message("revoked")[0]


def test_the_speaker_has_a_recorded_prompt_for_every_reason() -> None:
    assert set(VOICE_PROMPTS) <= set(CATALOGUE)
    assert {voice_prompt(code) for code in CATALOGUE} <= set(PROMPTS)
    assert voice_prompt("insufficient_funds") == "insufficient" and voice_prompt("no_such") == "pay_failed"


# Tables of words that are not reasons (besides the screens' strings, keyed "screen.thing"):
# pydantic's own error types under a form field, worded for the installer wizard's small labels
# and for the web console's forms; the names of the apps that can scan a QR code; the demo's
# card holders; the lane's goodbye by how the car paid.
NOT_REASON_TABLES = {("terminal/installer/checks.py", "PYDANTIC_WORDS"), ("backend/web/forms.py", "_PYDANTIC_WORDS"),
                     ("backend/channels/aggregate.py", "APP_NAMES"), ("terminal/demo/seed.py", "CARDS"),
                     ("terminal/parking.py", "words")}


def _is_words_table(value: ast.AST) -> bool:
    """A dict literal of code -> (Chinese, English) pairs (screen strings keyed "screen.thing" aside)."""
    if not isinstance(value, ast.Dict) or len(value.values) < 2:
        return False
    keys = [k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    if keys and all("." in k for k in keys):
        return False
    pairs = [v for v in value.values if isinstance(v, ast.Tuple) and len(v.elts) == 2
             and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in v.elts)]
    return len(pairs) * 2 > len(value.values) and any(CJK.search(p.elts[0].value) for p in pairs)


def test_no_module_keeps_its_own_reason_table() -> None:
    tables = []
    for path in _python_files():
        where = str(path.relative_to(ROOT))
        if where.startswith("core/reasons/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_words_table(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                tables += [(where, _name(t)) for t in targets if (where, _name(t)) not in NOT_REASON_TABLES]
    assert tables == []
