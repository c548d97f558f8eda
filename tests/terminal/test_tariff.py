"""The tariff engine: examples an operator can check on a calculator, and properties over any tariff."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from core.tariff import BandRates, SiteTariffs, Tariff, compute_fee

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=SH)


def fee(t: Tariff, a: datetime, b: datetime) -> int:
    return compute_fee(t, a, b).fee_fen


# "15 minutes free; first hour 5 yuan, then 2 yuan per started hour."
SIMPLE = Tariff(free_minutes=15, day=BandRates(first_period_minutes=60, first_period_fen=500,
                                               unit_minutes=60, unit_fen=200))


def test_simple_sign_at_the_gate():
    assert fee(SIMPLE, at(1, 9), at(1, 9, 10)) == 0          # dropped someone off
    assert fee(SIMPLE, at(1, 9), at(1, 9, 15)) == 0          # exactly the free time
    assert fee(SIMPLE, at(1, 9), at(1, 9, 16)) == 500        # billed from entry, first hour
    assert fee(SIMPLE, at(1, 9), at(1, 10)) == 500
    assert fee(SIMPLE, at(1, 9), at(1, 10, 1)) == 700        # a started hour is a whole hour
    assert fee(SIMPLE, at(1, 9), at(1, 12)) == 900


def test_free_minutes_deducted_bills_only_the_time_after_them():
    t = SIMPLE.model_copy(update={"free_minutes": 30, "free_minutes_deducted": True})
    assert fee(t, at(1, 9), at(1, 10, 30)) == 500            # 90 min stay, 60 min billed
    assert fee(t, at(1, 9), at(1, 10, 31)) == 700


# "Day 07:00-19:00: first hour 5 yuan, then 2 yuan/h. Night: 1 yuan per 2 hours, at most 3 yuan a night."
DAY_NIGHT = Tariff(free_minutes=0,
                   day=BandRates(first_period_minutes=60, first_period_fen=500, unit_minutes=60, unit_fen=200),
                   night=BandRates(first_period_minutes=0, first_period_fen=0, unit_minutes=120,
                                   unit_fen=100, band_cap_fen=300))


def test_evening_stay_switches_to_night_rates_at_the_boundary():
    # 18:00 first hour (day) 5.00; 19:00, 21:00, 23:00 night units 1.00 each
    assert fee(DAY_NIGHT, at(1, 18), at(1, 23, 30)) == 800


def test_night_cap_applies_per_night_across_midnight():
    # 19:00 .. 07:00 is 6 night units = 6.00, capped at 3.00; then 07:00 day hour: first period
    # was not used yet? It was not: the stay started at night, whose first period is 0 minutes,
    # so the 07:00 unit is a later day period at 2.00.
    assert fee(DAY_NIGHT, at(1, 19), at(2, 7, 30)) == 300 + 200
    # two nights and the day between: 3.00 + (07:00..19:00: 12 later hours 24.00) + 3.00
    assert fee(DAY_NIGHT, at(1, 19), at(3, 6)) == 300 + 2400 + 300


def test_morning_entry_starts_in_day_band_after_night_ends():
    # the 06:00 night unit runs two hours, to 08:00: a unit is priced by the band it starts in
    assert fee(DAY_NIGHT, at(1, 6), at(1, 8)) == 100
    # the next unit is a later day hour (the stay's first period was the night's, which has none)
    assert fee(DAY_NIGHT, at(1, 6), at(1, 8, 1)) == 100 + 200
    assert fee(DAY_NIGHT, at(1, 7), at(1, 8)) == 500


# "First hour 5 yuan, then 3 yuan/h, at most 10 yuan a day."
CAPPED = Tariff(free_minutes=0, daily_cap_fen=1000,
                day=BandRates(first_period_minutes=60, first_period_fen=500, unit_minutes=60, unit_fen=300))


def test_calendar_day_cap_starts_again_at_midnight():
    # 20:00..24:00 = 5.00+3.00+3.00+3.00 = 14.00 -> 10.00; 00:00..03:00 = 9.00
    assert fee(CAPPED.model_copy(update={"daily_cap_fen": None}), at(1, 20), at(2, 3)) == 2300
    assert fee(CAPPED, at(1, 20), at(2, 3)) == 1900


def test_rolling_24h_cap_counts_from_entry():
    rolling = CAPPED.model_copy(update={"daily_cap_window": "rolling_24h"})
    assert fee(rolling, at(1, 20), at(2, 3)) == 1000
    # 09:00 on the 1st to 02:00 on the 3rd: calendar days 1st, 2nd (capped) and 00:00-02:00 on
    # the 3rd (6.00); rolling windows 09:00-09:00 (capped) and 09:00 on the 2nd onwards (capped)
    assert fee(CAPPED, at(1, 9), at(3, 2)) == 1000 + 1000 + 600
    assert fee(rolling, at(1, 9), at(3, 2)) == 2000


def test_session_cap():
    t = CAPPED.model_copy(update={"session_cap_fen": 2500})
    assert fee(t, at(1, 9), at(8, 9)) == 2500
    assert compute_fee(t, at(1, 9), at(8, 9)).capped


def test_utc_input_is_billed_in_the_site_time_zone():
    # 11:00 UTC is 19:00 in Shanghai: the night band
    utc_entry = datetime(2026, 11, 1, 11, 0, tzinfo=timezone.utc)
    assert fee(DAY_NIGHT, utc_entry, utc_entry + timedelta(hours=2)) == 100


def test_tariff_by_vehicle_type_and_plate_colour():
    big = SIMPLE.model_copy(update={"name": "large"})
    green = SIMPLE.model_copy(update={"name": "new energy", "free_minutes": 120})
    site = SiteTariffs(default=SIMPLE, by_vehicle_type={"large": big}, by_plate_colour={"green": green})
    assert site.pick("blue").name == SIMPLE.name
    assert site.pick("green").name == "new energy"
    assert site.pick("green", vehicle_type="large").name == "large"
    assert fee(site.pick("green"), at(1, 9), at(1, 11)) == 0


def test_bad_config_fails_with_the_field_name():
    with pytest.raises(ValidationError, match="free_minutes"):
        Tariff(free_minutes=-1)
    with pytest.raises(ValidationError, match="day_start"):
        Tariff(day_start="25:00")
    with pytest.raises(ValidationError, match="extra"):
        Tariff.model_validate({"free_minuts": 10})
    with pytest.raises(ValidationError, match="time zone"):
        Tariff(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unit_fen"):
        BandRates(unit_fen=1.5)  # type: ignore[arg-type]


def test_bad_times_are_refused():
    with pytest.raises(ValueError, match="before entry"):
        compute_fee(SIMPLE, at(1, 10), at(1, 9))
    with pytest.raises(ValueError, match="time zone"):
        compute_fee(SIMPLE, datetime(2026, 11, 1, 9), at(1, 10))


# --- properties over any tariff ---------------------------------------------------------------

bands = st.builds(BandRates,
                  first_period_minutes=st.integers(0, 180), first_period_fen=st.integers(0, 2000),
                  unit_minutes=st.integers(1, 180), unit_fen=st.integers(0, 1000),
                  band_cap_fen=st.none() | st.integers(0, 3000))
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def tariffs(draw: st.DrawFn) -> Tariff:
    start, end = draw(hhmm), draw(hhmm)
    night = draw(st.none() | bands) if start != end else None
    return Tariff(free_minutes=draw(st.integers(0, 60)), free_minutes_deducted=draw(st.booleans()),
                  day=draw(bands), night=night, day_start=start, day_end=end,
                  daily_cap_fen=draw(st.none() | st.integers(0, 10000)),
                  daily_cap_window=draw(st.sampled_from(["calendar_day", "rolling_24h"])),
                  session_cap_fen=draw(st.none() | st.integers(0, 30000)))


entries = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                       timezones=st.just(SH))
stays = st.integers(0, 3 * 24 * 60 * 60)   # seconds, up to three days


@settings(max_examples=300, deadline=None)
@given(tariffs(), entries, stays, stays)
def test_fee_never_decreases_as_time_grows(t: Tariff, entry: datetime, a: int, b: int):
    short, long_ = sorted((a, b))
    assert fee(t, entry, entry + timedelta(seconds=short)) <= fee(t, entry, entry + timedelta(seconds=long_))


@settings(max_examples=300, deadline=None)
@given(tariffs(), entries, stays)
def test_fee_never_exceeds_the_caps(t: Tariff, entry: datetime, stay: int):
    exit_ = entry + timedelta(seconds=stay)
    f = fee(t, entry, exit_)
    assert f >= 0
    if t.session_cap_fen is not None:
        assert f <= t.session_cap_fen
    if t.daily_cap_fen is not None:
        if t.daily_cap_window == "calendar_day":
            days = (exit_.date() - entry.date()).days + 1
        else:
            days = -(-stay // 86400) or 1
        assert f <= t.daily_cap_fen * days


@settings(max_examples=200, deadline=None)
@given(tariffs(), entries, st.integers(0, 60 * 60))
def test_free_minutes_are_free(t: Tariff, entry: datetime, stay: int):
    if stay <= t.free_minutes * 60:
        assert compute_fee(t, entry, entry + timedelta(seconds=stay)).free
        assert fee(t, entry, entry + timedelta(seconds=stay)) == 0


@settings(max_examples=200, deadline=None)
@given(bands, hhmm, hhmm, entries, stays)
def test_day_and_night_boundaries_add_nothing_when_rates_are_equal(b: BandRates, start: str, end: str,
                                                                   entry: datetime, stay: int):
    """Crossing 19:00, 07:00 or midnight changes nothing if night costs what day costs (no caps)."""
    b = b.model_copy(update={"band_cap_fen": None})
    plain = Tariff(free_minutes=0, day=b)
    if start == end:
        return
    banded = Tariff(free_minutes=0, day=b, night=b, day_start=start, day_end=end)
    exit_ = entry + timedelta(seconds=stay)
    assert fee(banded, entry, exit_) == fee(plain, entry, exit_)


@settings(max_examples=200, deadline=None)
@given(bands, entries, stays, st.integers(1, 23))
def test_without_bands_or_daily_cap_the_clock_time_of_entry_does_not_matter(b: BandRates, entry: datetime,
                                                                           stay: int, shift_h: int):
    t = Tariff(free_minutes=10, day=b.model_copy(update={"band_cap_fen": None}))
    moved = entry + timedelta(hours=shift_h)
    assert fee(t, entry, entry + timedelta(seconds=stay)) == fee(t, moved, moved + timedelta(seconds=stay))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3000), entries, stays)
def test_a_stay_within_one_night_never_costs_more_than_the_night_cap(cap: int, entry: datetime, stay: int):
    night = BandRates(first_period_minutes=0, first_period_fen=0, unit_minutes=30, unit_fen=150, band_cap_fen=cap)
    t = Tariff(free_minutes=0, night=night, day_start="07:00", day_end="19:00")
    local = entry.astimezone(SH)
    night_start = local.replace(hour=19, minute=0, second=0, microsecond=0)
    if local.hour < 7:
        night_start -= timedelta(days=1)
    elif local.hour < 19:
        return  # entry in daytime: not this property
    night_end = night_start + timedelta(hours=12)
    exit_ = min(entry + timedelta(seconds=stay), night_end)
    assert fee(t, entry, exit_) <= cap
