"""The change feed (pull): what the backend sends terminals about signings, balances and rules."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from core.wire.fields import MAX_AMOUNT_FEN, FundingOrder, PaymentMethod, Scene, Wire

# --- pull (changes since a cursor) ------------------------------------------------------------

ChangeKind = Literal[
    "face_signing",     # key customer_id; data FaceSigningData
    "card_signing",     # key card_hash;   data CardSigningData
    "plate_signing",    # key "PLATE:colour"; data PlateSigningData
    "balance",          # key customer_id; data BalanceSnapshot
    "subsidy_program",  # key program_id;  data SubsidyProgramData
    "meal_periods",     # key site_id;     data MealPeriodsData
    "offline_limits",   # key site_id;     data OfflineLimits
    "customer_group",   # key group_id;    data {"funding_order": FundingOrder}
    "tariff", "member", "parking_session",  # the parking issue fills these
    # parking: tariff key site_id, data ParkingTariffData; member key "site_id:PLATE", data
    # MemberData; parking_session key session_id, data ParkingSessionData;
    "parking_blacklist",  # key "site_id:PLATE"; data ParkingBlacklistData
    "merchant_status",  # key merchant_id; data MerchantStatusData (only that merchant's terminals)
    "face_confirm",     # key site_id; data FaceConfirmData (the 4-digit check for close face calls)
    "face_model",       # key "bank"; data FaceModelData (the face model terminals should switch to)
    "campaign_slice",   # key "terminal_id:campaign_id"; data CampaignSliceData (one terminal's budget slice)
]


class Change(Wire):
    id: int = Field(description="the cursor position of this change")
    kind: ChangeKind
    key: str
    deleted: bool = False
    data: dict[str, Any] = {}


class PullResponse(Wire):
    cursor: int
    more: bool
    server_time: AwareDatetime
    changes: list[Change]


class FaceSigningData(Wire):
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    templates: list[str] = Field(description="base64 of hardware.face.templates.pack (model id, dimension, "
                                             "float32s); 512 bare bytes = an old dlib template")
    per_payment_limit_fen: int
    per_day_limit_fen: int
    funding_order: FundingOrder = "subsidy_first"
    merchant_ids: list[int] = Field(default=[], description="empty = any merchant of the bank")
    confirm_digits: str | None = Field(default=None, max_length=128,
                                       description="keyed digest of the phone's last 4 digits "
                                                   "(core.face_digits), never the digits")


class FaceConfirmData(Wire):
    """A site's 4-digit check for close face calls. `digits_key` is attached by the pull endpoint
    (it is not kept in the change feed's table, so a leaked table does not reveal it)."""
    site_id: int
    enabled: bool = True
    band_pct: int = Field(100, ge=0, le=100, description="how much of the model's confirm band is used: "
                                                        "0 = only two people too close to call, 100 = all of it")
    digits_key: str | None = Field(default=None, max_length=64, description="base64 32-byte key")


class FaceModelData(Wire):
    """The face model the backend has templates for and terminals should use once their gallery
    for it is complete (`gatepay backend retemplate --model M`)."""
    model: str = Field(min_length=1, max_length=48)
    dimension: int = Field(ge=16, le=4096)


class CardSigningData(Wire):
    card_hash: str
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    per_payment_limit_fen: int
    per_day_limit_fen: int


class PlateSigningData(Wire):
    plate: str
    plate_colour: str
    customer_id: int
    masked_name: str
    status: Literal["active", "suspended", "revoked"]
    per_payment_limit_fen: int
    per_day_limit_fen: int


class MealPeriod(Wire):
    code: str = Field(max_length=32, description="breakfast | lunch | dinner | late | ...")
    name_zh: str
    name_en: str
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="local time HH:MM, inclusive")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="local time HH:MM, exclusive")
    price_fen: int | None = Field(default=None, ge=0, description="None = amount keyed in at the window")
    max_meals: int = Field(default=1, ge=0, description="meals per diner per period; 0 = no limit")


