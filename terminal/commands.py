"""`gatepay terminal ...`: run the terminal, register it, hash a PIN, show its sync status.

    gatepay terminal --headless --scene canteen|parking --config terminal.yaml [--events FILE|-]
    gatepay terminal register --config terminal.yaml --code ABC123
    gatepay terminal hash-pin
    gatepay terminal status --config terminal.yaml
    gatepay terminal setup [--config terminal.yaml]         # the installer wizard (a screen)
    gatepay terminal screenshots --out docs/screenshots     # every screen to PNG, offscreen

On the kiosk path a config the terminal cannot use opens the safe-mode screen (what is wrong,
and the installer wizard to fix it) instead of leaving a black screen; --headless exits 2 with
the error on stderr, as a service manager expects.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import typer

app = typer.Typer(no_args_is_help=False, add_completion=False, invoke_without_command=True)


DEFAULT_CONFIG = Path("gatepay-terminal.yaml")


def _config(path: Path | None, scene: str | None = None,
            on_invalid: Callable[[str], int] | None = None, need_lane: bool = True):  # noqa: ANN202 - TerminalConfig
    from terminal.config import ConfigError, load_config, validate_config

    try:
        config = load_config(path)
        if scene and scene != config.scene:
            config = validate_config({**config.model_dump(mode="json"), "scene": scene})
        if need_lane:             # a lane terminal runs only with its lane; registering gives it one
            config.require_lane()
        return config
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(on_invalid(str(exc)) if on_invalid else 2) from None


def _raw_settings(path: Path) -> dict:
    """What can still be read from a config that does not validate (data_dir, language)."""
    from core.config_file import ConfigFileError, read_mapping

    try:
        return read_mapping(path)
    except ConfigFileError:
        return {}


def _safe_mode(problem: str, config_path: Path | None) -> int:
    """Show the problem on the kiosk screen with the installer wizard behind a button (the wizard
    registers with the terminal's own store and writes `config_path`). Returns 2 when the screen
    is closed (e.g. after the wizard saved): the terminal did not run, and a service manager
    restarting it on failure then starts it with the new config."""
    from core.clock import SystemClock
    from terminal.installer.backend import registration
    from terminal.installer.services import services_for
    from terminal.store import Store, load_data_key
    from ui.kiosk import run_safe_mode   # Qt only on the kiosk path

    path = config_path or DEFAULT_CONFIG
    raw = _raw_settings(path)
    data_dir = Path(str(raw.get("data_dir") or "var/terminal"))
    language = raw.get("language") if raw.get("language") in ("zh_CN", "en") else "zh_CN"
    typer.echo("配置无效，显示安全模式画面 / config invalid: showing the safe-mode screen", err=True)
    try:
        store = Store.open(data_dir / "terminal.db", load_data_key(data_dir), SystemClock())
    except Exception as exc:  # noqa: BLE001 - the screen must still say what is wrong
        run_safe_mode(f"{problem}\n\n{exc}", setup=None, language=language)
        return 2
    try:
        setup = services_for(path, registration(store), {"data_dir": str(data_dir)})
        run_safe_mode(problem, setup=setup, language=language)
    finally:
        store.close()
    return 2


@app.callback()
def terminal(ctx: typer.Context,
             config: Optional[Path] = typer.Option(None, "--config", help="Terminal config file (YAML or JSON)"),
             headless: bool = typer.Option(False, "--headless", help="Run without the kiosk screen"),
             scene: Optional[str] = typer.Option(None, "--scene", help="canteen or parking (overrides the file)"),
             events: Optional[str] = typer.Option(None, "--events", help="JSON-lines events file, '-' for stdin"),
             exit_at_eof: bool = typer.Option(False, "--exit-at-eof", help="Stop when the events file ends")) -> None:
    """Run the terminal: devices -> scene -> store -> sync. Stops cleanly on SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = _config(config, scene, on_invalid=None if headless else lambda problem: _safe_mode(problem, config))
    if headless:
        from terminal.runner import run_headless

        raise typer.Exit(run_headless(cfg, events, stop_at_eof=exit_at_eof))
    from terminal.runner import run_with_kiosk   # imports ui (Qt) only here

    raise typer.Exit(run_with_kiosk(cfg, config))


@app.command()
def register(config: Path = typer.Option(..., "--config", help="Terminal config file"),
             code: str = typer.Option(..., "--code", help="One-time enrolment code from the operator"),
             hardware_id: str = typer.Option("", "--hardware-id", help="Serial number of the box")) -> None:
    """Register this terminal with the backend (the device key is made here and never leaves)."""
    from sync.client import SyncFailure
    from core.clock import SystemClock
    from terminal.enrol import register as do_register
    from terminal.runner import open_store

    cfg = _config(config, need_lane=False)
    store = open_store(cfg, SystemClock())
    try:
        identity = do_register(store, cfg.backend_url, code, hardware_id=hardware_id)
    except SyncFailure as failure:
        typer.echo(f"注册失败 / registration failed: {failure.plain}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    typer.echo(f"registered: terminal {identity.terminal_id} ({identity.name}), merchant {identity.merchant_id}")
    _bind_lane(config, identity)


def _bind_lane(config: Path, identity) -> None:  # noqa: ANN001 - terminal.store.Identity
    """Write the lane the code was bound to into the config (a lane terminal runs only with it)."""
    from terminal.config import ConfigError
    from terminal.installer.config import bind_lane

    try:
        block = bind_lane(config, identity)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"已注册，但通道未写入配置 / registered, but the lane was not written to the config:\n{exc}", err=True)
        raise typer.Exit(1) from None
    if block is not None:
        typer.echo(f"通道已写入配置 / lane written to {config}: {block.get('lane_name') or ''} "
                   f"(lane_id {block['lane_id']}, {block['direction']})")


@app.command()
def setup(config: Path = typer.Option(DEFAULT_CONFIG, "--config", help="Terminal config file to write"),
          data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="The terminal's data directory"),
          window: bool = typer.Option(False, "--window", help="A window instead of full screen")) -> None:
    """The installer wizard: register, find and test devices, write the config."""
    from terminal.installer.services import standalone
    from ui.setup_app import run_setup   # Qt is imported only here

    with standalone(config, data_dir) as (services, language):
        code = run_setup(services, language, fullscreen=not window)
    raise typer.Exit(code)


