"""Every word the kiosk shows, Chinese first (zh_CN) with English switchable at run time.

One table (`STRINGS`: key -> (zh, en)). Decline reasons, in plain words that say what to do, come
from the core (its outcome words, else its tables) and, for codes only screens meet, `REASONS`.
A `Translator` holds the current language for one window and tells its listeners when it
changes; screens then render their last view again. No Qt here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from core.money import format_yuan

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
    # cashier amount entry
    "amount.open": ("输入金额", "Key in amount"),
    "amount.title": ("输入本次金额（元）", "Amount of this meal (yuan)"),
    "amount.hint": ("请输入金额", "Type the amount"),
    "amount.bad": ("金额不对：应大于 0，最多两位小数，不超过 {max}", "Bad amount: more than 0, at most 2 decimals, no more than {max}"),
    # admin
    "confirm.title": ("请输入手机号后四位", "Key the last 4 digits of your phone"),
    "confirm.hint": ("为确认是您本人，请输入手机号后四位", "To be sure it is you, key your phone's last 4 digits"),
    "confirm.wrong": ("号码不对，还可以再试 {left} 次", "Those digits do not match: {left} tries left"),
    "confirm.need_four": ("请输入4位数字", "Please key 4 digits"),
    "pin.title": ("请输入管理密码", "Enter the admin PIN"),
    "pin.wrong": ("密码不正确，请重新输入", "Wrong PIN, please try again"),
    "pin.wrong_tries_left": ("密码不正确，还可以再试 {left} 次", "Wrong PIN: {left} tries left before the screen locks"),
    "pin.wrong_last_try": ("密码不正确，还可以再试 1 次，再错将锁定", "Wrong PIN: 1 try left before the screen locks"),
    "pin.locked": ("密码错误次数过多，已锁定，请在 {time} 后重试", "Too many wrong PINs: locked, try again at {time}"),
    "pin.ok": ("确定", "OK"),
    "pin.clear": ("清除", "Clear"),
    "pin.back": ("返回", "Back"),
    "admin.payments": ("今日流水", "Today's payments"),
    "admin.sync": ("同步", "Sync"),
    "admin.queue": ("离线队列", "Offline queue"),
    "admin.shift": ("交班", "Shift close"),
    "admin.setup": ("安装向导", "Setup wizard"),
    "admin.exit": ("退出管理", "Leave admin"),
    "admin.search": ("搜索：姓名或单号", "Search: name or payment id"),
    "admin.search_button": ("搜索", "Search"),
    "admin.col_time": ("时间", "Time"),
    "admin.col_name": ("姓名", "Name"),
    "admin.col_amount": ("金额", "Amount"),
    "admin.col_method": ("方式", "Method"),
    "admin.col_status": ("状态", "Status"),
    "admin.col_id": ("单号", "Id"),
    "admin.refund": ("退款", "Refund"),
    "admin.void": ("撤销", "Void"),
    "admin.reason": ("原因（必填）", "Reason (required)"),
    "admin.refund_amount": ("退款金额（元）", "Amount to refund (yuan)"),
    "admin.pick_row": ("请先在列表中选一笔", "Pick a payment in the list first"),
    "admin.need_reason": ("请填写原因", "Please give a reason"),
    "admin.bad_amount": ("金额不对：最多两位小数，且不超过原金额 {max}", "Bad amount: at most 2 decimals and no more than {max}"),
    "admin.working": ("正在处理，请稍候…", "Working, please wait…"),
    "admin.refunded": ("已退款 {amount}", "Refunded {amount}"),
    "admin.voided": ("已撤销 {amount}", "Voided {amount}"),
    "admin.refund_declined": ("未能退款：{reason}", "Refund not done: {reason}"),
    "admin.failed": ("操作失败：{error}。请稍后再试，或联系管理员", "Failed: {error}. Try again later or call the admin"),
    "admin.sync_now": ("立即同步", "Sync now"),
    "admin.online": ("已连接后台", "Connected to the backend"),
    "admin.offline_since": ("离线中，自 {time} 起", "Offline since {time}"),
    "admin.offline": ("离线中", "Offline"),
    "admin.queue_depth": ("待上传 {n} 笔", "{n} waiting to upload"),
    "admin.last_push": ("上次上传 {time}", "Last upload {time}"),
    "admin.last_pull": ("上次下载 {time}", "Last download {time}"),
    "admin.never": ("从未", "never"),
    "admin.skew": ("时钟偏差 {s} 秒", "Clock skew {s} s"),
    "admin.declined_after": ("事后拒付 {n} 笔", "{n} refused after the fact"),
    "admin.last_error": ("最近错误：{error}", "Last error: {error}"),
    "admin.queue_title": ("等待上传的离线支付", "Offline payments waiting to upload"),
    "admin.declined_title": ("事后被后台拒绝的支付（请联系本人补缴）", "Refused by the backend afterwards (ask the person to pay)"),
    "admin.close_shift": ("交班结账", "Close the shift"),
    "admin.close_shift_confirm": ("确认交班", "Confirm: close the shift"),
    "admin.shift_running": ("本班至今（尚未交班）", "This shift so far (not closed yet)"),
    "admin.shift_confirm_hint": ("交班后本班结束并与后台核对。核对无误请按“确认交班”。",
                                 "Closing ends this shift and checks it with the backend. If the totals are right, press Confirm."),
    "admin.shift_from": ("班次 {start} – {end}", "Shift {start} – {end}"),
    "admin.shift_method": ("{method}：{count} 笔，{amount}", "{method}: {count} payments, {amount}"),
    "admin.shift_refunds": ("退款：{count} 笔，{amount}", "Refunds: {count}, {amount}"),
    "admin.shift_total": ("合计：{count} 笔，{amount}", "Total: {count} payments, {amount}"),
    "admin.shift_queued": ("尚未上传 {n} 笔", "{n} not uploaded yet"),
    "admin.shift_balanced": ("后台核对：一致", "Checked with the backend: it agrees"),
    "admin.shift_differences": ("后台核对：发现 {n} 处不一致，请联系运营核查", "Checked with the backend: {n} differences, call the operator"),
    "admin.shift_pushed": ("按后台要求已补传 {n} 笔", "{n} payments uploaded at the backend's request"),
    "admin.shift_diff_payment": ("· {message}（{method}支付 {id}：终端 {terminal}，后台 {backend}）", "· {message} ({method} payment {id}: terminal {terminal}, backend {backend})"),
    "admin.shift_diff_method": ("· {message}（{method}：终端 {terminal}，后台 {backend}）", "· {message} ({method}: terminal {terminal}, backend {backend})"),
    "admin.shift_none": ("无", "none"),
    "admin.shift_diff_more": ("· 另有 {n} 处，请在后台管理页面查看", "· {n} more: see the backend's admin page"),
    "admin.recheck_shift": ("重新核对", "Check again"),
    "status.queued": ("待上传", "queued"),
    "status.booked": ("已入账", "booked"),
    "status.declined_after_fact": ("事后拒付", "refused later"),
    "status.refunded": ("已退款", "refunded"),
    "status.voided": ("已撤销", "voided"),
    # installer wizard
    "wiz.title": ("安装向导", "Setup wizard"),
    "wiz.next": ("下一步", "Next"),
    "wiz.back": ("上一步", "Back"),
    "wiz.finish": ("完成", "Finish"),
    "wiz.step": ("第 {i} 步，共 {n} 步", "Step {i} of {n}"),
    "wiz.scene": ("选择使用场景", "Choose the scene"),
    "wiz.scene_canteen": ("食堂闸机", "Canteen gate"),
    "wiz.scene_parking": ("停车场车道", "Parking lane"),
    "wiz.direction": ("这条车道是", "This lane is the"),
    "wiz.direction_entry": ("入口", "Entry"),
    "wiz.direction_exit": ("出口", "Exit"),
    "wiz.backend": ("连接后台", "Connect to the backend"),
    "wiz.url": ("后台地址", "Backend address"),
    "wiz.code": ("一次性注册码", "One-time enrolment code"),
    "wiz.register": ("注册终端", "Register this terminal"),
    "wiz.registered": ("注册成功：终端 {id}（{name}）", "Registered: terminal {id} ({name})"),
    "wiz.discover": ("查找设备", "Find devices"),
    "wiz.rescan": ("重新查找", "Search again"),
    "wiz.found": ("找到 {n} 个设备", "Found {n} devices"),
    "wiz.found_none": ("没有找到设备，请检查连线后重新查找，或使用模拟器", "No devices found: check the cables and search again, or use a simulator"),
    "wiz.device": ("设置 {name}", "Set up {name}"),
    "wiz.kind": ("设备类型", "Kind"),
    "wiz.driver": ("驱动", "Driver"),
    "wiz.port": ("接口（串口或摄像头编号）", "Port (serial port or camera index)"),
    "wiz.enabled": ("启用", "Use this device"),
    "wiz.test": ("现场测试", "Test it now"),
    "wiz.test_running": ("正在测试…", "Testing…"),
    "wiz.test_ok": ("测试通过：{detail}", "Test passed: {detail}"),
    "wiz.test_failed": ("测试未通过：{detail}", "Test failed: {detail}"),
    "wiz.test_hint.camera": ("请站到摄像头前，画面中应出现人脸框", "Stand in front of the camera: a box should appear around the face"),
    "wiz.test_hint.scanner": ("请把付款码或任意条码放到扫码器下", "Hold a pay code or any barcode under the scanner"),
    "wiz.test_hint.card_reader": ("请在读卡器上刷一张卡", "Tap a card on the reader"),
    "wiz.test_hint.gate": ("闸机应开合一次", "The gate should open and close once"),
    "wiz.test_hint.voice": ("应能听到一句提示音", "You should hear a voice prompt"),
    "wiz.test_hint.display": ("显示屏应显示一行测试文字", "The display should show a test line"),
    "wiz.test_hint.plate_camera": ("先在相机的“HTTP 推送”里填好本机的推送地址，再让车辆或车牌照片对准相机", "Put this terminal's push URL into the camera's HTTP push settings, then put a car or a plate photo in front of it"),
    "wiz.this_ip": ("本机IP", "this-terminal-IP"),
    "wiz.plate_hint_url": ("测试前，在相机的“HTTP 推送”里填写推送地址：{url}，再让车辆或车牌照片对准相机",
                           "Before the test, set the camera's HTTP push URL to {url}, then put a car or a plate photo in front of it"),
    "wiz.plate_hint_no_cameras": ("允许列表中还没有相机：填写相机序列号和IP，或直接测试，收到的推送会自动填入",
                                  "No camera on the allow-list yet: add its serial number and IP, or just test: the camera that pushes is filled in"),
    "wiz.plate_hint_simulated": ("模拟相机：按“现场测试”会推送一张测试车牌", "Simulated camera: the test pushes a sample plate"),
    "wiz.save": ("保存设置", "Save the settings"),
    "wiz.pin": ("管理密码（数字）", "Admin PIN (digits)"),
    "wiz.pin_again": ("再输入一次管理密码", "Admin PIN again"),
    "wiz.pin_keep": ("留空则保留原来的管理密码", "Leave empty to keep the current PIN"),
    "wiz.not_saved": ("终端配置暂不能保存这些设备，请告诉技术支持：{names}", "The terminal config cannot hold these devices yet; tell support: {names}"),
    "wiz.saved": ("已保存到 {path}，重启终端后生效", "Saved to {path}; restart the terminal to use it"),
    "wiz.doctor": ("全面检查", "Check everything"),
    "wiz.doctor_run": ("开始检查", "Run the checks"),
    "wiz.doctor_ok": ("全部正常，可以投入使用", "All good: the terminal is ready"),
    "wiz.doctor_simulators": ("检查通过，但有 {n} 台是模拟器：仅供演示和培训，不可投入使用",
                              "Checks passed, but {n} devices are simulators: for demos and training only, not for service"),
    "wiz.doctor_simulator_note": ("（模拟器，不可投入使用）", " (simulator: not for service)"),
    "wiz.doctor_bad": ("有 {n} 项需要处理，见下方说明", "{n} things need attention, see below"),
    "wiz.untested": ("{name} 还没有测试通过", "{name} has not passed its test yet"),
    "wiz.lane_gate": ("付款成功后打开哪一个闸机？", "Which gate does an approved payment open?"),
    "wiz.barrier_via": ("车道道闸由谁抬杆？", "What lifts this lane's barrier?"),
    "wiz.barrier_via.gate": ("本机的闸机继电器", "This terminal's gate relay"),
    "wiz.barrier_via.camera": ("车牌相机自带的道闸输出", "The plate camera's own barrier output"),
    "form.add": ("再加一台", "Add another"),
    "form.remove": ("删除", "Remove"),
    "choice.direction.in": ("入口", "entry"),
    "choice.direction.out": ("出口", "exit"),
    "choice.direction.unknown": ("未指定", "not set"),
    "choice.voice_via.board": ("LED/语音屏", "LED/voice board"),
    "choice.voice_via.camera": ("相机自带喇叭", "the camera's speaker"),
    "choice.vendor.vzenith": ("臻识 Vzenith", "Vzenith"),
    "driver.serial_scanner": ("串口扫码器", "Serial code scanner"),
    "driver.hid_scanner": ("USB 扫码枪（键盘式）", "USB code scanner (keyboard)"),
    "driver.camera_scanner": ("用摄像头扫码", "Codes read by a camera"),
    "driver.serial_card_reader": ("串口读卡器", "Serial card reader"),
    "driver.modbus_gate": ("Modbus 继电器闸机（RS-485）", "Modbus relay gate (RS-485)"),
    "driver.numato_gate": ("Numato USB 继电器闸机", "Numato USB relay gate"),
    "driver.voice": ("语音播报（扬声器）", "Voice (speaker)"),
    "driver.lane_display": ("车道 LED 显示屏", "Lane LED display"),
    "driver.plate_push": ("车牌相机推送（臻识等）", "Plate camera push (Vzenith and alike)"),
    "driver.camera_plate_reader": ("软件识别车牌（普通摄像头）", "Plates read by software (any camera)"),
    "driver.opencv_camera": ("USB 或网络摄像头", "USB or network camera"),
    "driver.simulated_camera": ("模拟摄像头（播放图片，不可投入使用）", "Simulated camera (plays pictures; not for service)"),
    "kind.camera": ("人脸摄像头", "Face camera"),
    "kind.scanner": ("扫码器", "Code scanner"),
    "kind.card_reader": ("读卡器", "Card reader"),
    "kind.gate": ("闸机", "Gate"),
    "kind.voice": ("语音播报", "Voice"),
    "kind.plate_camera": ("车牌相机", "Plate camera"),
    "kind.barrier": ("道闸", "Barrier"),
    "kind.display": ("车道显示屏", "Lane display"),
    # per-field errors in the wizard (Home Assistant's config-flow style)
    "err.scene_required": ("请选择一个场景", "Please choose a scene"),
    "err.direction_required": ("请选择这是入口还是出口车道", "Choose whether this is an entry or an exit lane"),
    "err.url_required": ("请填写后台地址", "Please enter the backend address"),
    "err.url_invalid": ("地址格式不对，应以 http:// 或 https:// 开头，例如 https://pay.example.cn", "The address must start with http:// or https://, e.g. https://pay.example.cn"),
    "err.code_required": ("请填写注册码", "Please enter the enrolment code"),
    "err.code_invalid": ("注册码应为 6 到 64 位字母或数字，请核对", "The code is 6 to 64 letters or digits: please check it"),
    "err.cannot_connect": ("连不上后台，请检查网线和地址后重试", "Cannot reach the backend: check the network cable and the address"),
    "err.code_rejected": ("注册码无效、已用过或已过期，请向银行要一个新的", "The code is wrong, used or expired: ask the bank for a new one"),
    "err.register_failed": ("注册失败：{error}", "Registration failed: {error}"),
    "err.not_registered": ("请先注册终端", "Please register the terminal first"),
    "err.port_required": ("请选择接口", "Please choose a port"),
    "err.driver_required": ("请选择驱动", "Please choose a driver"),
    "err.config_invalid": ("设置有误：{error}", "Settings are not valid: {error}"),
    "err.pin_format": ("管理密码应为 {min} 到 {max} 位数字", "The admin PIN must be {min} to {max} digits"),
    "err.pin_mismatch": ("两次输入的密码不一致，请重新输入", "The two PINs differ: enter them again"),
    "err.save_failed": ("保存失败：{error}", "Could not save: {error}"),
    "err.gate_choose": ("请从上面的闸机中选择本通道要打开的那一个", "Choose, from the gates above, the one this lane opens"),
    "err.barrier_no_gate": ("没有设置闸机：请选择由车牌相机抬杆，或回到前面加一台闸机", "No gate is set up: choose the plate camera, or go back and add a gate"),
    "err.barrier_no_camera": ("没有设置推送车牌的相机：请选择由闸机抬杆，或回到前面加一台车牌相机", "No plate camera pushes to this lane: choose the gate, or go back and add a plate camera"),
    "err.name_twice": ("名称“{name}”重复了，请换一个", "The name “{name}” is used twice: choose another"),
    "err.name_taken": ("名称“{name}”已被另一台设备使用，请换一个", "Another device is already named “{name}”: choose another"),
}

# Reasons only the screens word. Declines are worded by the core (core/reasons.py,
# core/funding.py, terminal/canteen.py's face rejections) and arrive in the outcome's
# message_zh/message_en; for an outcome without words the core's tables are read, then this one.
REASONS: dict[str, tuple[str, str]] = {
    "card_unknown": ("这张卡没有登记，请到服务台办理", "This card is not registered: please go to the service desk"),
    "paycode_invalid": ("付款码无效，请刷新付款码后重试", "The pay code is not valid: refresh it and try again"),
    "backend_unreachable": ("连不上后台，请稍后再试或改用其他方式", "Cannot reach the backend: try again later or pay another way"),
    "plate_not_signed": ("车牌未签约无感支付，请扫码缴费", "Plate is not signed up for contactless: scan the QR code to pay"),
    "plate_unreadable": ("车牌识别不清，请稍等值班员处理", "Plate could not be read: please wait for the attendant"),
    "no_entry_record": ("没有找到入场记录，请联系值班员", "No entry record found: please call the attendant"),
    "lot_full": ("车位已满，请稍后再来", "The car park is full, please come back later"),
    "blacklisted": ("该车辆不能入场，请联系值班员", "This vehicle may not enter: please call the attendant"),
}
UNKNOWN_REASON = ("暂时无法支付，请联系工作人员", "Cannot pay right now: please ask the staff")


def core_reason_tables() -> list[dict[str, tuple[str, str]]]:
    """The core's decline wordings (imported late: they are plain data, but live in terminal/)."""
    from terminal.canteen import FACE_REJECTIONS
    from core.funding import DECLINE_MESSAGES
    from core.reasons import MESSAGES

    return [FACE_REJECTIONS, MESSAGES, DECLINE_MESSAGES]


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
        the actual limits), then the core's tables, then this one, then a safe sentence."""
        if message_zh or message_en:
            return self.pick(message_zh, message_en)
        for table in core_reason_tables():
            words = table.get(code or "")
            if words and "{" not in words[0] + words[1]:    # templates need the core's values
                return self._pick(words)
        return self._pick(REASONS.get(code or "", UNKNOWN_REASON))

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

    def datetime(self, at: datetime | None) -> str:
        return self.local(at).strftime("%Y-%m-%d %H:%M") if at else self.t("admin.never")
