"""A car park's rules, member passes and blacklist; every change reaches the site's lanes by pull."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models.merchants import Site
from backend.models.parking import MemberRenewal, ParkingBlacklist, ParkingMember, ParkingRules
from backend.services.changes import record_change
from core.wire import MemberData, ParkingBlacklistData, ParkingTariffData
from core.crypto import FieldCipher
from core.masking import mask_name
from core.members import MemberPass, PassPlan, renew
from core.tariff import SiteTariffs


class ParkingRuleError(ValueError):
    """A request the rules refuse; `code` for the API, messages in plain words."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def car_park(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None or site.kind != "car_park":
        raise ParkingRuleError("site_not_found", "找不到该停车场", "No such car park")
    return site


def tariff_data(rules: ParkingRules) -> ParkingTariffData:
    return ParkingTariffData(site_id=rules.site_id, tariffs=rules.tariffs, no_entry_fee_fen=rules.no_entry_fee_fen,
                             repeat_entry=rules.repeat_entry, plans=rules.plans, version=rules.version)


def set_rules(session: Session, site_id: int, tariffs: SiteTariffs, no_entry_fee_fen: int,
              repeat_entry: str = "replace", plans: list[PassPlan] | None = None, *, now: datetime) -> ParkingRules:
    site = car_park(session, site_id)
    rules = session.get(ParkingRules, site_id)
    dumped: dict[str, Any] = tariffs.model_dump(mode="json")
    plan_rows = [p.model_dump(mode="json") for p in plans or []]
    if rules is None:
        rules = ParkingRules(site_id=site_id, tariffs=dumped, no_entry_fee_fen=no_entry_fee_fen,
                             repeat_entry=repeat_entry, plans=plan_rows, version=1, updated_at=now)
        session.add(rules)
    else:
        rules.tariffs, rules.no_entry_fee_fen, rules.repeat_entry = dumped, no_entry_fee_fen, repeat_entry
        rules.plans, rules.version, rules.updated_at = plan_rows, rules.version + 1, now
    session.flush()
    record_change(session, "tariff", site_id, tariff_data(rules).model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site_id)
    return rules


def member_data(m: ParkingMember) -> MemberData:
    return MemberData(site_id=m.site_id, plate=m.plate, plan=m.plan, valid_from=m.valid_from,
                      valid_to=m.valid_to, status=m.status, masked_name=m.masked_name)


def _publish_member(session: Session, site: Site, m: ParkingMember) -> None:
    session.flush()
    record_change(session, "member", f"{m.site_id}:{m.plate}", member_data(m).model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site.id)


def find_member(session: Session, site_id: int, plate: str) -> ParkingMember | None:
    return session.scalar(select(ParkingMember).where(ParkingMember.site_id == site_id,
                                                      ParkingMember.plate == plate))


def put_member(session: Session, cipher: FieldCipher, site_id: int, plate: str, plan: str,
               valid_from: date, valid_to: date, status: str = "active",
               holder_name: str | None = None, *, now: datetime) -> ParkingMember:
    """Create or overwrite a pass (an operator's correction); renewals go through renew_member."""
    if valid_to < valid_from:
        raise ParkingRuleError("bad_dates", "有效期结束日早于开始日，请检查日期", "valid_to is before valid_from")
    site = car_park(session, site_id)
    m = find_member(session, site_id, plate)
    if m is None:
        m = ParkingMember(site_id=site_id, plate=plate, plan=plan, valid_from=valid_from, valid_to=valid_to)
        session.add(m)
    m.plan, m.valid_from, m.valid_to, m.status, m.updated_at = plan, valid_from, valid_to, status, now
    if holder_name:
        m.holder_name_sealed = cipher.seal(holder_name, "parking_members.holder_name")
        m.masked_name = mask_name(holder_name)
    _publish_member(session, site, m)
    return m


def plan_of(rules: ParkingRules | None, code: str) -> PassPlan:
    for raw in (rules.plans if rules else []):
        plan = PassPlan.model_validate(raw)
        if plan.code == code:
            return plan
    raise ParkingRuleError("unknown_plan", "该停车场没有这种会员套餐", f"This car park sells no {code!r} pass")