@app.command()
def screenshots(out: Path = typer.Option(Path("docs/screenshots"), "--out", help="Folder for the PNGs"),
                data: Path = typer.Option(Path("tests/data/ui"), "--data",
                                          help="Folder with face-480p.jpg and plate-wan-A195K9.jpg"),
                sizes: str = typer.Option("800x480,1920x1080", "--sizes", help="Comma-separated WxH"),
                only: str = typer.Option("", "--only", help="Comma-separated groups: scene, admin, wizard")) -> None:
    """Render every screen (kiosk, admin, wizard) to PNG offscreen, no display needed."""
    from ui.screenshots import render_all   # Qt (offscreen) is imported only here

    shapes = tuple(tuple(int(v) for v in size.split("x")) for size in sizes.split(","))
    for path in render_all(out, data, shapes, tuple(group for group in only.split(",") if group)):  # type: ignore[arg-type]
        typer.echo(path)


@app.command("hash-pin")
def hash_pin_command(pin: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)) -> None:
    """Print the admin_pin_hash line for a new admin PIN."""
    from terminal.config import hash_pin

    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        typer.echo("PIN 应为4到12位数字 / the PIN must be 4 to 12 digits", err=True)
        raise typer.Exit(2)
    typer.echo(f"admin_pin_hash: \"{hash_pin(pin)}\"")


@app.command()
def status(config: Path = typer.Option(..., "--config", help="Terminal config file"),
           sync: bool = typer.Option(False, "--sync", help="Push and pull once before reporting")) -> None:
    """Whether the terminal runs, online or not, last push/pull, queue, clock skew, offline payments
    the backend declined; times in the terminal's time zone. Reads the store only (the running
    terminal writes its link state there every few seconds; no crash recovery here, that is the
    runner's); --sync also pushes and pulls once, as the running terminal's sync loop would."""
    from terminal import live_status
    from terminal.sync_loops import SyncEngine
    from sync.status import SyncTracker
    from core.clock import SystemClock
    from terminal.runner import make_client, open_store

    cfg = _config(config, need_lane=False)
    clock = SystemClock()
    store = open_store(cfg, clock)
    client = make_client(cfg, store)
    try:
        if sync and client is not None:       # this process's own cycle; the running terminal's state is below
            tracker = SyncTracker()
            SyncEngine(store, client, tracker, clock, batch=cfg.push_batch).cycle()
            now = tracker.snapshot()
            typer.echo(f"本次同步 / this sync: online: {now.online}" + (f"  ({now.last_error})" if now.last_error else ""))
        identity = store.identity()
        outbox = store.outbox
        declined = len(outbox.items(statuses=("declined", "rejected"), kind="payment"))
        typer.echo(f"终端编号 / terminal: {f'{identity.terminal_id} ({identity.name})' if identity else '未注册 / not registered'}")
        for line in live_status.report(live_status.read(store), outbox.queue_depth(), declined, store.last_pull_at(),
                                       clock.now(), cfg.timezone):
            typer.echo(line)
    finally:
        if client:
            client.close()
        store.close()
