"""`gatepay demo [--out DIR] [--check]`: the whole system through one day (docs/DEMO.md)."""
from __future__ import annotations

from pathlib import Path

import typer


def demo_command(out: Path = typer.Option(Path("demo-out"), "--out", help="Where everything is written"),
                 check: bool = typer.Option(False, "--check",
                                            help="Exit 1 if an invariant fails (ledger, lost/doubled payment, "
                                                 "reconciliation, spoof, power cut)"),
                 windows: bool = typer.Option(None, "--windows/--no-windows", show_default=False,
                                              help="Kiosk windows following the day (default: when $DISPLAY "
                                                   "is set); screenshots are saved either way")) -> None:
    """A day at a school canteen, a company canteen and a car park, end to end on sample data."""
    import time

    from terminal.demo.run import run_demo

    started = time.monotonic()
    summary = run_demo(out, windows=windows)
    typer.echo(f"demo took {time.monotonic() - started:.1f}s; all invariants hold: {summary['ok']}")
    if check and not summary["ok"]:
        raise typer.Exit(1)
