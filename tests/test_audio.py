"""Audio decoding and resampling (bpy-free)."""
import numpy as np
import pytest
import soundfile

from inference.audio import load_audio, resample, to_mono_16k
from inference.errors import AudioError


def _tone(sr, seconds=1.0, freq=440.0, channels=1):
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
def test_resample_keeps_a_tone(sr):
    y = resample(_tone(sr), sr, 16000)
    assert y.shape == (16000,)
    ref = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(16000) / 16000)
    assert np.abs(y[300:-300] - ref[300:-300]).max() < 1e-3


def test_resample_removes_content_above_new_nyquist():
    sr = 48000
    y = resample(_tone(sr, freq=12000.0), sr, 16000)  # 12 kHz cannot exist at 16 kHz: must vanish
    assert np.abs(y[300:-300]).max() < 5e-3


@pytest.mark.parametrize("fmt,ext", [("WAV", ".wav"), ("FLAC", ".flac"), ("OGG", ".ogg")])
def test_load_audio_formats_rates_channels(tmp_path, fmt, ext):
    path = tmp_path / f"speech clip é{ext}"  # spaces and non-ASCII in the path
    soundfile.write(path, _tone(96000, channels=6), 96000, format=fmt)
    pcm = load_audio(path)
    assert pcm.dtype == np.float32 and abs(pcm.size - 16000) <= 1
    assert 0.3 < np.abs(pcm).max() < 0.7


@pytest.mark.parametrize("case,match", [
    ("missing", "not found"),
    ("empty", "empty"),
    ("corrupt", "cannot decode"),
    ("text", "cannot decode"),
    ("short", "at least"),
    ("silent", "silent"),
    ("folder", "folder"),
])
def test_bad_audio_gives_one_line(tmp_path, case, match):
    path = tmp_path / "clip.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk" * 10)
    elif case == "text":
        path = tmp_path / "notes.txt"
        path.write_text("hello")
    elif case == "short":
        soundfile.write(path, _tone(16000, seconds=0.1), 16000)
    elif case == "silent":
        soundfile.write(path, np.zeros(16000, np.float32), 16000)
    elif case == "folder":
        path = tmp_path
    with pytest.raises(AudioError, match=match) as err:
        load_audio(path)
    assert "\n" not in str(err.value)


def test_non_finite_samples_rejected():
    x = _tone(16000)
    x[10] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        to_mono_16k(x, 16000)


@pytest.mark.parametrize("subtype,channels", [("PCM_16", 1), ("PCM_16", 2), ("PCM_24", 2), ("FLOAT", 1), ("PCM_U8", 1)])
def test_wav_read_without_soundfile_gives_soundfiles_samples(tmp_path, subtype, channels, monkeypatch):
    """Plain 16-bit PCM WAV is read by the standard library (no soundfile import): the same samples to the bit;
    every other WAV still goes through soundfile."""
    from inference import audio
    path = tmp_path / "clip.wav"
    x = _tone(22050, seconds=0.5, channels=channels) * np.float32(1.5)
    x[::7] = -1.0  # full scale
    soundfile.write(path, x, 22050, subtype=subtype)
    expected = soundfile.read(path, dtype="float32", always_2d=True)
    read = audio._read_pcm16_wav(str(path))
    if subtype == "PCM_16":
        assert read is not None and read[1] == 22050 and read[0].dtype == np.float32
        np.testing.assert_array_equal(read[0], expected[0])
        monkeypatch.setattr(audio, "_read_with_soundfile", lambda *a: pytest.fail("soundfile was used"))
    else:
        assert read is None
    np.testing.assert_array_equal(load_audio(path), to_mono_16k(expected[0], 22050))
