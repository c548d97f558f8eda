"""Relay gates: the real drivers on pseudo-terminals against simulated boards speaking real
Modbus RTU frames (with CRC) and the Numato ASCII protocol; idempotent opening, safe failure,
the barrier's timing, and the reply parsers fed garbage."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.barrier_sim import BarrierSim
from hardware.gate import ModbusGateConfig, NumatoGateConfig
from hardware.gate_modbus import ModbusBoardSim, _framer, find_frame
from hardware.gate_numato import NumatoBoardSim, parse_reply
from hardware.plates.ledvoice import crc16_modbus
from hardware.registry import build_device
from core.clock import ManualClock
from tests.hardware.serial_pty import PtyDevice

FAST = dict(pulse_ms=50, reply_timeout_ms=150, retries=1, travel_ms=2000, hold_open_ms=5000)


def _modbus(port: str, **kw) -> ModbusGateConfig:  # noqa: ANN003
    return ModbusGateConfig(type="modbus_gate", name="exit-gate", role="exit-1", port=port, unit=3, coil=2,
                            sensor_input=5, **{**FAST, **kw})


def _numato(port: str, **kw) -> NumatoGateConfig:  # noqa: ANN003
    return NumatoGateConfig(type="numato_gate", name="turnstile", port=port, relay=11, sensor_gpio=1,
                            **{**FAST, **kw})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _boards(clock: ManualClock):  # noqa: ANN202
    barrier = BarrierSim(clock, travel_s=2.0, hold_s=5.0)
    return barrier, {
        "modbus": (ModbusBoardSim(barrier, unit=3, coil=2, sensor_input=5), _modbus),
        "numato": (NumatoBoardSim(barrier, relay=11, sensor_gpio=1), _numato),
    }


def _open_once(clock: ManualClock, make, respond, command_id: str = "pay-1"):  # noqa: ANN001, ANN202
    """Build the real driver on a pty whose far end is `respond`, open once; (result, bytes sent)."""
    with PtyDevice(respond=respond) as dev:
        gate = build_device(make(dev.port), clock=clock)
        try:
            result = gate.open_barrier(command_id)
        finally:
            gate.close()
        return result, bytes(dev.received)


@pytest.mark.parametrize("protocol", ["modbus", "numato"])
def test_open_pulses_once_per_command_and_reads_the_barrier_back(clock: ManualClock, protocol: str) -> None:
    barrier, boards = _boards(clock)
    board, make = boards[protocol]
    with PtyDevice(respond=board.handle) as dev:
        gate = build_device(make(dev.port), clock=clock)
        try:
            assert gate.self_test().ok
            assert gate.position() == "not_open"
            first = gate.open_barrier("pay-7f3a")
            again = gate.open_barrier("pay-7f3a")            # the same payment asks again
            assert first.opened and not first.repeated
            assert again.opened and again.repeated
            assert barrier.triggers == 1 and barrier.state() == "opening"
            assert board.relays[11] is False if protocol == "numato" else board.coil_on is False  # pulse ended
            clock.advance(2.5)
            assert gate.position() == "open"
            clock.advance(10)
            assert gate.position() == "not_open"
            assert gate.open_barrier("pay-8b21").opened      # the next payment opens again
            assert barrier.triggers == 2
        finally:
            gate.close()


def test_modbus_frames_on_the_wire_are_real_rtu_with_crc(clock: ManualClock) -> None:
    _, boards = _boards(clock)
    board, make = boards["modbus"]
    _, sent = _open_once(clock, make, board.handle)
    # FC05 write coil 2 ON for unit 3: 03 05 0002 FF00 + CRC16/Modbus (low byte first)
    assert sent.startswith(bytes.fromhex("03050002ff00") + _crc(bytes.fromhex("03050002ff00")))
    assert bytes.fromhex("030500020000") + _crc(bytes.fromhex("030500020000")) in sent


def _crc(data: bytes) -> bytes:
    """Modbus CRC-16 by the LED board's own function: frames made by pymodbus must agree with it."""
    return crc16_modbus(data).to_bytes(2, "little")


def test_numato_commands_on_the_wire(clock: ManualClock) -> None:
    _, boards = _boards(clock)
    board, make = boards["numato"]
    _, sent = _open_once(clock, make, board.handle)
    assert sent == b"relay on B\rrelay read B\rrelay off B\r"


@pytest.mark.parametrize("protocol", ["modbus", "numato"])
@pytest.mark.parametrize("fault", ["mute", "garble", "stuck"])
def test_a_board_that_does_not_confirm_is_never_taken_as_open(clock: ManualClock, protocol: str, fault: str) -> None:
    barrier, boards = _boards(clock)
    board, make = boards[protocol]
    setattr(board, fault, True)
    result, _ = _open_once(clock, make, board.handle)
    assert result.outcome == "not_responding" and not result.opened
    assert "道闸没有响应" in result.zh and "not responding" in result.en


