"""The demo's composition: backend, seed, terminals, the day, the checks, the files.

    run_demo(out=Path("demo-out")) -> summary dict (also out/summary.json); summary["ok"]: invariants
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from backend.seed import MEALS
from terminal.demo.backend import DemoBackend, demo_database_url
from terminal.demo.terminal_process import TerminalProcess, canteen_config, start_all
from terminal.demo.clock import DemoClock, at_local, demo_day
from terminal.demo.day import OPENING, Day
from terminal.demo.outage import Link
from terminal.demo.parking import make_lane
from terminal.demo.report import (backend_payments, marketing, reconcile, settlement_totals, terminal_payments,
                                  write_csv)
from terminal.demo.seed import MEALS_COMPANY, seed_world


def _fresh(out: Path) -> None:
    for sub in ("terminals", "reports", "screenshots", "logs", "settlement"):
        shutil.rmtree(out / sub, ignore_errors=True)
    for name in ("backend.db", "backend.db-wal", "backend.db-shm", "backend-keys.json", "summary.json"):
        (out / name).unlink(missing_ok=True)


def run_demo(out: Path, console: Console | None = None, windows: bool | None = None) -> dict:
    """The whole demo; with `windows` (default: when $DISPLAY is set) kiosk windows follow it live."""
    # Not on a terminal (CI logs, a pipe): rich would wrap the summary at 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    started = time.monotonic()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    _fresh(out)
    if windows is None:
        windows = bool(os.environ.get("DISPLAY"))
    if windows:
        from terminal.demo.windows import run_with_windows
        state = run_with_windows(lambda on_view: _play(out, console, on_view))
    else:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        state = _play(out, console, lambda scene, view: None)
    shots = _screens(state["log"].shots, out / "screenshots", console.print)
    summary = _summary(state["log"], state["rows"], state["extra"], state["recon"], state["ledger"], state["world"],
                       state["files"], shots, out, state["db_url"])
    summary["settlement"] = state["settlement"]
    summary["invariants"]["settlement_covers_the_day"] = _settled_all(state["settlement"], state["rows"])
    summary["marketing"] = _marketing(state["marketing"], state["world"], state["log"], state["settlement"])
    summary["invariants"]["campaign_and_coupon_used"] = summary["marketing"]["used"]
    summary["ok"] = all(summary["invariants"].values())
    summary["elapsed_s"] = round(time.monotonic() - started, 1)
    summary["phases_s"] = state["phases"]
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    _print(summary, console.print)
    return summary


def _play(out: Path, console: Console, on_view) -> dict:  # noqa: ANN001
    """Backend, seed, terminals, the day, the T+1 checks. Returns what the summary is made of."""
    started = time.monotonic()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 1)

    say = console.print
    day = demo_day()
    say(f"[bold]gatepay demo[/bold] — {day} (Asia/Shanghai, a compressed day), output in {out}")
    db_url = demo_database_url(out, dict(os.environ))
    backend = DemoBackend(out, db_url)
    canteens: dict[str, TerminalProcess] = {}
    lanes = {}
    link = None
    try:
        with console.status("启动后台 / starting the backend"):
            backend.start()
        say(f"后台 backend: {backend.url} ({'PostgreSQL' if db_url.startswith('postgresql') else 'SQLite'})")
        lap("backend_start")
        with console.status("开户签约 / seeding") as status:
            world = seed_world(backend, day, progress=lambda t: status.update(t))
        say(f"签约 signed: {len(world.faces)} faces, {len(world.cards)} cards, {len(world.plates)} plates; "
            f"grants {[(k, v['rows_booked'], v['total_fen']) for k, v in world.grants.items()]}")
        lap("seed")
        link = Link(backend.port)
        link.connect()
        school_meals = [p.model_dump() for p in MEALS]
        terms = out / "terminals"
        logs = out / "logs"
        canteens["school"] = TerminalProcess("school-canteen-window-1", terms / "school",
                                             canteen_config(link.url, terms / "school" / "data", school_meals), logs)
        canteens["company"] = TerminalProcess("company-canteen-gate-a", terms / "company",
                                              canteen_config(backend.url, terms / "company" / "data", MEALS_COMPANY),
                                              logs)
        start = at_local(day, "06:50")
        clock = DemoClock(start)
        with console.status("启动终端 / starting the terminals"):
            codes = {term: world.codes[scene] for scene, term in canteens.items()}
            for name, direction, key in (("entry1", "entry", "entry_lane_id"), ("exit1", "exit", "exit_lane_id"),
                                         ("entry2", "entry", "entry2_lane_id"), ("exit2", "exit", "exit2_lane_id")):
                lanes[name] = make_lane(name, direction, world.car_park[key], backend.url, terms / "parking", logs,
                                        clock)
                codes[lanes[name].terminal] = world.codes[key]
            for term, code in codes.items():
                term.register(code)
            everyone = [*canteens.values(), *(lane.terminal for lane in lanes.values())]
            start_all(everyone, start)
            for term in everyone:          # a terminal pulls its signings and rules before it opens
                term.send(op="sync")
        say("终端 terminals: 2 canteen and 4 parking-lane processes")
        lap("terminals_start")
        log = Day(day, canteens, link, lanes, clock, backend.url, say, on_view).play()
        for term in [*canteens.values(), *(lane.terminal for lane in lanes.values())]:
            term.stop()
        lap("day")
        say("[bold]T+1[/bold] 结算、对账 / settlement run, ledger check, reconciliation")
        reports = out / "reports"
        reports.mkdir(exist_ok=True)
        settlement = _settle(db_url, day, out / "settlement", say)
        ledger = backend.cli("check-ledger")
        term_rows = {t.name: terminal_payments(t.data_dir) for t in canteens.values()}
        for lane in lanes.values():
            term_rows[lane.terminal.name] = terminal_payments(lane.terminal.data_dir)
        rows, extra = backend_payments(db_url)
        recon = reconcile(term_rows, rows)
        offers = marketing(db_url)
        files = [Path(f) for f in settlement.get("files", [])]
        if not settlement["ran"]:
            files += settlement_totals(rows, extra, reports)
        files.append(write_csv(reports / "backend-payments.csv", rows))
        files.append(write_csv(reports / "day-events.csv", [asdict(r) for r in log.records]))
        files.append(write_csv(reports / "reconciliation-differences.csv", recon["differences"]))
        lap("t_plus_1")
        return {"log": log, "rows": rows, "extra": extra, "recon": recon, "ledger": ledger, "world": world,
                "files": files, "db_url": db_url, "phases": phases, "settlement": settlement, "marketing": offers}
    finally:
        for term in [*canteens.values(), *(lane.terminal for lane in lanes.values())]:
            term.stop()
        if link is not None:
            link.cut()
        backend.stop()


def _settle(db_url: str, day, folder: Path, say) -> dict:  # noqa: ANN001
    """The T+1 run at 02:00 the next morning on the demo's clock; if the backend's settlement
    cannot run, the ledger's day totals stand in (labelled as not a settlement)."""
    run_at = at_local(day + timedelta(days=1), "02:00")
    try:
        from terminal.demo.settlement import run_settlement
        done = run_settlement(db_url, day.isoformat(), run_at, folder)
    except Exception as exc:  # noqa: BLE001 - said in the summary; the money checks still run
        say(f"[yellow]结算未能运行 / the settlement run failed: {type(exc).__name__}: {exc}[/yellow]")
        return {"ran": False, "why": f"{type(exc).__name__}: {exc}"}
    say(f"  T+1 02:00 结算 settlement of {day}: {done['closed']} merchant day(s) closed, "
        f"net {[(m['merchant_id'], m['net_fen']) for m in done['merchants']]} fen")
    return done


