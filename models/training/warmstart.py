"""A training checkpoint from a shipped model: fine-tune the released network instead of starting over.

    python -m models.training.warmstart --model models/parley.onnx --style models/parley_style.onnx \
                                        --out runs/init-3.1.pt
    python -m models.training.train --init runs/init-3.1.pt ...

``torch.onnx.export`` keeps the parameter names of ``MotionNet`` (``conv_in.weight``, ``blocks.0.film.bias``,
...) as the graph's initializers, and the Mimic encoder's as ``encoder.<name>``, so the released weights
load back into the training modules exactly (checked: the rebuilt network reproduces the ONNX outputs).
What export drops is not recoverable and starts fresh: the seed-noise posterior (``NoisePosterior``, used
only in training) and the auxiliary phone head. The network is built from the metadata's ``network`` (its
widths, blocks and lip seal), so a grown or sealed release warm-starts as itself.
"""
import argparse
import json

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .network import MotionNet, NetConfig, StyleEncoder


def initializers(path, prefix=""):
    """{name without prefix: float32 array} of an ONNX file's named initializers."""
    model = onnx.load(path)
    return {i.name[len(prefix):]: numpy_helper.to_array(i) for i in model.graph.initializer
            if i.name.startswith(prefix)}, {p.key: p.value for p in model.metadata_props}


def load_into(module, arrays, what):
    """Copy every parameter/buffer of ``module`` from ``arrays``; a missing or misshapen one is an error."""
    state = module.state_dict()
    missing = [k for k in state if k not in arrays]
    if missing:
        raise SystemExit(f"{what}: the ONNX file lacks {len(missing)} of {len(state)} tensors "
                         f"(first: {missing[0]}); it was not exported from this network")
    for k, v in state.items():
        if tuple(arrays[k].shape) != tuple(v.shape):
            raise SystemExit(f"{what}: {k} is {tuple(arrays[k].shape)} in the ONNX file, {tuple(v.shape)} here")
    module.load_state_dict({k: torch.from_numpy(np.array(arrays[k])) for k in state})


def warm_state(model_path, style_path):
    """-> checkpoint dict for ``Trainer.load(weights_only=True)`` (net, enc, their EMA copies, cfg)."""
    arrays, meta = initializers(model_path)
    shipped = json.loads(meta.get("network", "{}"))
    try:
        cfg = NetConfig.from_dict(shipped) if shipped else NetConfig()
    except TypeError as e:  # a field this code does not know
        raise SystemExit(f"{model_path} was trained with network {shipped}, which this code cannot build ({e}): "
                         "update Parley") from None
    net, enc = MotionNet(cfg), StyleEncoder(cfg)
    load_into(net, arrays, model_path)
    load_into(enc, initializers(style_path, "encoder.")[0], style_path)
    return dict(cfg=cfg.to_dict(), net=net.state_dict(), enc=enc.state_dict(), ema_net=net.state_dict(),
                ema_enc=enc.state_dict(), source=dict(model=model_path, version=meta.get("version")))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/parley.onnx")
    ap.add_argument("--style", default="models/parley_style.onnx")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    state = warm_state(args.model, args.style)
    torch.save(state, args.out)
    print(f"warm start from {args.model} (version {state['source']['version']}) -> {args.out}")


if __name__ == "__main__":
    main()
