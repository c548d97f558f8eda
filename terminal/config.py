"""The terminal's one validated configuration (pydantic), read from a file and the environment.

    config = load_config(Path("/etc/gatepay/terminal.yaml"))     # YAML or JSON
    GATEPAY_TERMINAL_BACKEND_URL=http://... overrides the file   # any scalar field, by name

Every field has a title, a description and bounds, so the installer wizard can build its form
from the schema; unknown keys are refused, so a typo fails at start naming the field.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.config_file import ConfigFileError, read_mapping
from hardware.base import NAME_PATTERN
from hardware.face.config import FaceConfig
from hardware.gate import GateConfigBase
from hardware.registry import DeviceConfig, check_unique_names
from core.wire import MealPeriod
from terminal.parking_config import ParkingConfig

ENV_PREFIX = "GATEPAY_TERMINAL_"
_PIN_ITERATIONS = 200_000


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid; the message names the field."""


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = _PIN_ITERATIONS) -> str:
    """'pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>' for the admin PIN (never stored plain)."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


class TerminalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scene: Literal["canteen", "parking"] = Field(
        title="Scene / 场景", description="What this terminal does: canteen gate or parking lane.")
    backend_url: str = Field(
        title="Backend URL / 后台地址", description="Base URL of the gatepay backend, e.g. https://pay.example.cn",
        pattern=r"^https?://[^\s/]+(:\d+)?(/\S*)?$", max_length=200)
    authorise_timeout_ms: int = Field(
        800, title="Online authorise timeout / 联网授权超时 (ms)",
        description="How long a payment waits for the backend before deciding offline.", ge=100, le=5000)
    devices: list[DeviceConfig] = Field(
        default_factory=list, title="Devices / 设备",
        description="Camera, scanner, card reader, gate, voice: one block per device, chosen by `type`.")
    admin_pin_hash: str = Field(
        title="Admin PIN hash / 管理密码哈希",
        description="pbkdf2_sha256 hash of the cashier/admin PIN (`gatepay terminal hash-pin`).",
        pattern=r"^pbkdf2_sha256\$\d+\$[0-9a-f]+\$[0-9a-f]{64}$", max_length=300)
    liveness_required: bool = Field(
        True, title="Liveness required / 活体检测",
        description="Refuse a face until a live-person check passes (a photo on a phone does not pay).")
    face: FaceConfig = Field(
        default_factory=FaceConfig, title="Face matching / 人脸识别",
        description="Thresholds and checks of the face engine (docs/FACE.md); liveness on or off follows "
                    "`liveness_required`.")
    gate: str | None = Field(
        None, title="Gate of this lane / 本通道闸机",
        description="Name of the gate device an approved payment opens; empty: the only gate configured. "
                    "Other gates on the box are never opened by this terminal's payments.",
        pattern=NAME_PATTERN, validate_default=True)
    language: Literal["zh_CN", "en"] = Field(
        "zh_CN", title="Language / 语言", description="First language of the screens and voice.")
    data_dir: Path = Field(
        Path("var/terminal"), title="Data directory / 数据目录",
        description="Where the terminal's SQLite store and its key file live.")
    timezone: str = Field(
        "Asia/Shanghai", title="Time zone / 时区", description="Business days and meal times are in this zone.",
        max_length=64)
    debounce_s: int = Field(
        60, title="Debounce / 重复识别间隔 (s)",
        description="A diner seen again within this time is shown 'already paid', not charged again.",
        ge=1, le=3600)
    meal_periods: list[MealPeriod] = Field(
        default_factory=list, title="Meal periods / 餐次",
        description="Used until the backend sends this site's meal periods.", max_length=12)
    push_batch: int = Field(
        200, title="Push batch / 上传批量", description="Outbox items sent per push request.", ge=1, le=500)
    sync_interval_s: float = Field(
        5.0, title="Sync interval / 同步间隔 (s)", description="How often the outbox is pushed and changes pulled.",
        ge=0.2, le=600)

    parking: ParkingConfig | None = Field(
        None, title="Parking lane / 停车通道",
        description="Direction and lane of a parking terminal (needed when scene is parking).")

    def require_lane(self) -> None:
        """A parking terminal cannot run without its lane (checked when it starts, so the doctor
        and the installer wizard can still read a config that does not have it yet)."""
        if self.scene == "parking" and self.parking is None:
            raise ConfigError("配置无效 / invalid terminal config:\n  field 'parking': scene parking needs a "
                              "`parking:` block (direction, lane_id) / 停车场景需要 parking 配置（方向、通道编号）")
        if self.scene == "parking" and self.parking.lane_id is None:
            raise ConfigError("配置无效 / invalid terminal config:\n  field 'parking.lane_id': 本停车终端没有绑定通道："
                              "请用绑定了通道的注册码注册（gatepay terminal register 会写入通道），或在配置的 parking 下"
                              "填写 lane_id / this lane terminal has no lane: register it with an enrolment code bound "
                              "to its lane (gatepay terminal register writes it), or set parking.lane_id")

    @field_validator("devices")
    @classmethod
    def _unique_device_names(cls, devices: list) -> list:
        check_unique_names(devices)
        return devices

    @field_validator("gate")
    @classmethod
    def _one_gate_for_this_lane(cls, gate: str | None, info: ValidationInfo) -> str | None:
        # A field check (not a model check), so the error names `gate`: the installer wizard
        # shows it at its gate choice, and a config file's error says which field to fix.
        if "devices" not in info.data:        # the devices are wrong: that error says enough
            return gate
        gates = [d.name for d in info.data["devices"] if isinstance(d, GateConfigBase)]
        if gate is not None and gate not in gates:
            raise ValueError(f"gate {gate!r} is not one of the configured gates {gates} / "
                             f"闸机 {gate!r} 不在已配置的闸机中")
        if gate is None and len(gates) > 1:
            raise ValueError(f"several gates {gates}: set `gate` to the one this lane opens / "
                             "有多个闸机，请在 gate 中填写本通道要开的那一个")
        return gate

    @property
    def lane_gate(self) -> str | None:
        """The one gate device a payment at this terminal opens (None: no gate configured)."""
        if self.gate is not None:
            return self.gate
        gates = [d.name for d in self.devices if isinstance(d, GateConfigBase)]
        return gates[0] if gates else None

    def face_settings(self) -> FaceConfig:
        """The face engine's settings with liveness on or off as this site requires. Close calls
        always come out as FaceConfirm: whether the site asks for the 4 digits (and how wide its
        band is) is the backend's per-site setting, decided in terminal/face_confirm.py."""
        mode = "required" if self.liveness_required else "not_required"
        return self.face.model_copy(update={"liveness": self.face.liveness.model_copy(update={"mode": mode}),
                                            "digit_check": True})

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def authorise_timeout_s(self) -> float:
        return self.authorise_timeout_ms / 1000


def _read_file(path: Path) -> dict[str, Any]:
    try:
        return read_mapping(path)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in TerminalConfig.model_fields:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if name in ("devices", "meal_periods"):
            try:
                out[name] = json.loads(raw)
            except ValueError:
                raise ConfigError(f"环境变量 {ENV_PREFIX}{name.upper()} 不是JSON / must be JSON") from None
        else:
            out[name] = raw
    return out


def load_config(path: Path | str | None, environ: dict[str, str] | None = None) -> TerminalConfig:
    """Read the file (if any), let the environment override it, validate the whole."""
    env = dict(os.environ if environ is None else environ)
    data = _read_file(Path(path)) if path else {}
    data.update(_from_env(env))
    return validate_config(data, source=str(path) if path else "environment")


def validate_config(data: dict[str, Any], source: str = "config") -> TerminalConfig:
    try:
        return TerminalConfig.model_validate(data)
    except ValidationError as exc:
        from core.config_errors import explain

        lines = [f"  {explain(err, TerminalConfig)}" for err in exc.errors()[:10]]
        raise ConfigError(f"配置无效 / invalid terminal config in {source}:\n" + "\n".join(lines)) from None