def renew_member(session: Session, site_id: int, plate: str, plan_code: str, renewal_id: str, today: date,
                 paid_via: str, order_id: str | None = None, amount_fen: int | None = None, *,
                 now: datetime) -> ParkingMember:
    """One paid renewal (会员缴费续期), at most once per renewal_id."""
    return record_renewal(session, site_id, plate, plan_code, renewal_id, today, paid_via, order_id, amount_fen,
                          now=now)[0]


def record_renewal(session: Session, site_id: int, plate: str, plan_code: str, renewal_id: str, today: date,
                   paid_via: str, order_id: str | None = None,
                   amount_fen: int | None = None, *, now: datetime) -> tuple[ParkingMember, MemberRenewal, bool]:
    """(member, renewal, fresh): the pass extended once per renewal_id; a repeat of the same renewal
    returns the first (fresh False), the same id for another plate, plan, amount or way of paying is
    refused. amount_fen 0 is a free renewal, only at the counter ("operator"): the pass is extended,
    nothing was paid. Money is the caller's to book (QR: the order's payment; counter: counter_renewals)."""
    site = car_park(session, site_id)
    # Locked (PostgreSQL): two renewals of one pass at once must extend it twice, not once.
    m = session.scalar(select(ParkingMember).where(ParkingMember.site_id == site_id, ParkingMember.plate == plate)
                       .with_for_update())
    done = session.scalar(select(MemberRenewal).where(MemberRenewal.renewal_id == renewal_id))
    if done is not None:
        same = (m is not None and done.member_id == m.id and done.plan == plan_code and done.paid_via == paid_via
                and (amount_fen is None or done.amount_fen == amount_fen))
        if not same:
            raise ParkingRuleError("renewal_id_reused", "该续费编号已用于另一笔续费（车牌、套餐或金额不同），请用新编号",
                                   "This renewal id was used for another renewal (plate, plan or amount differ); "
                                   "use a new id")
        assert m is not None
        return m, done, False
    plan = plan_of(session.get(ParkingRules, site_id), plan_code)
    free = amount_fen == 0 and paid_via == "operator"
    if amount_fen is not None and amount_fen != plan.price_fen and not free:
        raise ParkingRuleError("wrong_amount", "缴费金额与套餐价格不符（免费续期请填 0）",
                               "The amount paid is not the plan's price (0 for a free renewal)")
    current = None if m is None else MemberPass(site_id, plate, m.plan, m.valid_from, m.valid_to)
    renewed = renew(current, plan, today, site_id, plate)
    before = m.valid_to if m else None
    if m is None:
        m = ParkingMember(site_id=site_id, plate=plate, plan=plan.code, valid_from=renewed.valid_from,
                          valid_to=renewed.valid_to, status="active")
        session.add(m)
    m.plan, m.valid_from, m.valid_to, m.updated_at = plan.code, renewed.valid_from, renewed.valid_to, now
    session.flush()
    renewal = MemberRenewal(renewal_id=renewal_id, member_id=m.id, plan=plan.code,
                            amount_fen=0 if free else plan.price_fen, paid_via=paid_via, order_id=order_id,
                            valid_to_before=before, valid_to_after=m.valid_to, created_at=now)
    session.add(renewal)
    _publish_member(session, site, m)
    return m, renewal, True


def set_blacklisted(session: Session, site_id: int, plate: str, reason: str | None) -> None:
    """reason None removes the plate from the blacklist."""
    site = car_park(session, site_id)
    row = session.scalar(select(ParkingBlacklist).where(ParkingBlacklist.site_id == site_id,
                                                        ParkingBlacklist.plate == plate))
    key = f"{site_id}:{plate}"
    if reason is None:
        if row is not None:
            session.delete(row)
            record_change(session, "parking_blacklist", key, {}, merchant_id=site.merchant_id, site_id=site_id,
                          deleted=True)
        return
    if row is None:
        session.add(ParkingBlacklist(site_id=site_id, plate=plate, reason=reason))
    else:
        row.reason = reason
    record_change(session, "parking_blacklist", key,
                  ParkingBlacklistData(site_id=site_id, plate=plate, reason=reason).model_dump(mode="json"),
                  merchant_id=site.merchant_id, site_id=site_id)
