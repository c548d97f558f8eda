"""Look and size of the kiosk: a CJK font, large touch targets, and sizes that follow the window.

Every size is derived from one unit: 1.0 at the smallest supported display (800×480) and growing
with the window up to 1920×1080 and beyond, so one layout serves a small gate display and a big
lane screen. Screens call `apply(widget)` from their resizeEvent.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QWidget

# WenQuanYi Micro Hei is what the project's set-up installs (fonts-wqy-microhei); the others are
# common on kiosks whose images were built elsewhere. The first one present wins.
CJK_FAMILIES = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC",
                "Microsoft YaHei", "PingFang SC")

BG = "#0f2237"
PANEL = "#18324f"
TEXT = "#ffffff"
MUTED = "#b8c7d9"
OK = "#1f9d55"
BAD = "#c53030"
WARN = "#d69e2e"
ACCENT = "#2b6cb0"

MIN_SIZE = (800, 480)


def cjk_family() -> str | None:
    """The first installed CJK font family, or None (Qt then falls back on its own)."""
    installed = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    return None


def install_font(app: QApplication) -> str | None:
    """Make the CJK font the application font, so Chinese never renders as boxes."""
    family = cjk_family()
    if family:
        font = QFont(family)
        font.setStyleHint(QFont.StyleHint.SansSerif)
        app.setFont(font)
    return family


@dataclass(frozen=True)
class Metrics:
    unit: float

    @classmethod
    def for_size(cls, width: int, height: int) -> "Metrics":
        unit = min(width / MIN_SIZE[0], height / MIN_SIZE[1])
        return cls(unit=max(0.75, min(unit, 3.0)))

    def px(self, base: float) -> int:
        return max(1, round(base * self.unit))


def stylesheet(m: Metrics) -> str:
    """One style sheet for every screen; widgets pick their role by objectName."""
    family = cjk_family()
    font = f'font-family: "{family}";' if family else ""
    return f"""
    QWidget {{ background: {BG}; color: {TEXT}; font-size: {m.px(17)}px; {font} }}
    QLabel {{ background: transparent; }}
    QFrame#panel, QWidget#panel {{ background: {PANEL}; border-radius: {m.px(10)}px; }}
    QLabel#title {{ font-size: {m.px(30)}px; font-weight: bold; }}
    QLabel#headline {{ font-size: {m.px(40)}px; font-weight: bold; }}
    QLabel#amount {{ font-size: {m.px(52)}px; font-weight: bold; }}
    QLabel#big {{ font-size: {m.px(24)}px; }}
    QLabel#muted {{ color: {MUTED}; }}
    QLabel#error {{ color: #feb2b2; font-size: {m.px(15)}px; }}
    QLabel#ok_text {{ color: #9ae6b4; }}
    QLabel#bad_text {{ color: #feb2b2; }}
    QLabel#banner {{ background: {WARN}; color: #1a202c; font-size: {m.px(20)}px; font-weight: bold;
                     padding: {m.px(6)}px; }}
    QLabel#offer {{ background: {WARN}; color: #1a202c; font-size: {m.px(22)}px; font-weight: bold;
                    border-radius: {m.px(10)}px; padding: {m.px(8)}px; }}
    QWidget#ok_card {{ background: {OK}; border-radius: {m.px(12)}px; }}
    QWidget#bad_card {{ background: {BAD}; border-radius: {m.px(12)}px; }}
    QWidget#warn_card {{ background: {WARN}; border-radius: {m.px(12)}px; }}
    QWidget#ok_card QLabel, QWidget#bad_card QLabel {{ color: {TEXT}; }}
    QWidget#warn_card QLabel {{ color: #1a202c; }}
    QPushButton {{ background: {ACCENT}; color: {TEXT}; border: none; border-radius: {m.px(8)}px;
                   min-height: {m.px(44)}px; min-width: {m.px(44)}px; padding: 0 {m.px(12)}px;
                   font-size: {m.px(18)}px; }}
    QPushButton:pressed {{ background: #2c5282; }}
    QPushButton:disabled {{ background: #4a5568; color: #a0aec0; }}
    QPushButton#small {{ min-height: {m.px(32)}px; font-size: {m.px(14)}px; background: {PANEL}; }}
    QPushButton#danger {{ background: {BAD}; }}
    QLineEdit, QComboBox, QSpinBox {{ background: #ffffff; color: #1a202c; border-radius: {m.px(6)}px;
                   min-height: {m.px(40)}px; padding: 0 {m.px(8)}px; font-size: {m.px(17)}px; }}
    QLineEdit[invalid="true"], QComboBox[invalid="true"] {{ border: {m.px(3)}px solid #fc8181; }}
    QComboBox QAbstractItemView {{ background: #ffffff; color: #1a202c; }}
    QTableWidget {{ background: #ffffff; color: #1a202c; gridline-color: #cbd5e0;
                    font-size: {m.px(15)}px; }}
    QHeaderView::section {{ background: {PANEL}; color: {TEXT}; padding: {m.px(4)}px;
                            font-size: {m.px(14)}px; }}
    QTabBar::tab {{ background: {PANEL}; color: {TEXT}; min-height: {m.px(40)}px;
                    padding: 0 {m.px(14)}px; font-size: {m.px(16)}px; }}
    QTabBar::tab:selected {{ background: {ACCENT}; }}
    QCheckBox, QRadioButton {{ font-size: {m.px(18)}px; min-height: {m.px(40)}px; }}
    QCheckBox::indicator, QRadioButton::indicator {{ width: {m.px(26)}px; height: {m.px(26)}px; }}
    QCheckBox::indicator {{ border: {m.px(2)}px solid {MUTED}; border-radius: {m.px(4)}px; background: #ffffff; }}
    QCheckBox::indicator:checked {{ background: {OK}; border-color: #ffffff; }}
    """


def apply(widget: QWidget) -> Metrics:
    """Restyle a top-level screen for its current size (cheap: only when the unit changes)."""
    m = Metrics.for_size(max(widget.width(), 1), max(widget.height(), 1))
    if widget.property("theme_unit") != m.unit:
        widget.setProperty("theme_unit", m.unit)
        widget.setStyleSheet(stylesheet(m))
    return m
