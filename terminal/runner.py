"""The composition root of a terminal: config -> store -> core -> devices and sync threads.

    gatepay terminal --headless --scene canteen --config /etc/gatepay/terminal.yaml

Only this module opens devices and starts threads. Each decision is logged as one line with
ids, amounts and reasons — never a template, a card number or a pay code. An approval line is
printed only after the payment is committed. SIGTERM (or SIGINT) stops cleanly: the current
event finishes, the sync loop ends after its request, devices and the store are closed.

`--events FILE` (or `-` for stdin) feeds JSON lines as device events, for demos and the crash
test while no camera is attached: {"face": 101} {"card_hash": "..."} {"code": "...", "kind": "wechat"}
{"key_in": 800}.

With an rgb camera configured (a FrameSource device, role rgb) the face loop
(terminal/face_loop.py) reads it on its own thread (through a hardware.frame_hub tap when a
camera code scanner uses the same camera: one reader thread, both get its newest frames) and puts FaceMatched / FaceRejected /
FacePrompt into the same event queue; the kiosk's preview shows its frames with the face box.
An approved payment opens only this lane's gate (`TerminalConfig.lane_gate`), never the others.
"""
from __future__ import annotations

import json
import logging
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Iterable

from hardware.base import DeviceError, EventSource, FrameSource, PlateSource, Speaker
from hardware.events import CardTapped, CodeScanned, FaceMatched
from sync.client import SyncClient
from terminal.sync_loops import SyncThread
from core.wire import MAX_AMOUNT_FEN
from terminal import live_status
from terminal.app import TerminalCore
from core.clock import Clock, SystemClock
from terminal.config import TerminalConfig
from terminal.enrol import card_hash_key, device_auth
from terminal.store import Store, load_data_key

log = logging.getLogger("gatepay.terminal")


def open_store(config: TerminalConfig, clock: Clock) -> Store:
    return Store.open(config.data_dir / "terminal.db", load_data_key(config.data_dir), clock)


REOPEN_EVERY_S = 2.0   # how often an unplugged device is tried again


def make_client(config: TerminalConfig, store: Store) -> SyncClient | None:
    auth = device_auth(store)
    if auth is None:
        return None
    if config.scene == "parking":
        from terminal.parking_link import ParkingClient   # a SyncClient with the lane's own calls

        return ParkingClient(config.backend_url, auth)
    return SyncClient(config.backend_url, auth)


