"""The plain data the installer's services return to the wizard, and the bundle of services the
wizard is given. An error is a `FieldError`: the i18n key and its values, so the wizard shows it
in the person's language and can switch language without asking again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel


@dataclass(frozen=True)
class FieldError:
    key: str                                  # i18n key, e.g. "err.url_invalid"
    values: dict[str, Any] = field(default_factory=dict)
    zh: str = ""                              # words that came from elsewhere (backend, device)
    en: str = ""


Errors = dict[str, FieldError]                # field name -> its error ("" = the whole step)


@dataclass(frozen=True)
class FoundDevice:
    """A device the wizard found (or a simulator it offers), with a starting config."""
    kind: str          # camera | scanner | card_reader | gate | voice | plate_camera | display
    label: str         # what the installer reads: "/dev/ttyUSB0 (CH340)", "摄像头 0", "模拟扫码器"
    config: dict[str, Any]
    kinds: tuple[str, ...] = ()   # a serial port could be any of these: the installer says which
    checked: bool = True          # ticked when the list first appears


@dataclass(frozen=True)
class LiveTestResult:
    """One live device test, in both languages; a camera test also carries its frame and boxes."""
    ok: bool
    zh: str
    en: str
    frame: Any = None                      # numpy BGR image for the preview
    boxes: tuple[tuple[int, int, int, int], ...] = ()   # (top, right, bottom, left)
    learned: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)   # rows the test
    # found for a list field ({"cameras": ({"serialno", "address"},)}): the form fills them in


@dataclass(frozen=True)
class DoctorLine:
    name: str
    ok: bool
    zh: str
    en: str
    fix_zh: str = ""
    fix_en: str = ""
    simulator: bool = False      # passed, but stands in for hardware: not ready for service


@dataclass
class SetupServices:
    """Everything the wizard does that touches the network, a device or a file: given to it."""
    register: Callable[[str, str], Any]
    discover: Callable[[str | None, str | None], list[FoundDevice]]   # (scene, lane direction)
    models_for: Callable[[str], list[type[BaseModel]]]
    live_test: Callable[[str, BaseModel], LiveTestResult]
    validate: Callable[[dict[str, Any]], Errors]
    save: Callable[[dict[str, Any]], str]
    doctor: Callable[[dict[str, Any]], list[DoctorLine]]
    initial: dict[str, Any] = field(default_factory=dict)    # the current config, when re-run
