"""Commands and the kiosk's wizard acting on a terminal that is running: `gatepay terminal status`
must not touch a payment the running terminal is authorising, and registering again from the
kiosk's wizard must make the running sync client sign with the new key. Real backend process on
loopback, real store file shared as the kiosk and the command would share it."""
from __future__ import annotations

import io
import uuid

import yaml
from typer.testing import CliRunner

from core.wire import Credential, PaymentRequest
from terminal.cli import app
from terminal.runner import Runner
from terminal.store import load_data_key


def test_status_while_a_payment_is_being_authorised_leaves_it_alone(canteen, tmp_path) -> None:  # noqa: ANN001
    cid = canteen.diner(wallet_fen=2000)
    data_dir = tmp_path / "data"
    kiosk = canteen.terminal(data_dir, key=load_data_key(data_dir))
    req = PaymentRequest(payment_id=uuid.uuid4(), amount_fen=500, credential=Credential(kind="face", customer_id=cid),
                         occurred_at=kiosk.store.clock.now(), meal_period="lunch")
    kiosk.store.outbox.add_payment(req, status="authorising", method="face", credential_key=None,  # on the wire now
                                   customer_id=cid, masked_name="张*三", business_day="2026-03-02")
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(canteen.core_config(data_dir).model_dump(mode="json"), allow_unicode=True))

    result = CliRunner().invoke(app, ["terminal", "status", "--config", str(path)])

    assert result.exit_code == 0, result.output
    assert "terminal: " in result.output and "queue: 0" in result.output
    assert kiosk.store.outbox.get(req.payment_id).status == "authorising"      # not refused behind its back
    assert kiosk.store.outbox.items(kind="refund") == []                       # and no refund queued for it
    answer = kiosk.client.authorise(req, 10.0)                                  # the kiosk's answer arrives
    kiosk.store.outbox.record_online_result(req.payment_id, answer)             # ... and is recorded
    assert answer.status == "approved" and kiosk.store.outbox.get(req.payment_id).status == "booked"
    assert canteen.wallet(cid) == 1500
    kiosk.close()


def test_registering_again_from_the_kiosk_gives_the_running_client_the_new_key(canteen, tmp_path) -> None:  # noqa: ANN001
    data_dir = tmp_path / "data"
    first = canteen.terminal(data_dir, key=load_data_key(data_dir))
    old_id = first.store.identity().terminal_id
    first.close()
    runner = Runner(canteen.core_config(data_dir), out=io.StringIO())       # the kiosk, running
    try:
        assert runner.core.engine.cycle().failure is None
        identity = runner.register(canteen.url, canteen.code("换新的一号窗口"))     # the wizard, behind the PIN
        assert identity.terminal_id != old_id
        canteen.post(f"/api/v1/terminals/{old_id}/disable", {"reason": "replaced"}, expect=200)
        cycle = runner.core.engine.cycle()                                   # signed as the new terminal
        assert cycle.failure is None, cycle.failure
        assert runner.core.sync_status().online
    finally:
        runner.close()
