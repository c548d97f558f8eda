"""`gatepay backend check-ledger` and `gatepay backend expire-subsidies`: the ledger proof and the
subsidy expiry job, each a thin wrapper over its library function."""
from __future__ import annotations

from datetime import datetime

import typer

from backend.cli_common import command_session
from core.clock import SystemClock


def check_ledger_command() -> None:
    """Prove every posting balances, every cached balance equals its entries, and no customer
    account is below zero. Exits 1 and names each problem otherwise."""
    from backend.config import BackendSettings
    from backend.services.ledger import check_ledger

    settings = BackendSettings()
    with command_session(settings.database_url) as session:
        problems = check_ledger(session)
    for problem in problems:
        typer.echo(f"LEDGER PROBLEM: {problem}", err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in the ledger of {settings.database_url}", err=True)
        raise typer.Exit(1)
    typer.echo("ledger balanced: every posting's debits equal its credits; balances match their entries")


def expire_subsidies_command(now: str = typer.Option(None, help="ISO time to expire as of (default: now)")) -> None:
    """Lapse subsidy money whose time is up (day end, month end, the program's date), booked on the ledger."""
    from backend.config import BackendSettings
    from backend.jobs import expire_subsidies

    at = datetime.fromisoformat(now) if now else SystemClock().now()
    if at.tzinfo is None:
        raise typer.BadParameter("give a time zone, e.g. 2026-04-01T00:00:00+08:00", param_hint="--now")
    with command_session(BackendSettings().database_url) as session:
        done = expire_subsidies(session, at)      # the scheduler's job, run once now
        session.commit()
    typer.echo(f"expired {done['holdings']} holding(s), {done['fen']} fen in total")


def register_money_commands(app: typer.Typer) -> None:
    app.command("check-ledger")(check_ledger_command)
    app.command("expire-subsidies")(expire_subsidies_command)
