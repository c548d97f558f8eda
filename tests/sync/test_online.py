"""A terminal and the real backend process on loopback: registration, online payments, pull."""
from __future__ import annotations

import pytest

from sync.client import SyncFailure
from core.crypto import new_key
from terminal.enrol import register
from terminal.store import Store


def test_register_pay_online_and_pull(canteen, tmp_path):
    cid = canteen.diner(wallet_fen=2000)
    term = canteen.terminal(tmp_path / "t1")
    identity = term.store.identity()
    assert identity.merchant_id == canteen.merchant_id and identity.site_id == canteen.site_id
    # the private key exists only on the terminal, sealed
    raw_key = term.store.get_secret("device_key")
    assert len(raw_key) == 32
    assert raw_key not in (canteen.tmp / "backend.db").read_bytes()
    assert term.store.cache.face_signing(cid).status == "active"
    assert term.store.cache.offline_limits().per_payment_fen == 5000
    assert term.store.cache.balance(cid).wallet_fen == 2000

    out = term.pay(cid, 500)
    assert out.status == "approved" and not out.offline
    assert out.wallet_balance_fen == 1500 and out.masked_name == "张*三"
    assert term.store.outbox.get(out.payment_id).status == "booked"
    assert canteen.payments(identity.terminal_id) == {out.payment_id: "approved"}
    assert term.store.cache.balance(cid).wallet_fen == 1500

    status = term.tracker.snapshot()
    assert status.online and status.last_error is None
    term.engine.cycle()
    assert abs(term.tracker.snapshot().clock_skew_s) < 5


def test_online_decline_uses_the_backends_words_and_is_not_queued(canteen, tmp_path):
    cid = canteen.diner(wallet_fen=100)
    term = canteen.terminal(tmp_path / "t1")
    out = term.pay(cid, 500)
    assert out.status == "declined" and out.reason == "insufficient_funds" and out.message_zh
    assert term.store.outbox.get(out.payment_id).status == "refused"
    assert term.store.outbox.queue_depth() == 0


def test_a_used_enrolment_code_is_refused_with_plain_words(canteen, tmp_path):
    code = canteen.code()
    register(Store.open(tmp_path / "a.db", new_key()), canteen.url, code)
    second = Store.open(tmp_path / "b.db", new_key())
    with pytest.raises(SyncFailure) as failure:
        register(second, canteen.url, code)
    assert failure.value.reason in ("refused", "unauthorised")
    assert failure.value.plain.startswith("该注册码已被使用")     # the backend's own sentence, not a raw dict
    assert second.identity() is None


def test_cli_register_and_status(canteen, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from terminal.cli import app

    config = canteen.core_config(tmp_path / "data")
    path = tmp_path / "terminal.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    cli = CliRunner()
    result = cli.invoke(app, ["terminal", "status", "--config", str(path)])
    assert result.exit_code == 0 and "not registered" in result.output
    result = cli.invoke(app, ["terminal", "register", "--config", str(path), "--code", "WRONG-CODE-1"])
    assert result.exit_code == 1 and "registration failed" in result.output
    result = cli.invoke(app, ["terminal", "register", "--config", str(path), "--code", canteen.code()])
    assert result.exit_code == 0, result.output
    assert "registered: terminal" in result.output
    result = cli.invoke(app, ["terminal", "status", "--config", str(path), "--sync"])
    assert result.exit_code == 0, result.output
    assert "online: True" in result.output and "queue: 0" in result.output
