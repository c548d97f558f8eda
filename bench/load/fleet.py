"""The simulated terminals: each one signs a payment every `interval_s` (a diner at the gate)
and pulls the change feed every `pull_every_s`, as terminal/sync does, against its backend.

Open loop per terminal: payments are due on a fixed schedule; when the backend is slower than
the schedule the terminal sends the next one at once and counts the slot as late (a queue at
the gate), so a saturated backend shows as late slots and a lower held rate, not as hidden
back-pressure."""
from __future__ import annotations

import asyncio
import random
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from bench.load.seed import SeededTerminal
from sync.auth import TerminalAuth


# One TLS context for every simulated terminal (the backend is plain HTTP on loopback; the context
# is never used): httpx loads the CA bundle per client otherwise, 0.6 s each on a busy 2-core box,
# which made 300 terminals spend the first minutes of a run building clients, not paying.
_TLS = ssl.create_default_context()


@dataclass
class Tally:
    pay_latency_s: list[float] = field(default_factory=list)
    pull_latency_s: list[float] = field(default_factory=list)
    approved: dict[str, int] = field(default_factory=dict)   # payment id -> amount fen
    declined: int = 0
    errors: list[str] = field(default_factory=list)         # payments: must stay empty
    pull_errors: list[str] = field(default_factory=list)    # pulls: retried next cycle by a terminal
    late_slots: int = 0
    pulled_changes: int = 0
    pull_pages: int = 0
    timeline: list[tuple[float, int]] = field(default_factory=list)   # (t, approved so far)


async def _pay(http: httpx.AsyncClient, auth: TerminalAuth, diner: int, amount: int, tally: Tally) -> None:
    payment_id = str(uuid.uuid4())
    body = {"payment_id": payment_id, "amount_fen": amount,
            "credential": {"kind": "face", "customer_id": diner},
            "occurred_at": datetime.now(timezone.utc).isoformat(), "meal_period": "lunch"}
    t0 = time.perf_counter()
    try:
        response = await http.post("/api/v1/terminal/payments", json=body, auth=auth)
    except httpx.HTTPError as exc:
        tally.errors.append(f"pay {payment_id}: {type(exc).__name__}: {exc}")
        return
    tally.pay_latency_s.append(time.perf_counter() - t0)
    if response.status_code != 200:
        tally.errors.append(f"pay {payment_id}: HTTP {response.status_code} {response.text[:200]}")
    elif response.json()["status"] == "approved":
        tally.approved[payment_id] = amount
    else:
        tally.declined += 1


async def _pull(http: httpx.AsyncClient, auth: TerminalAuth, cursor: int, tally: Tally) -> int:
    for _ in range(20):   # a terminal drains the feed page by page, bounded per cycle
        t0 = time.perf_counter()
        try:
            response = await http.get("/api/v1/terminal/sync/pull", params={"cursor": cursor, "limit": 500},
                                      auth=auth)
        except httpx.HTTPError as exc:
            tally.pull_errors.append(f"pull: {type(exc).__name__}: {exc}")
            return cursor
        tally.pull_latency_s.append(time.perf_counter() - t0)
        if response.status_code != 200:
            tally.pull_errors.append(f"pull: HTTP {response.status_code} {response.text[:200]}")
            return cursor
        page = response.json()
        tally.pull_pages += 1
        tally.pulled_changes += len(page["changes"])
        cursor = page["cursor"]
        if not page["more"]:
            break
    return cursor


async def one_terminal(base_url: str, terminal: SeededTerminal, cursor: int, deadline: float,
                       interval_s: float, pull_every_s: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    auth = TerminalAuth(terminal.key, terminal.terminal_id)
    # A fresh loopback connection per request: under overload the server's event loop runs late
    # and its keep-alive timer can close a connection a request was just sent on; a real
    # terminal retries that next cycle, here it would count as an error of the load tool.
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits, verify=_TLS) as http:
        next_pay = time.monotonic() + rng.uniform(0, interval_s)    # terminals do not start in step
        next_pull = time.monotonic() + rng.uniform(0, pull_every_s) if pull_every_s > 0 else float("inf")
        pulls: set[asyncio.Task] = set()
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_pull and not pulls:
                async def pull_task(c: int = cursor) -> None:
                    nonlocal cursor
                    cursor = await _pull(http, auth, c, tally)
                task = asyncio.create_task(pull_task())
                pulls.add(task)
                task.add_done_callback(pulls.discard)
                next_pull = now + pull_every_s
            if now >= next_pay:
                await _pay(http, auth, rng.choice(terminal.diners), rng.randint(300, 2500), tally)
                next_pay += interval_s
                if next_pay < time.monotonic():
                    tally.late_slots += 1
                    next_pay = time.monotonic()
                continue
            await asyncio.sleep(min(next_pay, next_pull, deadline) - now)
        if pulls:
            await asyncio.gather(*pulls)


async def run_fleet(urls: list[str], fleet: list[SeededTerminal], cursor: int, duration_s: float,
                    interval_s: float, pull_every_s: float, tally: Tally) -> float:
    """Terminal i talks to urls[i % len(urls)] (a load balancer's round robin by terminal)."""
    start = time.monotonic()
    deadline = start + duration_s

    async def progress() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            tally.timeline.append((time.monotonic() - start, len(tally.approved)))

    ticker = asyncio.create_task(progress())
    await asyncio.gather(*(one_terminal(urls[i % len(urls)], t, cursor, deadline, interval_s, pull_every_s,
                                        tally, seed=i) for i, t in enumerate(fleet)))
    ticker.cancel()
    return time.monotonic() - start
