"""Why a payment or a refund did not go through: the backend's and the terminal's declines.

code -> (Chinese, English). Chinese first; each sentence says what to do next. A `{name}` is
filled by core.reasons.message (fen shown in yuan).
"""
from __future__ import annotations

# Who pays: the signing behind a face, card, plate or pay code (backend/services/payers.py, and
# terminal/offline.py from its cache).
SIGNING: dict[str, tuple[str, str]] = {
    "not_signed": ("未签约，请先办理签约或使用其他方式支付", "Not signed up: sign up first or pay another way"),
    "signing_suspended": ("签约已暂停，请联系发卡机构", "The signing is suspended: contact the issuer"),
    "signing_revoked": ("签约已解除，请使用其他方式支付", "The signing was revoked: pay another way"),
    "customer_closed": ("账户已关闭", "The account is closed"),
    "merchant_not_allowed": ("此签约不能在本商户使用", "This signing cannot be used at this merchant"),
    "over_payment_limit": ("超过单笔限额 {limit} 元，请使用其他方式", "Over your limit of {limit} yuan per payment: pay another way"),
    "over_day_limit": ("超过今日限额 {limit} 元，请明天再来或使用其他方式", "Over your daily limit of {limit} yuan: pay another way"),
    "merchant_suspended": ("商户已暂停服务，请到其他窗口支付", "This merchant is suspended: pay at another counter"),
    "method_not_supported": ("此支付方式暂不支持，请换一种方式", "This payment method is not supported here: pay another way"),
    "bad_plate": ("车牌号无法识别", "The plate number is not valid"),
    "offline_too_old": ("离线交易超过30天才上传，未扣款，请人工处理",
                        "An offline payment sent more than 30 days late: not charged, settle it by hand"),
}

# Our own one-time pay codes (backend/services/paycodes.py).
OWN_PAYCODE: dict[str, tuple[str, str]] = {
    "paycode_unknown": ("付款码无效，请在手机上刷新付款码后重试", "This pay code is not valid: refresh it on the phone and try again"),
    "paycode_expired": ("付款码已过期，请在手机上刷新付款码后重试", "This pay code has expired: refresh it on the phone and try again"),
    "paycode_used": ("付款码已使用过，请在手机上刷新付款码后重试", "This pay code was already used: refresh it on the phone and try again"),
}

# The funding split (core/funding.py): balances and subsidy rules.
FUNDING: dict[str, tuple[str, str]] = {
    "insufficient_funds": ("余额不足，请充值或更换支付方式", "Not enough balance: top up or pay another way"),
    "subsidy_not_allowed_here": ("补贴不能在此处或此时段使用，请使用个人账户",
                                 "Subsidy cannot be used here or at this time: pay from your own account"),
    "subsidy_cap_reached": ("补贴已达本餐或今日上限", "Subsidy limit for this meal or today is reached"),
    "no_subsidy": ("您没有可用的补贴", "You have no subsidy to pay with"),
}

# A linked bank card debited at the bank core (backend/services/payments.py).
BANK: dict[str, tuple[str, str]] = {
    "bank_insufficient_funds": ("银行卡余额不足", "The bank card has not enough money"),
    "bank_card_frozen": ("银行卡已冻结，请联系银行", "The bank card is frozen: contact the bank"),
    "bank_no_account": ("银行卡账户不存在，请联系银行", "The bank account does not exist: contact the bank"),
    "bank_outcome_unknown": ("银行未及时响应，本笔未收费，请重新支付", "The bank did not answer in time: you were not "
                             "charged for this one, please pay again"),
    "bank_declined": ("银行未完成扣款，本笔未收费", "The bank did not take the money: nothing was charged"),
    "bank_not_configured": ("本系统未连接银行核心，不能从银行卡扣款，请换一种方式支付",
                            "This system is not connected to the bank core: pay another way than by bank card"),
    "bank_debit_returned": ("银行扣款已退回，本笔未收费，请重新支付",
                            "The bank debit was returned; you were not charged, please pay again"),
    "bank_debit_returning": ("本笔此前的银行扣款正在退回，本笔未收费，请重新支付",
                             "An earlier try of this payment at the bank is being returned; you were not "
                             "charged, please pay again"),
}

