"""The demo's people and rules, made the way a bank operator makes them: `gatepay backend seed-demo`
for the organisation (school canteen, car park, operator token, enrolment codes), then the
operator HTTP API for the rest — a company canteen, more car-park lanes, offline limits, parking
rules, subsidy programs with grants imported from CSV, customers with face signings (templates
enrolled from the sample photos through the face engine), cards, plates and monthly members, and
one lunch coupon for one diner (seed-demo already made the bank's instant card campaign)."""
from __future__ import annotations

import ast
import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import httpx

from core.crypto import keyed_hash
from terminal.demo.backend import DemoBackend
from terminal.demo.faces import CHINESE_NAMES, ENROLLED, photo, template_text

MEALS_COMPANY = [
    {"code": "breakfast", "name_zh": "早餐", "name_en": "Breakfast", "start": "07:00", "end": "09:00", "price_fen": 500},
    {"code": "lunch", "name_zh": "午餐", "name_en": "Lunch", "start": "11:30", "end": "13:30", "price_fen": 1500},
    {"code": "dinner", "name_zh": "晚餐", "name_en": "Dinner", "start": "17:30", "end": "19:30", "price_fen": 1200},
]
OFFLINE_LIMITS = {"per_payment_fen": 3000, "per_customer_day_fen": 6000, "terminal_total_fen": 200_000,
                  "max_cache_age_s": 86_400 * 2}
PARKING_RULES = {
    "tariffs": {"default": {"free_minutes": 15, "day": {"first_period_minutes": 60, "first_period_fen": 500,
                                                        "unit_minutes": 60, "unit_fen": 200}}},
    "no_entry_fee_fen": 5000, "repeat_entry": "replace",
    "plans": [{"code": "monthly", "months": 1, "price_fen": 30000}],
}
FEES = [{"method": m, "rate_bp": 30, "min_fen": 1, "max_fen": 500} for m in ("face", "card", "plate")]
# Cards: number -> (holder, canteen). Only the keyed hash ever reaches the backend.
CARDS = {"8800123400011": ("王小明", "school"), "8800123400012": ("李华", "company"),
         "8800123400013": ("张伟", "school")}
CARD_UNKNOWN = "8800999900099"
# Plates: text -> (colour, kind). signed = contactless at the exit; member = monthly pass.
# The lunch coupon: 满8减3 (3.00 off a price of 8.00 or more: the school's lunch, not its breakfast
# or dinner), issued to one school diner, who pays lunch online in the scripted day.
COUPON_CAMPAIGN = {"name": "午餐满8减3券 Lunch coupon: 3 yuan off 8", "kind": "threshold", "threshold_fen": 800,
                   "amount_fen": 300, "mode": "coupon", "budget_fen": 3000, "status": "active"}
COUPON_HOLDER = "Tang_Jiaxuan"
PLATES = {"皖AMK620": ("blue", "signed"), "沪AMS087": ("blue", "signed"), "皖AF05568": ("green", "member"),
          "浙G857PM": ("blue", "visitor"), "皖GC2689": ("blue", "visitor")}


@dataclass
class DemoWorld:
    operator_token: str
    school: dict[str, int]
    company: dict[str, int]
    car_park: dict[str, int]
    codes: dict[str, str] = field(default_factory=dict)             # terminal name -> enrolment code
    faces: dict[str, int] = field(default_factory=dict)             # sample name -> customer id
    cards: dict[str, int] = field(default_factory=dict)             # card number -> customer id
    plates: dict[str, int] = field(default_factory=dict)            # plate -> customer id (signed ones)
    programs: dict[str, int] = field(default_factory=dict)
    grants: dict[str, dict] = field(default_factory=dict)           # program -> import report
    marketing: dict[str, int | str] = field(default_factory=dict)   # campaign ids, the coupon and its holder
    enrol_refusals: list[str] = field(default_factory=list)


