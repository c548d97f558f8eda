"""Software round trip of the serial device drivers over a pseudo-terminal (no line speed: a
pty moves bytes at once, so this is our own overhead plus the OS, not a 9600-baud line).

    .venv/bin/python bench/bench_serial.py [repeats]

Prints median and p95 per operation: a Modbus RTU read-back, a Numato ASCII read-back, a whole
gate open (pulse 50 ms included), card frames parsed per second, and the time espeak-ng takes
to synthesise a payment sentence (the voice says it right after the gate opens).
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hardware.barrier_sim import BarrierSim  # noqa: E402
from hardware.card_reader import CardReaderConfig, FrameParser, encode_frame  # noqa: E402
from hardware.gate import ModbusGateConfig, NumatoGateConfig  # noqa: E402
from hardware.gate_modbus import ModbusBoardSim  # noqa: E402
from hardware.gate_numato import NumatoBoardSim  # noqa: E402
from hardware.registry import build_device  # noqa: E402
from core.clock import ManualClock  # noqa: E402
from tests.hardware.serial_pty import PtyDevice  # noqa: E402


def _stats(name: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"{name}: median_ms={statistics.median(samples):.2f} p95_ms={p95:.2f} n={len(samples)}")


def _gate_bench(kind: str, repeats: int) -> None:
    clock = ManualClock()
    barrier = BarrierSim(clock, 2, 5)
    if kind == "modbus":
        board = ModbusBoardSim(barrier, unit=1, coil=0, sensor_input=1)
        config = ModbusGateConfig(type="modbus_gate", name="g", port="x", sensor_input=1, pulse_ms=50)
    else:
        board = NumatoBoardSim(barrier, relay=0, sensor_gpio=1)
        config = NumatoGateConfig(type="numato_gate", name="g", port="x", sensor_gpio=1, pulse_ms=50)
    with PtyDevice(respond=board.handle) as dev:
        gate = build_device(config.model_copy(update={"port": dev.port}), clock=clock)
        gate.open()
        reads, opens = [], []
        for i in range(repeats):
            start = time.perf_counter()
            gate.position()
            reads.append((time.perf_counter() - start) * 1000)
        for i in range(max(5, repeats // 10)):
            start = time.perf_counter()
            assert gate.open_barrier(f"bench-{i}").opened
            opens.append((time.perf_counter() - start) * 1000)
            clock.advance(10)
        gate.close()
    _stats(f"{kind} read-back", reads)
    _stats(f"{kind} open (incl. 50 ms pulse)", opens)


def _frames_per_second() -> None:
    config = CardReaderConfig(type="serial_card_reader", name="c", mode="frame", simulated=True)
    stream = b"".join(encode_frame(os.urandom(7), config) + os.urandom(5) for _ in range(20000))
    parser = FrameParser(config)
    start = time.perf_counter()
    found = sum(len(parser.feed(stream[i:i + 64])) for i in range(0, len(stream), 64))
    elapsed = time.perf_counter() - start
    print(f"card frames with noise between: {found} frames in {elapsed:.2f} s = {found / elapsed:.0f} frames/s")


def _speech(repeats: int = 20) -> None:
    import shutil

    from hardware.voice import espeak_wav, payment_sentence

    if shutil.which("espeak-ng") is None:
        print("payment sentence synthesis: skipped, espeak-ng not installed")
        return
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        espeak_wav(payment_sentence(1250 + i, 8800))
        samples.append((time.perf_counter() - start) * 1000)
    _stats("payment sentence synthesis (espeak-ng)", samples)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    _gate_bench("modbus", n)
    _gate_bench("numato", n)
    _frames_per_second()
    _speech()
