"""Masking of personal data for screens, receipts and logs (DESIGN: names masked as 张*三)."""
from __future__ import annotations


def mask_name(name: str) -> str:
    """张三 -> 张*, 张小三 -> 张*三, 欧阳小明 -> 欧**明; Latin names keep first and last letter."""
    n = (name or "").strip()
    if len(n) <= 1:
        return n
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_digits(value: str, keep_head: int = 3, keep_tail: int = 4) -> str:
    """Phone 13812345678 -> 138****5678; ID numbers and card numbers alike."""
    v = (value or "").strip()
    if len(v) <= keep_head + keep_tail:
        return "*" * len(v)
    tail = v[len(v) - keep_tail:]  # not v[-keep_tail:], which is the whole string for 0
    return v[:keep_head] + "*" * (len(v) - keep_head - keep_tail) + tail
