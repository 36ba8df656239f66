"""Export a trained checkpoint to the shipped ONNX graphs (+ metadata the runtime reads).

    python -m models.training.export --ckpt runs/v1/final.pt --out models/parley.onnx --version 1.0

Writes ``parley.onnx`` (audio [1,N] float32 16 kHz, style [1,S], noise [1,Tn,Z] -> curves [1,T,51]
at 50 fps, T = ceil((1 + N // 160) / 2), Tn >= ceil(T / noise_step)) and, next to it,
``parley_style.onnx`` (curves [1,T,51] at 50 fps -> style [1,S], the Mimic encoder). Opset 17,
dynamic time axes, EMA weights. Both graphs are checked against torch (max |diff| <= 1e-4) before
the files are moved into place.

The ``languages`` entry ({ISO code: hours of training speech}) comes from the checkpoint's summary; for
checkpoints trained before it was recorded, from the shard headers of the summary's corpus folders
(``dataset.corpus_languages``), and it is left out, with one warning, when those folders are gone.
"""
import argparse
import json
import logging
import os
import sys

import numpy as np
import onnx
import torch

from inference.arkit import RIG_NAMES

from .dataset import corpus_languages
from .features import HOP, N_FFT, N_MELS, SAMPLE_RATE
from .network import (FPS, LOWER_NAMES, SAMPLES_PER_FRAME, UPPER_NAMES, MotionNet, NetConfig, StyleEncoder,
                      StyleEncoderExport, n_frames, n_noise_steps)
from .style_axes import STYLE_AXES

OPSET = 17
TOLERANCE = 1e-4
log = logging.getLogger("parley.export")


def _export(module, args, path, input_names, output_names, dynamic_axes):
    torch.onnx.export(module, args, path, dynamo=False, opset_version=OPSET, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes, do_constant_folding=True)


def _set_meta(path, meta):
    model = onnx.load(path)
    del model.metadata_props[:]
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    model.producer_name = "parley"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def trained_languages(summary):
    """{code: hours rounded to 0.01} the checkpoint was trained on (languages rounding to 0 h left out), or None
    (after one warning) when unknown.

    Summaries written since ``train`` records ``languages`` carry it; older ones name their ``corpus`` folders
    (``FOLDER[:WEIGHT]``, relative to the working directory) and ``held_out`` voices, and the shards are scanned."""
    summary = summary or {}
    hours = summary.get("languages")
    if hours is None:
        roots = summary.get("corpus")
        if not roots:
            log.warning("the checkpoint's summary names no corpus: exporting without 'languages'")
            return None
        try:
            hours = corpus_languages(roots, summary.get("held_out"))
        except (OSError, RuntimeError) as exc:
            log.warning("cannot tell which languages the checkpoint learned (%s): exporting without 'languages'", exc)
            return None
        if not hours:
            log.warning("no training shards in %s: exporting without 'languages'", roots)
            return None
    rounded = {str(code): round(float(h), 2) for code, h in sorted(hours.items())}
    # a language with under 18 s of training speech (Malayalam's few Tux Paint clips) was heard, not learned
    return {code: h for code, h in rounded.items() if h > 0}


def build_metadata(cfg, prior, version, summary=None, style_file="parley_style.onnx", runtime_blinks=True,
                   languages=None):
    """The motion graph's metadata_props; ``languages`` ({code: hours}) is written only when known."""
    rf = cfg.receptive_frames()
    named = [a.to_dict() for a in STYLE_AXES]
    latent = [dict(name=f"latent_{i}", lo=-3.0, hi=3.0, default=0.0,
                   doc="free style dimension learned from the teacher's motion (prior: N(0,1)-like)")
              for i in range(cfg.latent_dim)]
    meta = {
        "parley_format": "1",
        "version": version,
        "sample_rate": str(SAMPLE_RATE),
        "fps": str(FPS),
        "samples_per_frame": str(SAMPLES_PER_FRAME),
        "frames_formula": "T = ceil((1 + N // 160) / 2); frame k is centred on t = k / fps",
        "curve_names": list(RIG_NAMES),
        "curve_ranges": [[0.0, 1.0]] * len(RIG_NAMES),
        "style_axes": named,
        "latent_axes": latent,
        "latent_dim": str(cfg.latent_dim),
        "style_dim": str(cfg.style_dim),
        "style_layout": "style = [named axes in style_axes order, latent_0..latent_{L-1}]",
        "noise_dim": str(cfg.noise_dim),
        "noise_step": str(cfg.noise_step),
        "noise_rate_hz": str(FPS / cfg.noise_step),
        "noise_doc": "noise [1, Tn, Z] ~ N(0,1), Tn >= ceil(T / noise_step); drives only upper_face_curves",
        "upper_face_curves": list(UPPER_NAMES),
        # "1": the network's eyelids do not blink on their own; the runtime adds seeded blinks (inference/blinks.py)
        "runtime_blinks": "1" if runtime_blinks else "0",
        "lip_curves": list(LOWER_NAMES),
        "receptive_field_frames": str(rf),
        "receptive_field_s": str(rf / FPS),
        "lookahead_s": str(rf / FPS),
        "frontend": {"n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS, "window": "hann", "center": True,
                     "log": "(log10(mel + 1e-6) + 2) / 2"},
        "prior": prior,
        "style_encoder": style_file,
        "style_encoder_fps": str(FPS),
        "network": cfg.to_dict(),
        "training": summary or {},
        "license": "see MODEL_CARD.md",
    }
    if languages:
        meta["languages"] = dict(languages)
    return meta


