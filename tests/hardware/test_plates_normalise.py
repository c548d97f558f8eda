"""core/plates.py: what a driver, cashier or camera types becomes one canonical plate, or a
clear refusal in Chinese and English."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from core.plates import COLOURS, PROVINCES, Plate, PlateError, is_valid_plate, normalise_plate

SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
AUTHORITY = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@pytest.mark.parametrize("raw, colour, text, kind, out_colour", [
    ("京A12345", "blue", "京A12345", "ordinary", "blue"),
    ("京a·12345", None, "京A12345", "ordinary", None),
    ("京A12345", "unknown", "京A12345", "ordinary", None),        # a camera that could not tell
    ("粤BD12345", "未知", "粤BD12345", "new_energy_small", "green"),
    ("京Ａ１２３４５", "黄", "京A12345", "ordinary", "yellow"),       # full width, Chinese colour
    (" 沪 b-2o1i5 ", "blue", "沪B20115", "ordinary", "blue"),        # O/I cannot be in a serial
    ("粤BD12345", None, "粤BD12345", "new_energy_small", "green"),
    ("粤bf0O123", "green", "粤BF00123", "new_energy_small", "green"),
    ("粤B12345D", "Yellow-Green", "粤B12345D", "new_energy_large", "yellow_green"),
    ("京A1234警", None, "京A1234警", "police", "white"),
    ("京A1234学", "yellow", "京A1234学", "coach", "yellow"),
    ("京A1234挂", None, "京A1234挂", "trailer", "yellow"),
    ("沪A1234领", None, "沪A1234领", "consulate", "black"),
    ("粤Z1234港", "black", "粤Z1234港", "hk_macau", "black"),
    ("粤Z·A123澳", None, "粤ZA123澳", "hk_macau", "black"),
    ("使014578", None, "使014578", "embassy", "black"),
])
def test_valid_plates_become_canonical(raw, colour, text, kind, out_colour):
    plate = normalise_plate(raw, colour)
    assert (plate.text, plate.kind, plate.colour) == (text, kind, out_colour)


@pytest.mark.parametrize("raw, colour, code", [
    ("", None, "empty"),
    ("   ", None, "empty"),
    ("A12345", None, "bad_format"),              # no province
    ("港A12345", None, "bad_format"),            # not one of the 31
    ("京I12345", None, "bad_format"),            # authority letter is never I
    ("京112345", None, "bad_format"),
    ("京A1234", None, "bad_format"),             # too short
    ("京A123456", None, "bad_format"),           # 8 chars without an energy letter
    ("京AX12345", None, "bad_format"),           # X is not an energy letter
    ("京A12345X", None, "bad_format"),
    ("京AD1234X", None, "bad_format"),
    ("京A1234港", None, "bad_format"),           # HK/Macau plates are 粤Z only
    ("京A12345", "green", "colour_mismatch"),    # green is for new-energy
    ("粤BD12345", "blue", "colour_mismatch"),
    ("粤B12345D", "green", "colour_mismatch"),   # large new-energy is yellow-green
    ("京A1234警", "blue", "colour_mismatch"),
    ("京A12345", "purple", "bad_colour"),
    ("京A" + "1" * 40, None, "too_long"),
])
def test_invalid_plates_are_refused_in_both_languages(raw, colour, code):
    with pytest.raises(PlateError) as err:
        normalise_plate(raw, colour)
    assert err.value.code == code
    assert err.value.zh and err.value.en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.zh)


def test_display_and_str():
    assert normalise_plate("京a12345").display == "京A·12345"
    assert str(normalise_plate("粤BD12345")) == "粤BD12345"
    assert normalise_plate("粤bd12345").province == "粤"


ordinary = st.builds(lambda p, a, s: p + a + s, st.sampled_from(PROVINCES),
                     st.sampled_from(AUTHORITY), st.text(SERIAL, min_size=5, max_size=5))
nev_small = st.builds(lambda p, a, e, x, d: p + a + e + x + d, st.sampled_from(PROVINCES),
                      st.sampled_from(AUTHORITY), st.sampled_from("DF"), st.sampled_from(SERIAL),
                      st.text("0123456789", min_size=4, max_size=4))
nev_large = st.builds(lambda p, a, d, e: p + a + d + e, st.sampled_from(PROVINCES),
                      st.sampled_from(AUTHORITY), st.text("0123456789", min_size=5, max_size=5),
                      st.sampled_from("DF"))


@given(st.one_of(ordinary, nev_small, nev_large))
def test_every_well_formed_plate_is_accepted_and_stable(text):
    plate = normalise_plate(text)
    assert plate.text == text
    assert normalise_plate(plate.text, plate.colour) == plate       # idempotent


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


@given(st.one_of(ordinary, nev_small, nev_large), st.booleans(), st.booleans(), st.booleans())
def test_case_width_and_separators_do_not_matter(text, lower, wide, dotted):
    typed = text
    if dotted:
        typed = typed[:2] + "·" + typed[2:]
    if lower:
        typed = typed.lower()
    if wide:
        typed = _fullwidth(typed)
    assert normalise_plate(typed).text == text


@given(ordinary)
def test_o_and_i_in_the_serial_read_as_zero_and_one(text):
    typed = text[:2] + text[2:].replace("0", "O").replace("1", "I")
    assert normalise_plate(typed).text == text


@given(st.one_of(ordinary, nev_small, nev_large), st.sampled_from(COLOURS))
def test_colour_is_accepted_only_when_it_fits_the_format(text, colour):
    kind = normalise_plate(text).kind
    fits = {"ordinary": {"blue", "yellow"}, "new_energy_small": {"green"},
            "new_energy_large": {"yellow_green"}}[kind]
    assert is_valid_plate(text, colour) == (colour in fits)


@given(st.text(max_size=40), st.one_of(st.none(), st.text(max_size=10)))
def test_arbitrary_input_gives_a_plate_or_a_plate_error(text, colour):
    try:
        plate = normalise_plate(text, colour)
    except PlateError as err:
        assert err.zh and err.en
    else:
        assert isinstance(plate, Plate) and len(plate.text) in (7, 8)
