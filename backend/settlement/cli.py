"""`gatepay backend settle --day YYYY-MM-DD` and `gatepay backend report ...` (with progress bars)."""
from __future__ import annotations

from pathlib import Path

import typer

from core.clock import SystemClock
from core.private_files import write_private


def _session_factory():  # noqa: ANN202
    from backend.config import BackendSettings
    from backend.db import make_engine, make_sessionmaker

    engine = make_engine(BackendSettings().database_url)
    return engine, make_sessionmaker(engine)


def register_settlement_commands(app: typer.Typer) -> None:
    register_report_command(app)

    @app.command()
    def settle(day: str = typer.Option(..., "--day", help="Business day YYYY-MM-DD to close"),
               out: Path = typer.Option(Path("var/payout"), "--out", help="Folder for the payout files")) -> None:
        """Close a business day for every merchant whose cut-off has passed and write the payout
        files (CSV and xlsx). Running it again changes nothing and writes the same bytes."""
        from backend.errors import ApiError
        from backend.settlement.payout import build_payout_files, record_fingerprint
        from backend.settlement.run import check_date, settle_day

        try:
            day = check_date(day)
        except ApiError as exc:
            typer.echo(f"{exc.detail['message_zh']}\n{exc.detail['message_en']}", err=True)
            raise typer.Exit(2) from None
        engine, sessions = _session_factory()
        try:
            with sessions() as session, typer.progressbar(length=1, label="settling") as bar:
                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(1)
                try:
                    outcome = settle_day(session, day, SystemClock().now(), progress=progress)
                    files = build_payout_files(session, day)
                    record_fingerprint(session, files)
                    session.commit()
                except ApiError as exc:
                    typer.echo(f"\n{exc.detail['message_zh']}\n{exc.detail['message_en']}", err=True)
                    raise typer.Exit(2) from None
        finally:
            engine.dispose()
        # Full account numbers: readable by their owner only (0600, a new folder 0700).
        write_private(out / f"payout-{day}.csv", files.csv)
        write_private(out / f"payout-{day}.xlsx", files.xlsx)
        typer.echo(f"closed now: {len(outcome.closed)}, closed before: {len(outcome.already)}, "
                   f"not over yet: {len(outcome.not_over)}")
        typer.echo(f"{out / f'payout-{day}.csv'}  sha256 {files.csv_sha256}")
        typer.echo(f"{out / f'payout-{day}.xlsx'}  sha256 {files.xlsx_sha256}")


def register_report_command(app: typer.Typer) -> None:
    @app.command()
    def report(name: str = typer.Argument(..., help="subsidy-programs | subsidy-beneficiaries | subsidy-merchants "
                                                     "| sales | parking | terminal-health"),
               month: str = typer.Option(..., "--month", help="YYYY-MM"),
               out: Path = typer.Option(..., "--out", help="File to write; .csv or .xlsx"),
               merchant_id: int = typer.Option(None, "--merchant-id", help="Only this merchant")) -> None:
        """Export a report to CSV or xlsx, showing rows as they are written."""
        from backend.config import BackendSettings
        from backend.errors import ApiError
        from backend.reports.catalog import Params, check_month, get_report
        from backend.reports.export import csv_lines, xlsx_bytes

        engine, sessions = _session_factory()
        try:
            chosen = get_report(name)
            params = Params(month=check_month(month), timezone=BackendSettings().timezone, merchant_id=merchant_id,
                            now=SystemClock().now())
        except ApiError as exc:
            typer.echo(f"{exc.detail['message_zh']}\n{exc.detail['message_en']}", err=True)
            raise typer.Exit(2) from None
        written = 0

        def counted(rows):  # noqa: ANN001, ANN202
            nonlocal written
            for row in rows:
                written += 1
                if written % 10_000 == 0:
                    typer.echo(f"\r{written} rows", nl=False, err=True)
                yield row
        try:
            with sessions() as session:
                rows = counted(chosen.rows(session, params))
                out.parent.mkdir(parents=True, exist_ok=True)
                if out.suffix == ".xlsx":
                    out.write_bytes(xlsx_bytes(chosen.name, chosen.header, rows, params.instants()[0]))
                else:
                    with out.open("w", encoding="utf-8", newline="") as f:
                        for line in csv_lines(chosen.header, rows):
                            f.write(line)
        finally:
            engine.dispose()
        typer.echo(f"\r{written} rows written to {out}")
