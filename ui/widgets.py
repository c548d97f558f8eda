"""Small pieces the screens share: the offline banner, the camera preview, QR codes, images."""
from __future__ import annotations

import io
import threading
from typing import Callable, Sequence

import numpy as np
import segno
from PySide6.QtCore import QObject, QRect, QRectF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QWidget

from sync.status import SyncStatus
from ui.i18n import Translator


def label(text: str = "", role: str = "", wrap: bool = True,
          align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
    """A QLabel with a theme role (objectName) and word wrap: Chinese sentences must never clip."""
    widget = QLabel(text)
    if role:
        widget.setObjectName(role)
    widget.setWordWrap(wrap)
    widget.setAlignment(align)
    return widget


class ScrollSafeComboBox(QComboBox):
    """A dropdown the mouse wheel changes only once it has focus (clicked or tabbed to): scrolling
    a long form past it must not silently change a device's driver or a lane's direction."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)   # the wheel alone does not focus it

    def wheelEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()          # the scroll area behind scrolls instead


def qimage_from_bgr(frame: np.ndarray) -> QImage:
    """An OpenCV BGR (or grey) frame as a QImage that owns its pixels."""
    if frame.ndim == 2:
        h, w = frame.shape
        return QImage(np.ascontiguousarray(frame).data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    h, w, _ = frame.shape
    data = np.ascontiguousarray(frame[:, :, :3])
    return QImage(data.data, w, h, 3 * w, QImage.Format.Format_BGR888).copy()


def qr_pixmap(text: str, size_px: int) -> QPixmap:
    """The exit order's QR code (segno), scaled without smoothing so phones read it easily."""
    qr = segno.make(text, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap.scaled(size_px, size_px, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)


def follow_language(widget: QWidget, tr: Translator, redraw: Callable[[], None]) -> None:
    """Redraw `widget` when the language changes, for as long as the widget lives (a wizard
    opened and closed again must not be called after Qt deleted it)."""
    def listener(_language: str) -> None:
        redraw()

    tr.on_change(listener)
    widget.destroyed.connect(lambda *_: tr.off_change(listener))


def set_role(widget: QWidget, role: str) -> None:
    """Give a widget another theme role (objectName) and restyle it at once."""
    if widget.objectName() != role:
        widget.setObjectName(role)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class ViewScreen(QWidget):
    """A screen that shows one view at a time (subclasses define `render(view)`). It keeps the
    last view, so a language switch or a resize can draw it again."""

    def __init__(self, tr: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = tr
        self._view: object | None = None
        follow_language(self, tr, self.rerender)

    @property
    def view(self):  # noqa: ANN201 - the subclass's view type
        return self._view

    def rerender(self) -> None:
        if self._view is not None:
            self.render(self._view)  # type: ignore[attr-defined]


class OfflineBanner(QLabel):
    """Shown across the top while the terminal is offline, with how many payments wait."""

    def __init__(self, tr: Translator):
        super().__init__()
        self.setObjectName("banner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self._tr = tr
        self.hide()

    def show_status(self, sync: SyncStatus | None) -> None:
        if sync is None:
            self.hide()
            return
        parts = []
        if not sync.online:
            parts.append(self._tr.t("offline.banner", n=sync.queue_depth) if sync.queue_depth
                         else self._tr.t("offline.banner_empty"))
        if sync.clock_skew_s is not None and abs(sync.clock_skew_s) > 30:
            parts.append(self._tr.t("offline.skew", s=round(sync.clock_skew_s)))
        self.setText("  ·  ".join(parts))
        self.setVisible(bool(parts))


class CameraPreview(QWidget):
    """The live picture with a face frame guide; optional face boxes (the wizard's camera test).

    Frames arrive as QImages from a FramePump (never read here: the camera is not touched on the
    UI thread). Without a frame it shows a dark area with the guide, so the screen still says
    where to look.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._image: QImage | None = None
        self._boxes: list[tuple[int, int, int, int]] = []   # (top, right, bottom, left) in frame px
        self.guide_colour = QColor("#63b3ed")
        self.face_guide = True          # off for a plate camera's photo

    def set_frame(self, image: QImage | np.ndarray | None) -> None:
        self._image = qimage_from_bgr(image) if isinstance(image, np.ndarray) else image
        self.update()

    def set_face_boxes(self, boxes: Sequence[tuple[int, int, int, int]]) -> None:
        self._boxes = list(boxes)
        self.update()

    def has_frame(self) -> bool:
        return self._image is not None and not self._image.isNull()

    def face_boxes(self) -> list[tuple[int, int, int, int]]:
        return list(self._boxes)

    def _target(self) -> tuple[QRect, float, float, float]:
        """Where the frame is drawn (cover the widget, centred) and its scale and offsets."""
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        scale = max(self.width() / iw, self.height() / ih)
        dw, dh = iw * scale, ih * scale
        ox, oy = (self.width() - dw) / 2, (self.height() - dh) / 2
        return QRect(round(ox), round(oy), round(dw), round(dh)), scale, ox, oy

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#0b1726"))
        if self.has_frame():
            target, scale, ox, oy = self._target()
            painter.drawImage(target, self._image)
            painter.setPen(QPen(QColor("#48bb78"), max(2, self.height() // 120)))
            for top, right, bottom, left in self._boxes:
                painter.drawRect(QRectF(ox + left * scale, oy + top * scale,
                                        (right - left) * scale, (bottom - top) * scale))
        if not self.face_guide:
            painter.end()
            return
        # face frame guide: an upright oval where the face should be
        h = self.height() * 0.72
        w = min(self.width() * 0.8, h * 0.78)
        pen = QPen(self.guide_colour, max(3, self.height() // 90), Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawEllipse(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h))
        painter.end()


def set_scaled_image(target: QLabel, path_or_image: str | QImage | None, width: int, height: int,
                     empty_text: str) -> None:
    """A plate photo (or any picture) fitted into the label's box; a plain text when there is none."""
    image = QImage(path_or_image) if isinstance(path_or_image, str) else path_or_image
    if image is None or image.isNull():
        target.setPixmap(QPixmap())
        target.setText(empty_text)
        return
    target.setText("")
    target.setPixmap(QPixmap.fromImage(image).scaled(
        max(1, width), max(1, height), Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation))


class FramePump(QThread):
    """Reads frames with `read()` on its own thread and emits them as QImages for the preview.

    `read` is a camera's blocking frame call (or a simulator's) returning a hardware.camera.Frame
    or a BGR array; None means no frame this time.
    A failing camera emits `failed` with its message and the pump keeps trying at a slower pace.
    """

    frame = Signal(QImage)
    failed = Signal(str)

    def __init__(self, read: Callable[[], np.ndarray | None], fps: float = 10.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._read = read
        self._period = 1.0 / max(0.5, fps)
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._read()
            except Exception as exc:  # noqa: BLE001 - a camera failure must not kill the screen
                self.failed.emit(str(exc))
                self._stop.wait(1.0)
                continue
            image = getattr(frame, "image", frame)   # hardware.camera.Frame or a bare array
            if image is not None:
                self.frame.emit(qimage_from_bgr(image))
            self._stop.wait(self._period)

    def stop(self) -> None:
        self._stop.set()
        self.wait(3000)
