"""Member renewal paid at the terminal (会员缴费续期): a QR order for the plan's price.

The backend extends the pass when the channel reports the order paid (from the later of today
and the current end, core.members.renew) and sends the new pass to every lane by pull.
"""
from __future__ import annotations

import uuid

from sync.client import SyncFailure
from core.wire import ParkingOrderRequest, ParkingOrderState, ParkingTariffData
from core.members import PassPlan
from terminal.parking_link import ParkingClient
from core.plates import normalise_plate
from terminal.store import Store


class RenewalError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en


def plans(store: Store) -> list[PassPlan]:
    """The passes this car park sells, as the backend last told us."""
    identity = store.identity()
    raw = store.cache.item("tariff", str(identity.site_id if identity else 0))
    return [PassPlan.model_validate(p) for p in ParkingTariffData.model_validate(raw).plans] if raw else []


def start_renewal(store: Store, client: ParkingClient | None, plate: str, plan_code: str,
                  timeout_s: float = 2.0) -> ParkingOrderState:
    """Create the renewal order; show `qr_text`, then poll client.order(order_id) until paid."""
    chosen = next((p for p in plans(store) if p.code == plan_code), None)
    if chosen is None or chosen.price_fen <= 0:
        raise RenewalError("本停车场没有这种会员套餐", f"This car park sells no {plan_code!r} pass")
    if client is None:
        raise RenewalError("网络中断，暂不能续费，请稍后再试", "Network down: renewals need the network, try later")
    req = ParkingOrderRequest(order_id=uuid.uuid4(), purpose="renewal", plate=normalise_plate(plate).text,
                              amount_fen=chosen.price_fen, plan=chosen.code, occurred_at=store.clock.now())
    try:
        order = client.create_order(req, timeout_s=timeout_s)
    except SyncFailure as failure:
        zh, en = failure.words
        raise RenewalError(f"{zh}，暂不能续费", f"{en}: cannot renew now") from None
    store.audit.record("driver", "renewal_order", plate=req.plate, plan=chosen.code, amount_fen=chosen.price_fen,
                       order_id=str(order.order_id))
    return order
