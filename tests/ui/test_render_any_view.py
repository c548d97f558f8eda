"""Whatever the core publishes — odd names, huge or negative amounts, missing fields, unknown
codes — a screen renders it without crashing, and every amount it shows is the exact yuan of the
integer fen it was given."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import format_yuan
from terminal.state import CanteenView, MealPeriodView, ParkingView, PaymentOutcome, SyncStatus
from ui.canteen import CanteenScreen
from ui.i18n import Translator
from ui.parking import ParkingScreen

fen = st.integers(min_value=-10**9, max_value=10**12)
text = st.text(max_size=60)
maybe_text = st.none() | text
moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                      timezones=st.just(timezone(timedelta(hours=8))))
syncs = st.builds(SyncStatus, online=st.booleans(), queue_depth=st.integers(0, 10**7),
                  clock_skew_s=st.none() | st.floats(-1e6, 1e6), last_error=maybe_text)
outcomes = st.builds(PaymentOutcome, payment_id=text, status=st.sampled_from(["approved", "declined", "already_paid"]),
                     amount_fen=fen, method=st.sampled_from(["face", "card", "paycode", "plate", "??"]), at=moment,
                     subsidy_fen=fen, own_fen=fen, masked_name=maybe_text,
                     wallet_balance_fen=st.none() | fen, subsidy_balance_fen=st.none() | fen, reason=maybe_text,
                     message_zh=text, message_en=text, offline=st.booleans(), paid_at=st.none() | moment)
periods = st.none() | st.builds(MealPeriodView, code=text, name_zh=text, name_en=text, price_fen=st.none() | fen)
canteen_views = st.builds(CanteenView, phase=st.sampled_from(["idle", "recognising", "paid", "declined",
                                                              "already_paid", "closed"]),
                          meal_period=periods, sync=syncs, prompt=maybe_text, outcome=st.none() | outcomes,
                          keyed_amount_fen=st.none() | fen)
parking_views = st.builds(ParkingView, phase=st.sampled_from(["idle", "entry_open", "entry_refused", "exit_quote",
                                                              "exit_paid", "exit_free", "exit_refused",
                                                              "barrier_opening"]),
                          lane_id=st.none() | st.integers(0, 10**6), direction=st.sampled_from(["entry", "exit"]),
                          sync=syncs, plate=maybe_text, plate_colour=maybe_text, image_ref=maybe_text,
                          entered_at=st.none() | moment, duration_s=st.none() | st.integers(-10**6, 10**9),
                          fee_fen=st.none() | fen, qr_text=st.none() | st.text(min_size=1, max_size=300),
                          pay_kind=st.none() | st.sampled_from(["member", "contactless", "qr", "paycode",
                                                                "free_by_attendant"]),
                          outcome=st.none() | outcomes, message_zh=text, message_en=text)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(view=canteen_views, language=st.sampled_from(["zh_CN", "en"]))
def test_canteen_screen_renders_any_view(qtbot, view, language) -> None:  # noqa: ANN001
    screen = CanteenScreen(Translator(language))
    qtbot.addWidget(screen)
    screen.render(view)
    shown = screen.amount.text()
    if view.phase in ("paid", "already_paid") and view.outcome is not None:
        assert shown == "¥" + format_yuan(view.outcome.amount_fen)


@SETTINGS
@given(view=parking_views, language=st.sampled_from(["zh_CN", "en"]))
def test_parking_screen_renders_any_view(qtbot, view, language) -> None:  # noqa: ANN001
    screen = ParkingScreen(Translator(language))
    qtbot.addWidget(screen)
    screen.resize(800, 480)
    screen.render(view)
    if view.phase == "exit_quote" and view.fee_fen is not None:
        assert screen.amount.text() == "¥" + format_yuan(view.fee_fen)
