"""The running terminal's link state, for `gatepay terminal status` run in another process.

Online or not, the last push, the clock skew and the last problem live in the running terminal's
memory (sync.status.SyncTracker). The runner writes a snapshot of them into the store every few
seconds (`write`), and "stopped" when it ends; the status command reads it (`read`) and says it
in local time (`report`), with the queue read fresh from the store.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.clock import from_iso, to_iso
from sync.status import SyncStatus
from terminal.store import Store

WRITE_EVERY_S = 5.0
STALE_AFTER_S = 30.0       # no snapshot for this long: the terminal is not running (or hangs)


@dataclass(frozen=True)
class LiveState:
    status: SyncStatus
    written_at: datetime
    pid: int
    running: bool           # False: the terminal wrote its last snapshot as it stopped


def write(store: Store, status: SyncStatus, now: datetime, running: bool = True) -> None:
    store.set_meta(live_status=json.dumps({
        "online": status.online, "offline_since": _iso(status.offline_since), "last_push": _iso(status.last_push),
        "clock_skew_s": status.clock_skew_s, "last_error": status.last_error,
        "written_at": to_iso(now), "pid": os.getpid(), "running": running}))


def read(store: Store) -> LiveState | None:
    text = store.get_meta("live_status")
    if not text:
        return None
    data = json.loads(text)
    status = SyncStatus(online=bool(data["online"]), offline_since=from_iso(data["offline_since"]),
                        last_push=from_iso(data["last_push"]), clock_skew_s=data["clock_skew_s"],
                        last_error=data["last_error"])
    return LiveState(status, from_iso(data["written_at"]), int(data["pid"]), bool(data["running"]))  # type: ignore[arg-type]


def report(live: LiveState | None, queue_depth: int, declined: int, last_pull: datetime | None,
           now: datetime, zone: str) -> list[str]:
    """The status command's lines, zh / en, times in the terminal's time zone."""
    tz = ZoneInfo(zone)

    def local(at: datetime | None) -> str:
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at else "从未 / never"

    lines = []
    if live is None:
        lines.append("终端程序：未运行过 / terminal: has not run yet")
    elif live.running and (now - live.written_at).total_seconds() <= STALE_AFTER_S:
        lines.append(f"终端程序：运行中 / terminal: running (pid {live.pid}, state of {local(live.written_at)})")
    else:
        lines.append(f"终端程序：未运行 / terminal: not running (last state {local(live.written_at)})")
    if live is not None:
        s = live.status
        online = "在线 / online" if s.online else (
            f"离线，自 {local(s.offline_since)} / offline since {local(s.offline_since)}" if s.offline_since
            else "离线 / offline")
        lines.append(f"连接：{online}")
        lines.append(f"最近上传 / last push: {local(s.last_push)}")
    lines.append(f"最近下载 / last pull: {local(last_pull)}")
    lines.append(f"待上传 / queue: {queue_depth}  事后拒付 / declined after the fact: {declined}")
    if live is not None and live.status.clock_skew_s is not None:
        lines.append(f"时钟偏差 / clock skew: {live.status.clock_skew_s} s")
    if live is not None and live.status.last_error:
        lines.append(f"问题 / problem: {live.status.last_error}")
    lines.append(f"时区 / time zone: {zone}")
    return lines


def _iso(at: datetime | None) -> str | None:
    return to_iso(at) if at else None
