"""How the console shows things: times in the merchant's (or site's) zone, names instead of ids,
amounts in 元 under labels that say so, account numbers and plates masked."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models.merchants import Lane, Merchant, Site
from backend.models.terminals import Terminal
from backend.web.texts import Bi
from core.money import format_yuan

DEFAULT_ZONE = "Asia/Shanghai"
# Column labels of amounts: the unit is in the label, the cells are plain numbers ("12.50").
AMOUNT = Bi("金额（元）", "Amount (yuan)")


def yuan_label(zh: str, en: str) -> Bi:
    """A column or field label for an amount: "单价（元）Price (yuan)"."""
    return Bi(f"{zh}（元）", f"{en} (yuan)")


def yuan(value: int | None) -> str:
    """Integer fen as yuan for a cell under a (元) label: 1250 -> "12.50"; None -> ""."""
    return "" if value is None else format_yuan(value)


def local_time(value: datetime | None, zone: str | None = DEFAULT_ZONE, *, seconds: bool = False) -> str:
    """An instant as the wall clock of `zone` ("2026-03-10 12:05"); naive values are UTC."""
    if value is None:
        return ""
    try:
        tz = ZoneInfo(zone or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_ZONE)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def mask_account(number: str | None) -> str:
    """A settlement account as a page shows it: 6222********1234 (never in full)."""
    if not number:
        return ""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "****"


def mask_plate(plate: str | None) -> str:
    """京A12345 -> 京A***45, as the customers page and receipts show plates."""
    return "" if not plate else plate[:2] + "*" * max(len(plate) - 4, 0) + plate[-2:]


class Names:
    """Names for the ids a page lists, loaded once per page (one query per kind).

        names = Names(session)
        names.merchant(3) -> "一食堂"; names.site(5); names.lane(2); names.terminal(9)
        names.zone(merchant_id=3) -> "Asia/Shanghai"
    An id with no row shows as "#id" (a row deleted since, or not visible)."""

    def __init__(self, session: Session):
        self._session = session
        self._cache: dict[type, dict[int, object]] = {}

    def _rows(self, model: type) -> dict[int, object]:
        if model not in self._cache:
            self._cache[model] = {row.id: row for row in self._session.scalars(select(model))}
        return self._cache[model]

    def _name(self, model: type, ident: int | None) -> str:
        if ident is None:
            return ""
        row = self._rows(model).get(ident)
        return row.name if row is not None else f"#{ident}"

    def merchant(self, ident: int | None) -> str:
        return self._name(Merchant, ident)

    def site(self, ident: int | None) -> str:
        return self._name(Site, ident)

    def lane(self, ident: int | None) -> str:
        return self._name(Lane, ident)

    def terminal(self, ident: int | None) -> str:
        return self._name(Terminal, ident)

    def zone(self, *, merchant_id: int | None = None, site_id: int | None = None) -> str:
        """The time zone to show a row's times in: the site's, else the merchant's."""
        site = self._rows(Site).get(site_id) if site_id is not None else None
        if site is not None:
            return site.timezone
        merchant = self._rows(Merchant).get(merchant_id) if merchant_id is not None else None
        return merchant.timezone if merchant is not None else DEFAULT_ZONE
