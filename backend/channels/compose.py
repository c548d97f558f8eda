"""Build the payment channels and the bank core from the backend's settings (the composition root
calls this once per app; nothing is made lazily inside a request handler).

A simulator exists only where the settings say `mode: simulator`. A channel the settings leave
out is absent: its pay codes are declined in words, and no route can reach it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from backend.channels.base import ChannelError, PaymentChannel, load_private_key, load_public_key
from backend.channels.settings import (AlipayLive, ChannelSettings, CoreBankingSettings, Simulated, UnionPayLive,
                                       WechatPayLive)
from backend.corebanking import CoreBanking, CoreBankingSimulator, NoCoreBanking

if TYPE_CHECKING:
    from backend.config import BackendSettings

# Which channel takes which public wallet's pay code (core/paycode.py classifies them).
CHANNEL_OF_CODE = {"wechat": "wechat", "alipay": "alipay", "unionpay": "unionpay", "bank": "bank"}


class ChannelNotConfigured(ChannelError):
    def __init__(self, name: str):
        super().__init__("not_configured", f"the {name} channel is not configured")
        self.channel = name


@dataclass(frozen=True)
class PayerWait:
    """How long a pay code's unknown outcome is asked about before it is reversed: WeChat and
    Alipay advise querying about every 5 s for up to 30 s while the payer enters a password."""
    queries: int = 6
    query_every_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Channels:
    """The channels this backend speaks to, by name, and the simulators behind any of them."""
    adapters: dict[str, PaymentChannel] = field(default_factory=dict)
    simulators: dict[str, object] = field(default_factory=dict)
    qr_channel: str = "wechat"
    wait: PayerWait = field(default_factory=PayerWait)
    bank_code_prefixes: tuple[str, ...] = ("89",)
    bank_app_markers: tuple[str, ...] = ()
    close: Callable[[], None] = lambda: None   # releases what the simulators hold (their database engine)

    def kind_of(self, code: str) -> str | None:
        """wechat | alipay | unionpay by the public formats, bank for the bank's mobile-banking codes
        (20 digits with a configured prefix); None for anything else (our own codes included)."""
        from core.paycode import Classified, classify

        code = code.strip()
        if len(code) == 20 and code.isascii() and code.isdigit() and code.startswith(self.bank_code_prefixes):
            return "bank"
        found = classify(code)
        return found.kind if isinstance(found, Classified) and found.kind in CHANNEL_OF_CODE else None

    def get(self, name: str) -> PaymentChannel:
        try:
            return self.adapters[name]
        except KeyError:
            raise ChannelNotConfigured(name) from None

    def for_code(self, kind: str) -> PaymentChannel:
        """The channel that charges a pay code of this kind (wechat | alipay | unionpay)."""
        return self.get(CHANNEL_OF_CODE.get(kind, kind))

    def qr(self) -> PaymentChannel:
        return self.get(self.qr_channel)

    def simulator(self, name: str):  # noqa: ANN201 - each channel's simulator has its own type
        return self.simulators[name]

    def install(self, name: str, adapter: PaymentChannel, simulator: object | None = None) -> None:
        """Put an adapter in place (a test wiring a faulty network between adapter and simulator)."""
        self.adapters[name] = adapter
        if simulator is not None:
            self.simulators[name] = simulator


def _field_error(name: str, exc: Exception) -> ValueError:
    return ValueError(f"channels.{name}: {exc}")


def _wechat(settings: WechatPayLive | Simulated, engine: Callable[[], object]):  # noqa: ANN202
    from backend.channels.wechat import ChannelKeys, WechatNativeChannel

    if isinstance(settings, Simulated):
        from backend.channels.sim_store import DatabaseStore
        from backend.channels.wechat_sim import simulated_channel

        return simulated_channel(DatabaseStore(engine(), "wechat"), fresh_keys=False)
    try:
        keys = ChannelKeys(mchid=settings.mchid, appid=settings.appid,
                           merchant_key=load_private_key(settings.merchant_key_file.read_bytes()),
                           merchant_serial=settings.merchant_serial,
                           platform_public=load_public_key(settings.platform_key_file.read_bytes()),
                           platform_serial=settings.platform_serial,
                           api_v3_key=settings.api_v3_key.get_secret_value().encode(),
                           oauth_secret=settings.oauth_app_secret.get_secret_value() if settings.oauth_app_secret
                           else "")
    except (OSError, ValueError) as exc:
        raise _field_error("wechat", exc) from exc
    return WechatNativeChannel(keys, base_url=settings.base_url, timeout_s=settings.timeout_s), None


def _alipay(settings: AlipayLive | Simulated, engine: Callable[[], object]):  # noqa: ANN202
    from backend.channels.alipay import AlipayChannel, AlipayKeys

    if isinstance(settings, Simulated):
        from backend.channels.alipay_sim import simulated_alipay
        from backend.channels.sim_store import DatabaseStore

        return simulated_alipay(DatabaseStore(engine(), "alipay"), fresh_keys=False)
    try:
        keys = AlipayKeys(settings.app_id, load_private_key(settings.app_private_key_file.read_bytes()),
                          load_public_key(settings.alipay_public_key_file.read_bytes()))
    except (OSError, ValueError) as exc:
        raise _field_error("alipay", exc) from exc
    return AlipayChannel(keys, gateway=settings.gateway, timeout_s=settings.timeout_s), None


def _unionpay(settings: UnionPayLive | Simulated, engine: Callable[[], object]):  # noqa: ANN202
    from backend.channels.sim_store import DatabaseRefs
    from backend.channels.unionpay import UnionPayChannel, UnionPayKeys

    refs = DatabaseRefs(engine(), "unionpay")
    if isinstance(settings, Simulated):
        from backend.channels.sim_store import DatabaseStore
        from backend.channels.unionpay_sim import simulated_unionpay

        return simulated_unionpay(DatabaseStore(engine(), "unionpay"), refs, fresh_keys=False)
    try:
        keys = UnionPayKeys(settings.mer_id, settings.cert_id, load_private_key(settings.sign_key_file.read_bytes()),
                            load_public_key(settings.unionpay_cert_file.read_bytes()))
    except (OSError, ValueError) as exc:
        raise _field_error("unionpay", exc) from exc
    return UnionPayChannel(keys, gateway=settings.gateway, timeout_s=settings.timeout_s, refs=refs,
                           back_url=settings.back_url), None


def _bank(settings: Simulated, engine: Callable[[], object]):  # noqa: ANN202
    from backend.channels.bank_sim import simulated_bank_codes
    from backend.channels.sim_store import DatabaseStore

    return simulated_bank_codes(DatabaseStore(engine(), "bank"))


def build_channels(channels: ChannelSettings, database_url: str) -> Channels:
    from functools import lru_cache

    from backend.channels.sim_store import simulator_engine

    shared = lru_cache(maxsize=1)(lambda: simulator_engine(database_url))   # one engine for this app
    built = Channels(qr_channel=channels.qr, wait=PayerWait(channels.payer_queries, channels.query_every_s),
                     bank_code_prefixes=channels.bank_code_prefixes)
    built.close = lambda: shared().dispose() if shared.cache_info().currsize else None
    for name, block, make in (("wechat", channels.wechat, _wechat), ("alipay", channels.alipay, _alipay),
                              ("unionpay", channels.unionpay, _unionpay), ("bank", channels.bank, _bank)):
        if block is None:
            continue
        adapter, sim = make(block, shared)
        built.install(name, adapter, sim)
    if channels.qr == "aggregate":
        from backend.channels.aggregate import AggregateChannel

        if not channels.public_base_url:
            raise ValueError("channels.public_base_url: the aggregate QR needs the address payers' phones reach")
        if not built.adapters:
            raise ValueError("channels.qr: the aggregate QR needs at least one channel configured")
        if isinstance(channels.wechat, WechatPayLive) and channels.wechat.oauth_app_secret is None:
            raise ValueError("channels.wechat.oauth_app_secret: the aggregate QR needs it to pay by WeChat "
                             "(web authorisation gives the payer's openid for JSAPI)")
        built.bank_app_markers = channels.bank_app_markers
        built.install("aggregate", AggregateChannel(dict(built.adapters), channels.public_base_url))
    return built


def build_corebanking(settings: CoreBankingSettings | None) -> CoreBanking:
    if settings is None:
        return NoCoreBanking()
    return CoreBankingSimulator()


def simulated_names(settings: "BackendSettings") -> list[str]:
    """What the settings simulate, for the loud line `serve` prints at start."""
    names = [name for name in CHANNEL_NAMES if isinstance(getattr(settings.channels, name), Simulated)]
    if settings.corebanking is not None:
        names.append("corebanking")
    return names


CHANNEL_NAMES = ("wechat", "alipay", "unionpay", "bank")


def all_simulated(query_every_s: float | None = None) -> dict:
    """Settings that choose a simulator for every channel and the bank core: what `gatepay demo`,
    the tests and the bench pass explicitly (a deployment never gets them by default)."""
    channels: dict = {name: {"mode": "simulator"} for name in CHANNEL_NAMES}
    if query_every_s is not None:
        channels["query_every_s"] = query_every_s
    return {"channels": channels, "corebanking": {"mode": "simulator"}}


def simulated_env(query_every_s: float | None = None) -> dict[str, str]:
    """The same, as GATEPAY_* environment variables for a backend process."""
    import json

    return {f"GATEPAY_{key.upper()}": json.dumps(value) for key, value in all_simulated(query_every_s).items()}
