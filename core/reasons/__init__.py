"""The one reason catalogue: code -> (Chinese, English) for every decline, refusal and failure
the backend, the terminal, the screens and the speaker put into words.

Chinese first, English available; each sentence says what to do next. The backend writes these
words into its answers (message_zh / message_en) and the terminal shows them; a reason without
words is worded here by `message`. Tables by subject: payments.py (declines), scenes.py (face,
screens, the backend link), operator.py (shift check, signing-desk photos), voice.py (what the
speaker says). A code appears once in the whole catalogue (checked at import).
"""
from __future__ import annotations

import string

from core.money import format_yuan
from core.reasons import operator, payments, scenes
from core.reasons.voice import FALLBACK_PROMPT, VOICE_PROMPTS

_TABLES: tuple[dict[str, tuple[str, str]], ...] = (
    payments.SIGNING, payments.OWN_PAYCODE, payments.FUNDING, payments.BANK, payments.CHANNEL, payments.REFUND,
    payments.REQUEST, payments.TERMINAL, scenes.FACE, scenes.SCREEN, scenes.SYNC, operator.SHIFT, operator.PHOTO)


def _merge(tables: tuple[dict[str, tuple[str, str]], ...]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for table in tables:
        for code, words in table.items():
            if code in merged:
                raise ValueError(f"reason {code!r} is defined twice in core/reasons")
            merged[code] = words
    return merged


CATALOGUE: dict[str, tuple[str, str]] = _merge(_TABLES)

# Codes older terminals stored in their outbox (and may still show): read as the current code.
ALIASES: dict[str, str] = {"revoked": "signing_revoked", "suspended": "signing_suspended",
                           "not_this_merchant": "merchant_not_allowed"}
# Raw channel codes a parking pay-code answer carried before the flows were merged.
ALIASES.update({"NOTENOUGH": "channel_insufficient_funds", "AUTH_CODE_INVALID": "channel_code_invalid"})


def canonical(code: str | None) -> str:
    return ALIASES.get(code or "", code or "")


def placeholders(code: str) -> set[str]:
    """The values a reason's sentence needs ({limit}, ...)."""
    zh, en = CATALOGUE[canonical(code)]
    return {name for text in (zh, en) for _, name, _, _ in string.Formatter().parse(text) if name}


def find(code: str | None, **values: int | str) -> tuple[str, str] | None:
    """(zh, en) for a code, filled with `values`; None for an unknown code or one whose sentence
    needs a value not given. Integer values are fen and are shown in yuan; text is put in as is."""
    words = CATALOGUE.get(canonical(code))
    if words is None or not placeholders(canonical(code)) <= values.keys():
        return None
    shown = {k: format_yuan(v) if isinstance(v, int) else str(v) for k, v in values.items()}
    return words[0].format(**shown), words[1].format(**shown)


def message(code: str | None, **values: int | str) -> tuple[str, str]:
    """(zh, en) for a code, falling back to the plain "declined" sentence."""
    return find(code, **values) or CATALOGUE["declined"]


def voice_prompt(code: str | None) -> str:
    """The recorded prompt the speaker plays for a reason (a key of hardware.voice.PROMPTS)."""
    return VOICE_PROMPTS.get(canonical(code), FALLBACK_PROMPT)
