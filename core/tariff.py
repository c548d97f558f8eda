"""The parking tariff engine: pure functions, no I/O. Money is integer fen.

How a fee is computed (the rules a car park operator writes on the sign at the entrance):

1. A stay no longer than `free_minutes` is free. Longer stays are billed from the entry time,
   or from entry + free minutes when `free_minutes_deducted` is set (免费时长抵扣).
2. Billing time is cut into units laid end to end. The first unit is the "first period" of the
   band (day or night) it starts in; every later unit is one "later period" of the band *it*
   starts in. A started unit is a whole unit (a car that stays 61 minutes pays two hours).
3. A band may cap what one stretch of it costs (e.g. "night 19:00-07:00 at most 10 yuan").
4. The daily cap limits what one day costs: a calendar day in the site's time zone, or each
   24 hours from entry (`daily_cap_window`). A unit belongs to the day its start falls in.
5. The session cap limits the whole stay.
Units are charged in time order and each cap only takes what is left under it, so a longer
stay never costs less than a shorter one from the same entry, and no cap is ever exceeded.

Different vehicle types / plate colours may have their own tariff (`SiteTariffs.pick`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.wire import Text

MAX_FEE_FEN = 1_000_000          # core.wire.MAX_AMOUNT_FEN: one payment never exceeds 10,000 yuan
MAX_BILLED_DAYS = 400            # a longer stay is a data error, not a parking fee

PlateColour = Literal["blue", "yellow", "green", "white", "black", "yellow_green"]
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandRates(_Config):
    """Rates of one band of the day (day or night)."""
    first_period_minutes: int = Field(60, ge=0, le=1440, title="First period (minutes)",
                                      description="Length of the first period when the stay starts "
                                                  "in this band; 0 = no separate first period")
    first_period_fen: int = Field(500, ge=0, le=MAX_FEE_FEN, title="First period price (fen)",
                                  description="Price of the first period")
    unit_minutes: int = Field(60, ge=1, le=1440, title="Later period (minutes)",
                              description="Length of each later period; a started period counts whole")
    unit_fen: int = Field(200, ge=0, le=MAX_FEE_FEN, title="Later period price (fen)",
                          description="Price of each later period")
    band_cap_fen: int | None = Field(None, ge=0, le=MAX_FEE_FEN, title="Cap per stretch (fen)",
                                     description="At most this much for one uninterrupted stretch "
                                                 "of this band (e.g. one night); None = no cap")


class Tariff(_Config):
    """One tariff: free minutes, day and night rates, caps."""
    name: Text(40) = Field("standard", title="Name",
                      description="Shown on the admin screen and receipts")
    free_minutes: int = Field(15, ge=0, le=1440, title="Free minutes",
                              description="A stay this long or shorter is free")
    free_minutes_deducted: bool = Field(False, title="Deduct free minutes",
                                        description="True: a longer stay is billed after the free "
                                                    "minutes; False: billed from entry")
    day: BandRates = Field(default_factory=BandRates, title="Day rates",
                           description="Rates between day_start and day_end")
    night: BandRates | None = Field(None, title="Night rates",
                                    description="Rates outside day_start..day_end; None = day rates all day")
    day_start: str = Field("07:00", pattern=_HHMM, title="Day starts", description="Local time HH:MM")
    day_end: str = Field("19:00", pattern=_HHMM, title="Day ends", description="Local time HH:MM")
    timezone: str = Field("Asia/Shanghai", max_length=64, title="Time zone",
                          description="The car park's time zone (IANA name)")
    daily_cap_fen: int | None = Field(None, ge=0, le=MAX_FEE_FEN, title="Daily cap (fen)",
                                      description="At most this much per day; None = no daily cap")
    daily_cap_window: Literal["calendar_day", "rolling_24h"] = Field(
        "calendar_day", title="Daily cap window",
        description="calendar_day: per local calendar day; rolling_24h: per 24 h from entry")
    session_cap_fen: int | None = Field(None, ge=0, le=MAX_FEE_FEN, title="Session cap (fen)",
                                        description="At most this much for one stay; None = no cap")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @model_validator(mode="after")
    def _day_is_a_window(self) -> "Tariff":
        if self.night is not None and self.day_start == self.day_end:
            raise ValueError("day_start equals day_end: with night rates the day needs a length")
        return self


class SiteTariffs(_Config):
    """The tariffs of one car park and which vehicles they apply to."""
    default: Tariff = Field(default_factory=Tariff, title="Default tariff",
                            description="Applies when no vehicle type or plate colour rule matches")
    by_vehicle_type: dict[str, Tariff] = Field(default_factory=dict, max_length=16,
                                               title="Tariff by vehicle type",
                                               description="e.g. small / large / motorcycle; wins over colour")
    by_plate_colour: dict[PlateColour, Tariff] = Field(default_factory=dict, title="Tariff by plate colour",
                                                       description="e.g. yellow (large vehicles), green (new energy)")

    def pick(self, plate_colour: str | None = None, vehicle_type: str | None = None) -> Tariff:
        if vehicle_type and vehicle_type in self.by_vehicle_type:
            return self.by_vehicle_type[vehicle_type]
        if plate_colour and plate_colour in self.by_plate_colour:
            return self.by_plate_colour[plate_colour]  # type: ignore[index]
        return self.default


@dataclass(frozen=True)
class Fee:
    """The fee of one stay and how it came about (for the receipt and the admin screen)."""
    fee_fen: int
    billed_minutes: int       # rounded-up minutes from entry (or end of free time) to exit
    units: int                # periods started, first period included
    free: bool                # within the free minutes
    capped: bool              # some cap took something off


def _parse_hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


class _Clock:
    """Local-time questions about one tariff: which band an instant is in, which stretch, which day."""

    def __init__(self, tariff: Tariff):
        self.zone = ZoneInfo(tariff.timezone)
        self.day_start = _parse_hhmm(tariff.day_start)
        self.day_end = _parse_hhmm(tariff.day_end)
        self.has_night = tariff.night is not None

    def is_day(self, local: datetime) -> bool:
        if not self.has_night:
            return True
        t = local.time()
        if self.day_start < self.day_end:
            return self.day_start <= t < self.day_end
        return t >= self.day_start or t < self.day_end   # a "day" that wraps midnight

    def stretch(self, local: datetime) -> tuple[bool, date]:
        """(is_day, the local date the stretch began on): one night spans two dates."""
        is_day = self.is_day(local)
        begins = self.day_start if is_day else self.day_end
        d = local.date()
        if self.has_night and local.time() < begins:
            d -= timedelta(days=1)
        return is_day, d


def compute_fee(tariff: Tariff, entered_at: datetime, exited_at: datetime) -> Fee:
    """The fee for a stay from `entered_at` to `exited_at` (aware datetimes)."""
    if entered_at.tzinfo is None or exited_at.tzinfo is None:
        raise ValueError("entry and exit times must carry a time zone")
    if exited_at < entered_at:
        raise ValueError("exit is before entry")
    stay = exited_at - entered_at
    if stay > timedelta(days=MAX_BILLED_DAYS):
        raise ValueError(f"stay longer than {MAX_BILLED_DAYS} days")
    if stay <= timedelta(minutes=tariff.free_minutes):
        return Fee(0, 0, 0, free=True, capped=False)
    start = entered_at + timedelta(minutes=tariff.free_minutes if tariff.free_minutes_deducted else 0)
    billed = exited_at - start
    billed_minutes = -(-int(billed.total_seconds()) // 60)

    clock = _Clock(tariff)
    total = units = 0
    capped = False
    per_stretch: dict[tuple[bool, date], int] = {}
    per_day: dict[object, int] = {}
    at = start
    while at < exited_at:
        local = at.astimezone(clock.zone)
        key = clock.stretch(local)
        band = tariff.day if key[0] else tariff.night
        assert band is not None
        first = units == 0 and band.first_period_minutes > 0
        length = band.first_period_minutes if first else band.unit_minutes
        price = band.first_period_fen if first else band.unit_fen
        units += 1
        charge = price
        if band.band_cap_fen is not None:
            charge = min(charge, band.band_cap_fen - per_stretch.get(key, 0))
        day_key: object = (local.date() if tariff.daily_cap_window == "calendar_day"
                           else (at - entered_at) // timedelta(hours=24))
        if tariff.daily_cap_fen is not None:
            charge = min(charge, tariff.daily_cap_fen - per_day.get(day_key, 0))
        if tariff.session_cap_fen is not None:
            charge = min(charge, tariff.session_cap_fen - total)
        charge = max(charge, 0)
        capped = capped or charge < price
        per_stretch[key] = per_stretch.get(key, 0) + charge
        per_day[day_key] = per_day.get(day_key, 0) + charge
        total += charge
        if tariff.session_cap_fen is not None and total >= tariff.session_cap_fen:
            # Nothing more can be charged; count the remaining units without pricing them.
            capped = True
            break
        at += timedelta(minutes=length)
    return Fee(min(total, MAX_FEE_FEN), billed_minutes, units, free=False, capped=capped)
