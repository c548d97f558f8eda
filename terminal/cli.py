"""The `gatepay` command. Each package owns its sub-commands; this root only gathers them.

Importing this module opens no device and starts no thread (the commands do, when run).
"""
from __future__ import annotations

import os

# Before anything imports numpy: OpenBLAS reads these once, at load. The face gallery search is
# one memory-bound matrix-vector product; with default threading OpenBLAS's workers spin against
# dlib on the 2-core terminal (1:N at 100,000 templates: 2.3 ms with one thread, 20-28 ms with
# the default — docs/FACE.md, docs/BENCHMARKS.md). setdefault: an operator's explicit value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import typer  # noqa: E402 - after the thread settings above

app = typer.Typer(
    help="gatepay — canteen and parking gate payments (terminal, devices, backend).",
    no_args_is_help=True,
    add_completion=False,
)


def _register_subcommands() -> None:
    from backend.cli import app as backend_app

    app.add_typer(backend_app, name="backend", help="The backend service: serve, migrate, check-ledger.")

    from hardware.face.cli import app as face_app

    app.add_typer(face_app, name="face", help="Face matching: evaluate accuracy on a labelled photo set.")

    from terminal.commands import app as terminal_app

    app.add_typer(terminal_app, name="terminal",
                  help="The terminal: run it (--headless or the kiosk), register it, show its sync status.")

    from hardware.plates.cli import app as plate_app

    app.add_typer(plate_app, name="plate", help="Number plates: evaluate the software reader, simulate a camera push.")

    from terminal.demo.cli import demo_command

    app.command("demo", help="A day at a canteen and a car park, end to end (--out DIR, --check).")(demo_command)

    from terminal.doctor import doctor_command   # the backend, then every device (hardware.doctor)

    app.command("doctor", help="Check the backend (reachable, registered, clock) and test every configured device live; say what is wrong (exit 1 if any fails).")(
        doctor_command)


_register_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
