"""Linux input events from a keyboard-wedge scanner, decoded without the evdev package.

A read from /dev/input/eventN returns whole `struct input_event` records. On 64-bit Linux that
is struct timeval (two longs) + __u16 type + __u16 code + __s32 value = 24 bytes, "llHHi"
(linux/input.h). Key codes are from linux/input-event-codes.h; the text is what a US keyboard
layout types, which is how scanners are shipped.
"""
from __future__ import annotations

import struct

EVENT = struct.Struct("llHHi")
EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2
SHIFTS = {42, 54}          # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
CAPSLOCK = 58
ENTERS = {28, 96}          # KEY_ENTER, KEY_KPENTER
IGNORED = {29, 97, 56, 100, 125, 126}  # ctrl, alt, meta: some scanners wrap codes with them

# keycode -> (plain, shifted)
_ROWS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(", 11: "0)",
    12: "-_", 13: "=+", 26: "[{", 27: "]}", 39: ";:", 40: "'\"", 41: "`~", 43: "\\|",
    51: ",<", 52: ".>", 53: "/?", 57: "  ",
    # keypad
    71: "77", 72: "88", 73: "99", 74: "--", 75: "44", 76: "55", 77: "66", 78: "++",
    79: "11", 80: "22", 81: "33", 82: "00", 83: "..", 98: "//", 55: "**",
}
for _codes, _letters in ((range(16, 26), "qwertyuiop"), (range(30, 39), "asdfghjkl"), (range(44, 51), "zxcvbnm")):
    for _code, _letter in zip(_codes, _letters):
        _ROWS[_code] = _letter + _letter.upper()
KEYMAP: dict[int, tuple[str, str]] = {code: (pair[0], pair[1]) for code, pair in _ROWS.items()}
CHAR_TO_KEY: dict[str, tuple[int, bool]] = {}
for _code, (_plain, _shifted) in sorted(KEYMAP.items(), key=lambda kv: kv[0] < 71):
    # keypad first, so the main rows (what scanners send) win for characters on both
    CHAR_TO_KEY[_shifted] = (_code, _shifted != _plain)
    CHAR_TO_KEY[_plain] = (_code, False)


class KeyDecoder:
    """Feed raw bytes read from the device; get the texts completed by Enter. Partial records
    are kept for the next read; an unknown key spoils only its own line; a line longer than
    `max_chars` is dropped up to its Enter."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self._pending = b""
        self._chars: list[str] = []
        self._shift = 0
        self._caps = False
        self._spoiled = False
        self._overlong = False
        self.garbled = 0
        self.overlong = 0

    def feed(self, data: bytes) -> list[str]:
        data = self._pending + data
        whole = len(data) - len(data) % EVENT.size
        self._pending = data[whole:]
        lines: list[str] = []
        for _sec, _usec, etype, code, value in EVENT.iter_unpack(data[:whole]):
            if etype != EV_KEY:
                continue  # EV_SYN, EV_MSC scan codes, LEDs
            line = self._key(code, value)
            if line is not None:
                lines.append(line)
        return lines

    def _key(self, code: int, value: int) -> str | None:
        if code in SHIFTS:
            self._shift = max(0, self._shift + (1 if value == KEY_DOWN else -1 if value == KEY_UP else 0))
            return None
        if value == KEY_UP or code in IGNORED:
            return None
        if code == CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in ENTERS:
            return self._finish()
        pair = KEYMAP.get(code)
        if pair is None:
            self._spoiled = True
            return None
        if len(self._chars) >= self.max_chars:
            self._overlong = True
            return None
        upper = bool(self._shift) != (self._caps and pair[0].isalpha())
        self._chars.append(pair[1] if upper else pair[0])
        return None

    def _finish(self) -> str | None:
        text = "".join(self._chars)
        spoiled, overlong = self._spoiled, self._overlong
        self._chars, self._spoiled, self._overlong = [], False, False
        if overlong:
            self.overlong += 1
            return None
        if spoiled:
            self.garbled += 1
            return None
        return text or None


def key_event(code: int, value: int, sec: int = 0, usec: int = 0) -> bytes:
    return EVENT.pack(sec, usec, EV_KEY, code, value)


def syn_event() -> bytes:
    return EVENT.pack(0, 0, 0, 0, 0)


def encode_text(text: str, enter: bool = True) -> bytes:
    """The records a US-layout scanner sends for `text` (+ Enter): what the simulator writes."""
    out = bytearray()
    for char in text:
        if char not in CHAR_TO_KEY:
            raise ValueError(f"a keyboard scanner cannot type {char!r}")
        code, shifted = CHAR_TO_KEY[char]
        if shifted:
            out += key_event(42, KEY_DOWN) + syn_event()
        out += key_event(code, KEY_DOWN) + syn_event() + key_event(code, KEY_UP) + syn_event()
        if shifted:
            out += key_event(42, KEY_UP) + syn_event()
    if enter:
        out += key_event(28, KEY_DOWN) + syn_event() + key_event(28, KEY_UP) + syn_event()
    return bytes(out)
