"""What the channels' own statement files share: refuse oversize before reading, decode strictly,
split lines keeping their numbers, and read yuan amounts as fen without floats."""
from __future__ import annotations

import re

from backend.reconciliation.channel_file import MAX_AMOUNT_FEN, MAX_FILE_BYTES, StatementError

_YUAN = re.compile(r"-?(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?")


def decoded_lines(data: bytes, encodings: tuple[str, ...]) -> list[str]:
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(0, "对账文件过大", f"the statement is over {MAX_FILE_BYTES} bytes")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise StatementError(0, f"对账文件编码无法识别（应为 {'/'.join(encodings)}）",
                             f"the statement is not {' or '.join(encodings)} text")
    if "\x00" in text:
        raise StatementError(text[:text.index("\x00")].count("\n") + 1, "对账文件含有二进制内容", "binary content")
    return text.lstrip("\ufeff").splitlines()


def fen(text: str, line: int, what: str) -> int:
    """Yuan ("8.50", "-3.00") as fen; anything else is refused with the line."""
    value = text.strip().lstrip("`")
    if not _YUAN.fullmatch(value):
        raise StatementError(line, f"第{line}行{what}不是金额：{value[:20]}", f"line {line}: {what} is not an amount")
    negative = value.startswith("-")
    whole, _, cents = value.lstrip("-").partition(".")
    amount = int(whole) * 100 + int((cents + "00")[:2])
    if amount > MAX_AMOUNT_FEN:
        raise StatementError(line, f"第{line}行{what}超出范围", f"line {line}: {what} is out of range")
    return -amount if negative else amount
