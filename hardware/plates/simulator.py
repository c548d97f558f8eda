"""A Zhenshi/Vzenith camera, as far as the terminal can tell: it posts real AlarmInfoPlate JSON
(with a real photo as imageFile) to the push URL, reads the answer the way the camera does
(info "ok" pulses the barrier relay, serialData frames go to the LED/voice board), keeps
results it could not deliver in an offline cache and replays them one at a time after it
reconnects, moving on only when the answer says ContinuePushOffline.continue = 1.
"""
from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from hardware.plates import ledvoice
from hardware.plates.vzenith import build_push


@dataclass
class CameraReply:
    status: int
    opened: bool = False
    display: list[str] = field(default_factory=list)
    voice: list[str] = field(default_factory=list)
    continue_offline: bool = False
    raw: bytes = b""


def read_reply(status: int, body: bytes) -> CameraReply:
    """Interpret an answer the way the camera and its LED/voice board would."""
    reply = CameraReply(status=status, raw=body)
    if status != 200:
        return reply
    doc = json.loads(body).get("Response_AlarmInfoPlate", {})
    reply.opened = doc.get("info") == "ok"
    reply.continue_offline = doc.get("ContinuePushOffline", {}).get("continue") == 1
    for item in doc.get("serialData", []):
        frame = ledvoice.decode_frame(base64.b64decode(item["data"]))
        if frame.command == ledvoice.CMD_TEXT:
            reply.display.append(ledvoice.read_text(frame)[1])
        elif frame.command == ledvoice.CMD_VOICE:
            reply.voice.append(ledvoice.read_voice(frame))
    return reply


class SimulatedVzenithCamera:
    def __init__(self, url: str, serialno: str, photo: Path | bytes | None = None,
                 source_address: str = "127.0.0.1",
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 timeout_s: float = 5.0) -> None:
        self.url = urlsplit(url)
        self.serialno = serialno
        self.photo = photo.read_bytes() if isinstance(photo, Path) else photo
        self.source_address = source_address
        self.clock = clock
        self.timeout_s = timeout_s
        self.online = True
        self.next_id = 1
        self.offline_cache: list[bytes] = []
        self.barrier_pulses = 0

    def post(self, body: bytes, path: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=self.timeout_s,
                                          source_address=(self.source_address, 0))
        try:
            target = path or (self.url.path + (f"?{self.url.query}" if self.url.query else ""))
            conn.request("POST", target, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def see(self, plate: str, colour_code: int = 1, confidence: int = 96) -> CameraReply | None:
        """A car drives up. Online: push it and act on the answer. Offline: cache it."""
        plateid, self.next_id = self.next_id, self.next_id + 1
        if not self.online:
            self.offline_cache.append(build_push(
                self.serialno, plate, colour_code=colour_code, confidence=confidence,
                plateid=plateid, offline=True, seen_at=self.clock(), image=self.photo))
            return None
        body = build_push(self.serialno, plate, colour_code=colour_code, confidence=confidence,
                          plateid=plateid, seen_at=self.clock(), image=self.photo)
        reply = read_reply(*self.post(body))
        self.barrier_pulses += reply.opened
        return reply

    def reconnect(self) -> list[CameraReply]:
        """Back online: replay the cache in order, one record per answer, as the camera does."""
        self.online = True
        replies = []
        while self.offline_cache:
            reply = read_reply(*self.post(self.offline_cache[0]))
            replies.append(reply)
            self.barrier_pulses += reply.opened
            if not reply.continue_offline:
                break
            self.offline_cache.pop(0)
        return replies


def main(argv: list[str] | None = None) -> None:
    """python -m hardware.plates.simulator URL SERIALNO PLATE [PHOTO]: push one car, print the answer."""
    import sys
    args = argv if argv is not None else sys.argv[1:]
    if len(args) < 3:
        raise SystemExit("usage: python -m hardware.plates.simulator URL SERIALNO PLATE [PHOTO]")
    photo = Path(args[3]) if len(args) > 3 else None
    reply = SimulatedVzenithCamera(args[0], args[1], photo).see(args[2])
    print(json.dumps({"status": reply.status, "opened": reply.opened, "display": reply.display,
                      "voice": reply.voice}, ensure_ascii=False))


if __name__ == "__main__":
    main()