def test_the_same_command_is_not_retried_after_an_unconfirmed_open(clock: ManualClock) -> None:
    barrier, boards = _boards(clock)
    board, make = boards["modbus"]
    board.garble = True
    with PtyDevice(respond=board.handle) as dev:
        gate = build_device(make(dev.port), clock=clock)
        assert gate.open_barrier("pay-1").outcome == "not_responding"
        board.garble = False
        again = gate.open_barrier("pay-1")
        gate.close()
    # the board may have moved the first time: a repeat of the same payment must not pulse again
    assert again.repeated and again.outcome == "not_responding" and barrier.triggers == 1


def test_a_missing_port_is_a_failed_open_that_may_be_retried(clock: ManualClock) -> None:
    gate = build_device(_modbus("/dev/ttyNOPE9"), clock=clock)
    first = gate.open_barrier("pay-1")
    assert first.outcome == "failed" and "找不到串口" in first.zh
    assert not gate.open_barrier("pay-1").repeated     # nothing reached a board: retry allowed


def test_self_test_reports_a_stuck_relay(clock: ManualClock) -> None:
    gate = build_device(_numato("x", simulated=True), clock=clock)
    gate.simulator.relays[11] = True
    result = gate.self_test()
    assert not result.ok and "继电器" in result.zh


def test_barrier_timing(clock: ManualClock) -> None:
    barrier = BarrierSim(clock, travel_s=2.0, hold_s=5.0)
    assert barrier.state() == "closed"
    barrier.trigger()
    assert barrier.state() == "opening"
    clock.advance(2.1)
    assert barrier.state() == "open" and barrier.is_open
    clock.advance(4)
    barrier.trigger()                       # a pulse while open keeps it up
    clock.advance(4)
    assert barrier.state() == "open"
    clock.advance(1.5)
    assert barrier.state() == "closing"
    barrier.trigger()                       # reverses while falling
    assert barrier.state() == "opening"
    clock.advance(10)
    assert barrier.state() == "closed"


# ---------------------------------------------------------------- parsers under garbage
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_modbus_reply_search_survives_garbage_and_finds_a_following_reply(noise: bytes) -> None:
    from pymodbus.pdu.bit_message import ReadCoilsResponse

    server = _framer(True)
    reply = server.buildFrame(ReadCoilsResponse(dev_id=3, bits=[True]))
    client = _framer(False)
    buf, found = bytearray(noise + reply), []
    while True:
        drop, pdu = find_frame(buf, 3, client)
        assert 0 <= drop <= len(buf)
        if pdu is None:
            break
        found.append(pdu)
        del buf[:drop]
    assert found and found[-1].function_code == 1 and found[-1].bits[0] is True


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_modbus_board_survives_garbage_requests(noise: bytes) -> None:
    clock = ManualClock()
    board = ModbusBoardSim(BarrierSim(clock, 1, 1), unit=3, coil=2)
    board.handle(noise)
    assert len(board._buf) <= 512


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_numato_reply_parser_never_crashes(raw: bytes) -> None:
    answer = parse_reply("relay read 0", raw)
    assert answer is None or isinstance(answer, str)


def test_numato_reply_parser_examples() -> None:
    assert parse_reply("relay read 0", b"relay read 0\n\ron\n\r>") == "on"
    assert parse_reply("relay on 0", b"relay on 0\n\r>") == ""
    assert parse_reply("relay read 0", b"relay read 1\n\ron\n\r>") is None       # answer to another command
    assert parse_reply("relay read 0", b"relay read 0\n\ron") is None            # not finished
    assert parse_reply("relay read 0", b"\xffrelay read 0\n\ron\n\r>") is None


def test_simulated_gates_build_from_config(clock: ManualClock) -> None:
    for config in (_modbus("x", simulated=True), _numato("x", simulated=True)):
        gate = build_device(config, clock=clock)
        assert gate.role == config.role and gate.self_test().ok
        assert gate.open_barrier("a").opened and gate.open_barrier("a").repeated


def test_a_relay_that_does_not_release_still_reports_the_opening(clock: ManualClock) -> None:
    barrier, boards = _boards(clock)
    board, make = boards["numato"]
    real_handle = board.handle

    def dies_after_reading_back(data: bytes) -> bytes:
        if data.startswith(b"relay off"):
            return b""                  # the board hangs after the pulse started
        return real_handle(data)

    result, _ = _open_once(clock, make, dies_after_reading_back)
    assert result.opened and barrier.triggers == 1
    assert "继电器没有复位" in result.zh and "did not release" in result.en


def test_an_unconfirmed_open_does_not_leave_the_relay_held(clock: ManualClock) -> None:
    barrier, boards = _boards(clock)
    board, make = boards["numato"]
    real_handle = board.handle

    def read_back_lost(data: bytes) -> bytes:
        reply = real_handle(data)
        return b"" if data.startswith(b"relay read") else reply   # the read-back answer is lost

    result, sent = _open_once(clock, make, read_back_lost)
    assert result.outcome == "not_responding"
    assert board.relays[11] is False and sent.endswith(b"relay off B\r")
