"""Every word the kiosk shows, Chinese first (zh_CN) with English switchable at run time.

One table (`STRINGS`: key -> (zh, en)), kept by screen: the kiosk's here, the admin screens' in
ui/i18n_admin.py, the installer wizard's in ui/i18n_wizard.py. Decline reasons, in plain words
that say what to do, come from the core: its outcome words, else the reason catalogue
(core/reasons).
A `Translator` holds the current language for one window and tells its listeners when it
changes; screens then render their last view again. No Qt here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from core.money import format_yuan
from core.reasons import CATALOGUE, find
from ui.i18n_admin import ADMIN_STRINGS
from ui.i18n_wizard import WIZARD_STRINGS

Language = Literal["zh_CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh_CN", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # kiosk chrome
    "app.title": ("智慧食堂 · 刷脸支付", "Smart canteen · pay by face"),
    "app.parking_title": ("智慧停车", "Smart parking"),
    "lang.switch": ("English", "中文"),
    "admin.open": ("管理", "Admin"),
    "offline.banner": ("离线模式 · 待上传 {n} 笔", "Offline · {n} payments waiting to upload"),
    "offline.banner_empty": ("离线模式 · 网络恢复后自动同步", "Offline · will sync when the network is back"),
    "offline.skew": ("终端时间与后台相差 {s} 秒，请联系管理员校时", "Clock is {s} s off the backend: ask the admin to set the time"),
    "safe.title": ("终端设置有误，暂不能收款", "The terminal's settings are wrong: no payments for now"),
    "safe.hint_wizard": ("请点“安装向导”重新设置，或联系安装人员", "Press “Setup wizard” to set it up again, or call the installer"),
    "safe.hint_file": ("请按上面的说明改正设置文件后重启终端，或联系安装人员", "Fix the settings file as said above and restart the terminal, or call the installer"),
    # canteen
    "canteen.look": ("请看摄像头", "Please look at the camera"),
    "canteen.or_other": ("也可出示付款码或刷卡", "Or show a pay code or tap your card"),
    "canteen.code_or_card": ("请出示付款码或刷卡", "Show a pay code or tap your card"),
    "canteen.price": ("{period} · {price}", "{period} · {price}"),
    "canteen.keyed": ("本次金额 {price}", "Amount {price}"),
    "canteen.key_wait": ("请稍候，窗口正在输入金额", "Please wait, the amount is being keyed in"),
    "canteen.no_period": ("现在不是供餐时间", "No meal is being served now"),
    "canteen.closed": ("本窗口暂停服务，请到其他窗口", "This gate is closed, please use another one"),
    "canteen.opens_at": ("下一餐：{meal} {time} 开始", "Next: {meal} from {time}"),
    "canteen.recognising": ("正在识别，请稍候…", "Recognising, one moment…"),
    "canteen.paid": ("支付成功", "Paid"),
    "canteen.amount": ("消费 {amount}", "Charged {amount}"),
    "canteen.subsidy_part": ("补贴支付 {amount}", "From subsidy {amount}"),
    "canteen.own_part": ("个人账户支付 {amount}", "From own account {amount}"),
    "canteen.wallet_left": ("个人余额 {amount}", "Own balance {amount}"),
    "canteen.subsidy_left": ("补贴余额 {amount}", "Subsidy balance {amount}"),
    "canteen.discount": ("原价 {price}，优惠 {discount}", "Price {price}, {discount} off"),
    "canteen.offer": ("送您一张优惠券：{title}", "A coupon for you: {title}"),
    "canteen.offer_until": ("{date} 前有效", "Valid until {date}"),
    "canteen.paid_offline": ("已离线记账，联网后自动上传", "Recorded offline, uploads when back online"),
    "canteen.declined": ("未能支付", "Not paid"),
    "canteen.already": ("这一餐已经付过了", "This meal is already paid"),
    "canteen.already_at": ("已于 {time} 支付，无需再付，请直接通过", "Paid at {time}; no need to pay again, please go through"),
    "canteen.by": ("支付方式：{method}", "Payment method: {method}"),
    # liveness prompts (the core sends the code; unknown codes are shown as sent)
    "prompt.blink": ("请眨眨眼", "Please blink"),
    "prompt.turn_left": ("请向左转头", "Turn your head left"),
    "prompt.turn_right": ("请向右转头", "Turn your head right"),
    "prompt.nod": ("请点点头", "Please nod"),
    "prompt.open_mouth": ("请张张嘴", "Open your mouth"),
    "prompt.hold_still": ("请保持不动", "Please hold still"),
    "prompt.come_closer": ("请靠近一点", "Come a little closer"),
    "prompt.face_front": ("请正对摄像头", "Face the camera straight on"),
    # payment methods
    "method.face": ("刷脸", "face"),
    "method.card": ("刷卡", "card"),
    "method.paycode": ("付款码", "pay code"),
    "method.plate": ("车牌", "plate"),
    "method.qr": ("扫码支付", "QR code"),
    # parking
    "parking.idle": ("欢迎光临，请减速慢行", "Welcome, please drive slowly"),
    "parking.entry": ("入口", "Entry"),
    "parking.exit": ("出口", "Exit"),
    "parking.lane": ("{lane} 号车道", "Lane {lane}"),
    "parking.entered_at": ("入场时间", "Entered"),
    "parking.duration": ("停车时长", "Parked for"),
    "parking.fee": ("应付金额", "Fee"),
    "parking.how": ("支付方式", "Payment"),
    "parking.entry_open": ("欢迎入场，请通行", "Welcome, please drive in"),
    "parking.entry_refused": ("暂不能入场", "Entry refused"),
    "parking.scan_qr": ("请扫码缴费", "Scan to pay"),
    "parking.or_paycode": ("微信、支付宝扫一扫，也可出示付款码", "WeChat or Alipay; or show your pay code"),
    "parking.scan_with.any": ("微信、支付宝、云闪付或手机银行扫码，也可出示付款码",
                              "Scan with WeChat, Alipay, UnionPay QuickPass or mobile banking; or show your pay code"),
    "parking.scan_with.wechat": ("请用微信扫一扫，也可出示付款码", "Scan with WeChat; or show your pay code"),
    "parking.scan_with.alipay": ("请用支付宝扫一扫，也可出示付款码", "Scan with Alipay; or show your pay code"),
    "parking.scan_with.unionpay": ("请用云闪付或银行App扫一扫，也可出示付款码",
                                   "Scan with UnionPay QuickPass or a bank app; or show your pay code"),
    "parking.paid": ("支付成功", "Paid"),
    "parking.discount": ("应付 {fee}，优惠 {discount}", "Fee {fee}, {discount} off"),
    "parking.free": ("免费通行", "No charge"),
    "parking.refused": ("暂不能出场", "Exit refused"),
    "parking.barrier": ("道闸开启，请通行", "Barrier opening, please drive on"),
    "parking.no_image": ("无车牌图片", "No plate image"),
    "pay_kind.member": ("月卡车辆，免费通行", "Monthly pass: no charge"),
    "pay_kind.contactless": ("无感支付，已从签约账户扣款", "Contactless: charged to the signed account"),
    "pay_kind.qr": ("已扫码支付", "Paid by QR"),
    "pay_kind.paycode": ("付款码支付", "Pay code"),
    "pay_kind.free_by_attendant": ("值班员放行", "Waved through by the attendant"),
    "pay_short.member": ("月卡", "Monthly pass"),
    "pay_short.contactless": ("无感支付", "Contactless"),
    "pay_short.qr": ("扫码支付", "QR code"),
    "pay_short.paycode": ("付款码", "Pay code"),
    "pay_short.free_by_attendant": ("值班员放行", "Attendant"),
    "duration.hm": ("{h} 小时 {m} 分", "{h} h {m} min"),
    "duration.m": ("{m} 分钟", "{m} min"),
    **ADMIN_STRINGS,
    **WIZARD_STRINGS,
}

# Reasons are worded by the one catalogue (core/reasons) and usually arrive already worded in
# the outcome's message_zh/message_en; a code without words is looked up there.
UNKNOWN_REASON = CATALOGUE["unknown_reason"]


class Translator:
    """The current language of one window, its lookups, and who to tell when it changes."""

    def __init__(self, language: Language = "zh_CN", zone: str = "Asia/Shanghai"):
        self._language: Language = language
        self.zone = ZoneInfo(zone)   # times are shown in the merchant's zone, whatever the core sends
        self._listeners: list[Callable[[Language], None]] = []

    @property
    def language(self) -> Language:
        return self._language

    def set_language(self, language: Language) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; use one of {LANGUAGES}")
        if language == self._language:
            return
        self._language = language
        for listener in list(self._listeners):
            listener(language)

    def toggle(self) -> None:
        self.set_language("en" if self._language == "zh_CN" else "zh_CN")

    def on_change(self, listener: Callable[[Language], None]) -> None:
        self._listeners.append(listener)

    def off_change(self, listener: Callable[[Language], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _pick(self, pair: tuple[str, str]) -> str:
        return pair[0] if self._language == "zh_CN" else pair[1]

    def t(self, key: str, **values: object) -> str:
        """The text for `key`; a missing key shows the key itself (a visible bug, not a crash)."""
        pair = STRINGS.get(key)
        if pair is None:
            return key
        return self._pick(pair).format(**values) if values else self._pick(pair)

    def pick(self, zh: str, en: str) -> str:
        """Choose between texts the core already wrote in both languages."""
        return (zh or en) if self._language == "zh_CN" else (en or zh)

    def reason(self, code: str | None, message_zh: str = "", message_en: str = "") -> str:
        """A decline in plain words saying what to do: the core's own words first (they carry
        the actual limits), then the reason catalogue, then a safe sentence."""
        if message_zh or message_en:
            return self.pick(message_zh, message_en)
        return self._pick(find(code) or UNKNOWN_REASON)     # a sentence needing values the core had: not here

    def money(self, fen: int) -> str:
        return "¥" + format_yuan(fen)

    def method(self, method: str) -> str:
        return self.t(f"method.{method}") if f"method.{method}" in STRINGS else method

    def prompt(self, code: str | None) -> str:
        if not code:
            return ""
        return self.t(f"prompt.{code}") if f"prompt.{code}" in STRINGS else code

    def status(self, status: str) -> str:
        return self.t(f"status.{status}") if f"status.{status}" in STRINGS else status

    def duration(self, seconds: int) -> str:
        minutes = max(0, seconds) // 60
        hours, minutes = divmod(minutes, 60)
        return self.t("duration.hm", h=hours, m=minutes) if hours else self.t("duration.m", m=minutes)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone) if at.tzinfo is not None else at

    def time(self, at: datetime | None, seconds: bool = True) -> str:
        return self.local(at).strftime("%H:%M:%S" if seconds else "%H:%M") if at else self.t("admin.never")

    def date(self, at: datetime) -> str:
        return self.local(at).strftime("%Y-%m-%d")

    def datetime(self, at: datetime | None) -> str:
        return self.local(at).strftime("%Y-%m-%d %H:%M") if at else self.t("admin.never")
