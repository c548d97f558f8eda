"""What the backend tells an operator about a terminal's shift or a photo at the signing desk.

code -> (Chinese, English). A desk photo's verdict is the face pipeline's own code (too_small,
blurry, ...), which the diner meets in other words: here it is keyed `photo_<code>`.
"""
from __future__ import annotations

# backend/reconciliation/terminal.py: a closed shift compared with the backend's bookings.
SHIFT: dict[str, tuple[str, str]] = {
    "push_needed": ("这笔支付还在终端队列中，请立即上传", "This payment is still in the terminal's queue: push it now"),
    "not_booked": ("终端记录的这笔支付后台没有，请联系运营核查", "The terminal took this payment but the backend has none: call the operator"),
    "unknown_to_terminal": ("后台有这笔支付但终端没有记录，请核查", "The backend booked this payment but the terminal has no record: check it"),
    "amount_differs": ("这笔支付终端与后台金额不一致，请核查", "The terminal and the backend disagree on this payment's amount: check it"),
    "totals_differ": ("该支付方式的笔数或金额与后台不一致", "The count or sum for this method differs from the backend"),
}

PHOTO_PREFIX = "photo_"

# backend/services/face_desk.py: why the desk will not use a photo (the operator can act on each).
PHOTO: dict[str, tuple[str, str]] = {PHOTO_PREFIX + code: words for code, words in {
    "bad_frame": ("不是可读取的照片（请上传JPG或PNG）", "Not a readable photo (upload a JPG or PNG)"),
    "too_large": ("照片太大（最大5MB）", "The photo is too large (5 MB at most)"),
    "too_many_pixels": ("照片像素过多（最多4000万像素）", "The photo has too many pixels (40 megapixels at most)"),
    "no_face": ("照片中没有检测到人脸", "No face found in the photo"),
    "several_faces": ("照片中有多张人脸，请只拍本人", "More than one face in the photo: only the diner, please"),
    "too_small": ("人脸太小，请靠近拍摄", "The face is too small: take the photo closer"),
    "blurry": ("照片模糊，请重新拍摄", "The photo is blurry: take it again"),
    "not_frontal": ("人脸不够正面，请正对镜头", "The face is not frontal: look straight at the camera"),
    "ok": ("可用", "Usable"),
}.items()}
