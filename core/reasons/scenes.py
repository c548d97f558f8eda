"""Why a gate did not take a diner or a car before any money moved: face refusals, codes the
terminal cannot read, lane situations, and the link to the backend failing.

code -> (Chinese, English), Chinese first, each saying what to do next.
"""
from __future__ import annotations

# The face loop and the canteen scene refusing a face or a code (terminal/face_loop.py,
# terminal/face_confirm.py, terminal/canteen.py).
FACE: dict[str, tuple[str, str]] = {
    "no_match": ("未识别到已登记的人脸，请刷卡或扫码", "Face not recognised: tap a card or show a pay code"),
    "ambiguous": ("无法确认身份，请正对摄像头或刷卡", "Could not tell who you are: face the camera or tap a card"),
    "too_small": ("请靠近一点", "Please come closer"),
    "blurry": ("请稍停片刻", "Please hold still"),
    "not_frontal": ("请正对摄像头", "Please face the camera"),
    "spoof": ("未通过活体检测，请本人正对摄像头重试，或刷卡、扫码",
              "Liveness check failed: face the camera in person and try again, or tap a card or show a pay code"),
    "bad_frame": ("摄像头画面异常，请刷卡或扫码，并告知工作人员",
                  "The camera picture is faulty: tap a card or show a pay code, and tell the staff"),
    "liveness_timeout": ("活体检测超时，请眨眼后重试", "Liveness check timed out: blink and try again"),
    "liveness_needed": ("需要活体检测，请眨眼", "A liveness check is needed: please blink"),
    "digits_refused": ("手机号后四位核对未通过，请刷卡或扫码", "The phone digits did not match: tap a card or show a pay code"),
    "digits_locked": ("手机号后四位多次核对未通过，请10分钟后再试，或刷卡、扫码",
                      "The phone digits failed several times: try again in 10 minutes, or tap a card or show a pay code"),
    "unknown_code": ("无法识别此付款码，请换用微信、支付宝或校园码", "This code is not a pay code: use WeChat, Alipay or a campus code"),
}

# What the kiosk screens say for a card, a plate or a lane situation (ui/canteen.py, ui/parking.py).
SCREEN: dict[str, tuple[str, str]] = {
    "card_unknown": ("这张卡没有登记，请到服务台办理", "This card is not registered: please go to the service desk"),
    "backend_unreachable": ("连不上后台，请稍后再试或改用其他方式", "Cannot reach the backend: try again later or pay another way"),
    "plate_not_signed": ("车牌未签约无感支付，请扫码缴费", "Plate is not signed up for contactless: scan the QR code to pay"),
    "plate_unreadable": ("车牌识别不清，请稍等值班员处理", "Plate could not be read: please wait for the attendant"),
    "no_entry_record": ("没有找到入场记录，请联系值班员", "No entry record found: please call the attendant"),
    "lot_full": ("车位已满，请稍后再来", "The car park is full, please come back later"),
    "blacklisted": ("该车辆不能入场，请联系值班员", "This vehicle may not enter: please call the attendant"),
    "not_a_car_park": ("本终端所在站点不是停车场，请联系安装人员", "This terminal's site is not a car park: please call the installer"),
    "unknown_reason": ("暂时无法支付，请联系工作人员", "Cannot pay right now: please ask the staff"),
}

# sync.client.SyncFailure reasons, for the admin screen, the wizard and the doctor.
SYNC: dict[str, tuple[str, str]] = {
    "unreachable": ("连不上后台，请检查网络", "Cannot reach the backend: check the network"),
    "timeout": ("后台响应超时", "The backend did not answer in time"),
    "server_error": ("后台出错，稍后自动重试", "The backend had an error: retrying by itself"),
    "refused": ("后台拒绝了请求", "The backend refused the request"),
    "unauthorised": ("终端认证失败，请检查时间或重新注册", "The backend does not accept this terminal: check the clock or register again"),
    "bad_answer": ("后台返回了无法识别的数据", "The backend answered something the terminal cannot read"),
}
