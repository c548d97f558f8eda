"""`gatepay doctor`: the backend first (reachable, this terminal registered and accepted, clock
skew), then every device (hardware.doctor). The file is the terminal config (TerminalConfig, YAML
or JSON); the backend part needs it and its store. A file that holds only a `devices:` list is
accepted too and checks the devices alone, so they can be checked before the rest is configured.

The store is only read (a kiosk may be running on it), as `gatepay terminal status` does.
"""
from __future__ import annotations

from pathlib import Path

import httpx
import typer
from pydantic import ValidationError

from core.clock import Clock, SystemClock
from core.config_file import ConfigFileError, read_mapping
from core.config_errors import english_only, explain
from hardware import registry
from hardware.base import CheckResult, DeviceConfigBase
from hardware.doctor import run_doctor
from sync.status import SKEW_WARN_S
from terminal.config import TerminalConfig


class DoctorConfigError(ValueError):
    """The file cannot be read or is not a valid config; the message says which field."""


def read_config(path: Path) -> tuple[list[DeviceConfigBase], TerminalConfig | None]:
    """(the devices, the terminal config; None for a devices-only file)."""
    try:
        data = read_mapping(path)
    except ConfigFileError as exc:
        raise DoctorConfigError(str(exc)) from None
    if "devices" not in data:
        raise DoctorConfigError(f"配置文件中没有 devices 列表 / config file {path} has no `devices:` list")
    if set(data) == {"devices"}:
        try:
            return registry.parse_devices(data["devices"] or []), None
        except ValidationError as exc:
            lines = [f"  {explain(err, list[registry.DeviceConfig], ('devices',))}" for err in exc.errors()[:10]]
            raise DoctorConfigError("设备配置有误 / device config is invalid:\n" + "\n".join(lines)) from None
        except ValueError as exc:
            raise DoctorConfigError(f"设备配置有误 / device config is invalid: {exc}") from None
    from terminal.config import ConfigError, load_config

    try:
        config = load_config(path, environ={})
    except ConfigError as exc:
        raise DoctorConfigError(str(exc)) from None
    return list(config.devices), config


def check_backend(config: TerminalConfig, clock: Clock, timeout_s: float = 3.0) -> list[CheckResult]:
    """Three lines: is the backend there, does it accept this terminal, how far off is our clock."""
    from sync.client import SyncFailure
    from terminal.runner import make_client, open_store

    url = config.backend_url.rstrip("/")
    try:
        health = httpx.get(f"{url}/health", timeout=timeout_s)
        if health.status_code != 200:
            raise httpx.HTTPStatusError("not healthy", request=health.request, response=health)
    except httpx.HTTPError as exc:
        why = f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else type(exc).__name__
        return [CheckResult("backend", False, f"连不上后台 {url}（{why}）", f"cannot reach the backend at {url} ({why})",
                            "检查网线和配置中的 backend_url", "check the network cable and backend_url in the config")]
    results = [CheckResult.passed("backend", f"后台正常：{url}", f"the backend answers at {url}")]
    store = open_store(config, clock)
    try:
        identity = store.identity()
        client = make_client(config, store)
        if identity is None or client is None:
            return results + [CheckResult(
                "registration", False, "这台终端还没有注册", "this terminal is not registered",
                "向运营人员要注册码，运行 gatepay terminal register --config 配置文件 --code 注册码",
                "ask the operator for an enrolment code, then run gatepay terminal register --config FILE --code CODE")]
        try:
            sample = client.server_time(clock.now)
        except SyncFailure as failure:
            zh, en = failure.said or failure.words
            return results + [CheckResult(
                "registration", False, f"后台不接受这台终端（{identity.terminal_id} 号）：{zh}",
                f"the backend does not accept this terminal ({identity.terminal_id}): {en}",
                "检查终端时间；终端被停用或换了后台时，向运营人员要新注册码重新注册",
                "check the clock; if the terminal was disabled or the backend changed, register again with a new code")]
        finally:
            client.close()
    finally:
        store.close()
    results.append(CheckResult.passed("registration", f"已注册：终端 {identity.terminal_id}（{identity.name}）",
                                      f"registered: terminal {identity.terminal_id} ({identity.name})"))
    skew = round(sample.skew_s)
    if abs(sample.skew_s) > SKEW_WARN_S:
        results.append(CheckResult("clock", False, f"终端时钟与后台相差 {skew} 秒", f"the clock is {skew} s off the backend",
                                   "校准时间（开启 NTP 自动对时）", "set the time (turn on NTP)"))
    else:
        results.append(CheckResult.passed("clock", f"时钟正常（与后台相差 {skew} 秒）",
                                          f"the clock is right ({skew} s off the backend)"))
    return results


def render_backend(results: list[CheckResult], lang: str = "zh") -> str:
    lines = []
    for r in results:
        mark = "正常 OK " if r.ok else "故障 FAIL"
        if lang == "en":
            mark = mark.split(" ", 1)[1].strip()
        lines.append(f"[{mark}] {r.device}: {r.en if lang == 'en' else r.zh}")
        if lang != "en":
            lines.append(f"      {r.en}")
        if not r.ok:
            if lang != "en":
                lines.append(f"      怎么办: {r.fix_zh}")
            lines.append(f"      what to do: {r.fix_en}")
    return "\n".join(lines)


def run(path: Path, lang: str = "zh", clock: Clock | None = None) -> tuple[int, str]:
    """(exit code, report): 0 all passed, 1 something failed, 2 the config itself is wrong."""
    try:
        devices, config = read_config(path)
    except DoctorConfigError as exc:
        return 2, english_only(str(exc)) if lang == "en" else str(exc)
    code, devices_text = run_doctor(devices, lang)
    if config is None:
        return code, devices_text          # a devices-only file: no backend to check
    results = check_backend(config, clock or SystemClock())
    head = "Backend:" if lang == "en" else "后台 / backend:"
    devices_head = "Devices:" if lang == "en" else "设备 / devices:"
    text = f"{head}\n{render_backend(results, lang)}\n\n{devices_head}\n{devices_text}"
    return (max(code, 1) if not all(r.ok for r in results) else code), text


def doctor_command(
    config: Path = typer.Option(..., "--config", help="Terminal config (YAML/JSON), or a file with only a devices: list."),
    lang: str = typer.Option("zh", "--lang", help="zh: Chinese with English under it; en: English only."),
) -> None:
    """Typer command, registered as `gatepay doctor` in terminal/cli.py."""
    code, text = run(config, lang)
    typer.echo(text)
    raise typer.Exit(code)
