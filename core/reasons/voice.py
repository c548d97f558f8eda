"""What the speaker says for a reason: a reason code -> one of the recorded prompts
(hardware/voice.py PROMPTS, e.g. "insufficient" = 余额不足). A spoken prompt is short: the
screen carries the full sentence. Reasons not listed say "pay_failed" (支付失败)."""
from __future__ import annotations

SPOKEN: dict[str, tuple[str, ...]] = {
    "insufficient": ("insufficient_funds", "channel_insufficient_funds", "bank_insufficient_funds"),
    "not_signed": ("not_signed", "plate_not_signed"),
    "card_invalid": ("card_unknown",),
    "scan_again": ("paycode_unknown", "paycode_expired", "paycode_used", "channel_code_invalid", "unknown_code"),
    "face_again": ("ambiguous", "not_frontal", "too_small", "blurry", "spoof", "liveness_timeout"),
    "offline": ("paycode_needs_network", "offline_not_allowed", "stale_cache", "no_balance_data"),
}
FALLBACK_PROMPT = "pay_failed"

VOICE_PROMPTS: dict[str, str] = {code: prompt for prompt, codes in SPOKEN.items() for code in codes}
