"""Barcode/QR scanners: serial (lines ending CR/LF), USB HID keyboard-wedge (Linux evdev), and
decoding from camera frames (pyzbar). Each emits hardware.events.CodeScanned with the pay-code
kind already classified; nothing here logs a code.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from hardware.base import (NAME_PATTERN, BuildContext, CheckResult, Clock, DeviceConfigBase, DeviceError, EventSource,
                           FrameStep)
from hardware.evdev_keys import KeyDecoder, encode_text
from hardware.events import CodeScanned
from core.paycode import Classified, PayCodeRules, classify
from hardware.serialio import ByteLink, LineFramer, LinkedDevice, LoopLink, SerialDeviceConfig, SerialLink
from hardware.spec import DeviceKind, DriverSpec, any_serial_port

_PAYCODES = dict(title="Pay-code rules / 付款码规则",
                 description="Which pay codes are accepted and the bank's and campus formats.")
_MAX_LINE = dict(title="Longest code / 最长码",
                 description="A line longer than this is dropped as noise (characters).", ge=8, le=4096)


class SerialScannerConfig(SerialDeviceConfig):
    """A scanner on a serial port (or USB in virtual-COM mode) that sends one code per line."""

    type: Literal["serial_scanner"] = Field(title="Type", description="Serial barcode/QR scanner.")
    max_line_chars: int = Field(default=512, **_MAX_LINE)
    paycodes: PayCodeRules = Field(default_factory=PayCodeRules, **_PAYCODES)


class HidScannerConfig(DeviceConfigBase):
    """A USB scanner in keyboard mode: it types the code and presses Enter."""

    type: Literal["hid_scanner"] = Field(title="Type", description="USB keyboard-wedge scanner (Linux evdev).")
    device: str | None = Field(
        default=None, title="Input device / 输入设备",
        description="e.g. /dev/input/by-id/usb-XXXX-event-kbd; not needed when simulated.",
        min_length=1, max_length=300)
    grab: bool = Field(default=True, title="Exclusive / 独占",
                       description="Grab the device so scanned codes are not typed into other programs.")
    max_line_chars: int = Field(default=512, **_MAX_LINE)
    paycodes: PayCodeRules = Field(default_factory=PayCodeRules, **_PAYCODES)


class CameraScannerConfig(DeviceConfigBase):
    """Decode codes from the frames of a camera the terminal already has."""

    type: Literal["camera_scanner"] = Field(title="Type", description="QR/barcode decoding from camera frames.")
    camera: str = Field(title="Camera / 摄像头", description="Name of the camera device whose frames are read.",
                        pattern=NAME_PATTERN)
    every_nth_frame: int = Field(default=2, title="Frame step / 隔帧",
                                 description="Decode one frame in this many (saves CPU).", ge=1, le=30)
    repeat_ms: int = Field(default=3000, title="Repeat hold-off / 重复间隔",
                           description="The same code seen again within this time is not reported again.",
                           ge=0, le=60000)
    paycodes: PayCodeRules = Field(default_factory=PayCodeRules, **_PAYCODES)


# ---------------------------------------------------------------- protocol and shared parts
@runtime_checkable
class CodeScanner(Protocol):
    name: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def poll(self, timeout_s: float = 0.05) -> list[CodeScanned]: ...
    def self_test(self) -> CheckResult: ...


def _event(text: str, rules, clock: Clock, device: str) -> CodeScanned:  # noqa: ANN001
    result = classify(text, rules)
    kind = result.kind if isinstance(result, Classified) else "unknown"
    return CodeScanned(text=text, kind=kind, at=clock.now(), device=device)


# ---------------------------------------------------------------- serial scanner
class SerialScanner(LinkedDevice):
    """Reads one code per CR/LF-terminated line. Garbled and overlong lines are dropped and
    counted (`framer.garbled`, `framer.overlong`); the next good line reads normally."""

    def __init__(self, config: SerialScannerConfig, clock: Clock, link_factory: Callable[[], ByteLink]):
        super().__init__(config.name, link_factory)
        self.config = config
        self._clock = clock
        self.framer = LineFramer(config.max_line_chars)

    def poll(self, timeout_s: float = 0.05) -> list[CodeScanned]:
        lines = self.framer.feed(self._live_link().read(timeout_s))
        return [_event(line, self.config.paycodes, self._clock, self.name) for line in lines]

    def self_test(self) -> CheckResult:
        try:
            self.open()
            self.poll(0.05)  # reading proves the port is alive; a scanner only talks when it scans
        except DeviceError as exc:
            return exc.as_check(self.name)
        return CheckResult.passed(self.name, "串口正常，请扫一个付款码试试", "port is open; scan a code to try it")


class ScannerSimulator:
    """The device end of a simulated serial scanner: `scan()` sends the code the way the
    hardware does (text + CR LF); `send_raw()` sends noise; `unplug()` drops the wire."""

    def __init__(self, terminator: bytes = b"\r\n"):
        self.link = LoopLink()
        self.terminator = terminator

    def scan(self, text: str) -> None:
        self.link.inject(text.encode() + self.terminator)

    def send_raw(self, data: bytes) -> None:
        self.link.inject(data)

    def unplug(self) -> None:
        self.link.connected = False


def build_serial_scanner(config: SerialScannerConfig, ctx: BuildContext) -> SerialScanner:
    if config.simulated:
        sim = ScannerSimulator()
        scanner = SerialScanner(config, ctx.clock, lambda: sim.link)
        scanner.simulator = sim  # type: ignore[attr-defined]
        return scanner
    return SerialScanner(config, ctx.clock, lambda: SerialLink(config))


# ---------------------------------------------------------------- USB HID keyboard-wedge scanner
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int): exclusive access, keys stop reaching other programs


class HidScanner:
    """Reads Linux input_event records from /dev/input/event* and turns key presses into text
    up to Enter. Uses os.read on the device node (no evdev package needed)."""

    def __init__(self, config: HidScannerConfig, clock: Clock, opener: Callable[[], int]):
        self.name = config.name
        self.config = config
        self._clock = clock
        self._opener = opener
        self._fd: int | None = None
        self.decoder = KeyDecoder(config.max_line_chars)

    def open(self) -> None:
        if self._fd is None:
            self._fd = self._opener()

    def close(self) -> None:
        import os

        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None

    def poll(self, timeout_s: float = 0.05) -> list[CodeScanned]:
        import os
        import select

        if self._fd is None:
            raise DeviceError("扫码枪未打开", "scanner is not open")
        ready, _, _ = select.select([self._fd], [], [], timeout_s)
        if not ready:
            return []
        try:
            data = os.read(self._fd, 24 * 256)
        except BlockingIOError:
            return []
        except OSError as exc:   # ENODEV: unplugged
            raise _hid_gone() from exc
        if not data:             # end of file: the node's writer is gone
            raise _hid_gone()
        lines = self.decoder.feed(data)
        return [_event(line, self.config.paycodes, self._clock, self.name) for line in lines]

    def self_test(self) -> CheckResult:
        try:
            self.open()
            self.poll(0.0)
        except DeviceError as exc:
            return exc.as_check(self.name)
        return CheckResult.passed(self.name, "扫码枪已连接，请扫一个付款码试试", "scanner connected; scan a code to try it")


def _hid_gone() -> DeviceError:
    return DeviceError("扫码枪断开了", "the USB scanner went away", "重新插好扫码枪", "plug the scanner in again")


def open_input_device(path: str, grab: bool) -> int:
    import fcntl
    import os

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise DeviceError(f"找不到扫码枪 {path}", f"input device {path} does not exist",
                          "插好扫码枪，或在配置中选对设备（/dev/input/by-id/…-event-kbd）",
                          "plug the scanner in, or pick the right device (/dev/input/by-id/...-event-kbd)") from exc
    except PermissionError as exc:
        raise DeviceError(f"没有权限读取 {path}", f"no permission to read {path}",
                          "把运行用户加入 input 组后重新登录", "add the service user to the input group and log in again") from exc
    if grab:
        try:
            fcntl.ioctl(fd, EVIOCGRAB, 1)
        except OSError as exc:
            os.close(fd)
            raise DeviceError(f"无法独占 {path}", f"cannot grab {path} for exclusive use",
                              "确认这是扫码枪的键盘设备，且没有别的程序独占它",
                              "check it is the scanner's keyboard device and no other program grabbed it") from exc
    return fd


class HidScannerSimulator:
    """A keyboard-wedge scanner on a pipe: `scan()` writes the same input_event records the
    kernel delivers (key down/up, shift for capitals, Enter at the end)."""

    def __init__(self):
        self.read_fd: int | None = None
        self.write_fd: int | None = None

    def open_pipe(self) -> int:
        import os

        self.unplug()   # a reopen gets a fresh wire; the old one's writer is closed
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        return self.read_fd

    def scan(self, text: str) -> None:
        self.send_raw(encode_text(text))

    def send_raw(self, data: bytes) -> None:
        import os

        if self.write_fd is None:
            raise DeviceError("模拟扫码枪未打开", "simulated scanner is not open")
        os.write(self.write_fd, data)

    def unplug(self) -> None:
        import os

        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None


def build_hid_scanner(config: HidScannerConfig, ctx: BuildContext) -> HidScanner:
    if config.simulated:
        sim = HidScannerSimulator()
        scanner = HidScanner(config, ctx.clock, sim.open_pipe)
        scanner.simulator = sim  # type: ignore[attr-defined]
        return scanner
    if not config.device:
        raise DeviceError("未配置扫码枪设备", "no input device configured",
                          "在配置中填写 device", "set `device` in the config")
    return HidScanner(config, ctx.clock, lambda: open_input_device(config.device, config.grab))


# ---------------------------------------------------------------- codes in camera frames
def decode_frame(image) -> list[str]:  # noqa: ANN001 - numpy array, BGR or grey
    """Every QR/barcode text pyzbar finds in one image; texts that are not UTF-8 are skipped.
    When the plain image gives nothing, two cheap retries catch common camera trouble:
    contrast equalisation (glare, dim lane) and, for small images, a 2x upscale (a code far
    from the lens). Measured on the sample photos by bench/bench_codes.py."""
    import cv2
    from pyzbar import pyzbar

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    attempts = [lambda: grey, lambda: cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(grey)]
    if min(grey.shape[:2]) < 320:
        attempts.append(lambda: cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    for attempt in attempts:
        symbols = pyzbar.decode(attempt())
        if symbols:
            break
    texts: list[str] = []
    for symbol in symbols:
        try:
            texts.append(symbol.data.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return texts


class CameraScanner:
    """Decodes codes from the frames of a camera device (one frame in `every_nth_frame`);
    the same code seen again within `repeat_ms` is reported once."""

    def __init__(self, config: CameraScannerConfig, clock: Clock, camera):  # noqa: ANN001 - hardware.camera.Camera
        self.name = config.name
        self.config = config
        self._clock = clock
        self.camera = camera
        self._frames = FrameStep(config.every_nth_frame)
        self._last: dict[str, float] = {}

    def open(self) -> None:
        self.camera.open()

    def close(self) -> None:
        return None  # the camera belongs to its own device entry; it is closed there

    def poll(self, timeout_s: float = 0.05) -> list[CodeScanned]:
        frame = self._frames.take(self.camera)
        return [] if frame is None else self.feed_image(frame.image)

    def feed_image(self, image) -> list[CodeScanned]:  # noqa: ANN001
        now = self._clock.monotonic()
        events = []
        for text in decode_frame(image):
            seen = self._last.get(text)
            self._last[text] = now
            if seen is not None and (now - seen) * 1000 < self.config.repeat_ms:
                continue
            events.append(_event(text, self.config.paycodes, self._clock, self.name))
        self._last = {t: s for t, s in self._last.items() if (now - s) * 1000 < max(self.config.repeat_ms, 1)}
        return events

    def self_test(self) -> CheckResult:
        try:
            self.open()
            frame = self.camera.read()
        except Exception as exc:  # noqa: BLE001 - any camera failure is reported, not raised
            return CheckResult(self.name, False, f"摄像头 {self.config.camera} 打不开",
                               f"camera {self.config.camera} cannot be opened: {exc}",
                               "先修好摄像头", "fix the camera first")
        if frame is None:
            return CheckResult(self.name, False, f"摄像头 {self.config.camera} 没有画面",
                               f"camera {self.config.camera} gives no picture",
                               "检查摄像头连线", "check the camera's cable")
        return CheckResult.passed(self.name, "摄像头有画面，可以扫码", "camera gives frames; codes can be read")


def build_camera_scanner(config: CameraScannerConfig, ctx: BuildContext) -> CameraScanner:
    return CameraScanner(config, ctx.clock, ctx.camera(config.camera))


def _keyboard_node(candidate) -> tuple[bool, bool]:  # noqa: ANN001 - hardware.discovery.Candidate
    """Any keyboard event node could be a scanner in keyboard mode; its name may say it is one."""
    name = candidate.description.lower()
    return candidate.bus == "input", candidate.bus == "input" and ("scan" in name or "barcode" in name)


SCANNER = DeviceKind("scanner", ("扫码器", "Code scanner"))
DRIVERS = (
    DriverSpec("serial_scanner", SCANNER, ("串口扫码器", "Serial code scanner"), SerialScannerConfig,
               build_serial_scanner, (EventSource,), any_serial_port),
    DriverSpec("hid_scanner", SCANNER, ("USB 扫码枪（键盘式）", "USB code scanner (keyboard)"), HidScannerConfig,
               build_hid_scanner, (EventSource,), _keyboard_node),
    DriverSpec("camera_scanner", SCANNER, ("用摄像头扫码", "Codes read by a camera"), CameraScannerConfig,
               build_camera_scanner, (EventSource,)),
)
