"""Log-mel front end as plain torch ops that export to ONNX (opset 17) without any STFT operator.

The STFT is a strided ``Conv1d`` whose kernels are a Hann-windowed DFT basis (real and imaginary
parts of every bin), the mel filterbank is a constant matrix, so the shipped graph takes raw
16 kHz PCM and the runtime needs neither librosa nor scipy.

Parameters match ``librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160,
win_length=400, window="hann", center=True, pad_mode="constant", power=2.0, n_mels=80,
fmin=0, fmax=8000)`` (Slaney mel scale and normalisation); ``tests/test_features.py`` checks the
parity. Frame ``m`` is centred on sample ``m * 160`` (10 ms hop), ``1 + N // 160`` frames.
"""
import math

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
FMIN = 0.0
FMAX = 8000.0
LOG_FLOOR = 1e-6  # power floor before the log: -60 dB below a unit-power bin


def hann_window(n):
    """Periodic Hann window (what librosa/scipy use for spectral analysis)."""
    k = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * math.pi * k / n)


def dft_basis(n_fft=N_FFT):
    """[2 * (n_fft // 2 + 1), 1, n_fft] float32: windowed cos rows, then windowed -sin rows."""
    n_bins = n_fft // 2 + 1
    k = np.arange(n_bins, dtype=np.float64)[:, None]
    n = np.arange(n_fft, dtype=np.float64)[None, :]
    angle = 2.0 * math.pi * k * n / n_fft
    window = hann_window(n_fft)[None, :]
    basis = np.concatenate([window * np.cos(angle), -window * np.sin(angle)], axis=0)
    return basis[:, None, :].astype(np.float32)


def mel_matrix(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX):
    """[n_mels, n_fft // 2 + 1] Slaney-normalised mel filterbank (librosa's default)."""
    import librosa  # training-side only: the matrix becomes a constant inside the ONNX graph

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


class MelSpectrogram(nn.Module):
    """PCM [B, N] -> mel power [B, n_mels, 1 + N // hop] (librosa-compatible, centred frames)."""

    def __init__(self, n_fft=N_FFT, hop=HOP, n_mels=N_MELS, sr=SAMPLE_RATE):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.n_bins = n_fft // 2 + 1
        self.register_buffer("basis", torch.from_numpy(dft_basis(n_fft)), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_matrix(sr, n_fft, n_mels)), persistent=False)

    def forward(self, pcm):
        half = self.n_fft // 2
        x = nn.functional.pad(pcm.unsqueeze(1), (half, half))  # center=True, zero padding
        spec = nn.functional.conv1d(x, self.basis, stride=self.hop)  # [B, 2 * bins, M]
        real, imag = spec[:, :self.n_bins], spec[:, self.n_bins:]
        power = real * real + imag * imag
        return torch.matmul(self.mel, power)  # [B, n_mels, M]


class LogMel(nn.Module):
    """PCM [B, N] -> normalised log-mel [B, n_mels, 1 + N // hop].

    ``(log10(mel + 1e-6) + 2) / 2``: a fixed affine map (no per-utterance statistics), so a frame's
    features depend only on the audio around it and chunked inference joins seamlessly.
    """

    def __init__(self, **kwargs):
        super().__init__()
        self.mel = MelSpectrogram(**kwargs)

    def forward(self, pcm):
        return (torch.log10(self.mel(pcm) + LOG_FLOOR) + 2.0) * 0.5


class FrequencyMask(nn.Module):
    """Training only: SpecAugment's frequency masking on the log-mel [B, n_mels, M] (Park et al. 2019, "SpecAugment").

    Each item, with probability ``p``, gets ``count`` bands of up to ``width`` mel channels set to its own mean
    log-mel, so no single band (a formant a voice puts elsewhere, a room's resonance, a codec's cut) can carry a
    decision alone. No time masks: the lips' targets are frame-exact, and a masked /b/ has no closure to hear.
    Identity in eval mode; never part of an exported graph (``Trainer`` sets it on the training network only)."""

    def __init__(self, p=0.5, count=2, width=12, seed=0):
        super().__init__()
        self.p, self.count, self.width = float(p), int(count), int(width)
        self.gen = torch.Generator().manual_seed(seed)

    def forward(self, feats):
        if not self.training or self.p <= 0:
            return feats
        b, n_mels, _ = feats.shape
        g = self.gen
        chan = torch.arange(n_mels).view(1, 1, n_mels)
        w = torch.randint(0, self.width + 1, (b, self.count, 1), generator=g)
        lo = (torch.rand(b, self.count, 1, generator=g) * (n_mels - w + 1)).long()
        bands = ((chan >= lo) & (chan < lo + w)).any(1)  # [B, n_mels]
        bands &= (torch.rand(b, 1, generator=g) < self.p)
        fill = feats.mean(dim=(1, 2), keepdim=True).detach()
        return torch.where(bands.unsqueeze(-1), fill, feats)
