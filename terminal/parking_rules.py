"""A car park's rules as this lane knows them: tariffs, passes, the blacklist and the fee of a
stay. The backend's (pulled into the cache), else the lane's fallback config."""
from __future__ import annotations

from datetime import date, datetime

from core.members import MemberPass, charge_for_stay
from core.tariff import SiteTariffs
from core.wire import ParkingTariffData
from terminal.parking_config import ParkingConfig
from terminal.parking_store import Stay
from terminal.store import Store


class ParkingRules:
    def __init__(self, store: Store, config: ParkingConfig):
        self.store, self.config = store, config

    def _site_id(self) -> int:
        identity = self.store.identity()
        return identity.site_id if identity else 0

    def rules(self) -> tuple[SiteTariffs, int, str]:
        """(tariffs, fee for a car with no entry record, repeat-entry rule) — the backend's, else config."""
        raw = self.store.cache.item("tariff", str(self._site_id()))
        policy = self.config.repeat_entry
        if raw is None:
            return self.config.fallback_tariffs, self.config.fallback_no_entry_fee_fen, policy or "replace"
        data = ParkingTariffData.model_validate(raw)
        return SiteTariffs.model_validate(data.tariffs), data.no_entry_fee_fen, policy or data.repeat_entry

    def member(self, plate: str) -> MemberPass | None:
        raw = self.store.cache.item("member", f"{self._site_id()}:{plate}")
        if raw is None:
            return None
        return MemberPass(raw["site_id"], raw["plate"], raw["plan"], date.fromisoformat(raw["valid_from"]),
                          date.fromisoformat(raw["valid_to"]), raw.get("status", "active"))

    def blacklisted(self, plate: str) -> str | None:
        raw = self.store.cache.item("parking_blacklist", f"{self._site_id()}:{plate}")
        return raw.get("reason", "") if raw else None

    def quote(self, plate: str, colour: str, at: datetime, stay: Stay | None) -> tuple[int, str]:
        """(fee, pay kind if nothing to pay / fallback) for a car leaving at `at`."""
        tariffs, no_entry_fee, _ = self.rules()
        if stay is None or stay.entered_at is None:
            return no_entry_fee, "fallback"
        entered = min(stay.entered_at, at)   # a lane clock slightly behind another must not fail the exit
        charge = charge_for_stay(self.member(plate), tariffs.pick(colour), entered, at)
        if charge.covered:
            return 0, "member"
        return charge.fee_fen, "none"
