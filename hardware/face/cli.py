"""`gatepay face ...`: the face engine from the command line."""
from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Face matching: evaluate accuracy on a labelled photo set.", no_args_is_help=True)


@app.command()
def evaluate(
    manifest: Path = typer.Argument(..., help="MANIFEST.csv (file, identity, role); images beside it"),
    enroll: int = typer.Option(1, "--enroll", min=1, max=20, help="Photos enrolled per person (K)"),
    model: str = typer.Option("", "--model", help="Face model: sface (default) or dlib"),
    cache: Path | None = typer.Option(None, "--cache", help="npz file to keep encodings between runs"),
    show_curve: bool = typer.Option(False, "--curve", help="Also print TAR/FAR at other thresholds"),
    seed: int = typer.Option(0, "--seed", help="Seed of every identity's 4 random phone digits"),
) -> None:
    """Enrol every other identity with K photos, probe with the rest; print TAR and FAR, and
    with the 4-digit check for close calls (confirm_TAR, confirm_FAR)."""
    from hardware.face.config import FaceConfig
    from hardware.face.engine import FaceEngine
    from hardware.face.evaluate import Evaluation, ManifestError, closest_impostor, curve
    from hardware.face.models import ModelFileError, get_model

    try:
        config = FaceConfig(encoder=get_model(model).id) if model else FaceConfig()
        engine = FaceEngine(config)
        evaluation = Evaluation(manifest, engine, cache, seed=seed)
    except ManifestError as exc:
        typer.echo(f"清单文件有误 / Manifest problem: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (ModelFileError, ValueError) as exc:
        typer.echo(f"人脸模型不可用 / Face model problem: {exc}", err=True)
        raise typer.Exit(2) from exc

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            typer.echo(f"encoded {done}/{total}", err=True)

    outcome, details = evaluation.run(enroll, progress)
    m = engine.model
    typer.echo(f"model={m.id} threshold={m.threshold} margin={m.margin} confirm_threshold={m.confirm_threshold} "
               f"scoring={engine.config.scoring} unusable_photos={details['unusable']} "
               f"refused_enrolments={len(details['refused_enrolment'])} "
               f"closest_impostor={closest_impostor(details):.4f} asked_for_digits={outcome.asked}")
    if show_curve:
        steps = [round(m.threshold + d * m.threshold, 4) for d in (-0.15, -0.1, -0.05, 0, 0.05, 0.1, 0.15)]
        for t, o in curve(details, steps):
            typer.echo(f"threshold={t:.4f} {o.line()} false_accepts={o.false_accepts}")
    typer.echo(outcome.line())
