"""The words of a parking lane's desk behind the PIN (its exits, the attendant's actions, the
counter renewal), the lane screen's fee reason and the on-screen keyboard (key -> (zh, en)).
Part of ui.i18n's one table `STRINGS` (through ui/i18n_admin.py); read them through a Translator."""

LANE_STRINGS: dict[str, tuple[str, str]] = {
    # the lane screen
    "parking.why_fee": ("收费依据", "Why this fee"),
    "parking.fee_reason.no_entry_record": ("无入场记录，按本停车场规定收费", "No entry record: the car park's fixed fee"),
    # the desk: tabs and the exits list
    "lane.tab": ("车道", "Lane"),
    "lane.renewal_tab": ("会员续费", "Pass renewal"),
    "lane.exits_title": ("今日出场（含扫码、付款码、无感、月卡、免费）", "Today's exits (QR, pay code, contactless, pass, free)"),
    "lane.col_time": ("时间", "Time"),
    "lane.col_plate": ("车牌", "Plate"),
    "lane.col_fee": ("应付", "Fee"),
    "lane.col_paid": ("实付", "Paid"),
    "lane.col_how": ("方式", "How"),
    "lane.col_sent": ("上传", "Sent"),
    "lane.sent_yes": ("已上传", "sent"),
    "lane.sent_no": ("待上传", "queued"),
    "lane.none_waiting": ("出口没有待处理的车辆", "No car is waiting at the exit"),
    "lane.waiting": ("待处理：{plate}，应付 {fee}", "Waiting: {plate}, fee {fee}"),
    "lane.waiting_no_entry": ("待处理：{plate}，应付 {fee}（无入场记录）", "Waiting: {plate}, fee {fee} (no entry record)"),
    "lane.plate_hint": ("正确车牌，如 京A12345", "The right plate, e.g. 京A12345"),
    "lane.correct": ("更正车牌", "Correct the plate"),
    "lane.reason_hint": ("原因（放行或转审核时必填）", "Reason (needed to let out free or send to review)"),
    "lane.open_free": ("免费放行", "Let out free"),
    "lane.review": ("转人工审核", "Send to review"),
    "lane.need_reason": ("请先填写原因", "Give the reason first"),
    "lane.need_plate": ("请先输入正确的车牌", "Type the right plate first"),
    "lane.done": ("已处理：{words}", "Done: {words}"),
    "lane.reviewed": ("已转人工审核，车辆仍在等待", "Sent to review; the car is still waiting"),
    "lane.refresh": ("刷新", "Refresh"),
    # counter renewal
    "renewal.plate_hint": ("续费车牌，如 京A12345", "Plate to renew, e.g. 京A12345"),
    "renewal.plan": ("{months} 个月 {price}", "{months} month(s) {price}"),
    "renewal.no_plans": ("本停车场暂无可续费的会员套餐", "This car park sells no passes yet"),
    "renewal.start": ("生成续费二维码", "Make the renewal QR code"),
    "renewal.check": ("查询是否已付", "Check if paid"),
    "renewal.scan": ("请车主扫码支付 {amount}", "Ask the driver to scan and pay {amount}"),
    "renewal.paid": ("已付款，会员已续期", "Paid: the pass is renewed"),
    "renewal.closed": ("订单已关闭，请重新生成", "The order was closed: make a new one"),
    "pay_short.none": ("免费时段", "Free time"),
    "pay_short.fallback": ("无入场记录", "No entry record"),
    # on-screen keyboard
    "keyboard.ok": ("确定", "OK"),
    "keyboard.back": ("删除", "Delete"),
    "keyboard.space": ("空格", "Space"),
    "keyboard.hide": ("收起", "Hide"),
}