# A wallet's pay code charged at its channel, at the canteen and at the parking exit
# (backend/services/channel_paycode.py).
CHANNEL: dict[str, tuple[str, str]] = {
    "channel_insufficient_funds": ("余额不足，请换一种方式支付", "Not enough money behind this pay code: pay another way"),
    "channel_code_invalid": ("付款码无效，请刷新付款码后重试", "This pay code is not valid: refresh it and try again"),
    "channel_declined": ("支付渠道拒绝了这笔支付，未扣款，请换一种方式支付",
                         "The payment channel refused this payment: nothing was charged, pay another way"),
    "channel_not_charged": ("支付渠道未完成扣款，本笔未收费，请重新支付",
                            "The payment channel did not take the money: you were not charged, please pay again"),
    "paycode_offline": ("付款码需要联网，请刷脸或刷卡", "Pay codes need the network: use face or card"),
    "channel_not_settled": ("支付渠道未结算这笔支付，银行确认未扣款，已冲正",
                            "The channel never settled this payment and the bank confirms it was not taken: reversed"),
    "channel_not_configured": ("这里暂不支持这种付款方式，请换一种方式支付或联系管理员",
                               "This way to pay is not taken here: pay another way or call the staff"),
}

# Refunds (backend/services/refunds.py).
REFUND: dict[str, tuple[str, str]] = {
    "payment_not_approved": ("原支付未成功，无需退款", "The payment did not go through; there is nothing to refund"),
    "refund_exceeds_payment": ("退款金额超过可退金额", "The refund is more than what is left to refund"),
}

# A payment or refund request refused as a whole: the API answers with an error status, and a
# pushed queue item is answered `rejected` with the code (backend/api/sync.py).
REQUEST: dict[str, tuple[str, str]] = {
    "payment_id_reused": ("该支付编号已用于另一笔不同的支付，请用新编号", "This payment id was used for a different payment; use a new id"),
    "refund_id_reused": ("该退款编号已用于另一笔退款，请用新编号", "This refund id was used for a different refund; use a new id"),
    "payment_not_found": ("找不到这笔支付，请核对支付编号", "No such payment; check the payment id"),
    "channel_outcome_unknown": ("支付渠道暂时无法确认结果，请稍后用同一笔支付重试，不会重复扣款",
                                "The payment channel cannot confirm the outcome now; retry this same payment later "
                                "(it will not be charged twice)"),
    "channel_refund_refused": ("支付渠道拒绝了这笔退款，请联系运营核查", "The payment channel refused this refund: ask the operator to check it"),
    "bank_unavailable": ("银行暂时无法退款，请稍后用同一退款编号重试", "The bank cannot take the refund now; retry later with the same refund id"),
    "bank_credit_unsettled": ("这笔退款的银行入账待核实，请稍后再试或联系银行",
                              "The bank credit of this refund is being checked; try again later or call the bank"),
    "order_not_found": ("找不到该订单", "No such order"),
    "order_conflict": ("同一订单号的金额或车牌不同，请重新发起缴费",
                       "This order id was used with another amount or plate; start a new payment"),
}

# The terminal's own declines: offline limits (terminal/offline.py) and the decision around them.
TERMINAL: dict[str, tuple[str, str]] = {
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
    "debounce": ("已支付", "Already paid"),
    "interrupted": ("交易中断，未扣款，请重试", "The payment was interrupted and not taken: please try again"),
    "not_registered": ("终端未注册，请联系安装人员", "This terminal is not registered: call the installer"),
    "store_write_failed": ("终端无法保存记录（存储空间已满或存储故障），本次未扣款；请联系管理员",
                           "The terminal cannot save payments (storage full or failing); you were not charged. "
                           "Call the attendant"),
    "declined": ("支付未成功，请使用其他方式", "Payment declined: pay another way"),
}
