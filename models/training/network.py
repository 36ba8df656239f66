"""Parley's motion network: 16 kHz PCM + style + noise -> 51 ARKit curves at 50 fps.

Shape of the computation (all non-autoregressive, all convolutions, no statistics over time, so a
frame depends only on the audio within the receptive field and chunked inference is seamless):

    audio [B,N] -> LogMel (in-graph STFT) [B,80,M @100 fps] -> Conv1d stride 2 -> [B,C,T @50 fps]
    -> residual dilated conv blocks, each FiLM-modulated by the style vector (named axes + latent)
    -> lower-face head (jaw, mouth, cheeks, nose): trunk only, never sees the noise
    -> upper-face head (brows, eyes): trunk + seed noise [B,Tn,Z @5 Hz] up-sampled by a
       transposed conv, so blinks, brow raises and gaze differ between seeds while lips do not.

Training-only parts: :class:`StyleEncoder` (curves -> named axes + latent posterior; shipped as
a second small graph for "Mimic") and :class:`NoisePosterior` (upper-face curves -> temporal
latent posterior, the CVAE that teaches the upper head what the noise means; at inference the
noise is N(0, 1)).
"""
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from inference.arkit import RIG_NAMES

from .features import HOP, N_MELS, SAMPLE_RATE, LogMel
from .style_axes import STYLE_AXES

FPS = 50
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 320
UPPER_NAMES = tuple(n for n in RIG_NAMES if n.startswith(("brow", "eye")))
LOWER_NAMES = tuple(n for n in RIG_NAMES if n not in UPPER_NAMES)
LIP_OPENERS = ("mouthLowerDown_L", "mouthLowerDown_R", "mouthUpperUp_L", "mouthUpperUp_R")
LOGIT_EPS = 1e-6


def seal_masks():
    """-> (close [51], openers [51]) 0/1 float masks over RIG_NAMES for :func:`seal_curves`."""
    close = torch.tensor([float(n == "mouthClose") for n in RIG_NAMES])
    return close, torch.tensor([float(n in LIP_OPENERS) for n in RIG_NAMES])


def seal_curves(p, close_mask, opener_mask):
    """Sigmoid outputs [B,T,51] -> curves with the lip seal applied.

    With ``NetConfig.seal`` the network's mouthClose output is the *seal* s in [0, 1], not the curve: the curve
    is ``s * jawOpen`` and the lip openers (mouthLowerDown, mouthUpperUp) are scaled by ``1 - s``, so the lip gap
    (``metrics.lip_gap``: jaw - close + openers) is ``(1 - s) * (jaw + openers)`` and one output shuts the lips
    whatever the jaw does. The teacher draws it so (``mouthClose`` never exceeds ``jawOpen``; where it reaches
    it the openers are ~0), while a network with independent sigmoids must match two curves to the hundredth to
    seal, and a short intervocalic /b/ ends 1-3 mm open. Only multiplications, so it exports to ONNX as is.
    Measured as a fine-tune of 3.4 (run v19, MODEL_HISTORY.md): it did not make unheard closures heard."""
    jaw = p[..., RIG_NAMES.index("jawOpen")].unsqueeze(-1)
    s = p[..., RIG_NAMES.index("mouthClose")].unsqueeze(-1)
    return p * (1.0 + close_mask * (jaw - 1.0) - opener_mask * s)


class DilatedConfig:
    """to_dict/from_dict for a dataclass config with a ``dilations`` tuple (a JSON list in checkpoints)."""

    def to_dict(self):
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @classmethod
    def from_dict(cls, d):
        d = dict(d)
        d["dilations"] = tuple(d["dilations"])
        return cls(**d)


