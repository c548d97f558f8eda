"""Voice prompts: pre-recorded zh_CN WAV files shipped in hardware/voice_prompts/, and espeak-ng
for sentences with amounts. A player plays them (aplay/paplay, or writes to a sink directory).
"""
from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from core.reasons import voice_prompt
from hardware.base import BuildContext, CheckResult, Clock, DeviceConfigBase, DeviceError, Speaker
from hardware.spec import DeviceKind, DriverSpec


class VoiceConfig(DeviceConfigBase):
    type: Literal["voice"] = Field(title="Type", description="Voice prompts through the speaker.")
    player: Literal["auto", "aplay", "paplay", "sink"] = Field(
        default="auto", title="Player / 播放方式",
        description="auto: aplay or paplay if installed, else write WAV files to the sink directory.")
    sink_dir: str | None = Field(default=None, title="Sink directory / 输出目录",
                                 description="Where WAV files go when no player is installed.",
                                 min_length=1, max_length=300)
    live_tts: bool = Field(default=True, title="Speak amounts / 播报金额",
                           description="Use espeak-ng for sentences with amounts; off = fixed prompts only.")
    espeak_voice: str = Field(default="cmn", title="espeak-ng voice / 语音",
                              description="espeak-ng voice name for Mandarin.", pattern=r"^[A-Za-z0-9_+-]{1,20}$")
    speed_wpm: int = Field(default=170, title="Speed / 语速", description="Words per minute.", ge=80, le=400)
    volume: int = Field(default=100, title="Volume / 音量", description="espeak-ng amplitude.", ge=0, le=200)


PROMPT_DIR = Path(__file__).with_name("voice_prompts")
PROMPT_RATE = 8000   # Hz, mono, 16-bit: enough for speech on a lane speaker, small to ship

# key -> what is said. The WAV files are made from this table by `python -m hardware.voice`.
PROMPTS: dict[str, str] = {
    "welcome": "欢迎光临",
    "pay_ok": "支付成功",
    "pay_failed": "支付失败",
    "insufficient": "余额不足",
    "show_code": "请出示付款码",
    "scan_again": "请重新扫码",
    "card_invalid": "无效卡",
    "face_again": "请正视摄像头",
    "not_signed": "未签约，请扫码支付",
    "offline": "网络中断，离线支付",
    "gate_fault": "道闸故障，请联系工作人员",
    "goodbye": "一路顺风",
    "member": "月卡车，请通行",
}

_DIGITS = "零一二三四五六七八九"


def _chinese_below_10000(n: int) -> str:
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + unit
    return out


def chinese_number(n: int) -> str:
    """0..99_999_999 as spoken Chinese: 12 -> 十二, 105 -> 一百零五, 20008 -> 二万零八."""
    if not 0 <= n < 100_000_000:
        raise ValueError("amount out of range for speech")
    if n == 0:
        return "零"
    high, low = divmod(n, 10000)
    text = (_chinese_below_10000(high) + "万") if high else ""
    if low:
        text += ("零" if high and low < 1000 else "") + _chinese_below_10000(low)
    return text[1:] if text.startswith("一十") else text


