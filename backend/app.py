"""The FastAPI application factory. Routers are listed in one place: `_routers()`."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from backend.config import BackendSettings
from core.clock import Clock, SystemClock
from backend.db import make_engine, make_sessionmaker
from backend.errors import install_error_handlers
from backend.logging import configure_logging
from backend.request_log import REQUEST_ID_HEADER, RequestIdAccessLog
from backend.web.headers import AdminSecurityHeaders

__all__ = ["REQUEST_ID_HEADER", "create_app"]


def _routers():  # noqa: ANN202
    """Every API router of the backend; add a new one here."""
    from backend.api import merchants, operators, parking, sites, terminals
    from backend.api import customers, payments, signings, subsidies, sync
    from backend.api import reconciliation, reports, settlement
    from backend.api import aggregate_qr, campaigns, offers
    from backend.web import pages

    # Terminal-facing routers first: FastAPI tries routes in order and these serve every payment
    # (no path of theirs overlaps another router's, so the order changes nothing else).
    return [payments.router, sync.router, merchants.router, sites.router, terminals.router, operators.router,
            parking.router, customers.router, signings.router, subsidies.router,
            settlement.router, reconciliation.router, reports.router, pages.router, aggregate_qr.router,
            campaigns.router, offers.router]


@asynccontextmanager
async def _jobs_while_serving(app: FastAPI):  # noqa: ANN201
    """The periodic jobs run while the app serves, if this process is the one that runs them."""
    runner = None
    if app.state.settings.run_jobs:
        from backend.jobs import JobRunner, backend_jobs

        runner = JobRunner(app.state.sessions, backend_jobs(app.state), clock=app.state.clock)
        runner.start()
    try:
        yield
    finally:
        if runner is not None:
            runner.stop()
        # Close the pools at shutdown: a stopped app must not keep database files and sockets open
        # (a test suite makes hundreds of apps; past 1,024 descriptors select() fails in the drivers).
        app.state.channels.close()
        app.state.engine.dispose()


def create_app(settings: BackendSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The backend. `clock` is its one source of time (tests pin a ManualClock; serve uses the
    system clock): every route reads it through `request_now`, the jobs through `clock.now`."""
    settings = settings or BackendSettings()
    configure_logging(json_lines=settings.log_json)
    engine = make_engine(settings.database_url)
    app = FastAPI(title="gatepay backend", version="0.1.0", lifespan=_jobs_while_serving,
                  description="Merchants, terminals, customers, signings, subsidies and payments "
                              "on a double-entry ledger. Money is integer fen.")
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)

    app.add_middleware(RequestIdAccessLog)
    app.add_middleware(AdminSecurityHeaders)

    @app.get("/health", tags=["health"])
    def health() -> dict:
        """Liveness and database reachability, for load balancers and `gatepay doctor`."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            db = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised: health must answer
            db = f"error: {type(exc).__name__}"
        return {"status": "ok" if db == "ok" else "degraded", "database": db,
                "dialect": engine.dialect.name, "version": app.version}

    install_error_handlers(app)
    for router in _routers():
        app.include_router(router)
    _compose_money_rails(app, settings)
    return app


def _compose_money_rails(app: FastAPI, settings: BackendSettings) -> None:
    """The bank core and each payment channel, from the settings; simulators only where they say
    so, and only then the simulators' routes (backend/channels/compose.py)."""
    from backend.channels.compose import build_channels, build_corebanking, simulated_names

    app.state.corebanking = build_corebanking(settings.corebanking)
    app.state.channels = build_channels(settings.channels, settings.database_url)
    simulated = simulated_names(settings)
    for name in simulated:                 # a simulator stamps its answers with the backend's clock
        sim = app.state.corebanking if name == "corebanking" else app.state.channels.simulator(name)
        if hasattr(sim, "clock"):
            sim.clock = app.state.clock
    if simulated:
        from backend.api import channel_sim
        from backend.logging import log

        log.warning("SIMULATED_MONEY_RAILS", simulated=simulated,
                    message="simulators, not real services: no real money moves (settings chose them)")
        app.include_router(channel_sim.router)