class MealPeriodsData(Wire):
    site_id: int
    timezone: str = "Asia/Shanghai"
    periods: list[MealPeriod]


class SubsidyProgramData(Wire):
    program_id: int
    name: str
    kind: Literal["monthly", "daily", "meal"]
    merchant_ids: list[int]
    meal_periods: list[str] = Field(default=[], description="empty = any period")
    per_meal_cap_fen: int | None = None
    per_day_cap_fen: int | None = None
    valid_until: datetime | None = None
    status: Literal["active", "closed"] = "active"


class MerchantStatusData(Wire):
    """The terminal's merchant as the bank sees it: a suspended merchant's terminals stop taking
    payments offline too (online the backend already refuses them)."""
    merchant_id: int
    status: Literal["applied", "approved", "suspended"]
    reason: str | None = Field(None, max_length=500)


class OfflineLimits(Wire):
    per_payment_fen: int = Field(ge=0)
    per_customer_day_fen: int = Field(ge=0)
    terminal_total_fen: int = Field(ge=0, description="offline payments outstanding on one terminal")
    max_cache_age_s: int = Field(ge=0, description="older cached data blocks offline approval")




MAX_SLICE_FEN = 1_000_000_000     # a campaign's budget is at most 10,000,000 yuan
_Fen = Field(default=None, ge=1, le=MAX_AMOUNT_FEN, strict=True)   # money: a whole number, never "500" or 5.0


class CampaignSliceData(Wire):
    """A terminal's budget slice of an instant campaign (issue 17): the campaign's terms (as
    core.campaigns.Terms) and how much it may give away offline. Sent to the terminal's merchant
    and site; only the terminal named applies it (others at the site ignore it). `granted_fen` is
    cumulative for this slice id: the terminal may give away at most granted_fen in total under
    it, counting what it gave already (pushed or not). A closed slice gives nothing more. Older
    terminals drop this kind unread (sync.client skips kinds it does not know)."""
    slice_id: int = Field(ge=1, le=2**62)
    terminal_id: int = Field(ge=1, le=2**62)
    campaign_id: int = Field(ge=1, le=2**62)
    status: Literal["open", "closed"]
    granted_fen: int = Field(ge=0, le=MAX_SLICE_FEN, strict=True)
    kind: Literal["fixed", "random", "percent", "threshold"]
    amount_fen: int | None = _Fen
    min_fen: int | None = _Fen
    max_fen: int | None = _Fen
    percent_off: int | None = Field(default=None, ge=1, le=99)
    cap_fen: int | None = _Fen
    threshold_fen: int | None = _Fen
    merchant_ids: list[int] = Field(default=[], max_length=1000, description="empty = any")
    site_ids: list[int] = Field(default=[], max_length=1000, description="empty = any")
    scenes: list[Scene] = Field(default=[], max_length=2)
    methods: list[PaymentMethod] = Field(default=[], max_length=8)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    per_customer_limit: int | None = Field(default=None, ge=0, le=2**31)
    per_customer_daily_limit: int | None = Field(default=None, ge=0, le=2**31)

    @model_validator(mode="after")
    def _terms_hold(self) -> "CampaignSliceData":
        from core.campaigns import terms_problem   # core.campaigns imports core.wire: import late

        problem = terms_problem(self.terms())
        if problem:
            raise ValueError(problem)
        return self

    def terms(self):  # noqa: ANN201 - core.campaigns.Terms (imported late, see above)
        from core.campaigns import Terms

        return Terms(campaign_id=self.campaign_id, kind=self.kind, amount_fen=self.amount_fen,
                     min_fen=self.min_fen, max_fen=self.max_fen, percent_off=self.percent_off,
                     cap_fen=self.cap_fen, threshold_fen=self.threshold_fen,
                     merchant_ids=frozenset(self.merchant_ids), site_ids=frozenset(self.site_ids),
                     scenes=frozenset(self.scenes), methods=frozenset(self.methods),
                     starts_at=self.starts_at, ends_at=self.ends_at)
