"""`gatepay plate ...`: the plate reader and the camera push endpoint from the command line."""
from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Number plates: evaluate the software reader, push a simulated camera result.",
                  no_args_is_help=True)


@app.command()
def evaluate(
    manifest: Path = typer.Argument(..., help="MANIFEST.csv (file, plate[, colour]); images beside it"),
) -> None:
    """Read every picture with the shipped reader; print each read, then exact=<n>/<m> median_ms=<ms>."""
    from hardware.plates.evaluate import ManifestError, evaluate as run, read_manifest, summary
    from hardware.plates.ocr import PlateOCR

    try:
        read_manifest(manifest)
    except ManifestError as exc:
        typer.echo(f"清单文件有误 / Manifest problem: {exc}", err=True)
        raise typer.Exit(2) from exc
    results = []
    for result in run(manifest, PlateOCR()):
        results.append(result)
        typer.echo(result.line())
    typer.echo(summary(results))


@app.command()
def read(image: Path = typer.Argument(..., help="A photo (JPEG/PNG) from a lane camera")) -> None:
    """Read the plate in one photo; prints nothing-found when there is none."""
    import cv2

    from hardware.plates.ocr import PlateOCR

    frame = cv2.imread(str(image))
    if frame is None:
        typer.echo(f"无法打开图片 / Cannot open image {image}", err=True)
        raise typer.Exit(2)
    reading = PlateOCR().read(frame)
    if reading is None:
        typer.echo("未识别到车牌 / no plate found")
        raise typer.Exit(1)
    typer.echo(json.dumps({"plate": reading.plate.text, "colour": reading.plate.colour,
                           "score": round(reading.score, 3), "box": reading.box}, ensure_ascii=False))


@app.command()
def push(
    url: str = typer.Argument(..., help="The terminal's push URL, with ?key=... if a secret is set"),
    serialno: str = typer.Argument(..., help="Camera serial number on the allow-list"),
    plate: str = typer.Argument(..., help="Plate the simulated camera reports"),
    photo: Path | None = typer.Option(None, "--photo", help="Photo sent as imageFile"),
) -> None:
    """Act as a Vzenith camera: push one car and print what the lane was told to do."""
    import http.client
    from urllib.parse import urlsplit

    from hardware.plates.simulator import SimulatedVzenithCamera

    if urlsplit(url).scheme != "http" or not urlsplit(url).hostname:
        _fail(f"推送地址应以 http:// 开头，例如 http://127.0.0.1:8088/plate（现为 {url}）",
              f"the push URL must start with http://, e.g. http://127.0.0.1:8088/plate (it is {url})", 2)
    if photo is not None and not photo.is_file():
        _fail(f"找不到照片文件 {photo}", f"no photo file {photo}", 2)
    try:
        reply = SimulatedVzenithCamera(url, serialno, photo).see(plate)
    except ConnectionRefusedError:
        _fail(f"{url} 拒绝连接：终端没有运行，或推送端口不对", f"{url} refused the connection: the terminal is "
              "not running, or the push port is wrong")
    except (OSError, http.client.HTTPException) as exc:   # timeouts, unknown host, a reset mid-answer
        _fail(f"连不上 {url}：{exc}", f"cannot reach {url}: {exc}")
    except ValueError:
        _fail(f"{url} 的回答不是车牌相机推送的回答：地址是否指向终端的推送端口？",
              f"{url} did not answer as a plate push endpoint: is the URL the terminal's push port?")
    typer.echo(json.dumps({"status": reply.status, "opened": reply.opened, "display": reply.display,
                           "voice": reply.voice}, ensure_ascii=False))


def _fail(zh: str, en: str, code: int = 1) -> None:
    typer.echo(f"{zh} / {en}", err=True)
    raise typer.Exit(code)
