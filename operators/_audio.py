"""Speech in, the Blender way: decode with ``aud`` (Blender's own audio library, ffmpeg-backed), then
hand the samples to ``inference.audio.to_mono_16k``. Blenders built without ``aud`` (Debian's) fall
back to soundfile when importable, else to the standard library's wave reader for PCM .wav files.
"""
import os

import numpy as np

from ..inference.audio import SUPPORTED, check_file, to_mono_16k
from ..inference.errors import AudioError


def resolve_source(context, audio_path, sound_strip):
    """-> (absolute file path, strip or None). Raises AudioError when neither is usable."""
    import bpy
    if audio_path:
        return os.path.normpath(bpy.path.abspath(audio_path)), None
    if not sound_strip:
        raise AudioError("no speech given: pick an audio file or a sound strip of the Sequencer")
    seq = context.scene.sequence_editor
    strips = (seq.strips_all if hasattr(seq, "strips_all") else seq.sequences_all) if seq else {}
    strip = strips.get(sound_strip)
    if strip is None or strip.type != "SOUND":
        raise AudioError(f"no sound strip named '{sound_strip}' in the Sequencer; pick one that exists")
    sound = strip.sound
    if sound.packed_file is not None:
        raise AudioError(f"the sound of strip '{sound_strip}' is packed into the .blend; unpack it "
                         "(File > External Data > Unpack Resources) or pick the audio file")
    return os.path.normpath(bpy.path.abspath(sound.filepath, library=sound.library)), strip


def decode(path):
    """-> (samples float32 [N, C], sample rate). Raises AudioError in the user's words."""
    check_file(path)
    name = os.path.basename(path)
    try:
        import aud
    except ImportError:
        return _decode_without_aud(path)
    try:
        sound = aud.Sound(path)
        rate, channels = sound.specs[0], sound.specs[1]
        data = np.asarray(sound.data(), dtype=np.float32)
    except Exception as exc:  # aud.error for anything it cannot open or decode
        raise AudioError(f"cannot decode {name} as audio ({str(exc).strip() or type(exc).__name__}); "
                         f"{_hint(path)}") from None
    if data.ndim == 1:
        data = data.reshape(-1, max(1, int(channels)))
    return data, float(rate)


def _hint(path):
    ext = os.path.splitext(path)[1].lower()
    return "use wav, flac, ogg or mp3" if ext not in SUPPORTED else "the file may be corrupt: re-export it"


def _decode_without_aud(path):
    name = os.path.basename(path)
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        try:
            data, rate = soundfile.read(path, dtype="float32", always_2d=True)
            return data, float(rate)
        except Exception as exc:
            raise AudioError(f"cannot decode {name} as audio ({str(exc).splitlines()[0]}); {_hint(path)}") from None
    import wave
    try:
        with wave.open(path, "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"cannot decode {name} ({exc}); this Blender has no audio decoder for it: "
                         "convert it to 16-bit PCM .wav") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608.0
    else:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    return data.reshape(-1, channels), float(rate)


def load_speech(path):
    """Decode and validate -> (float32 mono 16 kHz, duration in seconds)."""
    data, rate = decode(path)
    pcm = to_mono_16k(data, int(round(rate)), source=os.path.basename(path))
    return pcm, data.shape[0] / rate
