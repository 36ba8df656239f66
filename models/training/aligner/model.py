"""Acoustic model of the aligner: 16 kHz PCM -> per-10 ms log posteriors over a universal phone inventory.

The inventory is every normalised espeak-ng IPA phone (:func:`ipa.normalise`) seen often enough in
the multilingual synthetic corpus, plus ``sil``; a phone outside it is scored as its nearest
inventory phone in articulatory features (:func:`ipa.nearest`), so any language espeak-ng can
phonemize can be aligned.

Front end: the log-mel of ``models/training/features.py`` (80 bands, 10 ms hop, frame ``m``
centred on sample ``160 m``), minus its per-utterance mean per band (cepstral-mean style channel
normalisation: real recordings differ from the synthesiser in level and colour). Trunk: a
1-D convolution and dilated residual convolution blocks (receptive field about +-0.6 s), a
frame-wise classifier. Trained with frame-wise cross-entropy on the synthesiser's exact phone
timings (see train.py for why not CTC).
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..features import HOP, N_MELS, SAMPLE_RATE, LogMel
from ..network import DilatedConfig
from . import ipa

FRAME_S = HOP / SAMPLE_RATE   # 0.01 s


@dataclass
class AlignerConfig(DilatedConfig):
    channels: int = 128
    dilations: tuple = (1, 2, 4, 8, 16)
    kernel: int = 3


class _Norm(nn.Module):
    """LayerNorm over channels, per frame."""

    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class _Block(nn.Module):
    def __init__(self, c, k, d):
        super().__init__()
        self.norm = _Norm(c)
        self.conv = nn.Conv1d(c, c, k, dilation=d, padding=d * (k - 1) // 2)
        self.out = nn.Conv1d(c, c, 1)

    def forward(self, x):
        return x + self.out(nn.functional.gelu(self.conv(self.norm(x))))


class PhoneNet(nn.Module):
    """forward(audio [B, N]) -> logits [B, K, 1 + N // 160]."""

    def __init__(self, inventory, cfg=None):
        super().__init__()
        self.cfg = cfg = cfg or AlignerConfig()
        self.inventory = list(inventory)
        c = cfg.channels
        self.frontend = LogMel()
        self.conv_in = nn.Conv1d(N_MELS, c, 5, padding=2)
        self.blocks = nn.ModuleList(_Block(c, cfg.kernel, d) for d in cfg.dilations)
        self.norm_out = _Norm(c)
        self.head = nn.Conv1d(c, len(self.inventory), 1)
        self.register_buffer("log_prior", torch.zeros(len(self.inventory)))

    def features(self, audio):
        with torch.no_grad():
            m = self.frontend(audio)
        return m - m.mean(dim=2, keepdim=True)

    def forward(self, audio, feats=None):
        x = self.features(audio) if feats is None else feats
        x = nn.functional.gelu(self.conv_in(x))
        for b in self.blocks:
            x = b(x)
        return self.head(nn.functional.gelu(self.norm_out(x)))


def n_frames(n_samples):
    return 1 + int(n_samples) // HOP


def frame_labels(phones, n, index):
    """Class index of each of ``n`` frames: the phone whose [start, end) holds the frame centre."""
    lab = np.full(n, index[ipa.SIL], np.int64)
    centres = np.arange(n) * FRAME_S
    for s, e, p in phones:
        k = index.get(ipa.normalise(p) if p else ipa.SIL, -100)   # -100: no class, ignored by the loss
        a, b = np.searchsorted(centres, [s, e], side="left")
        lab[a:b] = k
    return lab


def save(path, model, extra=None):
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"state": state, "inventory": model.inventory, "cfg": model.cfg.to_dict(),
                "extra": extra or {}}, path)


def load(path):
    from inference.errors import ParleyError
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise ParleyError(f"aligner model {path!r} not found; train one with "
                          f"python -m models.training.aligner.train") from None
    model = PhoneNet(ck["inventory"], AlignerConfig.from_dict(ck["cfg"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["state"].items()})
    model.eval()
    return model


@torch.no_grad()
def log_posteriors(model, audio):
    """audio float32 [N] at 16 kHz -> log posteriors [T, K] (numpy), T = 1 + N // 160."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    feats = model.features(x)
    logits = model(None, feats=feats)[0]
    return torch.log_softmax(logits, dim=0).T.numpy()
