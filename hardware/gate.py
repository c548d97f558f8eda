"""Barrier gates and turnstiles driven through a relay board on a serial port.

Two real protocols: Modbus RTU relay boards (pymodbus; pulse a coil, read back an input) and
the Numato Lab USB relay modules' ASCII command set. `open(command_id)` is idempotent: the
same id never opens twice (one payment, one opening). A failed read-back reports "gate not
responding" — the driver never assumes the barrier opened.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from hardware import gate_modbus, gate_numato
from hardware.barrier_sim import BarrierSim
from hardware.base import NAME_PATTERN, Barrier, BuildContext, CheckResult, Clock, DeviceError
from hardware.gate_modbus import ModbusBoardSim, NoReply, RtuChannel
from hardware.gate_numato import NumatoBoardSim, NumatoChannel
from hardware.serialio import ByteLink, LinkedDevice, LoopLink, SerialDeviceConfig, SerialLink
from hardware.spec import DeviceKind, DriverSpec, any_serial_port


class GateConfigBase(SerialDeviceConfig):
    role: str = Field(default="main", title="Lane / 通道",
                      description="Which lane or passage this gate serves, e.g. entry-1, exit-1.",
                      pattern=NAME_PATTERN)
    pulse_ms: int = Field(default=500, title="Pulse length / 脉冲时长",
                          description="How long the relay is closed to trigger opening.", ge=50, le=10000)
    reply_timeout_ms: int = Field(default=500, title="Reply timeout / 应答超时",
                                  description="How long to wait for the board to answer.", ge=20, le=10000)
    retries: int = Field(default=1, title="Retries / 重试次数",
                         description="Extra attempts when the board does not answer.", ge=0, le=5)
    travel_ms: int = Field(default=2000, title="Barrier travel time / 起落时间",
                           description="How long the barrier takes to rise or fall.", ge=100, le=30000)
    hold_open_ms: int = Field(default=5000, title="Hold open / 保持开启",
                              description="How long the barrier stays up before closing by itself.",
                              ge=500, le=120000)


class ModbusGateConfig(GateConfigBase):
    type: Literal["modbus_gate"] = Field(title="Type", description="Relay board speaking Modbus RTU.")
    unit: int = Field(default=1, title="Slave address / 从站地址", description="Modbus unit id.", ge=1, le=247)
    coil: int = Field(default=0, title="Relay coil / 继电器线圈",
                      description="Coil address of the relay wired to the barrier's open input.", ge=0, le=65535)
    sensor_input: int | None = Field(
        default=None, title="Open sensor input / 到位信号输入",
        description="Discrete-input address of the barrier's 'open' limit switch; empty = read the coil back.",
        ge=0, le=65535)


class NumatoGateConfig(GateConfigBase):
    type: Literal["numato_gate"] = Field(title="Type", description="Numato Lab USB relay module (ASCII commands).")
    relay: int = Field(default=0, title="Relay number / 继电器编号", description="0-based relay index.",
                       ge=0, le=31)
    sensor_gpio: int | None = Field(
        default=None, title="Open sensor GPIO / 到位信号GPIO",
        description="GPIO wired to the barrier's 'open' limit switch; empty = read the relay back.", ge=0, le=31)


Outcome = Literal["opened", "not_responding", "failed"]
Position = Literal["open", "not_open", "unknown"]
REMEMBERED_COMMANDS = 1000


@dataclass(frozen=True)
class GateResult:
    """What happened to one open command. `repeated` = this id was already handled; nothing
    was sent to the board this time."""

    command_id: str
    outcome: Outcome
    zh: str
    en: str
    repeated: bool = False

    @property
    def opened(self) -> bool:
        return self.outcome == "opened"


@runtime_checkable
class Gate(Protocol):
    name: str
    role: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def open_barrier(self, command_id: str) -> GateResult: ...
    def position(self) -> Position: ...
    def self_test(self) -> CheckResult: ...


class RelayGate(LinkedDevice):
    """What both relay protocols share: connecting, idempotent opening, safe failure.
    Subclasses supply `_connected(link)`, `_relay(on)`, `_relay_state()` and `_sensor()` over
    their protocol. `open()`/`close()` connect the serial port (the Device protocol);
    `open_barrier()` lifts the barrier."""

    def __init__(self, config: GateConfigBase, clock: Clock, link_factory: Callable[[], ByteLink],
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(config.name, link_factory)
        self.role = config.role
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._done: OrderedDict[str, GateResult] = OrderedDict()
        self._lock = threading.RLock()   # one conversation with the board at a time

    # -- commands
    def open_barrier(self, command_id: str) -> GateResult:
        """Pulse the open relay once per command id. A repeat of an id returns the first
        result. Only a definite "opened" says the barrier was told to open; a board that does
        not confirm gives "not_responding" (it may or may not have moved: tell the attendant)."""
        with self._lock:
            previous = self._done.get(command_id)
            if previous is not None:
                return replace(previous, repeated=True)
            result = self._pulse(command_id)
            if result.outcome != "failed":   # "failed" = nothing reached the board: a retry is safe
                self._done[command_id] = result
                while len(self._done) > REMEMBERED_COMMANDS:
                    self._done.popitem(last=False)
            return result

    def _pulse(self, command_id: str) -> GateResult:
        try:
            self.open()
        except DeviceError as exc:
            return GateResult(command_id, "failed", exc.zh, exc.en)
        try:
            self._relay(True)
            if not self._relay_state():   # read back: an echoing RS-485 adapter cannot fake this
                raise NoReply("relay did not switch on")
        except DeviceError as exc:
            self._release_quietly()
            self.close()   # reopen next time: the port may have gone
            return GateResult(command_id, "not_responding", "道闸没有响应，请人工开闸",
                              f"gate not responding: {exc.en}; open it by hand")
        self._sleep(self.config.pulse_ms / 1000)
        try:
            self._relay(False)
        except DeviceError as exc:
            # the barrier did get its pulse; the relay may still be held, which keeps it up
            self.close()
            return GateResult(command_id, "opened", "道闸已开，但继电器没有复位，请检查继电器板",
                              f"gate opened, but the relay did not release ({exc.en}); check the relay board")
        return GateResult(command_id, "opened", "道闸已开", "gate opened")

    def _release_quietly(self) -> None:
        """The ON command may have arrived even though its reply did not: try once to switch
        the relay off, so it is not left holding the barrier open."""
        try:
            self._relay(False)
        except DeviceError:
            pass

    def position(self) -> Position:
        """The barrier's open limit switch, if one is wired; "unknown" without one.
        Raises NoReply when the board does not answer: never guesses "open"."""
        with self._lock:
            self.open()
            sensor = self._sensor()
        if sensor is None:
            return "unknown"
        return "open" if sensor else "not_open"

    def self_test(self) -> CheckResult:
        """Talks to the board without moving the barrier: reads the relay and the sensor."""
        try:
            with self._lock:
                self.open()
                relay_on = self._relay_state()
                where = self.position()
        except DeviceError as exc:
            self.close()
            return exc.as_check(self.name)
        if relay_on:
            return CheckResult(self.name, False, "开闸继电器一直吸合", "the open relay is stuck on",
                               "断电检查继电器板和接线", "power off and check the relay board and wiring")
        zh_where = {"open": "道闸在开启位", "not_open": "道闸不在开启位", "unknown": "未接到位信号"}[where]
        en_where = {"open": "barrier is up", "not_open": "barrier is not up", "unknown": "no limit switch wired"}[where]
        return CheckResult.passed(self.name, f"继电器板应答正常，{zh_where}", f"relay board answers; {en_where}")

    def _relay(self, on: bool) -> None:  # pragma: no cover - overridden
        raise DeviceError("未知继电器板", "unknown relay board")

    def _relay_state(self) -> bool:  # pragma: no cover - overridden
        raise DeviceError("未知继电器板", "unknown relay board")

    def _sensor(self) -> bool | None:  # pragma: no cover - overridden
        raise DeviceError("未知继电器板", "unknown relay board")


class ModbusGate(RelayGate):
    config: ModbusGateConfig

    def _connected(self, link: ByteLink) -> None:
        c = self.config
        self._channel = RtuChannel(link, c.unit, c.reply_timeout_ms / 1000, c.retries)

    def _relay(self, on: bool) -> None:
        gate_modbus.write_coil(self._channel, self.config.coil, on)

    def _relay_state(self) -> bool:
        return gate_modbus.read_bit(self._channel, self.config.coil, discrete=False)

    def _sensor(self) -> bool | None:
        if self.config.sensor_input is None:
            return None
        return gate_modbus.read_bit(self._channel, self.config.sensor_input, discrete=True)


class NumatoGate(RelayGate):
    config: NumatoGateConfig

    def _connected(self, link: ByteLink) -> None:
        c = self.config
        self._channel = NumatoChannel(link, c.reply_timeout_ms / 1000, c.retries)

    def _relay(self, on: bool) -> None:
        gate_numato.relay_set(self._channel, self.config.relay, on)

    def _relay_state(self) -> bool:
        return gate_numato.relay_read(self._channel, self.config.relay)

    def _sensor(self) -> bool | None:
        if self.config.sensor_gpio is None:
            return None
        return gate_numato.gpio_read(self._channel, self.config.sensor_gpio)


def _sleeper(clock: Clock) -> Callable[[float], None]:
    return getattr(clock, "sleep", time.sleep)


def _barrier(config: GateConfigBase, clock: Clock) -> BarrierSim:
    return BarrierSim(clock, config.travel_ms / 1000, config.hold_open_ms / 1000)


def build_modbus_gate(config: ModbusGateConfig, ctx: BuildContext) -> ModbusGate:
    if config.simulated:
        board = ModbusBoardSim(_barrier(config, ctx.clock), config.unit, config.coil, config.sensor_input)
        link = LoopLink(board.handle)
        gate = ModbusGate(config, ctx.clock, lambda: link, _sleeper(ctx.clock))
        gate.simulator = board  # type: ignore[attr-defined]
        return gate
    return ModbusGate(config, ctx.clock, lambda: SerialLink(config), time.sleep)


def build_numato_gate(config: NumatoGateConfig, ctx: BuildContext) -> NumatoGate:
    if config.simulated:
        board = NumatoBoardSim(_barrier(config, ctx.clock), config.relay, config.sensor_gpio)
        link = LoopLink(board.handle)
        gate = NumatoGate(config, ctx.clock, lambda: link, _sleeper(ctx.clock))
        gate.simulator = board  # type: ignore[attr-defined]
        return gate
    return NumatoGate(config, ctx.clock, lambda: SerialLink(config), time.sleep)


NUMATO_VID = 0x2A19      # Numato Systems' USB vendor id (their relay modules enumerate as CDC ACM)


def _numato_port(candidate) -> tuple[bool, bool]:  # noqa: ANN001 - hardware.discovery.Candidate
    ours = candidate.bus == "serial" and candidate.vid == NUMATO_VID
    return ours, ours


GATE = DeviceKind("gate", ("闸机", "Gate"))
DRIVERS = (
    DriverSpec("modbus_gate", GATE, ("Modbus 继电器闸机（RS-485）", "Modbus relay gate (RS-485)"), ModbusGateConfig,
               build_modbus_gate, (Barrier,), any_serial_port),
    DriverSpec("numato_gate", GATE, ("Numato USB 继电器闸机", "Numato USB relay gate"), NumatoGateConfig,
               build_numato_gate, (Barrier,), _numato_port),
)