def _settled_all(settlement: dict, rows: list[dict]) -> bool:
    """The T+1 run closed every merchant's day, and its gross is exactly what the backend booked
    as approved for that merchant and day (each payment settled once)."""
    if not settlement.get("ran"):
        return False
    booked: Counter = Counter()
    for r in rows:
        if r["status"] == "approved" and r["business_date"] == settlement["business_date"]:
            booked[r["merchant_id"]] += r["amount_fen"]
    settled = {m["merchant_id"]: m["gross_fen"] for m in settlement["merchants"]}
    return not settlement["not_over"] and settled == dict(booked)


def _marketing(offers: dict, world, log, settlement: dict) -> dict:  # noqa: ANN001
    """The day's campaign and coupon from the backend's records: every discounted payment (with
    the day's step that made it), and `used`: the bank's card campaign discounted at least one
    approved payment and the lunch coupon served one (the coupon now `used`). The settlement pays
    the merchant the full price of those payments (settlement_covers_the_day); here its gross is
    shown beside what the campaigns paid and what the diners paid."""
    steps = {r.payment_id: r for r in log.records if r.payment_id}
    uses = [{**u, "local_time": steps[u["payment_id"]].local_time if u["payment_id"] in steps else None,
             "what": steps[u["payment_id"]].what if u["payment_id"] in steps else None} for u in offers["uses"]]
    card, coupon = world.marketing.get("card_campaign_id"), world.marketing.get("coupon_id")
    served = [u for u in uses if u["status"] == "applied" and u["payment_status"] == "approved"]
    coupon_status = next((c["status"] for c in offers["coupons"] if c["id"] == coupon), None)
    used = (any(u["campaign_id"] == card for u in served)
            and any(u["coupon_id"] == coupon for u in served) and coupon_status == "used")
    discounts: Counter = Counter()
    for u in uses:
        if u["payment_status"] == "approved":
            discounts[u["campaign_id"]] += u["discount_fen"] - u["returned_fen"]
    return {"used": used, **world.marketing, "coupon_status": coupon_status,
            "campaigns": [{**c, "discount_net_fen": discounts.get(c["id"], 0)} for c in offers["campaigns"]],
            "discounted_payments": uses,
            "settlement": [{"merchant_id": m["merchant_id"], "gross_fen": m["gross_fen"], "net_fen": m["net_fen"],
                            **{k: v for k, v in m.items() if "campaign" in k}}
                           for m in settlement.get("merchants", [])]}


