"""Run the backend in several processes, each with its own listening socket (SO_REUSEPORT).

Why not uvicorn's `--workers`: there every worker accepts from one shared socket, and Linux
hands a new connection to whichever process is waiting in accept first, which under load is
nearly always the same one. Terminals hold keep-alive connections, so a whole site's terminals
ended up on one worker while the others idled (bench/bench_payments.py: 8 clients, one worker at
94% CPU, the second at 0%). With a socket per process the kernel spreads connections over the
workers by a hash of the client's address and port.

The parent only supervises: it restarts a worker that dies and stops all of them on SIGTERM or
SIGINT (each worker finishes the requests it has in hand: uvicorn's graceful shutdown). The
periodic jobs (backend/jobs.py) run in the first worker only, and in its replacement.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time

log = logging.getLogger("gatepay.backend")
RESTART_BACKOFF_S = 1.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT, so every worker can bind the same address."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run_worker(host: str, port: int, log_level: str, run_jobs: bool) -> None:
    import uvicorn

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides when to stop (SIGTERM)
    os.environ["GATEPAY_RUN_JOBS"] = "true" if run_jobs else "false"   # read by the app factory
    config = uvicorn.Config("backend.app:create_app", factory=True, log_level=log_level)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def serve_workers(host: str, port: int, workers: int, log_level: str = "warning", jobs: bool = True) -> None:
    """Start `workers` processes on host:port and supervise them until SIGTERM/SIGINT."""
    context = multiprocessing.get_context("spawn")   # a clean interpreter: no inherited engine or pool
    stopping = False

    def start(index: int) -> multiprocessing.Process:
        process = context.Process(target=_run_worker, args=(host, port, log_level, jobs and index == 0),
                                  name=f"gatepay-backend-{index}")
        process.start()
        return process

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    listening_socket(host, port).close()   # fail here, in the parent, if the address is taken
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    processes = [start(n) for n in range(workers)]
    log.warning("backend listening on %s:%d with %d worker processes", host, port, workers)
    try:
        while not stopping:
            time.sleep(0.2)
            for n, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    log.error("backend worker %d exited with %s; starting a new one", process.pid, process.exitcode)
                    time.sleep(RESTART_BACKOFF_S)
                    processes[n] = start(n)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()              # SIGTERM: uvicorn finishes requests in hand
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
        for s, handler in previous.items():
            signal.signal(s, handler)
