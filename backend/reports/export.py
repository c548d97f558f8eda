"""Tables to CSV and xlsx bytes, the same bytes every time for the same rows.

xlsx is a zip of XML parts: openpyxl stamps the document properties with the time of writing and
zipfile stamps every member with the clock, so both are pinned here (to `stamp`) and the parts
rewritten in a fixed order. CSV is UTF-8 with a BOM (Excel in a Chinese locale then opens it
right), CRLF line ends as RFC 4180 says.

Every cell of every export passes through `safe_cell`: names come from merchants, terminals,
sites, banks and funders, and a terminal named `=cmd|' /C calc'!A0` must stay text, never become
a formula a spreadsheet runs (CSV injection).
"""
from __future__ import annotations

import csv
import re
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone

from openpyxl import Workbook

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
BOM = "\ufeff"
# A spreadsheet reads a cell starting with one of these as a formula (or a DDE call).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
# Characters xlsx cannot hold at all (openpyxl raises on them: one bad name broke the whole
# month's report) and that have no business in a CSV either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_cell(value: object) -> object:
    """A cell as an export writes it. Numbers stay numbers (-100 is a number, not a formula), and
    so does text that is only a number ("-12.34" yuan); text that would start a formula gets a
    leading apostrophe, which every spreadsheet shows as text; control characters become U+FFFD."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("\ufffd", value)
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in row]


def yuan(fen: int) -> str:
    """Exact yuan text from integer fen (no floats): -1234 -> '-12.34'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text line by line (for streaming); the first line carries the BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(safe_row(row))
        yield buffer.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    return "".join(csv_lines(header, rows)).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[object]], stamp: datetime) -> bytes:
    """One sheet; identical bytes for identical rows and stamp. Large tables use openpyxl's
    write-only mode, so memory stays flat."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(safe_row(header))
    for row in rows:
        sheet.append(safe_row(row))
    naive = stamp.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    workbook.properties.created = naive
    workbook.properties.modified = naive
    workbook.properties.creator = "gatepay"
    raw = io.BytesIO()
    workbook.save(raw)
    return _pin_zip(raw.getvalue(), naive)


def _pin_zip(data: bytes, stamp: datetime) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "docProps/core.xml":
                content = _pin_core_times(content, iso)
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, content)
    return out.getvalue()


def _pin_core_times(xml: bytes, iso: str) -> bytes:
    """openpyxl writes `modified` as the time of saving whatever was set; put the stamp back."""


    return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", lambda m: m.group(1) + iso.encode() + m.group(3), xml)
