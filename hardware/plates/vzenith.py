"""Zhenshi / Vzenith (臻识) LPR cameras: the 'AlarmInfoPlate' HTTP push and its answer.

The only file that knows this vendor's JSON. Format from Vzenith's "HTTP 推送协议" document
(section 2.1 识别结果结构定义, 2.1.2 断线重传, 2.6.1 控制IO开闸, 2.6.2 控制串口推送485数据,
3.3 车牌颜色数据表, 3.5 运动方向数据表), as published in integrators' repositories (e.g.
ayayacc/parkLine src/main/java/com/kl/parkLine/boyue/{AlarmInfoPlate,BoyueResp}.java and
DaviLuisSantos/Alphadigi-migration DTO/Alphadigi/ResponsePlateDTO.cs for the answer):

  push   {"AlarmInfoPlate": {"serialno": "...", "ipaddr": "...", "result": {"PlateResult": {
           "license": "京A12345", "colorType": 1, "confidence": 96, "direction": 4,
           "plateid": 21085, "isoffline": 0, "timeStamp": {"Timeval": {"sec": ..., "usec": ...}},
           "imageFile": "<base64 jpeg>", "imageFileLen": n, ...}}}}
  answer {"Response_AlarmInfoPlate": {"info": "ok", "plateid": 21085,
           "serialData": [{"serialChannel": 0, "data": "<base64>", "dataLen": n}]}}
         info "ok" pulses the camera's barrier relay; anything else leaves it shut; cameras with
         a speaker can instead say the words (playserver_json_request, section 2.6.5).
  offline records (isoffline=1) are pushed one at a time after the camera reconnects; the next
  one comes only after we answer {"ContinuePushOffline": {"plateid": id, "continue": 1}}.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any

from hardware.plates import ledvoice
from hardware.plates.push import LaneAnswer, PlatePush, PushRejected

# 3.3 车牌颜色数据表
COLOUR_CODES = {1: "blue", 2: "yellow", 3: "white", 4: "black", 5: "green", 6: "yellow_green"}
# 3.5 运动方向数据表
MOTION_CODES = {0: "unknown", 1: "left", 2: "right", 3: "up", 4: "down"}
# What the camera sends when it saw a car but no plate (无牌车).
NO_PLATE = {"", "_无_", "无", "无牌车", "无车牌"}
MAX_LICENSE_CHARS = 32


def _require(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise PushRejected(400, f"missing {where}{key}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise PushRejected(400, f"{where}{key} has the wrong type")
    return value


def _int(obj: dict, key: str, default: int | None, low: int, high: int) -> int | None:
    value = obj.get(key, default)
    if value is None or value == default:
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise PushRejected(400, f"PlateResult.{key} out of range")
    return int(value)


def _seen_at(result: dict) -> datetime | None:
    stamp = result.get("timeStamp")
    if stamp is None:
        return None
    timeval = stamp.get("Timeval") if isinstance(stamp, dict) else None
    if not isinstance(timeval, dict):
        raise PushRejected(400, "timeStamp.Timeval missing")
    sec = _int(timeval, "sec", None, 0, 2**33)
    usec = _int(timeval, "usec", 0, 0, 999_999) or 0
    if sec is None:
        return None
    return datetime.fromtimestamp(sec + usec / 1e6, tz=timezone.utc)


def _image(result: dict) -> bytes | None:
    text = result.get("imageFile")
    if text in (None, ""):
        return None
    if not isinstance(text, str):
        raise PushRejected(400, "imageFile is not base64 text")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PushRejected(400, "imageFile is not valid base64") from None
    declared = result.get("imageFileLen")
    if isinstance(declared, int) and declared > 0 and declared != len(data):
        raise PushRejected(400, "imageFile is truncated (imageFileLen does not match)")
    return data


class VzenithAdapter:
    """Parses AlarmInfoPlate pushes and answers with Response_AlarmInfoPlate."""
    vendor = "vzenith"

    def __init__(self, serial_channel: int = 0, board_address: int = 0,
                 voice_via: str = "board") -> None:
        self.serial_channel = serial_channel
        self.board_address = board_address
        self.voice_via = voice_via       # "board": RS-485 voice frame; "camera": its own speaker

    def parse(self, body: bytes) -> PlatePush:
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise PushRejected(400, "body is not UTF-8 JSON") from None
        if isinstance(doc, dict) and any(k in doc for k in ("AlarmGioIn", "SerialData", "TriggerImage")):
            raise PushRejected(422, "not a plate result (IO, serial or snapshot push)")
        alarm = _require(doc, "AlarmInfoPlate", dict, "")
        serial = _require(alarm, "serialno", str, "AlarmInfoPlate.").strip()
        if not serial or len(serial) > 64:
            raise PushRejected(400, "AlarmInfoPlate.serialno is empty or too long")
        result = _require(_require(alarm, "result", dict, "AlarmInfoPlate."), "PlateResult", dict,
                          "AlarmInfoPlate.result.")
        license_ = _require(result, "license", str, "PlateResult.").strip()
        if len(license_) > MAX_LICENSE_CHARS:
            raise PushRejected(400, "PlateResult.license is too long")
        colour_code = _int(result, "colorType", 0, 0, 255)
        confidence = result.get("confidence", 0)
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool) or not 0 <= confidence <= 100:
            raise PushRejected(400, "PlateResult.confidence out of range")
        return PlatePush(
            camera_serial=serial,
            license=None if license_ in NO_PLATE else license_,
            colour=COLOUR_CODES.get(colour_code or 0),
            confidence=float(confidence) / 100.0,
            record_id=_int(result, "plateid", None, 0, 2**63),
            offline=_int(result, "isoffline", 0, 0, 1) == 1,
            seen_at=_seen_at(result),
            motion=MOTION_CODES.get(_int(result, "direction", 0, 0, 255) or 0, "unknown"),
            image=_image(result),
        )

    def render(self, push: PlatePush | None, answer: LaneAnswer) -> tuple[int, bytes]:
        reply: dict[str, Any] = {"info": "ok" if answer.open_barrier else "no"}
        if push is not None and push.record_id is not None:
            reply["plateid"] = push.record_id
        if push is not None and push.offline:
            # Ask for the next cached record; a replay never drives the lane's barrier or board.
            reply = {"info": "no", "ContinuePushOffline": {"plateid": push.record_id, "continue": 1}}
            if push.record_id is not None:
                reply["plateid"] = push.record_id
        else:
            frames = self.lane_frames(answer)
            if answer.voice and self.voice_via == "camera":
                # 2.6.5 系统预置语音播报: the camera speaks base64 UTF-8 text itself.
                reply["playserver_json_request"] = {
                    "type": "ps_voice_play", "voice_interval": 0, "voice_volume": 100, "voice_male": 1,
                    "voice": base64.b64encode(answer.voice.encode("utf-8")).decode("ascii")}
            if frames:
                reply["serialData"] = [
                    {"serialChannel": self.serial_channel,
                     "data": base64.b64encode(f).decode("ascii"), "dataLen": len(f)}
                    for f in frames]
        body = json.dumps({"Response_AlarmInfoPlate": reply}, ensure_ascii=False)
        return 200, body.encode("utf-8")

    def lane_frames(self, answer: LaneAnswer) -> list[bytes]:
        colour = ledvoice.GREEN if answer.open_barrier else ledvoice.RED
        frames = [ledvoice.text_frame(i, line, colour, self.board_address)
                  for i, line in enumerate(answer.display[:4])]
        if answer.voice and self.voice_via == "board":
            frames.append(ledvoice.voice_frame(answer.voice, self.board_address))
        return frames


def build_push(serialno: str, license_: str, *, colour_code: int = 1, confidence: int = 95,
               plateid: int = 1, offline: bool = False, seen_at: datetime | None = None,
               image: bytes | None = None, ipaddr: str = "192.168.1.100", direction: int = 4) -> bytes:
    """A push body exactly as the camera sends it. Used by the simulator, tests and bench."""
    result: dict[str, Any] = {
        "bright": 0, "carBright": 0, "carColor": 255, "colorType": colour_code, "colorValue": 0,
        "confidence": confidence, "direction": direction, "license": license_,
        "location": {"RECT": {"bottom": 674, "left": 1002, "right": 1263, "top": 565}},
        "plateid": plateid, "isoffline": 1 if offline else 0, "timeUsed": 0, "triggerType": 1,
        "type": 1, "gioouts": [{"ctrltype": 0, "ionum": "0"}],
    }
    if seen_at is not None:
        t = seen_at.astimezone(timezone.utc)
        result["timeStamp"] = {"Timeval": {
            "sec": int(t.timestamp()), "usec": t.microsecond, "decyear": t.year, "decmon": t.month,
            "decday": t.day, "dechour": t.hour, "decmin": t.minute, "decsec": t.second}}
    if image is not None:
        result["imageFile"] = base64.b64encode(image).decode("ascii")
        result["imageFileLen"] = len(image)
    doc = {"AlarmInfoPlate": {"channel": 0, "deviceName": "IVS", "ipaddr": ipaddr,
                              "result": {"PlateResult": result}, "serialno": serialno,
                              "user_data": ""}}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
