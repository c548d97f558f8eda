"""`gatepay face ...`: the face engine from the command line."""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Face matching: evaluate accuracy on a labelled photo set.", no_args_is_help=True)

CURVE = [0.35, 0.37, 0.39, 0.41, 0.43, 0.45, 0.50, 0.55, 0.60]


@app.command()
def evaluate(
    manifest: Path = typer.Argument(..., help="MANIFEST.csv (file, identity, role); images beside it"),
    enroll: int = typer.Option(1, "--enroll", min=1, max=20, help="Photos enrolled per person (K)"),
    cache: Path | None = typer.Option(None, "--cache", help="npz file to keep encodings between runs"),
    show_curve: bool = typer.Option(False, "--curve", help="Also print TAR/FAR at other thresholds"),
) -> None:
    """Enrol every other identity with K photos, probe with the rest; print TAR and FAR."""
    from hardware.face.engine import FaceEngine
    from hardware.face.evaluate import Evaluation, ManifestError, curve

    engine = FaceEngine()
    try:
        evaluation = Evaluation(manifest, engine, cache)
    except ManifestError as exc:
        typer.echo(f"清单文件有误 / Manifest problem: {exc}", err=True)
        raise typer.Exit(2) from exc

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            typer.echo(f"encoded {done}/{total}", err=True)

    outcome, details = evaluation.run(enroll, progress)
    cfg = engine.config
    typer.echo(f"engine={cfg.encoder} threshold={cfg.threshold} margin={cfg.margin} scoring={cfg.scoring} "
               f"unusable_photos={details['unusable']} refused_enrolments={len(details['refused_enrolment'])}")
    if show_curve:
        for t, o in curve(details, CURVE):
            typer.echo(f"threshold={t:.2f} {o.line()} false_accepts={o.false_accepts}")
    typer.echo(outcome.line())
