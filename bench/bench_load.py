"""Load and soak: N simulated terminals (default 300, a canteen lunch rush) each sign a payment
every 2 s and pull the change feed every 5 s, against 1 or 2 real backend processes
(`gatepay backend serve`) sharing one PostgreSQL. Prints payments/s held, p50/p99 latency, errors,
late slots, each backend's memory (RSS) growth, the terminal<->backend comparison and the ledger
check; exits 1 on any error, loss, double booking or ledger problem.

    .venv/bin/python bench/bench_load.py --backends 1 --duration 600        # the 10-minute soak
    .venv/bin/python bench/bench_load.py --backends 2 --duration 600        # two processes, one database
    .venv/bin/python bench/bench_load.py --terminals 20 --duration 10       # the CI smoke version

PostgreSQL: GATEPAY_TEST_DATABASE_URL (a scratch database is created and dropped).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load.fleet import Tally, run_fleet  # noqa: E402
from bench.load.report import RssSampler, check_ledger, compare_with_backend  # noqa: E402
from bench.load.seed import ScratchDatabase, current_cursor, new_keys, seed  # noqa: E402
from bench.stats import percentile  # noqa: E402
from terminal.demo.backend_process import BackendProcess  # noqa: E402

PG_ADMIN = os.environ.get("GATEPAY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def per_minute(timeline: list[tuple[float, int]]) -> list[float]:
    """Payments/s held in each whole minute of the run (from the 5-second progress samples)."""
    marks = {}
    for t, n in timeline:
        marks.setdefault(int(t // 60), n)   # first sample of each minute
    counts = [marks[m] for m in sorted(marks)]
    return [round((b - a) / 60, 1) for a, b in zip(counts, counts[1:])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=300)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--backends", type=int, default=1, help="backend processes sharing the database")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between one terminal's payments")
    parser.add_argument("--pull-every", type=float, default=5.0,
                        help="seconds between one terminal's pulls (5 = the terminal's default sync interval; 0 = "
                             "no pulls, to measure the payment path alone)")
    parser.add_argument("--diners", type=int, default=2, help="diners per terminal")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    keys = new_keys()
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(PG_ADMIN) as db:
        t0 = time.monotonic()
        fleet = seed(db.url, keys, args.terminals, args.diners)
        print(f"seeded {len(fleet)} terminals, {len(fleet) * args.diners} diners in {time.monotonic() - t0:.0f} s",
              flush=True)
        env = {f"GATEPAY_{k.upper()}": v for k, v in keys.items()}
        backends = []
        try:
            for _ in range(args.backends):
                backends.append(BackendProcess(db.url, Path(tmp), extra_env=env).start(timeout=180))   # a busy box
            tally = Tally()
            with RssSampler([b.proc.pid for b in backends]) as rss:
                elapsed = asyncio.run(run_fleet([b.url for b in backends], fleet, current_cursor(db.url),
                                                args.duration, args.interval, args.pull_every, tally))
            alive = [b.proc.poll() is None for b in backends]
        finally:
            for b in backends:
                b.stop()
        problems = compare_with_backend(db.url, tally.approved)
        ledger_ok, ledger_text = check_ledger(db.url, keys)

    offered = args.terminals / args.interval
    figures = {
        "terminals": args.terminals, "backends": args.backends, "duration_s": round(elapsed, 1),
        "offered_pay_per_s": offered, "held_pay_per_s": round(len(tally.approved) / elapsed, 1),
        "approved": len(tally.approved), "declined": tally.declined,
        "errors": len(tally.errors), "pull_errors": len(tally.pull_errors),
        "late_slots": tally.late_slots,
        "pay_p50_ms": round(percentile(tally.pay_latency_s, 50) * 1000, 1),
        "pay_p99_ms": round(percentile(tally.pay_latency_s, 99) * 1000, 1),
        "pulls": tally.pull_pages, "pulled_changes": tally.pulled_changes,
        "pull_p50_ms": round(percentile(tally.pull_latency_s, 50) * 1000, 1),
        "pull_p99_ms": round(percentile(tally.pull_latency_s, 99) * 1000, 1),
        "rss_mib": [dict(zip(("warm", "end", "peak"), (round(x, 1) for x in rss.growth(b.proc.pid if b.proc else pid))))
                    for b, pid in zip(backends, rss.pids)],
        "backends_alive_at_end": alive, "comparison_problems": problems,
        "ledger_ok": ledger_ok, "ledger": ledger_text.splitlines()[-1] if ledger_text else "",
        "approved_per_s_each_minute": per_minute(tally.timeline),
    }
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    for line in tally.errors[:10] + tally.pull_errors[:5]:
        print("ERROR", line)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    ok = not tally.errors and not tally.pull_errors and not problems and ledger_ok and all(alive) and tally.approved
    print("RESULT", "ok" if ok else "FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
