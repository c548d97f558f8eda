"""`gatepay backend ...`: serve, migrate, check-ledger. Mirrors library calls one to one."""
from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (SQLite default or GATEPAY_DATABASE_URL)."""
    from backend.config import BackendSettings
    from backend.migrate import upgrade

    settings = BackendSettings()
    upgrade(settings.database_url)
    typer.echo(f"schema up to date: {settings.database_url}")


@app.command()
def serve(host: str = typer.Option(None, help="Address to listen on"),
          port: int = typer.Option(None, help="Port to listen on"),
          migrate_first: bool = typer.Option(True, "--migrate/--no-migrate",
                                             help="Upgrade the schema before serving"),
          jobs: bool = typer.Option(True, "--jobs/--no-jobs",
                                    help="Run the periodic jobs (bank outcome resolution, subsidy expiry) in "
                                         "this service; turn off where another instance runs them"),
          workers: int = typer.Option(1, "--workers", min=1, max=64,
                                      help="Worker processes; booking is CPU-bound Python, so about one "
                                           "per core (each builds its app from the same GATEPAY_* settings)")) -> None:
    """Run the backend HTTP service."""
    import uvicorn

    from backend.app import create_app
    from backend.config import BackendSettings
    from backend.migrate import upgrade

    settings = BackendSettings()
    _say_what_is_simulated(settings)
    if migrate_first:
        upgrade(settings.database_url)
    where = dict(host=host or settings.host, port=port or settings.port, log_level="warning")
    typer.echo(f"后台监听 / backend listening on {where['host']}:{where['port']} ({workers} worker process"
               f"{'es' if workers > 1 else ''}): {base_url(where['host'], where['port'])}  "
               f"管理页面 / operators' console: {base_url(where['host'], where['port'])}/admin")
    if workers == 1:
        settings.run_jobs = jobs
        uvicorn.run(create_app(settings), **where)
    else:   # a socket per worker: see backend/workers.py for why not uvicorn's --workers
        from backend.workers import serve_workers

        if not where["port"]:
            raise typer.BadParameter("--workers needs a fixed --port (each worker binds it)")
        settings.keys   # made here once if missing, not by every worker at the same moment
        serve_workers(**where, workers=workers, jobs=jobs)


def base_url(host: str, port: int) -> str:
    """Where a browser or a terminal on this machine reaches a backend listening on host:port (an
    "all addresses" host is reached on loopback)."""
    reach = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return f"http://{f'[{reach}]' if ':' in reach else reach}:{port}"


def _say_what_is_simulated(settings) -> None:  # noqa: ANN001
    """Loudly, before serving: which money rails are simulators (the settings chose them)."""
    from backend.channels.compose import simulated_names

    simulated = simulated_names(settings)
    if simulated:
        line = "!" * 78
        typer.secho(f"{line}\n模拟器 SIMULATED: {', '.join(simulated)}\n"
                    f"这些不是真实的支付渠道/银行核心，不会有真实资金往来 — these are simulators, no real money moves.\n"
                    f"Set GATEPAY_CHANNELS / GATEPAY_COREBANKING to live settings for production.\n{line}",
                    fg=typer.colors.RED, bold=True, err=True)
    else:
        from backend.channels.compose import CHANNEL_NAMES

        live = [name for name in CHANNEL_NAMES if getattr(settings.channels, name) is not None]
        typer.echo(f"payment channels: {', '.join(live) or 'none configured'}; bank core: "
                   f"{'configured' if settings.corebanking else 'none configured (card debits declined)'}",
                   err=True)


@app.command("create-operator")
def create_operator(name: str = typer.Option(..., "--name", help="Who the token is for"),
                    role: str = typer.Option(..., "--role", help="operator | merchant_admin | auditor"),
                    merchant_id: int = typer.Option(None, "--merchant-id",
                                                    help="The merchant a merchant_admin administers")) -> None:
    """Create an operator and print its token once (only a keyed hash of it is stored)."""
    from backend.cli_common import command_session, exit_refused
    from backend.config import BackendSettings
    from backend.errors import ApiError
    from backend.services.operators import create_operator as create

    settings = BackendSettings()
    try:
        with command_session(settings.database_url) as session:
            new = create(session, settings.keys["hash"], name=name, role=role, merchant_id=merchant_id)
            session.commit()
    except ApiError as exc:
        exit_refused(exc)
    typer.echo(f"operator {new.operator.id} ({role}) created. Token, shown only now:")
    typer.echo(new.token)


from backend.money_cli import register_money_commands  # noqa: E402  - the money half's commands

register_money_commands(app)


@app.command("seed-demo")
def seed_demo(host: str = typer.Option(None, help="The address `backend serve` listens on (default: its own)"),
              port: int = typer.Option(None, help="The port `backend serve` listens on (default: its own)")) -> None:
    """Add the demo organisation (canteen, car park, operators, enrolment codes) and print its
    tokens and codes once, with the address the backend serves on. Running it again changes nothing."""
    from backend.cli_common import command_session
    from backend.config import BackendSettings
    from backend.migrate import upgrade
    from backend.seed import seed_demo_org
    from core.clock import SystemClock

    settings = BackendSettings()
    upgrade(settings.database_url)
    with command_session(settings.database_url) as session:
        demo = seed_demo_org(session, settings.keys["hash"], SystemClock().now())
        session.commit()
    base = base_url(host or settings.host, port or settings.port)   # what `backend serve` uses, same settings
    if demo is None:
        typer.echo("demo data already present (tokens and codes were shown when it was first seeded)")
        typer.echo(f"backend: {base}  (gatepay backend serve --port {port or settings.port})")
        return
    typer.echo(f"canteen: {demo.canteen}\ncar park: {demo.parking}")
    for role, token in demo.tokens.items():
        typer.echo(f"token {role}: {token}")
    for name, code in demo.enrolment_codes.items():
        typer.echo(f"enrolment code for {name}: {code}")
    typer.echo(f"backend: {base}  (gatepay backend serve --port {port or settings.port}); "
               f"terminals' backend_url: {base}")
    typer.echo(f"try: curl -H 'Authorization: Bearer {demo.tokens['operator']}' {base}/api/v1/merchants")


from backend.settlement.cli import register_settlement_commands  # noqa: E402  - settle, reports

register_settlement_commands(app)


@app.command("retemplate")
def retemplate(model: str = typer.Option(..., "--model", help="The face model to make templates for: sface | dlib")) -> None:
    """Recompute every active face signing's templates for MODEL from its sealed enrolment photos
    and publish them to terminals (a terminal switches once its gallery for MODEL is complete).
    Lists the signings without photos: they must come back to the signing desk."""
    from backend.cli_common import command_session
    from backend.config import BackendSettings
    from backend.services.face_desk import engine_for, retemplate as run
    from backend.services.vault import vault_of
    from core.clock import SystemClock

    try:
        face = engine_for(model)
    except (ValueError, RuntimeError) as exc:
        typer.echo(f"无法加载人脸模型 {model} / cannot load face model {model}: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = BackendSettings()
    with command_session(settings.database_url) as session:
        report = run(session, vault_of(settings), face, SystemClock().now())
        session.commit()
    typer.echo(f"model {report.model}: {len(report.retemplated)} signings retemplated and published")
    for cid, masked in report.unusable:
        typer.echo(f"  photos not usable with {report.model}: customer {cid} {masked} — re-enrol at the signing desk")
    for cid, masked in report.without_photos:
        typer.echo(f"  no enrolment photos: customer {cid} {masked} — re-enrol at the signing desk")
    typer.echo(f"retemplated={len(report.retemplated)} without_photos={len(report.without_photos)} "
               f"unusable={len(report.unusable)}")
