"""The Vzenith adapter alone: the vendor's documented push, our answers, and hostile fields."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from hardware.plates.push import LaneAnswer, PlatePush, PushRejected
from hardware.plates.vzenith import VzenithAdapter, build_push

# The example of Vzenith's HTTP push document, section 2.1.1 (comments removed, images empty).
DOC_PUSH = {"AlarmInfoPlate": {
    "channel": 0, "deviceName": "R5-V1.0", "ipaddr": "192.168.55.131",
    "result": {"PlateResult": {
        "bright": 0, "carBright": 0, "carColor": 255,
        "car_brand": {"brand": 255, "type": 255, "year": 65535},
        "carlocation": {"RECT": {"bottom": 0, "left": 0, "right": 0, "top": 0}},
        "clean_time": 0, "colorType": 4, "colorValue": 0, "confidence": 96, "direction": 0,
        "feature_code": True, "imageFile": "", "imageFileLen": 0, "imageFragmentFile": "",
        "imageFragmentFileLen": 0, "gioouts": [{"ctrltype": 0, "ionum": "0"}],
        "is_fake_plate": 0, "isoffline": 0, "license": "粤Z9065澳", "license_ext_type": 0,
        "location": {"RECT": {"bottom": 674, "left": 1002, "right": 1263, "top": 565}},
        "plate_distance": 0, "plate_true_width": 25, "plateid": 21085,
        "plates": [{"color": 4, "license": "粤Z9065澳", "plate_width": 281,
                    "pos": {"bottom": 674, "left": 1002, "right": 1263, "top": 565}, "type": 14}],
        "timeStamp": {"Timeval": {"decday": 9, "dechour": 16, "decmin": 39, "decmon": 6,
                                  "decsec": 54, "decyear": 2023, "sec": 1686299994, "usec": 687772}},
        "timeUsed": 0, "triggerType": 4, "type": 14}},
    "rule_id": 1, "serialno": "fe71e106-57263272", "user_data": ""}}


def test_the_documented_push_parses():
    push = VzenithAdapter().parse(json.dumps(DOC_PUSH, ensure_ascii=False).encode())
    assert push == PlatePush(
        camera_serial="fe71e106-57263272", license="粤Z9065澳", colour="black", confidence=0.96,
        record_id=21085, offline=False, motion="unknown",
        seen_at=datetime(2023, 6, 9, 8, 39, 54, 687772, tzinfo=timezone.utc))


def test_an_open_answer_carries_info_ok_the_plateid_and_board_frames():
    adapter = VzenithAdapter(serial_channel=1)
    push = adapter.parse(build_push("cam", "京A12345", plateid=77))
    status, body = adapter.render(push, LaneAnswer(True, ("京A12345",), "一路顺风"))
    reply = json.loads(body)["Response_AlarmInfoPlate"]
    assert status == 200 and reply["info"] == "ok" and reply["plateid"] == 77
    assert [s["serialChannel"] for s in reply["serialData"]] == [1, 1]
    assert all(len(base64.b64decode(s["data"])) == s["dataLen"] for s in reply["serialData"])


def test_a_camera_with_its_own_speaker_is_told_the_words_instead_of_the_board():
    adapter = VzenithAdapter(voice_via="camera")
    push = adapter.parse(build_push("cam", "京A12345"))
    reply = json.loads(adapter.render(push, LaneAnswer(True, ("京A12345",), "一路顺风"))[1])
    speech = reply["Response_AlarmInfoPlate"]["playserver_json_request"]
    assert speech["type"] == "ps_voice_play"
    assert base64.b64decode(speech["voice"]).decode("utf-8") == "一路顺风"
    assert len(reply["Response_AlarmInfoPlate"]["serialData"]) == 1     # the display line only


def test_an_offline_record_is_acknowledged_and_the_next_one_asked_for_never_opened():
    adapter = VzenithAdapter()
    push = adapter.parse(build_push("cam", "京A12345", plateid=5, offline=True))
    _, body = adapter.render(push, LaneAnswer(True, ("京A12345",), "一路顺风"))
    reply = json.loads(body)["Response_AlarmInfoPlate"]
    assert reply["info"] == "no" and "serialData" not in reply
    assert reply["ContinuePushOffline"] == {"plateid": 5, "continue": 1}


@pytest.mark.parametrize("body, status", [
    (b"", 400), (b"[]", 400), (b'{"AlarmInfoPlate": []}', 400),
    (b'{"AlarmGioIn": {"serialno": "x"}}', 422),
    (build_push("cam", "京A12345").replace(b'"confidence": 95', b'"confidence": 950'), 400),
    (build_push("cam", "京A12345", image=b"\xff\xd8jpeg").replace(b'"imageFileLen": 6', b'"imageFileLen": 9'), 400),
    (build_push("cam", "京A12345", image=b"\xff\xd8jpeg").replace(b'"imageFile": "', b'"imageFile": "!!'), 400),
    (build_push("", "京A12345"), 400),
    (b"[" * 100_000, 400),
])
def test_malformed_pushes_are_refused_with_a_4xx(body, status):
    with pytest.raises(PushRejected) as err:
        VzenithAdapter().parse(body)
    assert err.value.status == status


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10)


@given(st.sampled_from(["license", "colorType", "confidence", "plateid", "isoffline", "timeStamp",
                        "direction", "imageFile", "imageFileLen"]), json_values)
def test_any_value_in_any_field_gives_a_push_or_a_4xx(field, value):
    doc = json.loads(build_push("cam", "京A12345"))
    doc["AlarmInfoPlate"]["result"]["PlateResult"][field] = value
    try:
        push = VzenithAdapter().parse(json.dumps(doc).encode())
    except PushRejected as err:
        assert 400 <= err.status < 500
    else:
        assert push.camera_serial == "cam" and 0 <= push.confidence <= 1
