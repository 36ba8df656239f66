"""Average two checkpoints of one fine-tuning path in weight space (WiSE-FT, Wortsman et al. 2022).

    python -m models.training.soup --a runs/v17/final.pt --b runs/v18/final.pt --alpha 0.5 --out runs/soup/final.pt

``--b`` must be ``--a`` fine-tuned (``train --init A``), possibly with a grown trunk (``train --grow``): the
trunk blocks ``--a`` lacks are the identity there, so they enter the average as their zero output conv and
zero FiLM (the blocks' own convolution and norm are kept as ``--b`` has them; scaled output, scaled FiLM).
The networks (EMA and live) are averaged; the Mimic encoder, the noise posterior and the style prior are
``--b``'s, so the result exports as ``--b`` would (``models.training.export``).
"""
import argparse

import torch

ZERO_INIT = ("out", "film")  # the parts of a fresh trunk block that start at zero (network.Block)


def average(a, b, alpha):
    """State dict (1 - alpha) * a + alpha * b; a key only ``b`` has must be in a grown block's zero-init part."""
    out = {}
    for k, v in b.items():
        if k in a:
            if a[k].shape != v.shape:
                raise SystemExit(f"{k}: {tuple(a[k].shape)} in --a, {tuple(v.shape)} in --b: not one fine-tuning path")
            out[k] = torch.lerp(a[k], v, alpha) if v.is_floating_point() else v
        elif k.startswith("blocks."):
            out[k] = v * alpha if k.split(".")[2] in ZERO_INIT else v
        else:
            raise SystemExit(f"{k} is only in --b: it is not --a fine-tuned (or grown)")
    return out


def soup(a, b, alpha):
    """Checkpoint dict: ``b`` with its networks averaged with ``a``'s."""
    if not 0.0 <= alpha <= 1.0:
        raise SystemExit(f"--alpha {alpha}: use a weight in [0, 1] (0 is --a, 1 is --b)")
    seals = [bool(c["cfg"].get("seal", False)) for c in (a, b)]
    if seals[0] != seals[1]:  # the mouthClose row means the curve in one and the lip seal in the other
        raise SystemExit("--a and --b differ in the lip seal (train --seal): their mouthClose outputs cannot be averaged")
    out = dict(b)
    for name in ("net", "ema_net"):
        out[name] = average(a[name], b[name], alpha)
    out["soup"] = dict(alpha=alpha, a_steps=a.get("step"), b_steps=b.get("step"))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m models.training.soup", description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the checkpoint fine-tuning started from")
    ap.add_argument("--b", required=True, help="its fine-tuned (or grown and fine-tuned) checkpoint")
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of --b (default 0.5)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    result = soup(torch.load(args.a, weights_only=False), torch.load(args.b, weights_only=False), args.alpha)
    torch.save(result, args.out)
    print(f"wrote {args.out}: {1 - args.alpha:g} x {args.a} + {args.alpha:g} x {args.b}")


if __name__ == "__main__":
    main()
