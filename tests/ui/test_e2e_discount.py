"""A campaign's discount and an offer from habits, end to end: the real backend process on loopback
(the sync tests' canteen rig), the running terminal (terminal.runner.Runner with a simulated
speaker) and the kiosk offscreen. The bank runs an instant 3.00 reduction at the canteen; a diner
pays the 5.00 lunch by face. The kiosk shows the 2.00 paid big with the price and the discount
under it, the speaker says two yuan (not five), the wallet loses 2.00, and the shift still
balances with the backend, which counts the price. A diner with a lunch habit gets a coupon from
the backend in the payment's answer, and the kiosk shows it under the camera. Offline, the
discount from the terminal's budget slice is shown the same way and booked as shown."""
from __future__ import annotations

import io
from functools import partialmethod
from datetime import date, timedelta
import pytest
from backend.models.campaigns import Campaign
from backend.models.payments import Payment
from backend.services.campaign_slices import allow_offline
from hardware.events import FaceMatched
from terminal.app import TerminalCore
from terminal.demo.backend_process import BackendProcess
from terminal.runner import Runner
from terminal.store import load_data_key
from tests.backend.campaign_helpers import campaign
from tests.sync.faults import FaultTransport
from tests.sync.rig import Canteen
from tests.terminal.helpers import PIN
from tests.ui.helpers import show
from ui.bridge import CoreBridge
from ui.kiosk import OFFER_SHOW_MS, KioskWindow


@pytest.fixture(scope="module")
def canteen(tmp_path_factory):  # noqa: ANN001, ANN201
    with pytest.MonkeyPatch.context() as patch:   # a loaded test machine may take over 30 s to start it
        patch.setattr(BackendProcess, "start", partialmethod(BackendProcess.start, timeout=180))
        site = Canteen(tmp_path_factory.mktemp("backend"))
    yield site
    site.close()


def _runner(canteen: Canteen, data_dir) -> Runner:  # noqa: ANN001
    """The terminal as `gatepay terminal` runs it, registered at the backend, its cache pulled,
    with a simulated speaker that records what it says."""
    canteen.terminal(data_dir, key=load_data_key(data_dir)).close()       # register and pull once
    devices = [{"type": "voice", "name": "speaker", "simulated": True}]
    return Runner(canteen.core_config(data_dir, devices=devices), out=io.StringIO())


def _kiosk(qtbot, tr, core: TerminalCore) -> KioskWindow:  # noqa: ANN001
    window = show(qtbot, KioskWindow(CoreBridge(core), tr, "canteen"))
    window.bridge.attach()
    qtbot.waitUntil(lambda: window.screen_widget.view is not None)
    return window


def _pay(qtbot, window: KioskWindow, core: TerminalCore, customer_id: int):  # noqa: ANN001, ANN202
    core.handle_event(FaceMatched(customer_id=customer_id, distance=0.3, margin=0.2, liveness="passed",
                                  at=core.clock.now()))
    qtbot.waitUntil(lambda: window.screen_widget.view.phase == "paid", timeout=15000)
    return window.screen_widget.view.outcome


def test_the_kiosk_and_the_speaker_give_the_paid_amount_after_a_discount(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    camp = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    cid = canteen.diner(wallet_fen=10_000)
    runner = _runner(canteen, tmp_path / "t1")
    try:
        window = _kiosk(qtbot, tr, runner.core)
        outcome = _pay(qtbot, window, runner.core, cid)
        assert (outcome.price_fen, outcome.discount_fen, outcome.paid_fen) == (500, 300, 200)
        assert (outcome.subsidy_fen, outcome.own_fen, outcome.wallet_balance_fen) == (0, 200, 9_800)
        assert (outcome.message_zh, outcome.message_en) == ("支付成功 2.00 元（优惠 3.00 元）",
                                                            "Paid 2.00 yuan (3.00 yuan off)")
        screen = window.screen_widget
        assert screen.amount.text() == "¥2.00"                          # big: what was paid
        assert "原价 ¥5.00，优惠 ¥3.00" in screen.visible_text() and "个人账户支付 ¥2.00" in screen.visible_text()
        assert not screen.offer.isVisible()                               # no offer in this answer
        tr.set_language("en")
        assert "Price ¥5.00, ¥3.00 off" in screen.visible_text()
        tr.set_language("zh_CN")
        assert runner.devices["speaker"].simulator.said == ["支付成功，消费二元，已优惠三元，余额九十八元"]
        assert f"{outcome.amount_fen} offline=0 discount=300" in runner.out.getvalue()
        assert canteen.wallet(cid) == 9_800 and canteen.ledger_problems() == []

        # The campaign paused: the next diner pays the full price, shown and said plainly.
        canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "paused"}, expect=200)
        other = canteen.diner(wallet_fen=10_000, name="李小四")
        runner.core.clear_outcome()
        qtbot.waitUntil(lambda: window.screen_widget.view.phase == "idle")
        second = _pay(qtbot, window, runner.core, other)
        assert (second.price_fen, second.discount_fen, second.paid_fen) == (500, 0, 500)
        assert screen.amount.text() == "¥5.00" and "优惠" not in screen.visible_text()
        assert runner.devices["speaker"].simulator.said[-1] == "支付成功，消费五元，余额九十五元"

        # The shift counts prices, as the backend books them (the campaign paid the merchant the
        # 3.00): it closes balanced.
        totals = runner.core.close_shift(PIN)
        assert totals.fen_by_method == {"face": 1000} and totals.count_by_method == {"face": 2}
        assert totals.backend_checked and totals.differences == []
    finally:
        runner.store.close()