def yuan_words(fen: int) -> str:
    """Integer fen as spoken money: 1250 -> 十二元五角, 8800 -> 八十八元, 5 -> 五分."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("money must be integer fen")
    sign = "负" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    jiao, fen_part = divmod(rest, 10)
    text = f"{chinese_number(yuan)}元" if yuan or not rest else ""
    if jiao:
        text += f"{_DIGITS[jiao]}角"
    elif fen_part and yuan:
        text += "零"
    if fen_part:
        text += f"{_DIGITS[fen_part]}分"
    return sign + text


def payment_sentence(amount_fen: int, balance_fen: int | None = None, discount_fen: int = 0) -> str:
    """amount_fen: what the payer paid (after a campaign's discount), never the price."""
    text = f"支付成功，消费{yuan_words(amount_fen)}"
    if discount_fen:
        text += f"，已优惠{yuan_words(discount_fen)}"
    if balance_fen is not None:
        text += f"，余额{yuan_words(balance_fen)}"
    return text


# ---------------------------------------------------------------- players
@runtime_checkable
class Player(Protocol):
    def play(self, wav: bytes, text: str) -> None: ...
    def available(self) -> bool: ...


class CommandPlayer:
    """aplay / paplay reading the WAV on stdin. A new prompt cuts off one still playing, as a
    lane speaker should (the newest message is the one that matters)."""

    def __init__(self, program: str):
        self.program = program
        self._playing: subprocess.Popen | None = None

    def available(self) -> bool:
        return shutil.which(self.program) is not None

    def play(self, wav: bytes, text: str) -> None:
        if self._playing is not None and self._playing.poll() is None:
            self._playing.kill()
            self._playing.wait()
        args = [self.program, "-q", "-"] if self.program == "aplay" else [self.program, "/dev/stdin"]
        try:
            self._playing = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
            self._playing.stdin.write(wav)  # type: ignore[union-attr]
            self._playing.stdin.close()  # type: ignore[union-attr]
        except OSError as exc:
            raise DeviceError("扬声器播放失败", f"{self.program} failed: {exc}",
                              "检查音频设备和音量", "check the audio device and volume") from exc


class SinkPlayer:
    """No sound system: each utterance becomes a numbered WAV file (for a kiosk without a
    speaker, or to collect what was said)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._count = 0

    def available(self) -> bool:
        return True

    def play(self, wav: bytes, text: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count += 1
        (self.directory / f"{self._count:06d}.wav").write_bytes(wav)


class RecordingPlayer:
    """The simulator's speaker: remembers what was said (text) and the audio it got."""

    def __init__(self):
        self.said: list[str] = []
        self.audio: list[bytes] = []

    def available(self) -> bool:
        return True

    def play(self, wav: bytes, text: str) -> None:
        self.said.append(text)
        self.audio.append(wav)


# ---------------------------------------------------------------- speech
def espeak_wav(text: str, voice: str = "cmn", speed_wpm: int = 170, volume: int = 100) -> bytes:
    """Synthesise with espeak-ng (22 kHz mono WAV on stdout)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DeviceError("未安装 espeak-ng，无法播报金额", "espeak-ng is not installed; amounts cannot be spoken",
                          "安装 espeak-ng，或关闭“播报金额”", "install espeak-ng, or turn off live_tts")
    done = subprocess.run([exe, "-v", voice, "-s", str(speed_wpm), "-a", str(volume), "--stdout", text],
                          capture_output=True, timeout=10, check=False)
    if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
        raise DeviceError("语音合成失败", "espeak-ng failed", "检查 espeak-ng 安装", "check the espeak-ng install")
    return done.stdout


class Voice:
    """Says fixed prompts from the shipped WAV files, and payment sentences through espeak-ng
    (or, with live_tts off, the fixed "pay_ok" prompt)."""

    def __init__(self, config: VoiceConfig, clock: Clock, player: Player,
                 synthesise: Callable[[str], bytes] | None = None, prompt_dir: Path = PROMPT_DIR):
        self.name = config.name
        self.config = config
        self._clock = clock
        self.player = player
        self._prompt_dir = prompt_dir
        self._synthesise = synthesise or (lambda text: espeak_wav(text, config.espeak_voice, config.speed_wpm,
                                                                  config.volume))

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def say(self, key: str) -> None:
        if key not in PROMPTS:
            raise ValueError(f"no voice prompt {key!r}")
        path = self._prompt_dir / f"{key}.wav"
        try:
            wav = path.read_bytes()
        except OSError as exc:
            raise DeviceError(f"缺少语音文件 {path.name}", f"voice prompt file {path.name} is missing",
                              "重新安装 gatepay", "reinstall gatepay") from exc
        self.player.play(wav, PROMPTS[key])

    def say_reason(self, reason: str | None) -> None:
        """The short recorded prompt for why a payment did not go through (余额不足, 请重新扫码,
        ...): the reason catalogue's choice (core/reasons/voice.py); the screen has the sentence."""
        self.say(voice_prompt(reason))

    def say_text(self, text: str) -> None:
        self.player.play(self._synthesise(text), text)

    def say_payment(self, amount_fen: int, balance_fen: int | None = None, discount_fen: int = 0) -> None:
        if self.config.live_tts:
            self.say_text(payment_sentence(amount_fen, balance_fen, discount_fen))
        else:
            self.say("pay_ok")

    def self_test(self) -> CheckResult:
        missing = [k for k in PROMPTS if not (self._prompt_dir / f"{k}.wav").is_file()]
        if missing:
            return CheckResult(self.name, False, f"缺少 {len(missing)} 个语音文件", f"{len(missing)} voice prompt files missing",
                               "重新安装 gatepay", "reinstall gatepay")
        if not self.player.available():
            return CheckResult(self.name, False, "找不到播放程序", "no audio player found",
                               "安装 alsa-utils（aplay），或把 player 设为 sink", "install alsa-utils (aplay), or set player: sink")
        try:
            if self.config.live_tts:
                self._synthesise("测试")
            self.say("welcome")
        except DeviceError as exc:
            return exc.as_check(self.name)
        return CheckResult.passed(self.name, "语音正常，应听到“欢迎光临”", "voice works; you should hear the welcome prompt")


def _player_for(config: VoiceConfig) -> Player:
    choice = config.player
    if choice == "auto":
        choice = next((p for p in ("aplay", "paplay") if shutil.which(p)), "sink")
    if choice == "sink":
        if not config.sink_dir:
            raise DeviceError("没有播放程序，也没有配置输出目录", "no audio player and no sink_dir configured",
                              "安装 aplay，或在配置中填写 sink_dir", "install aplay, or set sink_dir in the config")
        return SinkPlayer(Path(config.sink_dir))
    return CommandPlayer(choice)


def build_voice(config: VoiceConfig, ctx: BuildContext) -> Voice:
    if config.simulated:
        voice = Voice(config, ctx.clock, RecordingPlayer())
        voice.simulator = voice.player  # type: ignore[attr-defined]
        return voice
    return Voice(config, ctx.clock, _player_for(config))


VOICE = DeviceKind("voice", ("语音播报", "Voice"))
DRIVERS = (DriverSpec("voice", VOICE, ("语音播报（扬声器）", "Voice (speaker)"), VoiceConfig, build_voice, (Speaker,)),)


# ---------------------------------------------------------------- making the shipped prompts
def to_prompt_wav(wav: bytes, rate: int = PROMPT_RATE) -> bytes:
    """Resample espeak-ng's 22 kHz output to `rate` (windowed-sinc low-pass, then
    interpolation) and trim silence at both ends."""
    import numpy as np

    with wave.open(io.BytesIO(wav)) as src:
        src_rate, samples = src.getframerate(), np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    signal = samples.astype(np.float64)
    loud = np.flatnonzero(np.abs(signal) > 300)
    if loud.size:
        signal = signal[max(0, loud[0] - src_rate // 50): loud[-1] + src_rate // 20]
    cutoff = 0.45 * rate / src_rate
    taps = np.arange(-32, 33)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
    filtered = np.convolve(signal, kernel / kernel.sum(), mode="same")
    out_len = int(len(filtered) * rate / src_rate)
    resampled = np.interp(np.arange(out_len) * src_rate / rate, np.arange(len(filtered)), filtered)
    pcm = np.clip(resampled, -32768, 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(rate)
        dst.writeframes(pcm)
    return buf.getvalue()


def build_prompts(out_dir: Path = PROMPT_DIR, voice: str = "cmn", speed_wpm: int = 170) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key, text in PROMPTS.items():
        path = out_dir / f"{key}.wav"
        path.write_bytes(to_prompt_wav(espeak_wav(text, voice, speed_wpm)))
        written.append(path)
    return written


if __name__ == "__main__":
    for made in build_prompts():
        print(made, made.stat().st_size)
