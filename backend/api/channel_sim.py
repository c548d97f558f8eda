"""Routes of the channel simulators: mounted by create_app only when the settings choose a
simulator for some channel (never in a deployment whose channels are all live).

POST /api/v1/parking/channel-sim/pay stands for a payer's app scanning a lane's QR code and paying
it: the simulator marks its order paid and produces the signed notification the real channel
would POST to us, which then goes through the same verification and booking as a real one.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.channels import ChannelError
from backend.deps import get_session
from backend.errors import api_error
from backend.services import parking_orders as orders_svc

router = APIRouter(prefix="/api/v1", tags=["simulator"])
SIMULATOR_ROUTES = {("POST", "/api/v1/parking/channel-sim/pay")}


class SimPay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qr_text: str = Field(min_length=1, max_length=200, description="the QR text the payer's app scanned")


@router.post("/parking/channel-sim/pay")
def simulator_pay(body: SimPay, request: Request, session: Session = Depends(get_session)) -> dict:
    """Demo and tests only: a payer's app pays a QR order at the simulated channel, which then
    delivers its signed notification to this backend exactly as the real one would."""
    channels = request.app.state.channels
    for name, sim in channels.simulators.items():
        no = sim.order_for_code(body.qr_text) if hasattr(sim, "order_for_code") else None
        if no is None:
            continue
        try:
            headers, raw = sim.pay(no)
        except ChannelError:
            raise api_error(409, "order_closed", "订单已关闭，不能再付款",
                            "This order was closed and cannot be paid") from None
        channel = channels.get(name)
        orders_svc.record_paid(session, channel.parse_notification(headers, raw), via=channel)
        return {"paid": True}
    raise api_error(404, "order_not_found", "二维码无效", "This QR code is not an order")