def export(ckpt_path, out, version, style_out=None, check=True, runtime_blinks=True):
    ckpt = torch.load(ckpt_path, weights_only=False, map_location="cpu")
    cfg = NetConfig.from_dict(ckpt["cfg"])
    net = MotionNet(cfg)
    net.load_state_dict(ckpt["ema_net"])
    net.eval()
    enc = StyleEncoder(cfg)
    enc.load_state_dict(ckpt["ema_enc"])
    enc.eval()
    prior = ckpt.get("prior")
    if prior is None:
        raise SystemExit(f"{ckpt_path} has no fitted style prior; export final.pt (written when training ends)")
    style_out = style_out or os.path.join(os.path.dirname(os.path.abspath(out)), "parley_style.onnx")
    enc_export = StyleEncoderExport(enc, [a.lo for a in STYLE_AXES], [a.hi for a in STYLE_AXES]).eval()

    n = 3 * SAMPLE_RATE
    t = n_frames(n)
    dummy = (torch.zeros(1, n), torch.zeros(1, cfg.style_dim), torch.zeros(1, n_noise_steps(t, cfg), cfg.noise_dim))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp, tmp_style = out + ".tmp", style_out + ".tmp"
    with torch.no_grad():
        _export(net, dummy, tmp, ["audio", "style", "noise"], ["curves"],
                {"audio": {1: "samples"}, "noise": {1: "noise_steps"}, "curves": {1: "frames"}})
        _export(enc_export, (torch.zeros(1, 200, len(RIG_NAMES)),), tmp_style, ["curves"], ["style"],
                {"curves": {1: "frames"}})
    summary = ckpt.get("summary")
    meta = build_metadata(cfg, prior, version, summary, os.path.basename(style_out), runtime_blinks,
                          trained_languages(summary))
    _set_meta(tmp, meta)
    _set_meta(tmp_style, {"parley_format": "1", "version": version, "fps": str(FPS), "curve_names": list(RIG_NAMES),
                          "style_dim": str(cfg.style_dim), "doc": "Mimic: reference ARKit curves at 50 fps -> style"})
    if check:
        diff = check_parity(net, enc_export, tmp, tmp_style, cfg)
        print(f"onnxruntime vs torch: max |diff| curves {diff[0]:.2e}, style {diff[1]:.2e}")
        if max(diff) > TOLERANCE:
            raise SystemExit(f"parity check failed: {diff} > {TOLERANCE}")
    os.replace(tmp, out)
    os.replace(tmp_style, style_out)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB) and {style_out} "
          f"({os.path.getsize(style_out) / 1e6:.2f} MB), version {version}")
    return out, style_out


@torch.no_grad()
def check_parity(net, enc_export, path, style_path, cfg, seconds=(1.7, 7.3), seed=0):
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    for s in seconds:
        n = int(s * SAMPLE_RATE)
        audio = (0.1 * rng.standard_normal((1, n)) * np.sin(np.linspace(0, 20, n)) ** 2).astype(np.float32)
        style = rng.uniform(-1, 1, (1, cfg.style_dim)).astype(np.float32)
        noise = rng.standard_normal((1, n_noise_steps(n_frames(n), cfg), cfg.noise_dim)).astype(np.float32)
        got = sess.run(None, {"audio": audio, "style": style, "noise": noise})[0]
        want = net(torch.from_numpy(audio), torch.from_numpy(style), torch.from_numpy(noise)).numpy()
        assert got.shape == want.shape == (1, n_frames(n), len(RIG_NAMES)), (got.shape, want.shape)
        worst = max(worst, float(np.abs(got - want).max()))
    ssess = ort.InferenceSession(style_path, providers=["CPUExecutionProvider"])
    curves = rng.uniform(0, 1, (1, 240, len(RIG_NAMES))).astype(np.float32)
    got = ssess.run(None, {"curves": curves})[0]
    want = enc_export(torch.from_numpy(curves)).numpy()
    return worst, float(np.abs(got - want).max())


def main(argv=None):
    ap = argparse.ArgumentParser(description="export a Parley checkpoint to ONNX")
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", default="models/parley.onnx")
    ap.add_argument("--style-out", help="Mimic encoder graph (default: parley_style.onnx next to --out)")
    ap.add_argument("--version", default="1.0")
    ap.add_argument("--runtime-blinks", choices=("on", "off"), default="on",
                    help="whether the runtime lays seeded blinks over the eyelids (off when the network blinks itself)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    export(args.ckpt, args.out, args.version, args.style_out, runtime_blinks=args.runtime_blinks == "on")


if __name__ == "__main__":
    sys.exit(main())


def build_test_model(folder, channels=32, dilations=(1, 3), seed=0, version="0.0-test"):
    """A small randomly initialised model exported like the real one (for runtime tests); returns its path."""
    from .train import Trainer, fit_gmm

    torch.manual_seed(seed)
    cfg = NetConfig(channels=channels, dilations=tuple(dilations), upper_channels=16, style_hidden=16)
    trainer = Trainer(cfg, 1e-3)
    with torch.no_grad():  # make the untrained heads respond visibly to their inputs
        for head in (trainer.ema_net.lower[-1], trainer.ema_net.upper[-1]):
            head.weight.mul_(20.0)
            head.bias.fill_(-1.0)
        for block in trainer.ema_net.blocks:
            block.out.weight.normal_(0, 0.1)
            block.film.weight.normal_(0, 0.3)
    rng = np.random.default_rng(seed)
    codes = np.concatenate([rng.uniform(-0.5, 0.5, (200, cfg.n_named)), rng.normal(0, 1, (200, cfg.latent_dim))], 1)
    state = trainer.state(dict(prior=fit_gmm(codes, k=2), summary={"note": "random test model"}))
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    ckpt = os.path.join(folder, "test.pt")
    torch.save(state, ckpt)
    out = os.path.join(folder, "parley.onnx")
    export(ckpt, out, version, check=True)
    return out