@dataclass
class NetConfig(DilatedConfig):
    channels: int = 128
    dilations: tuple = (1, 3, 9, 1, 3, 9)
    kernel: int = 3
    n_named: int = len(STYLE_AXES)
    latent_dim: int = 4
    noise_dim: int = 8
    noise_step: int = 10          # frames per noise step: 50 fps / 10 = 5 Hz
    upper_channels: int = 64
    style_hidden: int = 64
    seal: bool = False            # mouthClose as a share of jawOpen that also closes the lip openers (see seal_curves)

    @property
    def style_dim(self):
        return self.n_named + self.latent_dim

    def receptive_frames(self):
        """Frames of context on each side that can influence one output frame (upper bound)."""
        trunk = sum(d * (self.kernel - 1) // 2 for d in self.dilations)
        # input conv (k=5 at 100 fps ~ 1 frame), heads (k=3 / k=5), noise up-sampling
        return trunk + 1 + 1 + 2 + self.noise_step



class ChannelNorm(nn.Module):
    """LayerNorm over channels of [B, C, T], per frame (never over time)."""

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class Block(nn.Module):
    def __init__(self, channels, kernel, dilation, style_hidden):
        super().__init__()
        self.norm = ChannelNorm(channels)
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.film = nn.Linear(style_hidden, 2 * channels)
        self.out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, s):
        h = self.conv(self.norm(x))
        gamma, beta = self.film(s).unsqueeze(-1).chunk(2, dim=1)
        h = nn.functional.gelu(h * (1.0 + gamma) + beta)
        return x + self.out(h)


class MotionNet(nn.Module):
    """forward(audio [B,N], style [B,S], noise [B,Tn,Z]) -> curves [B,T,51] in [0,1], T = ceil((1 + N//160) / 2)."""

    def __init__(self, cfg=None):
        super().__init__()
        self.cfg = cfg = cfg or NetConfig()
        c = cfg.channels
        self.upper_idx = [RIG_NAMES.index(n) for n in UPPER_NAMES]
        self.lower_idx = [RIG_NAMES.index(n) for n in LOWER_NAMES]
        stacked = self.lower_idx + self.upper_idx  # channel p of cat([lower, upper]) is curve stacked[p]
        order = [stacked.index(k) for k in range(len(RIG_NAMES))]
        self.register_buffer("order", torch.tensor(order, dtype=torch.long), persistent=False)
        self.frontend = LogMel()
        self.feature_mask = None  # training only: features.FrequencyMask, set by the trainer (never exported)
        self.conv_in = nn.Conv1d(N_MELS, c, 5, stride=2, padding=2)
        self.style_mlp = nn.Sequential(nn.Linear(cfg.style_dim, cfg.style_hidden), nn.GELU(),
                                       nn.Linear(cfg.style_hidden, cfg.style_hidden), nn.GELU())
        self.blocks = nn.ModuleList(Block(c, cfg.kernel, d, cfg.style_hidden) for d in cfg.dilations)
        self.norm_out = ChannelNorm(c)
        self.lower = nn.Sequential(nn.Conv1d(c, c, 3, padding=1), nn.GELU(), nn.Conv1d(c, len(LOWER_NAMES), 1))
        cu = cfg.upper_channels
        self.upper_in = nn.Conv1d(c, cu, 1)
        self.noise_up = nn.ConvTranspose1d(cfg.noise_dim, cu, 2 * cfg.noise_step, stride=cfg.noise_step,
                                           padding=cfg.noise_step // 2)
        self.upper = nn.Sequential(nn.GELU(), nn.Conv1d(cu, cu, 5, padding=2), nn.GELU(),
                                   nn.Conv1d(cu, len(UPPER_NAMES), 1))
        for head in (self.lower[-1], self.upper[-1]):
            nn.init.constant_(head.bias, -3.0)
        close, openers = seal_masks()
        self.register_buffer("seal_close", close, persistent=False)
        self.register_buffer("seal_openers", openers, persistent=False)

    def features(self, audio):
        return self.frontend(audio)

    def trunk(self, audio, style):
        feats = self.features(audio)
        if self.feature_mask is not None:
            feats = self.feature_mask(feats)
        x = self.conv_in(feats)
        s = self.style_mlp(style)
        for block in self.blocks:
            x = block(x, s)
        return self.norm_out(x)

    def raw_logits(self, audio, style, noise):
        """(the heads' outputs [B,T,51] in RIG_NAMES order, trunk features [B,C,T])."""
        x = self.trunk(audio, style)
        lower = self.lower(x)
        logits = torch.cat([lower, self.upper_logits(x, noise)], dim=1)[:, self.order]  # back to RIG_NAMES order
        return logits.transpose(1, 2), x

    def logits(self, audio, style, noise):
        """(pre-sigmoid curves [B,T,51], trunk features [B,C,T]): what training needs (its losses work on logits).
        With the seal the curves it changes are given as the logits of :func:`seal_curves`' values."""
        raw, x = self.raw_logits(audio, style, noise)
        if not self.cfg.seal:
            return raw, x
        sealed = torch.logit(seal_curves(torch.sigmoid(raw), self.seal_close, self.seal_openers), eps=LOGIT_EPS)
        changed = self.seal_close + self.seal_openers
        return raw + changed * (sealed - raw), x

    def upper_logits(self, trunk, noise):
        """Upper-face head alone: trunk features [B,C,T] + noise [B,Tn,Z] -> logits [B,len(UPPER_NAMES),T]
        (training draws it a second time with prior noise to match the teacher's brow activity)."""
        n = self.noise_up(noise.transpose(1, 2))[:, :, :trunk.shape[2]]
        return self.upper(self.upper_in(trunk) + n)

    def forward(self, audio, style, noise):
        p = torch.sigmoid(self.raw_logits(audio, style, noise)[0])
        return seal_curves(p, self.seal_close, self.seal_openers) if self.cfg.seal else p


class StyleEncoder(nn.Module):
    """curves [B,T,51] @50 fps -> (named [B,n_named], latent mean [B,L], latent log-variance [B,L]).

    Temporal mean pooling over a non-causal conv stack: the style of a clip, not its content.
    """

    def __init__(self, cfg=None, hidden=128):
        super().__init__()
        self.cfg = cfg = cfg or NetConfig()
        k = len(RIG_NAMES)
        self.net = nn.Sequential(
            nn.Conv1d(2 * k, hidden, 5, padding=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=4, dilation=2), nn.GELU(),
            nn.Conv1d(hidden, hidden, 5, padding=8, dilation=4), nn.GELU(),
        )
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(),
                                  nn.Linear(hidden, cfg.n_named + 2 * cfg.latent_dim))

    def forward(self, curves):
        x = curves.transpose(1, 2)
        vel = torch.cat([x[:, :, :1] * 0, x[:, :, 1:] - x[:, :, :-1]], dim=2) * 10.0
        h = self.net(torch.cat([x, vel], dim=1))
        pooled = torch.cat([h.mean(dim=2), h.std(dim=2)], dim=1)
        out = self.head(pooled)
        n, l = self.cfg.n_named, self.cfg.latent_dim
        return out[:, :n], out[:, n:n + l], out[:, n + l:].clamp(-8.0, 4.0)


