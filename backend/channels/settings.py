"""What the backend's settings say about each payment channel and the bank core.

Nothing is simulated unless a block says `mode: simulator`. A channel left out is not offered
(its pay codes are declined in words); a bank core left out declines bank card debits in words.
In the environment each block is JSON, e.g.
    GATEPAY_CHANNELS='{"wechat": {"mode": "live", "mchid": "1900000109", ...}}'
    GATEPAY_COREBANKING='{"mode": "simulator"}'
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Simulated(BaseModel):
    """A simulator instead of the real service: for the demo, tests and dry runs only. `serve`
    says so loudly at start, and only then are the simulator's routes mounted."""
    model_config = ConfigDict(extra="forbid")
    mode: Literal["simulator"] = Field(title="Mode / 模式", description="simulator: no real money moves")


class WechatPayLive(BaseModel):
    """WeChat Pay API v3, direct merchant (普通商户)."""
    model_config = ConfigDict(extra="forbid")
    mode: Literal["live"] = Field(title="Mode / 模式")
    mchid: str = Field(min_length=1, max_length=32, title="商户号 mchid")
    appid: str = Field(min_length=1, max_length=32, title="AppID")
    merchant_key_file: Path = Field(title="商户API私钥 (apiclient_key.pem)")
    merchant_serial: str = Field(min_length=1, max_length=64, title="商户API证书序列号")
    platform_key_file: Path = Field(title="微信支付公钥或平台证书 (PEM)")
    platform_serial: str = Field(min_length=1, max_length=64, title="微信支付公钥ID或平台证书序列号")
    api_v3_key: SecretStr = Field(min_length=32, max_length=32, title="APIv3 密钥 (32 字符)")
    base_url: str = Field("https://api.mch.weixin.qq.com", pattern=r"^https://", title="API 域名")
    oauth_app_secret: SecretStr | None = Field(None, min_length=1, max_length=64, title="公众号 AppSecret",
                                               description="Only for the aggregate QR: WeChat's web authorisation "
                                                           "(snsapi_base) that gives the payer's openid for JSAPI")
    timeout_s: float = Field(5.0, gt=0, le=60)


WechatSettings = Annotated[WechatPayLive | Simulated, Field(discriminator="mode")]


class AlipayLive(BaseModel):
    """Alipay open platform, face-to-face payment (当面付), public-key mode with RSA2."""
    model_config = ConfigDict(extra="forbid")
    mode: Literal["live"] = Field(title="Mode / 模式")
    app_id: str = Field(min_length=1, max_length=32, title="应用 APPID")
    app_private_key_file: Path = Field(title="应用私钥 (PEM, RSA2)")
    alipay_public_key_file: Path = Field(title="支付宝公钥 (PEM)")
    gateway: str = Field("https://openapi.alipay.com/gateway.do", pattern=r"^https://", title="网关")
    timeout_s: float = Field(5.0, gt=0, le=60)


AlipaySettings = Annotated[AlipayLive | Simulated, Field(discriminator="mode")]


class UnionPayLive(BaseModel):
    """UnionPay online gateway (全渠道 ACP 5.1.0) for QR payments, signMethod 01 (RSA, SHA-256)."""
    model_config = ConfigDict(extra="forbid")
    mode: Literal["live"] = Field(title="Mode / 模式")
    mer_id: str = Field(min_length=15, max_length=15, title="商户号 merId")
    cert_id: str = Field(min_length=1, max_length=40, title="签名证书序列号 certId")
    sign_key_file: Path = Field(title="商户签名私钥 (PEM, exported from the .pfx)")
    unionpay_cert_file: Path = Field(title="银联签名证书 (PEM): answers and notifications are checked with it")
    gateway: str = Field("https://gateway.95516.com/gateway/api", pattern=r"^https://", title="网关")
    back_url: str = Field("", max_length=256, title="后台通知地址 backUrl for pay codes",
                          description="https://<this backend>/api/v1/parking/channel/unionpay/notify")
    timeout_s: float = Field(5.0, gt=0, le=60)


UnionPaySettings = Annotated[UnionPayLive | Simulated, Field(discriminator="mode")]


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wechat: WechatSettings | None = Field(None, title="微信支付 WeChat Pay")
    alipay: AlipaySettings | None = Field(None, title="支付宝 Alipay")
    unionpay: UnionPaySettings | None = Field(None, title="银联二维码 UnionPay QR")
    bank: Simulated | None = Field(None, title="本行码 The bank's own codes",
                                   description="Mobile-banking pay codes and the bank's aggregate QR through "
                                               "the core. Live: the bank's ESB adapter (installation-specific, "
                                               "backend/channels/bank.py BankCodeCore); here only the simulator")
    bank_code_prefixes: tuple[str, ...] = Field(("89",), max_length=8, title="Mobile-banking code prefixes",
                                                description="The bank's mobile-banking pay codes: 20 digits "
                                                            "starting with one of these (not 88: our own codes)")
    qr: Literal["wechat", "alipay", "unionpay", "bank", "aggregate"] = Field(
        "wechat", title="QR orders / 主扫",
        description="The channel that makes the QR codes lanes show for 主扫; aggregate: one code (聚合码) that "
                    "every configured app can scan, an https URL of this backend (public_base_url)")
    public_base_url: str = Field("", max_length=120, pattern=r"^(https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/-]*)?)?$",
                                 title="Public address of this backend",
                                 description="What a payer's phone reaches, e.g. https://pay.example.com; the "
                                             "aggregate QR is {public_base_url}/pay/q/{token}")
    bank_app_markers: tuple[str, ...] = Field(("GatepayBankApp",), min_length=1, max_length=8,
                                              title="The bank app's User-Agent markers",
                                              description="A substring of the User-Agent of the bank's mobile "
                                                          "banking app, which then pays the aggregate QR")
    payer_queries: int = Field(6, ge=1, le=60, title="Queries of an unknown pay-code outcome",
                               description="How often a pay code whose outcome is unknown (timeout, password "
                                           "asked) is queried before it is reversed")
    query_every_s: float = Field(5.0, ge=0, le=30, title="Seconds between those queries")


class CoreBankingSettings(BaseModel):
    """The bank core behind linked bank cards. The bank's ESB interface is its own (not public): its
    adapter implements backend.corebanking.CoreBanking and is added to compose.build_corebanking."""
    model_config = ConfigDict(extra="forbid")
    mode: Literal["simulator"] = Field(title="Mode / 模式")
