"""What the settings build: nothing simulated unless chosen. Left out, a wallet pay code and a bank
card debit are declined in words (never approved by a simulator nobody chose); a live block builds
the real adapter from its key files, and a key file that cannot be read stops the start naming
the block."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from backend.channels.alipay import AlipayChannel
from backend.channels.unionpay import UnionPayChannel
from backend.channels.wechat import WechatNativeChannel
from backend.corebanking import NoCoreBanking
from tests.backend.helpers import make_app
from tests.backend.money_helpers import open_canteen

CARD = "6222000011110123"


def test_without_channel_or_core_settings_codes_and_card_debits_decline_in_words(sqlite_url):  # noqa: ANN001
    app = make_app(sqlite_url, simulated=False)
    assert app.state.channels.adapters == {} and isinstance(app.state.corebanking, NoCoreBanking)
    with TestClient(app) as client:
        c = open_canteen(app, client)
        body = {"payment_id": str(uuid.uuid4()), "amount_fen": 850, "meal_period": "lunch",
                "credential": {"kind": "paycode", "paycode": "134567890123456789"},
                "occurred_at": datetime.now(timezone.utc).isoformat()}
        code = client.post("/api/v1/terminal/payments", json=body, auth=c.auth).json()
        assert (code["status"], code["reason"]) == ("declined", "channel_not_configured")
        cid = c.card_holder(CARD)
        card = c.pay(cid, 700)
        assert (card["status"], card["reason"]) == ("declined", "bank_not_configured")
        assert "银行核心" in card["message_zh"] and "bank core" in card["message_en"]
        assert c.ledger_ok() == []


def _pem_pair(folder) -> tuple[str, str]:  # noqa: ANN001
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = folder / f"{uuid.uuid4().hex}.key.pem"
    public = folder / f"{uuid.uuid4().hex}.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(private), str(public)


def test_live_blocks_build_the_real_adapters_and_no_simulator_route(sqlite_url, tmp_path):  # noqa: ANN001
    (wk, wp), (ak, ap), (uk, up) = _pem_pair(tmp_path), _pem_pair(tmp_path), _pem_pair(tmp_path)
    channels = {"wechat": {"mode": "live", "mchid": "1900000109", "appid": "wxd678efh567hg6787",
                           "merchant_key_file": wk, "merchant_serial": "SERIAL", "platform_key_file": wp,
                           "platform_serial": "PUB_KEY_ID_1", "api_v3_key": "a" * 32},
                "alipay": {"mode": "live", "app_id": "2021000000000001", "app_private_key_file": ak,
                           "alipay_public_key_file": ap},
                "unionpay": {"mode": "live", "mer_id": "777290058110048", "cert_id": "69629715588",
                             "sign_key_file": uk, "unionpay_cert_file": up}}
    app = make_app(sqlite_url, simulated=False, channels=channels)
    built = app.state.channels
    assert isinstance(built.get("wechat"), WechatNativeChannel) and isinstance(built.get("alipay"), AlipayChannel)
    assert isinstance(built.get("unionpay"), UnionPayChannel) and built.simulators == {}
    with TestClient(app) as client:
        assert client.post("/api/v1/parking/channel-sim/pay", json={"qr_text": "x"}).status_code == 404


def test_a_key_file_that_cannot_be_read_stops_the_start_naming_the_block(sqlite_url, tmp_path):  # noqa: ANN001
    channels = {"alipay": {"mode": "live", "app_id": "2021000000000001",
                           "app_private_key_file": str(tmp_path / "missing.pem"),
                           "alipay_public_key_file": str(tmp_path / "missing.pub")}}
    with pytest.raises(ValueError, match="channels.alipay"):
        make_app(sqlite_url, simulated=False, channels=channels)
