"""Voice prompts and the lane display: shipped WAV files, spoken amounts from integer fen,
espeak-ng live synthesis, players, and the display's text fitting and wire format."""
from __future__ import annotations

import shutil
import wave
from io import BytesIO
from pathlib import Path

import pytest

from hardware.display import LaneDisplayConfig, encode_screen, fit_line
from hardware.registry import build_device
from hardware.serialio import LoopLink
from hardware.voice import PROMPT_DIR, PROMPTS, SinkPlayer, Voice, VoiceConfig, payment_sentence, yuan_words
from core.clock import ManualClock
from tests.backend.helpers import wait_for
from tests.hardware.serial_pty import PtyDevice


def test_every_prompt_ships_as_small_8khz_mono_wav() -> None:
    total = 0
    for key in PROMPTS:
        data = (PROMPT_DIR / f"{key}.wav").read_bytes()
        total += len(data)
        with wave.open(BytesIO(data)) as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 8000, 2)
            assert 0.3 < w.getnframes() / 8000 < 6
    assert total < 1_000_000


@pytest.mark.parametrize("fen, words", [
    (1250, "十二元五角"), (8800, "八十八元"), (5, "五分"), (0, "零元"), (10005, "一百元零五分"),
    (100, "一元"), (1001, "十元零一分"), (123456, "一千二百三十四元五角六分"), (2000000, "二万元"),
    (1000100, "一万零一元"), (-350, "负三元五角"),
])
def test_amounts_are_spoken_from_integer_fen(fen: int, words: str) -> None:
    assert yuan_words(fen) == words


def test_money_must_be_integer_fen() -> None:
    with pytest.raises(TypeError):
        yuan_words(12.5)  # type: ignore[arg-type]


def test_simulated_voice_records_what_was_said() -> None:
    voice = build_device(VoiceConfig(type="voice", name="voice", simulated=True))
    voice.say("welcome")
    voice.say_payment(1250, 8800)
    assert voice.simulator.said == ["欢迎光临", "支付成功，消费十二元五角，余额八十八元"]
    assert all(audio.startswith(b"RIFF") for audio in voice.simulator.audio)


def test_a_decline_is_spoken_as_the_catalogue_chooses() -> None:
    voice = build_device(VoiceConfig(type="voice", name="voice", simulated=True))
    for reason in ("insufficient_funds", "channel_code_invalid", "card_unknown", "over_day_limit", None):
        voice.say_reason(reason)
    assert voice.simulator.said == ["余额不足", "请重新扫码", "无效卡", "支付失败", "支付失败"]


def test_without_live_speech_the_fixed_prompt_is_used() -> None:
    voice = build_device(VoiceConfig(type="voice", name="voice", simulated=True, live_tts=False))
    voice.say_payment(1250, 8800)
    assert voice.simulator.said == ["支付成功"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed on this machine")
def test_sink_player_writes_real_speech_files(tmp_path: Path) -> None:
    config = VoiceConfig(type="voice", name="voice", player="sink", sink_dir=str(tmp_path))
    voice = build_device(config, clock=ManualClock())
    assert voice.self_test().ok
    voice.say_payment(1250, 8800)
    files = sorted(tmp_path.glob("*.wav"))
    assert len(files) == 2                       # self-test welcome + the payment sentence
    with wave.open(str(files[-1])) as w:
        assert w.getnframes() / w.getframerate() > 1.0


def test_a_missing_prompt_file_is_reported(tmp_path: Path) -> None:
    config = VoiceConfig(type="voice", name="voice", simulated=True)
    voice = Voice(config, ManualClock(), SinkPlayer(tmp_path / "out"), prompt_dir=tmp_path)
    result = voice.self_test()
    assert not result.ok and "语音文件" in result.zh


def test_sink_mode_without_a_directory_fails_clearly() -> None:
    from hardware.base import DeviceError

    with pytest.raises(DeviceError) as err:
        build_device(VoiceConfig(type="voice", name="voice", player="sink"))
    assert "sink_dir" in err.value.en


def test_a_sentence_with_balance_and_without() -> None:
    assert payment_sentence(300) == "支付成功，消费三元"


# ---------------------------------------------------------------- lane display
def test_display_cuts_lines_to_the_board_width() -> None:
    assert fit_line("粤B12345 临时车", 6) == "粤B12345 临"        # 12 cells: 粤=2, B12345 =7, 临=2
    assert fit_line("请缴费\x1b[2J 12.00元", 8) == "请缴费[2J 12.00"  # control chars never reach the board


def test_display_driver_on_a_pty_sends_the_plain_text_protocol() -> None:
    config = LaneDisplayConfig(type="lane_display", name="led", port="x", role="exit-1", lines=2, width_chars=8)
    with PtyDevice() as dev:
        display = build_device(config.model_copy(update={"port": dev.port}))
        rows = display.show("粤B12345", "请缴费12.00元", "third line is dropped")
        display.close()
        # the pty thread may still be copying the bytes
        wait_for(lambda: len(dev.received) >= len(encode_screen(config, rows)), 5, every_s=0.01)
    assert rows == ["粤B12345", "请缴费12.00元"]
    assert bytes(dev.received) == b"\x0c" + "粤B12345".encode("gbk") + b"\r\n" + "请缴费12.00元".encode("gbk") + b"\r\n"


def test_simulated_display_shows_the_rows() -> None:
    display = build_device(LaneDisplayConfig(type="lane_display", name="led", simulated=True, lines=2))
    display.show("一路顺风")
    assert display.simulator.shown == ["一路顺风", ""]
    display.simulator.unplug()
    assert not display.self_test().ok


def test_loop_link_reports_an_unplugged_device() -> None:
    from hardware.base import DeviceError

    link = LoopLink()
    link.connected = False
    with pytest.raises(DeviceError):
        link.write(b"x")


def test_aplay_player_streams_the_wav_to_the_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for alsa-utils' aplay (not installed here): records its arguments and stdin
    out = tmp_path / "played"
    fake = tmp_path / "bin" / "aplay"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {out}.args\ncat > {out}.wav\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    voice = build_device(VoiceConfig(type="voice", name="voice", player="auto"))
    voice.say("goodbye")
    voice.player._playing.wait(5)
    assert (tmp_path / "played.args").read_text().strip() == "-q -"
    assert (tmp_path / "played.wav").read_bytes() == (PROMPT_DIR / "goodbye.wav").read_bytes()