def _screens(shots: list, folder: Path, say) -> list[str]:  # noqa: ANN001
    try:
        from terminal.demo.screens import save_screens
        return [str(p) for p in save_screens(shots, folder)]
    except Exception as exc:  # noqa: BLE001 - screens are a by-product; the money checks still count
        say(f"[yellow]截图失败 / screenshots failed: {type(exc).__name__}: {exc}[/yellow]")
        return []


def _summary(log, rows, extra, recon, ledger, world, files, shots, out, db_url) -> dict:  # noqa: ANN001, PLR0913
    recs = log.records
    approved = [r for r in recs if r.status in ("approved", "exit_paid")]
    offline_ids = {r.payment_id for r in approved if r.offline}
    by_id = {b["payment_id"]: b for b in rows}
    spoof = [r for r in recs if "(phone)" in r.what]
    cut = log.power_cut
    lost = [p for p in cut.get("approved_before", []) if by_id.get(p, {}).get("status") != "approved"]
    invariants = {
        "ledger_balanced": ledger.returncode == 0,
        "no_payment_lost_or_doubled": not recon["differences"] and not extra["duplicate_uuids"],
        "offline_payments_booked_once": bool(offline_ids) and all(
            by_id.get(p, {}).get("status") == "approved" and by_id[p]["posting_ref_count"] == 1 for p in offline_ids),
        "spoof_refused": bool(spoof) and all(r.status == "declined" and r.reason == "spoof" for r in spoof),
        "power_cut_lost_nothing": bool(cut.get("approved_before")) and not lost,
        "every_car_out_got_its_barrier": all(r.barrier_opened for r in recs
                                             if r.scene == "parking" and r.status in OPENING),
    }
    return {
        "ok": all(invariants.values()),
        "invariants": invariants,
        "database": ("postgresql: " + db_url.rsplit("/", 1)[-1]) if db_url.startswith("postgresql") else db_url,
        "payments_by_method": dict(Counter(r.method for r in approved)),
        "payments_by_scene": dict(Counter(r.scene for r in approved)),
        "parking_outcomes": dict(Counter(f"{r.status}:{r.method}" for r in recs if r.scene == "parking")),
        "qr_orders_paid": log.qr_orders_paid,
        "offline": {"approved_offline": len(offline_ids),
                    "settled": {p: by_id.get(p, {}).get("status", "missing") for p in sorted(offline_ids)},
                    "how": "queued in the terminal's store, pushed by its sync loop when the link came back; "
                           "the backend booked each once by its payment id"},
        "declines_by_reason": dict(Counter(r.reason or r.status for r in recs
                                           if r.status in ("declined", "already_paid", "entry_refused",
                                                           "exit_refused"))),
        "spoof_attempts": [asdict(r) for r in spoof],
        "power_cut": {**cut, "lost": lost},
        "ledger_check": {"exit_code": ledger.returncode, "output": (ledger.stdout + ledger.stderr).strip()[-2000:]},
        "reconciliation": {"booked_exactly_once": recon["booked_exactly_once"],
                           "differences": recon["differences"],
                           "declined_after_the_fact": recon["declined_after_the_fact"]},
        "shift_totals": log.shift_totals,
        "events": log.events,
        "signed": {"faces": world.faces, "cards": len(world.cards), "plates": world.plates,
                   "enrolment_refused": world.enrol_refusals, "grants": world.grants},
        "files": {"out": str(out), "settlement": [str(f) for f in files if "settlement" in f.name],
                  "reports": [str(f) for f in files if "settlement" not in f.name], "screenshots": shots,
                  "summary": str(out / "summary.json")},
    }


