"""The Modbus side checked against an independent implementation: pymodbus' own serial client
talks to our relay-board simulator, and our gate driver talks to pymodbus' own serial server,
each over pseudo-terminals. If both agree, the simulator and the driver speak real Modbus RTU."""
from __future__ import annotations

import asyncio
import threading
import warnings

import pytest

from hardware.barrier_sim import BarrierSim
from hardware.gate import ModbusGateConfig
from hardware.gate_modbus import ModbusBoardSim
from hardware.registry import build_device
from core.clock import ManualClock
from tests.hardware.serial_pty import NullModem, PtyDevice


def test_pymodbus_client_drives_our_board_simulator() -> None:
    from pymodbus import FramerType
    from pymodbus.client import ModbusSerialClient

    clock = ManualClock()
    barrier = BarrierSim(clock, travel_s=2, hold_s=5)
    board = ModbusBoardSim(barrier, unit=3, coil=2, sensor_input=5)
    with PtyDevice(respond=board.handle) as dev:
        client = ModbusSerialClient(port=dev.port, framer=FramerType.RTU, baudrate=9600, timeout=1, retries=0)
        assert client.connect()
        try:
            assert not client.write_coil(2, True, device_id=3).isError()
            assert client.read_coils(2, count=1, device_id=3).bits[0] is True
            clock.advance(3)
            assert client.read_discrete_inputs(5, count=1, device_id=3).bits[0] is True
            refused = client.read_coils(9, count=1, device_id=3)      # no such coil on the board
            assert refused.isError() and refused.exception_code == 2
        finally:
            client.close()
    assert barrier.triggers == 1


@pytest.fixture
def pymodbus_server():  # noqa: ANN201
    """pymodbus' serial RTU server as unit 3 on one end of a null modem, its discrete input 5
    (the barrier's open limit switch) on; yields (port, requests the server received)."""
    from pymodbus import FramerType
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ServerAsyncStop, StartAsyncSerialServer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # 3.16 announces a new datastore API for v4
        coils = ModbusSequentialDataBlock(1, [False] * 16)
        inputs = ModbusSequentialDataBlock(1, [False] * 5 + [True] + [False] * 10)
        context = ModbusServerContext(devices={3: ModbusDeviceContext(co=coils, di=inputs)}, single=False)
    seen: list[tuple[int, int, list[bool]]] = []

    def trace(sending: bool, pdu):  # noqa: ANN001, ANN202
        if not sending:
            seen.append((pdu.function_code, pdu.address, list(pdu.bits[:1])))
        return pdu

    with NullModem() as cable:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_until_complete(StartAsyncSerialServer(context, framer=FramerType.RTU, port=cable.port_b,
                                                           baudrate=9600, trace_pdu=trace))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        started.wait(5)
        try:
            yield cable.port_a, seen
        finally:
            asyncio.run_coroutine_threadsafe(ServerAsyncStop(), loop).result(5)
            thread.join(5)


def test_our_gate_driver_works_with_the_pymodbus_server(pymodbus_server) -> None:  # noqa: ANN001
    port, seen = pymodbus_server
    config = ModbusGateConfig(type="modbus_gate", name="g", port=port, unit=3, coil=2, sensor_input=5,
                              pulse_ms=50, reply_timeout_ms=1000)
    gate = build_device(config, clock=ManualClock())
    try:
        check = gate.self_test()
        for _ in range(20):     # the server may still be opening its port
            if check.ok:
                break
            check = gate.self_test()
        assert check.ok, check.en
        assert gate.position() == "open"              # FC02 read of the limit switch
        assert gate.open_barrier("pay-1").opened
        assert gate.open_barrier("pay-1").repeated
    finally:
        gate.close()
    writes = [s for s in seen if s[0] == 5]
    assert writes == [(5, 2, [True]), (5, 2, [False])]   # one pulse on coil 2 for one payment
    assert any(s[:2] == (1, 2) for s in seen)             # the relay was read back (FC01)
