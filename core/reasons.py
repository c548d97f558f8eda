"""Decline reasons: a machine code for logs and the backend, plain words for the diner.

Chinese first, English available; each message says what to do next. Funding declines come
from core.funding so the terminal and the backend word them the same way.
"""
from __future__ import annotations

from core.funding import DECLINE_MESSAGES as FUNDING_MESSAGES
from core.money import format_yuan

MESSAGES: dict[str, tuple[str, str]] = {
    "not_signed": ("未开通此支付方式，请到服务台登记", "Not signed up for this way to pay: register at the service desk"),
    "revoked": ("您的支付已停用，请联系服务台", "Payment is disabled for you: contact the service desk"),
    "suspended": ("您的支付已暂停，请联系服务台", "Payment is suspended for you: contact the service desk"),
    "over_payment_limit": ("超过单笔限额 {limit} 元，请使用其他方式", "Over your limit of {limit} yuan per payment: pay another way"),
    "over_day_limit": ("超过今日限额 {limit} 元，请明天再来或使用其他方式", "Over your daily limit of {limit} yuan: pay another way"),
    "offline_per_payment": ("网络中断，离线单笔最多 {limit} 元，请使用其他方式",
                            "Network down: offline payments are limited to {limit} yuan each: pay another way"),
    "offline_per_day": ("网络中断，您今日离线额度 {limit} 元已用完，请到人工窗口",
                        "Network down: your offline allowance of {limit} yuan today is used up: go to the staffed window"),
    "offline_terminal_total": ("网络中断，本机离线额度已满，请到人工窗口",
                               "Network down: this terminal's offline allowance is full: go to the staffed window"),
    "stale_cache": ("网络中断时间过长，暂不能离线支付，请到人工窗口",
                    "Offline for too long to pay here: go to the staffed window"),
    "clock_behind": ("终端时间被调回，暂不能离线支付，请到人工窗口并联系安装人员",
                     "This terminal's clock was set back, so it cannot pay offline: go to the staffed window "
                     "and call the installer"),
    "offline_not_allowed": ("网络中断，此终端不能离线收款，请到人工窗口",
                            "Network down and this terminal may not take payments offline: go to the staffed window"),
    "no_balance_data": ("网络中断，暂无您的余额信息，请到人工窗口",
                        "Network down and your balance is unknown here: go to the staffed window"),
    "paycode_needs_network": ("网络中断，付款码暂不可用，请刷脸或刷卡", "Network down: pay codes need the network, use face or card"),
    "closed": ("当前不在售餐时间", "Not serving now: see the meal times"),
    "amount_needed": ("请窗口先输入金额", "The cashier must key in the amount first"),
    "meal_limit": ("本餐次已用餐，不能重复消费", "You already had this meal"),
    "merchant_suspended": ("商户已暂停服务，请到其他窗口支付", "This merchant is suspended: pay at another counter"),
    "not_this_merchant": ("您的支付不能在本商户使用", "Your payment cannot be used at this merchant"),
    "interrupted": ("交易中断，未扣款，请重试", "The payment was interrupted and not taken: please try again"),
    "not_registered": ("终端未注册，请联系安装人员", "This terminal is not registered: call the installer"),
    "declined": ("支付未成功，请使用其他方式", "Payment declined: pay another way"),
}


def message(reason: str, **values: int) -> tuple[str, str]:
    """(zh, en) for a decline code; fen values in `values` are shown in yuan."""
    zh, en = MESSAGES.get(reason) or FUNDING_MESSAGES.get(reason) or MESSAGES["declined"]
    shown = {k: format_yuan(v) for k, v in values.items()}
    return zh.format(**shown) if shown else zh, en.format(**shown) if shown else en