class Operator:
    """The bank operator's HTTP client (bearer token)."""

    def __init__(self, url: str, token: str):
        self.http = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 204), **kw: object) -> dict:
        r = self.http.request(method, path, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r.json() if r.content else {}

    def post(self, path: str, body: dict | None = None, **kw: object) -> dict:
        return self.call("POST", path, json=body, **kw) if body is not None else self.call("POST", path, **kw)

    def put(self, path: str, body: dict) -> dict:
        return self.call("PUT", path, json=body)

    def close(self) -> None:
        self.http.close()


def seed_org(backend: DemoBackend) -> tuple[str, dict, dict, dict[str, str]]:
    """`gatepay backend seed-demo`, read back from its printout (tokens are shown only there)."""
    done = backend.cli("seed-demo")
    if done.returncode != 0:
        raise RuntimeError(f"seed-demo failed: {done.stderr[-800:]}")
    token, school, park, codes = "", {}, {}, {}
    for line in done.stdout.splitlines():
        if line.startswith("token operator: "):
            token = line.split(": ", 1)[1].strip()
        elif line.startswith("canteen: "):
            school = ast.literal_eval(line.split(": ", 1)[1])
        elif line.startswith("car park: "):
            park = ast.literal_eval(line.split(": ", 1)[1])
        elif line.startswith("enrolment code for "):
            name, code = line[len("enrolment code for "):].rsplit(": ", 1)
            codes[name] = code.strip()
    if not token or not school or not park:
        raise RuntimeError("seed-demo printed no operator token (database not fresh?)")
    return token, school, park, codes


def company_canteen(op: Operator) -> dict[str, int]:
    m = op.post("/api/v1/merchants", {"name": "示范科技公司食堂 Demo company canteen", "kind": "canteen",
                                      "settlement_account": {"account_no": "6228480087654321",
                                                             "bank_name": "示范农商银行 Demo rural bank"}})
    op.post(f"/api/v1/merchants/{m['id']}/approve")
    op.put(f"/api/v1/merchants/{m['id']}/fees", {"fees": FEES})
    site = op.post(f"/api/v1/merchants/{m['id']}/sites", {"name": "员工餐厅 Staff restaurant", "kind": "canteen"})
    lane = op.post(f"/api/v1/sites/{site['id']}/lanes", {"name": "A口 Gate A", "direction": "both"})
    op.put(f"/api/v1/sites/{site['id']}/meal-periods", {"periods": MEALS_COMPANY})
    return {"merchant_id": m["id"], "site_id": site["id"], "lane_id": lane["id"]}


def enrolment_code(op: Operator, site_id: int, lane_id: int | None, name: str) -> str:
    body = {"site_id": site_id, "name": name}
    if lane_id is not None:
        body["lane_id"] = lane_id
    return op.post("/api/v1/enrolment-codes", body)["code"]


def subsidy_programs(op: Operator, world: DemoWorld, today: date) -> None:
    school, company = world.school["merchant_id"], world.company["merchant_id"]
    world.programs["student"] = op.post("/api/v1/subsidy-programs", {
        "name": "学生营养餐补 Student meal subsidy", "funder": "县教育局 County education bureau", "kind": "monthly",
        "merchant_ids": [school], "meal_periods": ["lunch", "dinner"], "per_meal_cap_fen": 500})["id"]
    world.programs["staff"] = op.post("/api/v1/subsidy-programs", {
        "name": "员工餐补 Staff meal allowance", "funder": "示范科技公司 Demo tech company", "kind": "monthly",
        "merchant_ids": [company], "meal_periods": ["lunch"], "per_meal_cap_fen": 1000,
        "expiry_policy": "on_date", "expires_on": (today + timedelta(days=60)).isoformat()})["id"]


def import_grants(op: Operator, world: DemoWorld, rows: dict[str, list[tuple[int, int]]]) -> None:
    """One CSV file per program (customer_id, amount_fen), imported with an idempotency key."""
    for program, grants in rows.items():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["customer_id", "amount_fen"])
        writer.writerows(grants)
        batch = f"demo-{program}-{uuid.uuid4().hex[:8]}"
        world.grants[program] = op.call(
            "POST", f"/api/v1/subsidy-programs/{world.programs[program]}/grant-batches", params={"batch_id": batch},
            content=buf.getvalue().encode(), headers={"Content-Type": "text/csv"})


def customer(op: Operator, name: str, wallet_fen: int) -> int:
    cid = op.post("/api/v1/customers", {"name": name})["id"]
    op.post(f"/api/v1/customers/{cid}/deposits", {"deposit_id": f"dep-{uuid.uuid4().hex}", "amount_fen": wallet_fen})
    return cid


def face_signings(op: Operator, world: DemoWorld) -> None:
    """Each diner enrolled from a sample photo through the face engine (quality and duplicate
    checks included), the templates then signed through the API with the diner's consent."""
    from hardware.face.engine import FaceEngine
    from hardware.face.enrol import Enroller

    enroller = Enroller(FaceEngine())
    consent = datetime.now(timezone.utc).isoformat()
    for person, (enrol_photo, _later, canteen) in ENROLLED.items():
        merchant = world.school if canteen == "school" else world.company
        cid = customer(op, CHINESE_NAMES[person], 20_000)
        result = enroller.enrol(cid, [photo(enrol_photo)])
        if not result.ok:
            world.enrol_refusals.append(f"{person}: {result.reason}")
            continue
        op.post(f"/api/v1/customers/{cid}/signings/face", {
            "consent_at": consent, "consent_text_version": "demo-v1",
            "templates": [template_text(t, enroller.engine.model.id) for t in result.templates],
            "per_payment_limit_fen": 5000,
            "per_day_limit_fen": 20_000, "merchant_ids": [merchant["merchant_id"]]})
        world.faces[person] = cid