def parse_event_line(line: str, clock: Clock) -> object | None:
    """One JSON line -> a device event (or {"key_in": fen}); garbage gives None, never a crash."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    now = clock.now()
    try:
        if "face" in data:
            customer_id = int(data["face"])
            if not 0 < customer_id < 2**53:     # an id the store and the wire can hold
                return None
            return FaceMatched(customer_id=customer_id, distance=0.0, margin=1.0,
                               liveness=str(data.get("liveness", "passed")), at=now, device="events")
        if "card_hash" in data:
            return CardTapped(card_hash=str(data["card_hash"])[:128], at=now, device="events")
        if "code" in data:
            return CodeScanned(text=str(data["code"])[:64], kind=str(data.get("kind", "unknown")), at=now,
                               device="events")
        if "key_in" in data:
            fen = int(data["key_in"])
            return ("key_in", fen) if 0 < fen <= MAX_AMOUNT_FEN else None
    except (TypeError, ValueError, OverflowError):   # OverflowError: 1e999 parses as infinity
        return None
    return None


# How often the core looks whether time alone changed its view (a meal period opened or closed).
TICK_S = 1.0


class Runner:
    def __init__(self, config: TerminalConfig, clock: Clock | None = None, out: IO[str] | None = None):
        self.config = config
        self.clock = clock or SystemClock()
        self.out = out or sys.stdout
        self.stop_event = threading.Event()
        self.events: queue.Queue = queue.Queue(maxsize=1000)
        self.store = open_store(config, self.clock)
        self.store.save_config_json(config.model_dump_json())   # what ran, for support and the doctor
        self.client = make_client(config, self.store)
        self.devices = self.build_devices()          # built only; opened in run()
        # This lane's gate only: a box wired to two passages must not open both for one payment.
        self.gate = self.devices.get(config.lane_gate) if config.lane_gate else None
        self.core = TerminalCore(config, self.store, self.clock, client=self.client, gate=self.gate)
        self.core.on_outcome = self._announce
        self.core.recover_interrupted()              # once, here: this process owns the store
        self.sync_thread: SyncThread | None = None
        self.lane = None
        self.hubs: dict = {}                          # cameras with one reader for several consumers
        self.face = self.build_face_loop()           # started in run()
        self._reopen_at: dict[str, float] = {}

    def register(self, backend_url: str, code: str):  # noqa: ANN201 - terminal.store.Identity
        """Register (again) from the kiosk's wizard while this terminal runs: the running client
        signs with the new key and terminal id from the next request on. (A first registration,
        or a new backend address, takes effect at the next start: the sync loop is built then.)"""
        from terminal.enrol import register

        identity = register(self.store, backend_url, code)
        auth = device_auth(self.store)
        if self.client is not None and auth is not None:
            self.client.with_auth(auth)
            log.info("registered again as terminal %s: the sync client signs with the new key", identity.terminal_id)
        return identity

    def _announce(self, outcome) -> None:  # noqa: ANN001 - PaymentOutcome
        # Called after the commit and after the core opened this lane's gate (terminal.scene.
        # SceneOutput): an approval is said and printed; a declined payment's reason is said in the
        # reason catalogue's words (core/reasons/voice.py). (A parking lane's display speaks instead.)
        approved = outcome.status == "approved"
        for device in [d for d in self.devices.values() if isinstance(d, Speaker)]:
            try:
                if approved:
                    device.say_payment(outcome.paid_fen, outcome.wallet_balance_fen,   # paid, not the price
                                       discount_fen=outcome.discount_fen)
                else:
                    device.say_reason(outcome.reason)
            except Exception:  # noqa: BLE001 - a mute speaker must not lose the payment
                log.exception("device %s failed for payment %s", getattr(device, "name", "?"), outcome.payment_id)
        if approved:
            discount = f" discount={outcome.discount_fen}" if outcome.discount_fen else ""   # amount: the price
            print(f"APPROVED {outcome.payment_id} {outcome.amount_fen} offline={int(outcome.offline)}{discount}",
                  file=self.out, flush=True)

    def build_devices(self) -> dict[str, object]:
        if not self.config.devices:
            return {}
        from hardware.registry import build_devices

        return build_devices(self.config.devices, clock=self.clock, card_key=card_hash_key(self.store))

    def build_face_loop(self):  # noqa: ANN201 - FaceLoop | None
        """The face loop for the canteen's rgb camera (and an infrared one, for liveness)."""
        from hardware.frame_hub import share_cameras

        cameras = {getattr(c, "role", None): c.name for c in self.config.devices
                   if isinstance(self.devices.get(c.name), FrameSource)}
        # One reader per camera: a code scanner on the face camera gets a tap of the same frames.
        self.hubs = share_cameras(self.devices, cameras.get("rgb") if self.config.scene == "canteen" else None)
        if self.config.scene != "canteen" or "rgb" not in cameras:
            return None
        from terminal.face_loop import FaceLoop

        rgb = cameras["rgb"]
        camera = self.hubs[rgb].tap("face") if rgb in self.hubs else self.devices[rgb]
        infrared = self.devices[cameras["infrared"]] if "infrared" in cameras else None
        return FaceLoop(camera, self.config.face_settings(), self.store, emit=self._face_event,
                        clock=self.clock, infrared=infrared)

    def _face_event(self, event: object) -> None:
        try:
            self.events.put(event, timeout=1.0)
        except queue.Full:
            log.warning("event queue full: face event dropped")

    def preview_frames(self):  # noqa: ANN201 - the kiosk's `frames` callable, or None
        return self.face.preview_frame if self.face is not None else None

    def _synced(self, report) -> None:  # noqa: ANN001 - terminal.sync_loops.CycleReport
        if self.face is not None and report.pulled:
            self.face.reload_gallery()          # signings changed: the camera must know
        self.core.after_sync(report)

    def start_devices(self) -> None:
        if self.config.scene == "parking":
            from terminal.parking_lane import ParkingLane

            self.lane = ParkingLane(self.core.scene, self.core.output)
            for device in self.devices.values():
                if isinstance(device, PlateSource):
                    device.on_plate(self.lane.decide)   # the LPR camera's pushes -> the lane's answer
            self.lane.start()
        for name, device in self.devices.items():
            if name in self.hubs:
                continue                        # its hub opens it (below, or via a scanner's tap)
            try:
                device.open()
            except Exception as exc:  # noqa: BLE001 - the terminal keeps running; doctor says more
                log.error("device %s did not open: %s", name, exc)
        for name, hub in self.hubs.items():
            try:
                hub.open()
            except Exception as exc:  # noqa: BLE001 - as any device that does not open
                log.error("camera %s did not open: %s", name, exc)
        if self.face is not None:
            self.face.start()

    def start_sync(self) -> None:
        if self.core.engine is None:
            log.warning("not registered: payments are declined until `gatepay terminal register` is run")
            return
        self.sync_thread = SyncThread(self.core.engine, interval_s=self.config.sync_interval_s,
                                      on_cycle=self._synced)
        self.core.sync_thread = self.sync_thread
        self.sync_thread.start()

    def feed(self, lines: Iterable[str]) -> threading.Thread:
        def read() -> None:
            for line in lines:
                if self.stop_event.is_set():
                    return
                event = parse_event_line(line, self.clock)
                if event is None:
                    log.warning("event line ignored: not a known event")
                    continue
                self.events.put(event)
            self.events.put(("eof", None))
        thread = threading.Thread(target=read, name="gatepay-events", daemon=True)
        thread.start()
        return thread

    def run(self, stop_at_eof: bool = False) -> int:
        """The device/event loop; returns the exit code."""
        self.start_devices()
        self.start_sync()
        pollers = [d for d in self.devices.values() if isinstance(d, EventSource)]
        log.info("terminal running: scene=%s registered=%s", self.config.scene, self.client is not None)
        next_tick = next_live = self.clock.monotonic()
        try:
            while not self.stop_event.is_set():
                if self.clock.monotonic() >= next_tick:   # a meal period opening or closing shows by itself
                    next_tick = self.clock.monotonic() + TICK_S
                    self.core.tick()
                if self.clock.monotonic() >= next_live:   # for `gatepay terminal status` in another process
                    next_live = self.clock.monotonic() + live_status.WRITE_EVERY_S
                    live_status.write(self.store, self.core.sync_status(), self.clock.now())
                for device in pollers:
                    for event in self._poll(device):
                        self.core.handle_event(event)
                try:
                    event = self.events.get(timeout=0.05)
                except queue.Empty:
                    continue
                if isinstance(event, tuple) and event[0] == "eof":
                    if stop_at_eof:
                        break
                    continue
                if isinstance(event, tuple) and event[0] == "key_in":
                    self.core.key_in_amount(event[1])
                    continue
                self.core.handle_event(event)
        finally:
            self.close()
        return 0

    def _poll(self, device) -> list:  # noqa: ANN001
        """A device that went away (unplugged) is reopened every few seconds instead of ending
        the terminal; payments by its other means go on meanwhile. Any failure of a driver
        counts, not only DeviceError: one broken device must never end the core loop."""
        name = getattr(device, "name", "?")
        retry_at = self._reopen_at.get(name)
        try:
            if retry_at is not None:
                if self.clock.monotonic() < retry_at:
                    return []
                device.close()
                device.open()
                self._reopen_at.pop(name)
                log.warning("device %s is back", name)
            return device.poll(0.0)
        except Exception as exc:  # noqa: BLE001 - DeviceError, or a driver's bug: the loop goes on
            if retry_at is None:
                log.error("device %s failed, reopening every %ss: %s", name, REOPEN_EVERY_S, exc,
                          exc_info=not isinstance(exc, DeviceError))
            self._reopen_at[name] = self.clock.monotonic() + REOPEN_EVERY_S
            return []

    def close(self) -> None:
        try:
            live_status.write(self.store, self.core.sync_status(), self.clock.now(), running=False)
        except Exception:  # noqa: BLE001 - closing must go on
            log.exception("last state not written")
        if self.face is not None:
            self.face.stop()
        if self.lane is not None:
            self.lane.stop()
        if self.sync_thread is not None:
            self.sync_thread.stop()
        for hub in self.hubs.values():
            hub.close()                         # stops its reader thread before the camera closes
        for device in self.devices.values():
            try:
                device.close()
            except Exception:  # noqa: BLE001
                log.exception("device did not close cleanly")
        if self.client is not None:
            self.client.close()
        self.store.close()
        log.info("terminal stopped")


def run_headless(config: TerminalConfig, events_path: str | None = None, stop_at_eof: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runner = Runner(config)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        runner.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if events_path:
        runner.feed(sys.stdin if events_path == "-" else Path(events_path).open(encoding="utf-8"))
    return runner.run(stop_at_eof=stop_at_eof)


def run_with_kiosk(config: TerminalConfig, config_path: Path | None) -> int:
    """The kiosk: the Qt screen on the main thread, the device/event loop on another."""
    from ui.kiosk import run_kiosk   # Qt is imported only when a screen is wanted

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runner = Runner(config)
    loop = threading.Thread(target=runner.run, name="gatepay-core", daemon=True)
    loop.start()
    try:
        return run_kiosk(runner.core, config, config_path=config_path, frames=runner.preview_frames(),
                         register=runner.register)
    finally:
        runner.stop_event.set()
        loop.join(10)
