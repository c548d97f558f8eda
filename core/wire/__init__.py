"""The terminal <-> backend wire protocol: the request and answer bodies of every terminal endpoint.

One definition used by both sides: the backend validates with these models, the terminal's
sync client builds and parses them. Every model forbids unknown keys, so a typo or a version
mismatch fails loudly instead of being half-read. Money is integer fen, always.

Endpoints (all under /api/v1; all but `register` signed as in core.signing):
    POST /terminals/register          RegisterRequest  -> RegisterResponse
    POST /terminal/payments           PaymentRequest   -> PaymentResult   (online authorisation;
                                      idempotent by payment_id: the same id returns the same result)
    POST /terminal/refunds            RefundRequest    -> RefundResult    (idempotent by refund_id)
    POST /terminal/sync/push          PushRequest      -> PushResponse    (offline queue, per-item)
    GET  /terminal/sync/pull?cursor=N&limit=M          -> PullResponse
    GET  /terminal/time                                -> ServerTime      (clock skew)
    POST /terminal/shift-close        ShiftCloseRequest -> ShiftCloseResult (compare a shift with the ledger)
"""

# The models live in one module per part of the protocol (fields, payments, changes, parking,
# shifts); this package names them all, so callers import from `core.wire`.
from core.wire.fields import (  # noqa: F401
    EARLIEST_YEAR, LATEST_YEAR, FundingOrder, FundingSource, MAX_AMOUNT_FEN, MAX_PULL_LIMIT,
    MAX_PUSH_ITEMS, MAX_SEQ, PaymentMethod, Scene, Seq, Text, When, Wire,
)
from core.wire.payments import (  # noqa: F401
    BalanceSnapshot, Credential, Offer, PaymentRequest, PaymentResult, PushItem, PushItemResult,
    PushRequest, PushResponse, RefundRequest, RefundResult, RegisterRequest, RegisterResponse,
    ServerTime, SplitLine, SubsidyBalance,
)
from core.wire.changes import (  # noqa: F401
    CardSigningData, Change, ChangeKind, FaceConfirmData, FaceModelData, FaceSigningData,
    MealPeriod, MealPeriodsData, MerchantStatusData, OfflineLimits, PlateSigningData,
    PullResponse, SubsidyProgramData,
)
from core.wire.parking import (  # noqa: F401
    MemberData, ParkingBlacklistData, ParkingEvent, ParkingEventKind, ParkingEventResult,
    ParkingEventsRequest, ParkingEventsResponse, ParkingOrderRequest, ParkingOrderState,
    ParkingPayKind, ParkingPaycodeRequest, ParkingSessionData, ParkingTariffData,
)
from core.wire.shifts import (  # noqa: F401
    MAX_SHIFT_PAYMENTS, ShiftCloseRequest, ShiftCloseResult, ShiftDifference, ShiftMethodLine,
    ShiftMethodTotal, ShiftPayment,
)
