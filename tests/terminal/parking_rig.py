"""A car park for parking scenarios and the parking bench: the real backend as a process on
loopback, seeded through its real operator API, and lanes that are real terminals (store file,
Decider, sync engine, parking scene) registered with one-time codes, each with a simulated relay
gate driven by the real gate driver."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from backend.services.sites import create_lane
from hardware.base import BuildContext, system_clock
from hardware.events import PlateRead
from hardware.gate import ModbusGateConfig, build_modbus_gate
from terminal.sync_loops import SyncEngine
from sync.status import SyncTracker
from core.clock import ManualClock
from terminal.config import check_pin, hash_pin
from core.crypto import new_key
from terminal.decision import Decider
from terminal.enrol import device_auth, register
from terminal.parking import ParkingScene
from terminal.parking_config import ParkingConfig
from terminal.parking_link import ParkingClient
from terminal.scene import SceneOutput
from terminal.state import ParkingView
from terminal.store import Store
from tests.backend.helpers import bearer, make_app, make_merchant_site, operator_token
from terminal.demo.backend_process import BackendProcess
from tests.sync.rig import ENV_KEYS, Canteen

PIN = "135790"
PIN_HASH = hash_pin(PIN, iterations=1000)
RULES = {
    "tariffs": {"default": {"free_minutes": 15, "day": {"first_period_minutes": 60, "first_period_fen": 500,
                                                        "unit_minutes": 60, "unit_fen": 200}}},
    "no_entry_fee_fen": 5000, "repeat_entry": "replace",
    "plans": [{"code": "monthly", "months": 1, "price_fen": 30000}],
}


@dataclass
class Lane:
    store: Store
    clock: ManualClock
    tracker: SyncTracker
    client: ParkingClient
    decider: Decider
    engine: SyncEngine
    scene: ParkingScene
    gate: object
    output: SceneOutput          # as in TerminalCore: the scene's results open this gate

    @property
    def openings(self) -> int:
        return self.gate.simulator.barrier.triggers  # type: ignore[attr-defined]

    def handle(self, event: object) -> ParkingView:
        return self.output.deliver(self.scene.handle(event)).view

    # The two TerminalPort calls a lane screen makes (ui.bridge.CoreBridge)
    def subscribe(self, callback) -> None:  # noqa: ANN001
        self.output.subscribe(callback)

    def current_view(self) -> ParkingView:
        return self.scene.current_view()

    def poll_payment(self) -> ParkingView:
        return self.output.deliver(self.scene.payments.poll_payment()).view

    def correct_plate(self, pin: str, plate: str, **kw: str) -> ParkingView:
        return self.output.deliver(self.scene.attendant.correct_plate(pin, plate, **kw)).view

    def open_free(self, pin: str, reason: str) -> ParkingView:
        return self.output.deliver(self.scene.attendant.open_free(pin, reason)).view

    def read(self, plate: str, minutes_after_start: float, colour: str = "blue", **kw: object) -> PlateRead:
        at = self.clock.now() if minutes_after_start is None else START + timedelta(minutes=minutes_after_start)
        self.clock.set(at)
        return PlateRead(plate=plate, colour=colour, confidence=0.97,
                         direction="in" if self.scene.config.direction == "entry" else "out", at=at,
                         camera="cam", image_ref=f"img/{uuid.uuid4().hex[:8]}.jpg", **kw)  # type: ignore[arg-type]

    def sync(self) -> None:
        self.scene.flush_events()
        self.engine.cycle()


SHANGHAI = ZoneInfo("Asia/Shanghai")

# Scenarios run in the past, at a fixed time of day: 08:00 in Shanghai two days ago. "Sixteen hours
# later" is still before the backend's now, and a stay never crosses today's midnight by accident
# (the backend process runs on the real clock, which a test cannot pin).
_TODAY = datetime.now(SHANGHAI).date()
START = datetime.combine(_TODAY - timedelta(days=2), time(8), tzinfo=SHANGHAI).astimezone(timezone.utc)


class CarPark:
    def __init__(self, tmp_path: Path, extra_env: dict[str, str] | None = None, port: int | None = None):
        self.tmp = tmp_path
        self.db_url = f"sqlite:///{tmp_path / 'backend.db'}"
        self.backend = BackendProcess(self.db_url, tmp_path, port=port, extra_env={**ENV_KEYS, **(extra_env or {})}).start()
        self.app = make_app(self.db_url)   # the same database, for seeding through the services
        ids = make_merchant_site(self.app, kind="parking", name="东门停车场")
        self.merchant_id, self.site_id, self.exit_lane_id = ids["merchant_id"], ids["site_id"], ids["lane_id"]
        with self.app.state.sessions() as s:
            from backend.models.merchants import Site
            self.entry_lane_id = create_lane(s, s.get(Site, self.site_id), name="entry 1", direction="entry").id
            s.commit()
        self.http = httpx.Client(base_url=self.backend.url, timeout=10)
        self.staff = bearer(operator_token(self.app))
        self.put(f"/api/v1/sites/{self.site_id}/parking/rules", RULES)

    put = Canteen.put       # the same operator calls as the canteen rig (self.http, self.staff)
    post = Canteen.post

    def lane(self, direction: str, name: str, **config: object) -> Lane:
        lane_id = self.entry_lane_id if direction == "entry" else self.exit_lane_id
        code = self.post("/api/v1/enrolment-codes", {"site_id": self.site_id, "lane_id": lane_id, "name": name,
                                                     "scene": "parking"})["code"]
        clock = ManualClock(START)
        store = Store.open(self.tmp / f"{name}-{uuid.uuid4().hex[:8]}.db", new_key(), clock)
        register(store, self.backend.url, code)
        tracker = SyncTracker(probe_interval_s=0)
        client = ParkingClient(self.backend.url, device_auth(store), timeout_s=5)
        decider = Decider(store, clock, tracker, client, authorise_timeout_s=2.0)
        gate = build_modbus_gate(ModbusGateConfig(type="modbus_gate", name=f"{name}-gate", simulated=True,
                                                  pulse_ms=50), BuildContext(clock=system_clock))
        scene = ParkingScene(store, decider, ParkingConfig(direction=direction, lane_id=lane_id, **config),
                             client=client, pin_check=lambda pin: check_pin(pin, PIN_HASH))
        lane = Lane(store, clock, tracker, client, decider, SyncEngine(store, client, tracker, clock), scene, gate,
                    SceneOutput(gate))
        lane.sync()
        return lane

    def driver(self, plate: str, colour: str = "blue", wallet_fen: int = 50_000, per_payment: int = 20_000) -> int:
        cid = self.post("/api/v1/customers", {"name": "李小龙"})["id"]
        self.post(f"/api/v1/customers/{cid}/signings/plate", {
            "plate": plate, "plate_colour": colour, "per_payment_limit_fen": per_payment,
            "per_day_limit_fen": 100_000, "merchant_ids": [self.merchant_id]})
        self.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": uuid.uuid4().hex, "amount_fen": wallet_fen})
        return cid

    def sessions(self, plate: str | None = None, **params: object) -> list[dict]:
        """Stays on the backend (of one plate: scenarios sharing a car park use their own plates)."""
        r = self.http.get(f"/api/v1/sites/{self.site_id}/parking/sessions", params={"limit": 1000, **params},
                          headers=self.staff)
        assert r.status_code == 200, r.text
        return [s for s in r.json() if plate is None or s["plate"] == plate]

    def driver_pays(self, qr_text: str) -> None:
        r = self.http.post("/api/v1/parking/channel-sim/pay", json={"qr_text": qr_text})
        assert r.status_code == 200, r.text

    def close(self) -> None:
        self.http.close()
        self.backend.stop()
        self.app.state.engine.dispose()

    def __enter__(self) -> "CarPark":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarPark]:
    """One car park (backend process) for a test module; each test uses its own lanes and plates.
    A module imports it: `from tests.terminal.parking_rig import park  # noqa: F401 - a fixture`."""
    with CarPark(tmp_path_factory.mktemp("carpark")) as shared:
        yield shared