class StyleEncoderExport(nn.Module):
    """Mimic graph: curves [1,T,51] -> style [1,S] = (named axes clamped to range, latent mean)."""

    def __init__(self, encoder, lo, hi):
        super().__init__()
        self.encoder = encoder
        self.register_buffer("lo", torch.tensor(lo, dtype=torch.float32))
        self.register_buffer("hi", torch.tensor(hi, dtype=torch.float32))

    def forward(self, curves):
        named, mu, _ = self.encoder(curves)
        named = torch.minimum(torch.maximum(named, self.lo), self.hi)
        return torch.cat([named, mu], dim=1)


class NoisePosterior(nn.Module):
    """upper-face curves [B,T,U] -> (mean, log-variance) [B,Tn,Z], Tn = ceil(T / noise_step)."""

    def __init__(self, cfg=None, hidden=64):
        super().__init__()
        self.cfg = cfg = cfg or NetConfig()
        u = len(UPPER_NAMES)
        self.net = nn.Sequential(nn.Conv1d(u, hidden, 5, padding=2), nn.GELU(),
                                 nn.Conv1d(hidden, hidden, 5, padding=2), nn.GELU())
        self.down = nn.Conv1d(hidden, 2 * cfg.noise_dim, cfg.noise_step, stride=cfg.noise_step)

    def forward(self, upper):
        x = upper.transpose(1, 2)
        t = x.shape[2]
        step = self.cfg.noise_step
        pad = (-t) % step
        h = self.net(nn.functional.pad(x, (0, pad)))
        out = self.down(h).transpose(1, 2)
        mu, logvar = out.chunk(2, dim=2)
        return mu, logvar.clamp(-8.0, 4.0)


def n_frames(n_samples):
    """Output frames of MotionNet for n_samples of 16 kHz audio."""
    m = 1 + n_samples // HOP
    return (m + 1) // 2


def n_noise_steps(frames, cfg=None):
    step = (cfg or NetConfig()).noise_step
    return -(-frames // step)