def card_signings(op: Operator, world: DemoWorld, card_key: bytes) -> None:
    for number, (holder, _canteen) in CARDS.items():
        cid = customer(op, holder, 10_000)
        op.post(f"/api/v1/customers/{cid}/signings/card", {
            "card_hash": keyed_hash(card_key, number, "card"), "per_payment_limit_fen": 5000,
            "per_day_limit_fen": 20_000})
        world.cards[number] = cid


def lunch_coupon(op: Operator, world: DemoWorld) -> None:
    """The coupon campaign at the school canteen and its one coupon, for COUPON_HOLDER (valid a week)."""
    holder = COUPON_HOLDER if COUPON_HOLDER in world.faces else next(
        (p for p, v in ENROLLED.items() if v[2] == "school" and p in world.faces), None)
    world.marketing["card_campaign_id"] = world.school["campaign_id"]
    if holder is None:
        return
    offer = op.post("/api/v1/campaigns", {**COUPON_CAMPAIGN, "merchant_ids": [world.school["merchant_id"]]})
    expires = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    issued = op.post(f"/api/v1/campaigns/{offer['id']}/coupons", {
        "issue_id": "demo-lunch-coupon", "customer_ids": [world.faces[holder]], "expires_at": expires})
    world.marketing.update(coupon_campaign_id=offer["id"], coupon_id=issued["coupon_ids"][0], coupon_holder=holder)


def parking_people(op: Operator, world: DemoWorld, day: date) -> None:
    site = world.car_park["site_id"]
    op.put(f"/api/v1/sites/{site}/parking/rules", PARKING_RULES)
    for plate, (colour, kind) in PLATES.items():
        if kind == "signed":
            cid = customer(op, "车主" + plate[-3:], 50_000)
            op.post(f"/api/v1/customers/{cid}/signings/plate", {
                "plate": plate, "plate_colour": colour, "per_payment_limit_fen": 20_000,
                "per_day_limit_fen": 100_000, "merchant_ids": [world.car_park["merchant_id"]]})
            world.plates[plate] = cid
        elif kind == "member":
            op.put(f"/api/v1/sites/{site}/parking/members/{plate}", {
                "plan": "monthly", "valid_from": (day - timedelta(days=10)).isoformat(),
                "valid_to": (day + timedelta(days=20)).isoformat(), "holder_name": "赵月卡"})


def seed_world(backend: DemoBackend, day: date, progress=lambda text: None) -> DemoWorld:  # noqa: ANN001
    token, school, park, codes = seed_org(backend)
    op = Operator(backend.url, token)
    try:
        progress("公司食堂与停车通道 / company canteen and car-park lanes")
        world = DemoWorld(token, school, company_canteen(op), park)
        for site in (school["site_id"], world.company["site_id"]):
            op.put(f"/api/v1/sites/{site}/offline-limits", OFFLINE_LIMITS)
        lot = park["site_id"]
        park["entry2_lane_id"] = op.post(f"/api/v1/sites/{lot}/lanes", {"name": "西门入口 West entry",
                                                                        "direction": "entry"})["id"]
        park["exit2_lane_id"] = op.post(f"/api/v1/sites/{lot}/lanes", {"name": "西门出口 West exit",
                                                                       "direction": "exit"})["id"]
        world.codes["school"] = codes["canteen window 1"]
        world.codes["company"] = enrolment_code(op, world.company["site_id"], world.company["lane_id"], "A口 Gate A")
        for lane in ("entry_lane_id", "exit_lane_id", "entry2_lane_id", "exit2_lane_id"):
            world.codes[lane] = enrolment_code(op, lot, park[lane], lane.replace("_lane_id", ""))
        progress("人脸签约（样例照片） / face signings from the sample photos")
        face_signings(op, world)
        card_signings(op, world, backend.keys["card"])
        progress("补贴发放（CSV导入） / subsidy grants (CSV import)")
        subsidy_programs(op, world, day)
        students = [world.faces[p] for p, v in ENROLLED.items() if v[2] == "school" and p in world.faces]
        staff = [world.faces[p] for p, v in ENROLLED.items() if v[2] == "company" and p in world.faces]
        import_grants(op, world, {"student": [(c, 12_000) for c in students],
                                  "staff": [(c, 30_000) for c in staff]})
        progress("午餐券 / the lunch coupon")
        lunch_coupon(op, world)
        progress("车牌签约与月卡 / plate signings and monthly members")
        parking_people(op, world, day)
        return world
    finally:
        op.close()
