"""The project's end-to-end test: `gatepay demo --check` as a newcomer runs it, then what its
summary.json says about the day (the real backend process, canteen terminal processes — one
killed with SIGKILL mid-lunch — four parking lanes behind their plate endpoints, real photos)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if k not in ("GATEPAY_DATABASE_URL", "DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run([sys.executable, "-m", "terminal.cli", "demo", "--check", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return done, out


@pytest.fixture(scope="module")
def summary(demo: tuple[subprocess.CompletedProcess, Path]) -> dict:
    done, out = demo
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads((out / "summary.json").read_text())


@pytest.mark.timeout(600)
def test_every_invariant_holds_and_the_check_exits_zero(summary: dict) -> None:
    assert summary["ok"] is True
    assert all(summary["invariants"].values()), summary["invariants"]
    assert summary["ledger_check"]["exit_code"] == 0
    assert summary["reconciliation"]["differences"] == []
    assert summary["reconciliation"]["booked_exactly_once"] >= 15
    assert summary["invariants"]["settlement_covers_the_day"]


def test_a_photo_on_a_phone_is_refused_as_a_spoof(summary: dict) -> None:
    assert summary["spoof_attempts"]
    assert all(a["status"] == "declined" and a["reason"] == "spoof" and not a["payment_id"]
               for a in summary["spoof_attempts"])


def test_payments_made_during_the_outage_were_booked_once_after_it(summary: dict) -> None:
    offline = summary["offline"]
    assert offline["approved_offline"] >= 2
    assert set(offline["settled"].values()) == {"approved"}
    assert summary["declines_by_reason"].get("paycode_needs_network") == 1   # a pay code needs the network


def test_the_terminal_killed_mid_lunch_lost_nothing(summary: dict) -> None:
    cut = summary["power_cut"]
    assert cut["approved_before"] and cut["lost"] == []
    assert all(summary["offline"]["settled"].get(p) == "approved" for p in cut["approved_before"])


def test_every_scene_and_way_to_pay_took_part(summary: dict) -> None:
    assert set(summary["payments_by_scene"]) == {"school", "company", "parking"}
    assert {"face", "card", "plate", "qr"} <= set(summary["payments_by_method"])
    assert summary["parking_outcomes"].get("exit_free:member") == 1
    for reason in ("no_match", "not_frontal", "not_signed", "debounce"):
        assert summary["declines_by_reason"].get(reason), reason


def test_files_land_under_out(summary: dict, demo: tuple[subprocess.CompletedProcess, Path]) -> None:
    _, out = demo
    files = summary["files"]
    assert files["settlement"] and all("settlement" in Path(f).name and Path(f).is_relative_to(out)
                                       for f in files["settlement"])
    settlement = summary["settlement"]
    assert settlement["ran"] and settlement["closed"] == 3        # school, company, car park
    payout = Path(next(f for f in files["settlement"] if f.endswith(".csv"))).read_text(encoding="utf-8-sig")
    assert payout.startswith("reference,") and len(payout.strip().splitlines()) == 4
    shots = [Path(p) for p in files["screenshots"]]
    assert len(shots) >= 10
    for shot in shots:
        assert shot.is_relative_to(out) and shot.suffix == ".png"
        assert Image.open(shot).size == (800, 480)


def test_the_day_used_the_banks_campaign_and_a_coupon(summary: dict) -> None:
    """From the backend's tables (campaign_uses, coupons, campaigns): the card paid 1 yuan less at
    the school's breakfast, the coupon's holder paid her lunch 3 yuan less, once, and the campaigns
    spent exactly what their discounts cost."""
    marketing = summary["marketing"]
    assert summary["invariants"]["campaign_and_coupon_used"]
    uses = [u for u in marketing["discounted_payments"] if u["status"] == "applied"]
    card = [u for u in uses if u["campaign_id"] == marketing["card_campaign_id"]]
    assert card and all(u["what"].startswith("card") and u["discount_fen"] == 100 for u in card)
    assert any(u["local_time"] == "07:20" and u["price_fen"] == 300 for u in card)          # breakfast: 2.00
    coupon = [u for u in uses if u["coupon_id"] == marketing["coupon_id"]]
    assert [(u["local_time"], u["price_fen"], u["discount_fen"], u["paid_fen"]) for u in coupon] == [
        ("11:35", 800, 300, 500)]
    assert coupon[0]["what"].startswith(f"face {marketing['coupon_holder']}")
    assert marketing["coupon_status"] == "used"
    for campaign in marketing["campaigns"]:
        assert campaign["spent_fen"] == campaign["discount_net_fen"] <= campaign["budget_fen"]
    assert all(u["what"] for u in marketing["discounted_payments"])   # each made at a terminal in the day
    assert summary["invariants"]["settlement_covers_the_day"]   # settled at the full price
    # The settlement shows them: the school canteen's day, and only it, has the bank's discounts.
    with_campaigns = [m for m in marketing["settlement"] if m.get("campaign_bank_fen")]
    assert [m["campaign_bank_fen"] for m in with_campaigns] == [sum(u["discount_fen"] - u["returned_fen"] for u in uses)]
