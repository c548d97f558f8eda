"""Money is an integer number of fen (分) everywhere; this module only formats it for people."""
from __future__ import annotations


def format_yuan(fen: int) -> str:
    """1234 -> '12.34' (no float is ever involved)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"money must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """'12.3' -> 1230 fen. Exact decimal parsing; refuses more than two decimals."""
    s = text.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    whole, _, frac = s.partition(".")
    if not whole.isdigit() and not (whole == "" and frac):
        raise ValueError(f"not an amount in yuan: {text!r}")
    if frac and (not frac.isdigit() or len(frac) > 2):
        raise ValueError(f"not an amount in yuan (at most 2 decimals): {text!r}")
    fen = int(whole or "0") * 100 + int((frac + "00")[:2] or "0")
    return -fen if neg else fen
