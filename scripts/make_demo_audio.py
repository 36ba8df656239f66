"""Make the bundled demo clip: assets/demo.wav (+ assets/demo_phones.json, the synthesiser's own phone timings).

    python scripts/make_demo_audio.py [--voice espeak:en-us] [--text "..."]

The sentence carries the three mouth shapes the preview frames show: /p/ (lips closed: "Pop", "pass",
"Paul", "park", "pool"), /uw/ (rounded: "blue", "spoon", "you", "two", "pool"), /aa/ (jaw open: "Pop",
"father", "park", "car"). It is spoken by espeak-ng (apt package espeak-ng, GPL-3.0-or-later) through
models/training/tts.py, which reports exact phone timings from the synthesiser. The generated clip is
dedicated to the public domain (CC0-1.0), see assets/LICENSE.md.
"""
import argparse
import json
import sys
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TEXT = "Pop, pass the blue spoon to Paul. Your father can park the car by the pool at two."


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", default="espeak:en-us")
    p.add_argument("--text", default=TEXT)
    p.add_argument("--rate", type=float, default=0.82)
    p.add_argument("--out", default=str(REPO / "assets" / "demo.wav"))
    args = p.parse_args(argv)
    from models.training.tts import synthesize
    utt = synthesize(args.text, args.voice, rate=args.rate)
    audio = np.asarray(utt.audio, np.float32)
    audio = 0.7 * audio / max(1e-6, float(np.abs(audio).max()))  # -3 dBFS peak
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((audio * 32767).astype("<i2").tobytes())
    phones = [[round(float(a), 4), round(float(b), 4), str(label)] for a, b, label in utt.phones]
    out.with_name(out.stem + "_phones.json").write_text(json.dumps(
        {"text": args.text, "voice": args.voice, "rate": args.rate, "phones": phones}, indent=0))
    print(f"{out}: {audio.size / 16000:.2f} s, {len(phones)} phones, voice {args.voice}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