def _lunches_on_past_days(canteen: Canteen, data_dir, customer_id: int, days: int) -> None:  # noqa: ANN001
    """The diner's habit: a lunch at this canteen on each of the last `days` days. The backend
    process runs on the real clock, so the lunches are paid today through a terminal and their
    business days then set back in the backend's database (the only thing the habit reads)."""
    term = canteen.terminal(data_dir)
    try:
        paid = [term.pay(customer_id) for _ in range(days)]
    finally:
        term.close()
    assert [p.status for p in paid] == ["approved"] * days
    with canteen.app.state.sessions() as session:
        for back, outcome in enumerate(paid, start=1):
            row = session.query(Payment).filter_by(payment_uuid=outcome.payment_id).one()
            row.business_date = (date.fromisoformat(row.business_date) - timedelta(days=back)).isoformat()
        session.commit()


def test_an_offer_from_habits_is_shown_after_the_payment(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    offer_campaign = campaign(canteen, kind="fixed", amount_fen=200, budget_fen=100_000, mode="coupon")
    canteen.put(f"/api/v1/campaigns/{offer_campaign['id']}/habit-offer", {})
    cid = canteen.diner(wallet_fen=10_000, name="王小五")
    _lunches_on_past_days(canteen, tmp_path / "history", cid, 3)
    runner = _runner(canteen, tmp_path / "t2")
    try:
        window = _kiosk(qtbot, tr, runner.core)
        outcome = _pay(qtbot, window, runner.core, cid)
        offer = outcome.offer
        assert offer is not None and offer.title_zh
        coupons = canteen.http.get(f"/api/v1/customers/{cid}", headers=canteen.staff).json()["coupons"]
        assert [c["id"] for c in coupons if c["source"] == "offer"] == [offer.coupon_id]
        screen = window.screen_widget
        until = offer.expires_at.astimezone(tr.zone).date().isoformat()
        assert screen.offer.isVisible()
        assert screen.offer.text() == f"送您一张优惠券：{offer.title_zh}\n{until} 前有效"
        assert window.outcome_timer.interval() == OFFER_SHOW_MS          # longer, to read the coupon
        tr.set_language("en")
        assert screen.offer.text() == f"A coupon for you: {offer.title_en}\nValid until {until}"
        tr.set_language("zh_CN")
        runner.core.clear_outcome()                                      # back to idle: the offer goes
        qtbot.waitUntil(lambda: window.screen_widget.view.phase == "idle")
        assert not screen.offer.isVisible() and offer.title_zh not in screen.visible_text()
    finally:
        runner.store.close()


def test_an_offline_discount_from_the_budget_slice_is_shown_the_same_way(qtbot, tr, tmp_path, canteen) -> None:  # noqa: ANN001
    faults = FaultTransport()
    term = canteen.terminal(tmp_path / "t3", transport=faults)
    cid = canteen.diner(wallet_fen=5_000, name="赵小六")
    camp = campaign(canteen, kind="fixed", amount_fen=300, budget_fen=10_000)
    with canteen.app.state.sessions() as session:               # the operator lets it run offline
        allow_offline(session, session.get(Campaign, camp["id"]), share_pct=10, cap_fen=1000)
        session.commit()
    term.engine.cycle()                                          # pulls the diner and the slice
    core = canteen.core(term)
    try:
        window = _kiosk(qtbot, tr, core)
        faults.plan("/terminal/payments", "refuse")              # the backend cannot be reached
        outcome = _pay(qtbot, window, core, cid)
        assert outcome.offline and (outcome.price_fen, outcome.discount_fen, outcome.paid_fen) == (500, 300, 200)
        assert outcome.message_zh == "支付成功 2.00 元（优惠 3.00 元；离线记账）"
        screen = window.screen_widget
        assert screen.amount.text() == "¥2.00"
        assert "原价 ¥5.00，优惠 ¥3.00" in screen.visible_text() and "已离线记账" in screen.visible_text()
        assert term.engine.cycle().booked == 1 and canteen.wallet(cid) == 5_000 - 200   # booked as shown
        assert canteen.ledger_problems() == []
    finally:
        canteen.post(f"/api/v1/campaigns/{camp['id']}/status", {"status": "paused"}, expect=200)
        term.close()
        faults.close()
