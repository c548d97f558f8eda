"""A parking lane's settings (the `parking:` block of the terminal config).

Its own module, so that reading the terminal config does not load the parking scene, its
backend client or the camera code.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.tariff import SiteTariffs

class ParkingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["entry", "exit"] = Field(title="Lane direction / 通道方向", description="entry or exit")
    lane_id: int | None = Field(None, ge=1, title="Lane id", description="the lane's id at the backend")
    lane_name: str | None = Field(None, max_length=100, title="Lane name / 通道名称",
                                  description="the lane's name at the backend (written by registration)")
    repeat_window_s: int = Field(30, ge=1, le=600, title="Same car window (s)",
                                 description="a plate pushed again within this time is the same car")
    repeat_entry: Literal["replace", "refuse"] | None = Field(
        None, title="Car already inside", description="None = the car park's rule from the backend")
    fallback_tariffs: SiteTariffs = Field(default_factory=SiteTariffs, title="Fallback tariffs",
                                          description="used until the backend's tariffs reach this terminal")
    fallback_no_entry_fee_fen: int = Field(5000, ge=0, le=1_000_000, title="Fallback no-entry fee (fen)",
                                           description="used until the backend's rule arrives")
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, title="Minimum plate confidence",
                                  description="a read below this waits for the attendant")
    lookup_timeout_s: float = Field(0.3, gt=0, le=5, title="Online lookup timeout (s)",
                                    description="asking the backend for a stay another lane recorded")
    order_timeout_s: float = Field(2.0, gt=0, le=10, title="QR order timeout (s)", description="creating a QR order")
    push_timeout_s: float = Field(2.0, gt=0, le=30, title="Event push timeout (s)", description="sending lane events")
    barrier_via: Literal["gate", "camera"] = Field("gate", title="Barrier driven by",
                                                   description="our relay gate, or the camera's own output")
