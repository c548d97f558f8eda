"""The device half of `gatepay doctor` (terminal/doctor.py reads the config file and adds the
backend): build every configured device, test it live, and say per device what is wrong and what
to do, Chinese first. Exit status 1 if any device fails.

Self-tests never move a barrier; the voice says its welcome prompt and the lane display shows a
test text, so the installer can see and hear them.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Mapping

from hardware.base import CheckResult, Clock, DeviceConfigBase, DeviceError, system_clock
from hardware.registry import build_device, build_order

SELF_TEST_TIMEOUT_S = 15.0


def _timed_self_test(device, name: str, timeout_s: float) -> CheckResult:  # noqa: ANN001
    box: list[CheckResult] = []

    def run() -> None:
        try:
            box.append(device.self_test())
        except DeviceError as exc:
            box.append(exc.as_check(name))
        except Exception as exc:  # noqa: BLE001 - a driver bug must not stop the other checks
            box.append(CheckResult(name, False, "自检出错", f"self-test crashed: {type(exc).__name__}: {exc}",
                                   "把这段输出发给技术支持", "send this output to support"))

    worker = threading.Thread(target=run, name=f"doctor-{name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not box:
        return CheckResult(name, False, "设备在规定时间内没有应答", f"no answer within {timeout_s:.0f} s",
                           "检查设备电源和连线", "check the device's power and cable")
    return box[0]


def check_devices(configs: Iterable[DeviceConfigBase], *, clock: Clock = system_clock,
                  card_key: bytes | None = None, prebuilt: Mapping[str, object] | None = None,
                  timeout_s: float = SELF_TEST_TIMEOUT_S) -> list[CheckResult]:
    """Build (unless given in `prebuilt`), self-test and close each device, in config order.
    Card numbers read during a check are hashed with a throw-away key and never shown."""
    card_key = card_key or os.urandom(32)
    built: dict[str, object] = dict(prebuilt or {})
    results = []
    ordered = build_order(configs)
    for config in ordered:
        device = built.get(config.name)
        if device is None:
            try:
                device = build_device(config, clock=clock, card_key=card_key, devices=built)
            except DeviceError as exc:
                results.append(exc.as_check(config.name))
                continue
            except Exception as exc:  # noqa: BLE001 - a driver bug must not stop the other checks
                results.append(CheckResult(config.name, False, "设备无法创建", f"cannot build: {type(exc).__name__}: {exc}",
                                           "检查这台设备的配置；仍不行请把这段输出发给技术支持",
                                           "check this device's config; if it persists, send this output to support"))
                continue
            built[config.name] = device
        results.append(_timed_self_test(device, config.name, timeout_s))
    for device in built.values():
        try:
            device.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001,S110 - closing after a failed check may fail again; nothing to report
            pass
    order = {c.name: i for i, c in enumerate(configs if isinstance(configs, list) else ordered)}
    return sorted(results, key=lambda r: order.get(r.device, 0))


SIMULATOR_WORDS = ("模拟器：仅供演示和培训，不可投入使用", "simulator: for demos and training only, not for service")


def render(results: list[CheckResult], types: Mapping[str, str], lang: str = "zh",
           simulators: Collection[str] = ()) -> str:
    """One block per device; `lang` zh (Chinese, English under it) or en (English only). A device
    named in `simulators` that passes is marked SIM, never OK: it is not ready for service."""
    lines = []
    for r in results:
        mark = ("模拟 SIM " if r.device in simulators else "正常 OK ") if r.ok else "故障 FAIL"
        if lang == "en":
            mark = mark.split(" ", 1)[1].strip()
        head = f"[{mark}] {r.device} ({types.get(r.device, '?')})"
        if lang == "en":
            lines.append(f"{head}: {r.en}" + (f" ({SIMULATOR_WORDS[1]})" if r.ok and r.device in simulators else ""))
            if not r.ok and r.fix_en:
                lines.append(f"      what to do: {r.fix_en}")
            continue
        lines.append(f"{head}: {r.zh}")
        lines.append(f"      {r.en}")
        if r.ok and r.device in simulators:
            lines.append(f"      {SIMULATOR_WORDS[0]} / {SIMULATOR_WORDS[1]}")
        if not r.ok and (r.fix_zh or r.fix_en):
            lines.append(f"      怎么办: {r.fix_zh}")
            lines.append(f"      what to do: {r.fix_en}")
    failed = sum(not r.ok for r in results)
    sims = sum(r.ok and r.device in simulators for r in results)
    if lang == "en":
        lines.append(f"{len(results)} devices checked, {failed} failed."
                     + (f" {sims} are simulators: not ready for service." if sims else ""))
    else:
        lines.append(f"共检查 {len(results)} 台设备，{failed} 台故障。 {len(results)} devices checked, {failed} failed.")
        if sims:
            lines.append(f"其中 {sims} 台是模拟器，不可投入使用。 {sims} are simulators: not ready for service.")
    return "\n".join(lines)


def run_doctor(configs: list[DeviceConfigBase], lang: str = "zh", *, clock: Clock = system_clock,
               timeout_s: float = SELF_TEST_TIMEOUT_S) -> tuple[int, str]:
    """(exit code, report) for the devices of a config: 0 = every device passed; 1 = a device
    failed (or there are none)."""
    if not configs:
        return 1, "no devices in the config" if lang == "en" else "配置中没有设备 / no devices in the config"
    results = check_devices(configs, clock=clock, timeout_s=timeout_s)
    text = render(results, {c.name: c.type for c in configs}, lang,  # type: ignore[attr-defined]
                  simulators={c.name for c in configs if c.is_simulator})
    if all(r.ok for r in results):
        return 0, text
    return 1, text + "\n" + found_here(lang)


def found_here(lang: str = "zh", suggestions=None) -> str:  # noqa: ANN001 - list[Suggestion] | None
    """What is plugged in, so an installer whose port name is wrong can see the right one."""
    from hardware.discovery import camera_nodes, suggest

    paths: dict[str, str] = {}
    for s in suggest() if suggestions is None else suggestions:
        paths.setdefault(s.path, s.description)
    cameras = camera_nodes()
    camera_line = (f"cameras: {', '.join(cameras) or 'none found'}" if lang == "en" else
                   f"摄像头 / cameras: {'、'.join(cameras) or '本机没有发现摄像头 / none found'}")
    if not paths:
        return ("no serial ports or keyboard devices found" if lang == "en" else
                "本机没有发现串口或扫码枪设备 / no serial ports or keyboard devices found") + "\n" + camera_line
    head = "found on this machine:" if lang == "en" else "本机发现的设备 / found on this machine:"
    return "\n".join([head] + [f"  {path}  {desc}".rstrip() for path, desc in sorted(paths.items())] + [camera_line])
