"""`gatepay backend settle --day YYYY-MM-DD` and `gatepay backend report ...` (with progress bars)."""
from __future__ import annotations

from pathlib import Path

import typer

from backend.cli_common import command_session, exit_refused
from core.clock import SystemClock
from core.private_files import write_private


def register_settlement_commands(app: typer.Typer) -> None:
    register_report_command(app)

    @app.command()
    def settle(day: str = typer.Option(..., "--day", help="Business day YYYY-MM-DD to close"),
               out: Path = typer.Option(Path("var/payout"), "--out", help="Folder for the payout files")) -> None:
        """Close a business day for every merchant whose cut-off has passed and write the payout
        files (CSV and xlsx). Running it again changes nothing and writes the same bytes."""
        from backend.config import BackendSettings
        from backend.errors import ApiError
        from backend.settlement.payout import build_payout_files, record_fingerprint
        from backend.settlement.run import check_date, settle_day

        try:
            day = check_date(day)
        except ApiError as exc:
            exit_refused(exc)
        with command_session(BackendSettings().database_url) as session, \
                typer.progressbar(length=1, label="settling") as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(1)
            try:
                outcome = settle_day(session, day, SystemClock().now(), progress=progress)
                files = build_payout_files(session, day)
                record_fingerprint(session, files)
                session.commit()
            except ApiError as exc:
                typer.echo("", err=True)           # off the progress bar's line
                exit_refused(exc)
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
                                                     "| sales | parking | terminal-health | campaigns "
                                                     "| campaign-merchants | campaign-funders"),
               month: str = typer.Option(..., "--month", help="YYYY-MM"),
               out: Path = typer.Option(..., "--out", help="File to write; .csv or .xlsx"),
               merchant_id: int = typer.Option(None, "--merchant-id", help="Only this merchant")) -> None:
        """Export a report to CSV or xlsx, showing rows as they are written."""
        from backend.config import BackendSettings
        from backend.errors import ApiError
        from backend.reports.catalog import Params, check_month, get_report
        from backend.reports.export import csv_lines, xlsx_bytes

        settings = BackendSettings()
        try:
            chosen = get_report(name)
            params = Params(month=check_month(month), timezone=settings.timezone, merchant_id=merchant_id,
                            now=SystemClock().now())
        except ApiError as exc:
            exit_refused(exc)
        written = 0

        def counted(rows):  # noqa: ANN001, ANN202
            nonlocal written
            for row in rows:
                written += 1
                if written % 10_000 == 0:
                    typer.echo(f"\r{written} rows", nl=False, err=True)
                yield row
        with command_session(settings.database_url) as session:
            rows = counted(chosen.rows(session, params))
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix == ".xlsx":
                out.write_bytes(xlsx_bytes(chosen.name, chosen.header, rows, params.instants()[0]))
            else:
                with out.open("w", encoding="utf-8", newline="") as f:
                    for line in csv_lines(chosen.header, rows):
                        f.write(line)
        typer.echo(f"\r{written} rows written to {out}")