def _print(s: dict, say) -> None:  # noqa: ANN001
    say("[bold]总结 Summary[/bold]")
    say(f"  支付方式 by method: {s['payments_by_method']}   场景 by scene: {s['payments_by_scene']}")
    say(f"  停车 parking: {s['parking_outcomes']}")
    say(f"  离线 offline: {s['offline']['approved_offline']} approved offline -> {s['offline']['settled']}")
    say(f"  拒绝 declines by reason: {s['declines_by_reason']}")
    say(f"  账本 ledger check: exit {s['ledger_check']['exit_code']}: {s['ledger_check']['output'][:200]}")
    r = s["reconciliation"]
    say(f"  对账 reconciliation: {r['booked_exactly_once']} booked exactly once, "
        f"{len(r['differences'])} difference(s), {len(r['declined_after_the_fact'])} declined after the fact")
    m = s["marketing"]
    for c in m["campaigns"]:
        say(f"  营销 campaign #{c['id']} {c['name']} ({c['mode']}): budget {c['budget_fen']}, spent {c['spent_fen']} "
            f"fen, {sum(1 for u in m['discounted_payments'] if u['campaign_id'] == c['id'])} payment(s)")
    for u in m["discounted_payments"]:
        say(f"    {u['local_time'] or '?'} {u['what'] or u['payment_id']}: price {u['price_fen']} - "
            f"discount {u['discount_fen']} = paid {u['paid_fen']} fen"
            + (f" (coupon #{u['coupon_id']})" if u["coupon_id"] else "") + f", {u['status']}")
    say(f"  券 coupon #{m.get('coupon_id')} of {m.get('coupon_holder')}: {m['coupon_status']}")
    for row in m["settlement"]:
        paid_by = {k: v for k, v in row.items() if k.startswith("campaign") and v}
        if paid_by:
            say(f"  结算 settlement, merchant {row['merchant_id']}: gross {row['gross_fen']} fen, of which campaigns "
                f"{paid_by}; net {row['net_fen']} fen")
    for name, ok in s["invariants"].items():
        say(f"  {'[green]✓' if ok else '[red]✗'} {name}[/]")
    f = s["files"]
    say(f"  结算 settlement: {f['settlement']}\n  报表 reports: {f['reports']}\n"
        f"  截图 screenshots: {len(f['screenshots'])} PNG in {Path(f['out']) / 'screenshots'}\n  {f['summary']}")
