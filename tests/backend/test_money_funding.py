"""core/funding.py: the split rule the backend and the terminal's offline decision share."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.wire import MAX_AMOUNT_FEN
from core.funding import OwnFunds, SubsidyPot, split_payment

NOW = datetime(2026, 3, 10, 4, 30, tzinfo=timezone.utc)  # 12:30 in Shanghai, lunch
MERCHANT = 7


def pot(pid: int, balance: int, **kw) -> SubsidyPot:  # noqa: ANN003
    return SubsidyPot(program_id=pid, kind=kw.pop("kind", "monthly"), balance_fen=balance, **kw)


def split(amount: int, order: str, pots: list[SubsidyPot], own: OwnFunds, meal: str | None = "lunch"):  # noqa: ANN201
    return split_payment(amount, order, pots, own, merchant_id=MERCHANT, meal_period=meal, now=NOW)


def as_pairs(decision) -> list[tuple]:  # noqa: ANN001
    return [(line.source, line.program_id, line.amount_fen) for line in decision.lines]


def test_subsidy_first_spends_subsidy_then_wallet() -> None:
    d = split(1500, "subsidy_first", [pot(1, 1000)], OwnFunds(wallet_fen=2000))
    assert d.approved
    assert as_pairs(d) == [("subsidy", 1, 1000), ("wallet", None, 500)]


def test_own_first_spends_wallet_then_subsidy_then_bank_card() -> None:
    d = split(1500, "own_first", [pot(1, 1000)], OwnFunds(wallet_fen=300, bank_card=True))
    assert as_pairs(d) == [("wallet", None, 300), ("subsidy", 1, 1000), ("bank_card", None, 200)]


def test_own_only_never_touches_subsidy() -> None:
    d = split(800, "own_only", [pot(1, 5000)], OwnFunds(wallet_fen=500))
    assert not d.approved and d.reason == "insufficient_funds"
    assert d.lines == ()


def test_subsidy_only_declines_rather_than_taking_own_money() -> None:
    d = split(800, "subsidy_only", [pot(1, 500)], OwnFunds(wallet_fen=10_000))
    assert not d.approved and d.reason == "insufficient_funds"


def test_subsidy_only_at_a_merchant_the_program_excludes_is_refused_with_that_reason() -> None:
    d = split(800, "subsidy_only", [pot(1, 5000, merchant_ids=frozenset({99}))], OwnFunds())
    assert (d.approved, d.reason) == (False, "subsidy_not_allowed_here")
    assert "补贴" in d.message_zh and "Subsidy" in d.message_en


def test_meal_period_restriction_and_caps() -> None:
    lunch_only = pot(1, 5000, kind="meal", meal_periods=frozenset({"lunch"}), per_meal_cap_fen=800)
    at_dinner = split(1000, "subsidy_first", [lunch_only], OwnFunds(wallet_fen=5000), meal="dinner")
    assert as_pairs(at_dinner) == [("wallet", None, 1000)]
    at_lunch = split(1000, "subsidy_first", [lunch_only], OwnFunds(wallet_fen=5000))
    assert as_pairs(at_lunch) == [("subsidy", 1, 800), ("wallet", None, 200)]


def test_daily_cap_counts_what_was_already_spent_today() -> None:
    p = pot(1, 5000, per_day_cap_fen=1500, spent_today_fen=1200)
    d = split(1000, "subsidy_only", [p], OwnFunds())
    assert (d.approved, d.reason) == (False, "subsidy_cap_reached")
    d = split(1000, "subsidy_first", [p], OwnFunds(wallet_fen=1000))
    assert as_pairs(d) == [("subsidy", 1, 300), ("wallet", None, 700)]


def test_expired_pot_is_not_used_and_soonest_expiry_is_spent_first() -> None:
    expired = pot(1, 5000, expires_at=NOW - timedelta(seconds=1))
    late = pot(2, 600, expires_at=NOW + timedelta(days=20))
    soon = pot(3, 600, kind="daily", expires_at=NOW + timedelta(hours=8))
    d = split(1000, "subsidy_first", [expired, late, soon], OwnFunds())
    assert as_pairs(d) == [("subsidy", 3, 600), ("subsidy", 2, 400)]


def test_order_of_pots_given_does_not_change_the_split() -> None:
    pots = [pot(5, 300), pot(2, 300, kind="meal"), pot(9, 300, kind="daily")]
    a = split(700, "subsidy_first", pots, OwnFunds())
    b = split(700, "subsidy_first", list(reversed(pots)), OwnFunds())
    assert as_pairs(a) == as_pairs(b) == [("subsidy", 2, 300), ("subsidy", 9, 300), ("subsidy", 5, 100)]


@pytest.mark.parametrize("bad", [0, -1, MAX_AMOUNT_FEN + 1, 1.5, True, "100"])
def test_bad_amount_is_a_programming_error(bad) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        split(bad, "subsidy_first", [], OwnFunds(wallet_fen=100))


# --- properties ----------------------------------------------------------------------------------

pots_strategy = st.lists(
    st.builds(
        SubsidyPot,
        program_id=st.integers(1, 50),
        kind=st.sampled_from(["monthly", "daily", "meal"]),
        balance_fen=st.integers(-100, 20_000),
        merchant_ids=st.frozensets(st.integers(6, 8), max_size=2),
        meal_periods=st.frozensets(st.sampled_from(["breakfast", "lunch", "dinner"]), max_size=2),
        per_meal_cap_fen=st.none() | st.integers(0, 5000),
        per_day_cap_fen=st.none() | st.integers(0, 10_000),
        spent_this_meal_fen=st.integers(0, 3000),
        spent_today_fen=st.integers(0, 8000),
        expires_at=st.none() | st.integers(-3600, 3600).map(lambda s: NOW + timedelta(seconds=s)),
    ),
    max_size=5, unique_by=lambda p: p.program_id,
)
own_strategy = st.builds(OwnFunds, wallet_fen=st.integers(-100, 50_000), bank_card=st.booleans(),
                         bank_card_limit_fen=st.none() | st.integers(0, 50_000))
orders = st.sampled_from(["subsidy_first", "subsidy_only", "own_only", "own_first"])


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(1, MAX_AMOUNT_FEN), order=orders, pots=pots_strategy, own=own_strategy,
       meal=st.none() | st.sampled_from(["breakfast", "lunch", "dinner"]))
def test_split_properties(amount: int, order: str, pots: list[SubsidyPot], own: OwnFunds, meal) -> None:  # noqa: ANN001
    d = split(amount, order, pots, own, meal=meal)
    if not d.approved:
        assert d.lines == () and d.reason and d.message_zh and d.message_en
        return
    # the split pays exactly the amount, with positive lines
    assert sum(line.amount_fen for line in d.lines) == amount
    assert all(line.amount_fen > 0 for line in d.lines)
    by_id = {p.program_id: p for p in pots}
    for line in d.lines:
        if line.source == "subsidy":
            p = by_id[line.program_id]
            # never more than the balance or what a cap leaves, only where and when allowed
            assert line.amount_fen <= p.balance_fen
            if p.per_meal_cap_fen is not None:
                assert line.amount_fen + p.spent_this_meal_fen <= p.per_meal_cap_fen
            if p.per_day_cap_fen is not None:
                assert line.amount_fen + p.spent_today_fen <= p.per_day_cap_fen
            assert p.usable_here(MERCHANT, meal, NOW)
        elif line.source == "wallet":
            assert line.amount_fen <= own.wallet_fen
        else:
            assert line.source == "bank_card" and own.bank_card
            if own.bank_card_limit_fen is not None:
                assert line.amount_fen <= own.bank_card_limit_fen
    sources = [line.source for line in d.lines]
    if order == "subsidy_only":
        assert set(sources) == {"subsidy"}
    if order == "own_only":
        assert "subsidy" not in sources
    if order == "subsidy_first" and "wallet" in sources:
        # own money is touched only once every usable subsidy is spent down to its room
        used = sum(line.amount_fen for line in d.lines if line.source == "subsidy")
        assert used == sum(p.available_fen() for p in pots if p.usable_here(MERCHANT, meal, NOW))
    if order == "own_first" and "subsidy" in sources:
        assert own.wallet_fen <= 0 or ("wallet", None, max(own.wallet_fen, 0)) in as_pairs(d)
    # at most one line per source/program: a split is easy to refund line by line
    assert len({(line.source, line.program_id) for line in d.lines}) == len(d.lines)


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(1, 100_000), order=orders, pots=pots_strategy, own=own_strategy)
def test_split_is_deterministic(amount: int, order: str, pots: list[SubsidyPot], own: OwnFunds) -> None:
    a = split(amount, order, pots, own)
    b = split(amount, order, list(reversed(pots)), own)
    assert a == b
