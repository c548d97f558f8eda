"""A bank core that outlives the backend process, for kill -9 tests of bank card payments.

The bank simulator keeps its accounts in memory; inside the backend process it would die with it
and forget the debit it took. Here it lives in the test process (`HeldBank`, served on loopback
with multiprocessing's manager), and the backend is started by this file run as a script, which
installs a proxy to it as app.state.corebanking and serves as `gatepay backend serve` would:

    bank = HeldBank(); address, stop = serve_bank(bank, workdir)   # writes workdir/bank-core.json
    BackendProcess(url, workdir, command=backend_command())          # reads it from its cwd

`HeldBank.hold_next_debit()` (or `hold_next_credit()`) makes the next debit (credit) be applied and
then held: the money has moved and the answer has not reached the backend, the moment to kill it.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Callable

from backend.corebanking import BankAnswer, CoreBankingSimulator

CONFIG = "bank-core.json"


class HeldBank(CoreBankingSimulator):
    def __init__(self) -> None:
        super().__init__()
        self.held, self._release, self._hold = threading.Event(), threading.Event(), ""

    def hold_next_debit(self, kind: str = "debit") -> None:
        self.held.clear()
        self._release.clear()
        self._hold = kind

    def hold_next_credit(self) -> None:
        self.hold_next_debit("credit")

    def release(self) -> None:
        self._release.set()

    def debit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return self._held("debit", super().debit(ref, account, amount_fen))

    def credit(self, ref: str, account: str, amount_fen: int) -> BankAnswer:
        return self._held("credit", super().credit(ref, account, amount_fen))

    def _held(self, kind: str, answer: BankAnswer) -> BankAnswer:
        if self._hold == kind:
            self._hold = ""
            self.held.set()
            self._release.wait(60)
        return answer


class _Manager(BaseManager):
    pass


def serve_bank(bank: CoreBankingSimulator, workdir: Path, grace_s: float = 1.0) -> Callable[[], None]:
    """Serve `bank` on loopback from a thread of this process; write where it is (and the
    backend's intent grace period) to workdir/bank-core.json. Returns a stop function."""
    authkey = secrets.token_bytes(16)
    _Manager.register("bank", callable=lambda: bank)
    server = _Manager(address=("127.0.0.1", 0), authkey=authkey).get_server()
    threading.Thread(target=_serve_until_stopped, args=(server,), name="bank-core", daemon=True).start()
    (Path(workdir) / CONFIG).write_text(json.dumps({"address": list(server.address), "authkey": authkey.hex(),
                                                     "grace_s": grace_s}))
    return server.stop_event.set


def _serve_until_stopped(server) -> None:  # noqa: ANN001
    try:
        server.serve_forever()
    except SystemExit:      # how serve_forever ends once stopped (it was written for a process of its own)
        pass


def backend_command() -> list[str]:
    return [sys.executable, str(Path(__file__).resolve())]


def main() -> None:
    """The backend, serving with the bank core of bank-core.json (in the working directory) and
    the resolution job every 0.2 s."""
    import uvicorn

    from backend.app import create_app
    from backend.config import BackendSettings
    from backend.migrate import upgrade

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    config = json.loads(Path(CONFIG).read_text())
    _Manager.register("bank")
    manager = _Manager(address=tuple(config["address"]), authkey=bytes.fromhex(config["authkey"]))
    manager.connect()
    settings = BackendSettings(run_jobs=True, resolve_bank_every_s=0.2, bank_intent_grace_s=config["grace_s"])
    upgrade(settings.database_url)
    app = create_app(settings)
    app.state.corebanking = manager.bank()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
