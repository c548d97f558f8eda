"""Member passes: renewal dates an operator would write on the receipt, and charging at the exit."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.members import (MONTHLY, QUARTERLY, MemberPass, add_months, charge_for_stay,
                              is_valid_at, renew)
from core.tariff import BandRates, Tariff, compute_fee

SH = ZoneInfo("Asia/Shanghai")
TARIFF = Tariff(free_minutes=15, day=BandRates(first_period_minutes=60, first_period_fen=500,
                                               unit_minutes=60, unit_fen=200))


def at(y: int, mo: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, mo, d, hh, mm, tzinfo=SH)


def test_new_monthly_pass_runs_to_the_day_before_the_same_day_next_month():
    p = renew(None, MONTHLY, date(2026, 11, 10), site_id=1, plate="京A12345")
    assert (p.valid_from, p.valid_to) == (date(2026, 11, 10), date(2026, 12, 9))


def test_renewal_before_expiry_extends_from_the_current_end():
    p = renew(None, MONTHLY, date(2026, 1, 1), 1, "京A12345")
    assert p.valid_to == date(2026, 1, 31)
    p = renew(p, MONTHLY, date(2026, 1, 20), 1, "京A12345")      # paid early: no day lost
    assert (p.valid_from, p.valid_to) == (date(2026, 1, 1), date(2026, 2, 28))
    p = renew(p, QUARTERLY, date(2026, 2, 27), 1, "京A12345")
    assert p.valid_to == date(2026, 5, 31)                       # month ends stay month ends


def test_renewal_after_a_lapse_starts_today():
    p = renew(None, MONTHLY, date(2026, 1, 1), 1, "京A12345")
    p = renew(p, MONTHLY, date(2026, 3, 15), 1, "京A12345")
    assert (p.valid_from, p.valid_to) == (date(2026, 3, 15), date(2026, 4, 14))


def test_renewal_refuses_another_plate():
    p = renew(None, MONTHLY, date(2026, 1, 1), 1, "京A12345")
    with pytest.raises(ValueError):
        renew(p, MONTHLY, date(2026, 1, 2), 1, "京B00001")


def test_valid_on_whole_local_days():
    p = renew(None, MONTHLY, date(2026, 11, 1), 1, "京A12345")        # to 2026-11-30
    assert is_valid_at(p, at(2026, 11, 30, 23, 59), SH)
    assert not is_valid_at(p, at(2026, 12, 1, 0, 0), SH)
    assert not is_valid_at(MemberPass(1, "京A12345", "monthly", p.valid_from, p.valid_to, "suspended"),
                           at(2026, 11, 5), SH)


def test_member_inside_the_pass_leaves_free():
    p = renew(None, MONTHLY, date(2026, 11, 1), 1, "京A12345")
    c = charge_for_stay(p, TARIFF, at(2026, 11, 5, 8), at(2026, 11, 5, 18))
    assert (c.fee_fen, c.covered, c.note) == (0, True, "member")


def test_pass_expired_while_inside_charges_only_the_time_after_expiry():
    p = renew(None, MONTHLY, date(2026, 11, 1), 1, "京A12345")        # ends 2026-12-01 00:00
    c = charge_for_stay(p, TARIFF, at(2026, 11, 30, 20), at(2026, 12, 1, 2, 30))
    # 00:00 .. 02:30: first hour 5.00 + two started hours 4.00 (not the 6.5 h stay: 15.00)
    assert (c.fee_fen, c.note, c.charged_from) == (900, "expired_inside", at(2026, 12, 1))
    short = charge_for_stay(p, TARIFF, at(2026, 11, 30, 20), at(2026, 12, 1, 0, 10))
    assert short.fee_fen == 0                                         # within the free minutes


def test_no_pass_or_unrelated_pass_pays_the_tariff():
    entry, exit_ = at(2026, 11, 5, 8), at(2026, 11, 5, 10)
    assert charge_for_stay(None, TARIFF, entry, exit_).fee_fen == 700
    old = renew(None, MONTHLY, date(2026, 1, 1), 1, "京A12345")
    assert charge_for_stay(old, TARIFF, entry, exit_).note == "not_member"


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2025, 1, 1), date(2028, 12, 31)), st.integers(1, 12))
def test_month_arithmetic_never_skips_or_overlaps(d: date, n: int):
    """Chained renewals tile the calendar: each new period starts the day after the last ended."""
    p = renew(None, MONTHLY, d, 1, "京A12345")
    for _ in range(n):
        nxt = renew(p, MONTHLY, p.valid_to, 1, "京A12345")
        assert nxt.valid_to > p.valid_to
        assert 28 <= (nxt.valid_to - p.valid_to).days <= 31
        p = nxt
    assert add_months(d, 12).year == d.year + 1


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(-3 * 86400, 3 * 86400),
       st.integers(0, 3 * 86400))
def test_a_member_never_pays_more_than_a_stranger(start: date, offset_s: int, stay_s: int):
    p = renew(None, MONTHLY, start, 1, "京A12345")
    entry = datetime.combine(start, datetime.min.time(), tzinfo=SH) + timedelta(seconds=offset_s)
    exit_ = entry + timedelta(seconds=stay_s)
    member = charge_for_stay(p, TARIFF, entry, exit_).fee_fen
    assert 0 <= member <= compute_fee(TARIFF, entry, exit_).fee_fen
