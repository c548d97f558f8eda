"""The scripted day. Every step says what happens in words a canteen manager would use, moves the
terminals' clocks to the scripted local time, and records what the diner or driver saw."""
from __future__ import annotations

import base64
import pickle
import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable

import httpx

from terminal.demo.terminal_process import PIN, TerminalProcess
from terminal.demo.clock import DemoClock, at_local
from terminal.demo.faces import ENROLLED, SPOOF_PHOTO, TURNED_AWAY, UNSIGNED_LIVE
from terminal.demo.outage import Link
from terminal.demo.parking import Lane
from terminal.demo.seed import CARD_UNKNOWN, PLATES

WECHAT_CODE = "134567890123456789"    # a WeChat pay code's shape (18 digits, 13 prefix)
OPENING = ("entry_open", "exit_paid", "exit_free")     # lane phases that lift the barrier
# (local time, lane, plate): signed plates, the monthly member, two visitors
ARRIVALS = (("07:45", "entry1", "皖AMK620"), ("07:52", "entry2", "沪AMS087"), ("08:05", "entry1", "皖AF05568"),
            ("08:20", "entry2", "浙G857PM"), ("08:41", "entry1", "皖GC2689"))
DEPARTURES = (("16:55", "exit1", "皖AMK620"), ("17:05", "exit2", "沪AMS087"), ("17:20", "exit1", "皖AF05568"),
              ("17:31", "exit2", "浙G857PM"), ("17:44", "exit1", "皖GC2689"))


@dataclass
class Record:
    scene: str          # school | company | parking
    terminal: str
    local_time: str
    what: str           # e.g. "face Jackie_Chan_0002.jpg", "card", "plate 皖AMK620 exit"
    status: str         # approved | declined | already_paid | opened | refused | free | quote
    method: str = ""
    amount_fen: int = 0
    offline: bool = False
    reason: str | None = None
    payment_id: str = ""
    message: str = ""
    barrier_opened: bool | None = None    # parking: did the lane's relay pulse the barrier
    discount_fen: int = 0                 # what a campaign or coupon took off amount_fen (the price)


@dataclass
class DayLog:
    records: list[Record] = field(default_factory=list)
    events: list[str] = field(default_factory=list)       # outage, power cut, refund, close...
    shots: list[tuple[str, str, object, str | None]] = field(default_factory=list)  # name, scene, view, photo
    shift_totals: dict[str, dict] = field(default_factory=dict)
    qr_orders_paid: list[dict] = field(default_factory=list)
    power_cut: dict = field(default_factory=dict)


