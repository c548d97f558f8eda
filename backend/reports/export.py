"""Tables to CSV and xlsx bytes, the same bytes every time for the same rows.

xlsx is a zip of XML parts: openpyxl stamps the document properties with the time of writing and
zipfile stamps every member with the clock, so both are pinned here (to `stamp`) and the parts
rewritten in a fixed order. CSV is UTF-8 with a BOM (Excel in a Chinese locale then opens it
right), CRLF line ends as RFC 4180 says.
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


def yuan(fen: int) -> str:
    """Exact yuan text from integer fen (no floats): -1234 -> '-12.34'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text line by line (for streaming); the first line carries the BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    return "".join(csv_lines(header, rows)).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[object]], stamp: datetime) -> bytes:
    """One sheet; identical bytes for identical rows and stamp. Large tables use openpyxl's
    write-only mode, so memory stays flat."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
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