class Day:
    def __init__(self, day: date, canteens: dict[str, TerminalProcess], link: Link, lanes: dict[str, Lane],
                 parking_clock: DemoClock, backend_url: str, say: Callable[[str], None],
                 on_view: Callable[[str, object], None] = lambda scene, view: None):
        self.day, self.canteens, self.link, self.lanes = day, canteens, link, lanes
        self.parking_clock, self.backend_url, self.say = parking_clock, backend_url, say
        self.on_view = on_view      # live kiosk windows, when there is a display
        self.log = DayLog()
        self._shot_names: set[str] = set()

    # --- canteen ---------------------------------------------------------------------------------

    def at(self, hhmm: str) -> str:
        when = at_local(self.day, hhmm)
        for term in [*self.canteens.values(), *(lane.terminal for lane in self.lanes.values())]:
            if term.proc is not None:
                term.send(op="time", at=when.isoformat())
        self.parking_clock.set(when)
        return hhmm

    def _canteen(self, scene: str, hhmm: str, what: str, reply: dict, shot: str | None = None) -> list[Record]:
        out = []
        for o in reply.get("outcomes", []):
            rec = Record(scene, self.canteens[scene].name, hhmm, what, o["status"], o["method"], o["amount_fen"],
                         o["offline"], o["reason"], o["payment_id"], o["message_zh"],
                         discount_fen=o.get("discount_fen", 0))
            self.log.records.append(rec)
            out.append(rec)
            view = pickle.loads(base64.b64decode(o["view"]))
            self.on_view("canteen", view)
            if shot and shot not in self._shot_names:
                self._shot_names.add(shot)
                image = what.split()[1] if what.startswith("face ") else None
                self._shot(shot, "canteen", view, image)
            flag = " [离线 offline]" if rec.offline else ""
            if rec.discount_fen:
                paid = (rec.amount_fen - rec.discount_fen) / 100
                flag += f" [优惠 discount {rec.discount_fen / 100:.2f}, 实付 paid {paid:.2f}]"
            self.say(f"  {hhmm} {scene:7} {what:34} -> {rec.status}{flag} {rec.reason or ''} {rec.message}")
        if not out:
            self.log.records.append(Record(scene, self.canteens[scene].name, hhmm, what, "no_answer"))
            self.say(f"  {hhmm} {scene:7} {what:34} -> no answer")
        return out

    def face(self, scene: str, photo: str, *, live: bool = True, shot: str | None = None) -> list[Record]:
        reply = self.canteens[scene].send(op="face", photo=photo, live=live)
        return self._canteen(scene, self._now(), f"face {photo}" + ("" if live else " (phone)"), reply, shot)

    def card(self, scene: str, number: str, shot: str | None = None) -> list[Record]:
        reply = self.canteens[scene].send(op="card", number=number)
        return self._canteen(scene, self._now(), f"card …{number[-4:]}", reply, shot)

    def code(self, scene: str, text: str, shot: str | None = None) -> list[Record]:
        reply = self.canteens[scene].send(op="code", text=text)
        return self._canteen(scene, self._now(), "pay code (WeChat)", reply, shot)

    def _now(self) -> str:
        from terminal.demo.clock import SHANGHAI
        return self.parking_clock.now().astimezone(SHANGHAI).strftime("%H:%M")

    def meal(self, scene: str, photos: list[str], cards: list[str] = ()) -> None:  # type: ignore[assignment]
        for p in photos:
            self.face(scene, p, shot=f"{scene}-paid-face")
        for c in cards:
            self.card(scene, c, shot=f"{scene}-paid-card")

    # --- parking ---------------------------------------------------------------------------------

    def car(self, lane_name: str, plate: str) -> Record:
        lane = self.lanes[lane_name]
        _, openings_before = lane.view()
        lane.car(plate, PLATES[plate][0])
        view, _ = lane.view()
        hhmm = self._now()
        if view.phase == "exit_quote" and view.qr_text:
            self._shot(f"parking-{lane_name}-quote", "parking", view)
            self.say(f"  {hhmm} parking {lane_name:8} {plate} 应付 fee {view.fee_fen} fen: driver scans the QR code")
            paid = httpx.post(f"{self.backend_url}/api/v1/parking/channel-sim/pay", json={"qr_text": view.qr_text},
                              timeout=10)
            self.log.qr_orders_paid.append({"plate": plate, "fee_fen": view.fee_fen, "http": paid.status_code})
            for _ in range(50):          # the lane polls its QR order about once a second
                view, _ = lane.view()
                if view.phase != "exit_quote":
                    break
                time.sleep(0.2)
        self.on_view("parking", view)
        outcome = view.outcome
        rec = Record("parking", lane_name, hhmm, f"plate {plate} {lane.direction}", view.phase,
                     (outcome.method if outcome else view.pay_kind) or "", view.fee_fen or 0,
                     bool(outcome and outcome.offline), outcome.reason if outcome else None,
                     outcome.payment_id if outcome else "", view.message_zh)
        self.log.records.append(rec)
        shot = f"parking-{view.phase}"
        if shot not in self._shot_names:
            self._shot_names.add(shot)
            self._shot(shot, "parking", view)
        rec.barrier_opened = self._barrier_pulsed(lane, openings_before or 0, expect=view.phase in OPENING)
        self.say(f"  {hhmm} parking {lane_name:8} {plate} -> {view.phase} {view.pay_kind or ''} "
                 f"{view.fee_fen or ''} {'barrier up' if rec.barrier_opened else 'barrier down'}")
        return rec

    def _shot(self, name: str, scene: str, view: object, image: str | None = None) -> None:
        """Keep a view for its screenshot. The compressed day runs a day behind the backend on
        purpose, and jumps ahead between scenes; the clock-skew warning that would cause on every
        screen is a staging artefact, so the screenshots leave it out (docs/DEMO.md says so)."""
        view = replace(view, sync=replace(view.sync, clock_skew_s=None))  # type: ignore[attr-defined]
        self.log.shots.append((name, scene, view, image))

    @staticmethod
    def _barrier_pulsed(lane: Lane, before: int, expect: bool) -> bool:
        """Did the lane's simulated barrier receive a relay pulse? (The gate is commanded right
        after the lane's commit; give the pulse a moment to arrive when one is expected.)"""
        for _ in range(10 if expect else 1):
            _, after = lane.view()
            if (after or 0) > before:
                return True
            time.sleep(0.2)
        return False

    def traffic(self, title: str, schedule: tuple[tuple[str, str, str], ...]) -> None:
        """Cars at their scripted times, then the lanes push their events and payments."""
        self.say(title)
        for hhmm, lane, plate in schedule:
            self.at(hhmm)
            self.car(lane, plate)
        self.sync_lanes()

    def sync_lanes(self) -> None:
        for lane in self.lanes.values():
            lane.sync()

    # --- the day ---------------------------------------------------------------------------------

    def play(self) -> DayLog:
        school_faces = [p for p, v in ENROLLED.items() if v[2] == "school"]
        company_faces = [p for p, v in ENROLLED.items() if v[2] == "company"]
        later = {p: v[1] for p, v in ENROLLED.items()}
        self.say("[bold]早餐 Breakfast[/bold]")
        self.at("07:20")
        # The card pays 1 yuan less: the bank's instant campaign at the school canteen (seed-demo).
        self.meal("school", [later[p][0] for p in school_faces[:3]], ["8800123400011"])
        self.face("school", later["Jackie_Chan"][-1], shot="school-already-paid")   # lingers: no second charge
        self.face("school", SPOOF_PHOTO, live=False, shot="school-spoof")
        self.face("school", UNSIGNED_LIVE, shot="school-no-match")
        self.face("school", TURNED_AWAY, shot="school-turned-away")
        self.card("school", CARD_UNKNOWN, shot="school-unknown-card")
        self.code("school", WECHAT_CODE, shot="school-paycode")
        self.at("07:40")
        self.meal("company", [later[company_faces[0]][0]], ["8800123400012"])
        self.traffic("[bold]早高峰入场 Morning arrivals[/bold]", ARRIVALS)

        self.say("[bold]午餐 Lunch[/bold]")
        self.at("11:35")
        # 唐家璇 holds the lunch coupon (满8减3, terminal/demo/seed.py): her 8.00 lunch costs her 5.00.
        self.meal("school", [later["Jackie_Chan"][-1], later["Tang_Jiaxuan"][0], later["Annette_Lu"][0]])
        self.at("11:45")
        self.meal("company", [later[p][0] for p in company_faces], ["8800123400012"])
        self.at("12:00")
        self.link.cut()
        self.log.events.append("12:00 school canteen network cut (link down)")
        self.say("[bold red]12:00 学校食堂断网 / the school canteen's network is cut[/bold red]")
        offline = self.face("school", later["Hu_Jintao"][0], shot="school-offline")
        offline += self.card("school", "8800123400011")
        offline += self.card("school", "8800123400013")
        self.code("school", WECHAT_CODE, shot="school-paycode-offline")
        approved = [r for r in offline if r.status == "approved"]
        self.say("[bold red]12:10 断电 / power cut: kill -9 of the school canteen terminal[/bold red]")
        self.canteens["school"].kill9()
        self.log.power_cut = {"at": "12:10", "terminal": self.canteens["school"].name,
                              "approved_before": [r.payment_id for r in approved]}
        self.log.events.append(f"12:10 power cut (SIGKILL) of {self.canteens['school'].name} "
                               f"with {len(approved)} offline approval(s) not yet synced")
        self.canteens["school"].start(at_local(self.day, "12:15"))
        self.at("12:15")
        self.say("  12:15 电源恢复，终端重启 / power back: the terminal restarts from its store")
        self.at("12:30")
        self.link.connect()
        self.log.events.append("12:30 school canteen network back; offline payments pushed")
        status = self.canteens["school"].send(op="sync")
        self.say(f"[bold green]12:30 网络恢复 / network back: sync now, queue left {status['queue']}[/bold green]")
        lunch_refund = next((r for r in reversed(self.log.records) if r.scene == "school"
                             and r.status == "approved" and r.what.startswith("face Annette")), None)
        if lunch_refund is not None:
            self.at("12:50")
            answer = self.canteens["school"].send(op="refund", payment_id=lunch_refund.payment_id,
                                                  amount_fen=lunch_refund.amount_fen, reason="饭菜洒了 meal spilt",
                                                  pin=PIN)
            self.log.events.append(f"12:50 refund of {lunch_refund.amount_fen} fen ({lunch_refund.payment_id})")
            self.say(f"  12:50 收银员退款 / cashier refund: {answer['message_zh']} / {answer['message_en']}")

        self.traffic("[bold]傍晚离场 Evening departures[/bold]", DEPARTURES)

        self.say("[bold]晚餐 Dinner[/bold]")
        self.at("18:00")
        self.meal("school", [later["Jackie_Chan"][0], later["Tang_Jiaxuan"][-1]], ["8800123400013"])
        self.at("18:10")
        self.meal("company", [later["Ron_Dittemore"][0]])

        self.say("[bold]日终 End of day[/bold]")
        self.at("19:45")
        for scene, term in self.canteens.items():
            term.send(op="sync")
            self.log.shift_totals[scene] = term.send(op="close", pin=PIN)["totals"]
            term.send(op="sync")
            self.log.events.append(f"19:45 {term.name}: shift closed")
            self.say(f"  19:45 {scene}: 日结 shift closed {self.log.shift_totals[scene]['count_by_method']}")
        self.sync_lanes()
        return self.log
