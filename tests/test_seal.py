"""The lip seal (``NetConfig.seal``, ``train --init CKPT --seal``): one output that shuts the lips whatever the jaw does."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inference.arkit import RIG_NAMES  # noqa: E402
from models.training import metrics as M  # noqa: E402
from models.training import train as T  # noqa: E402
from models.training.network import LIP_OPENERS, NetConfig, seal_curves, seal_masks  # noqa: E402

SMALL = NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8)
SEALED = NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8, seal=True)
CLOSE, JAW = RIG_NAMES.index("mouthClose"), RIG_NAMES.index("jawOpen")
OPENERS = [RIG_NAMES.index(n) for n in LIP_OPENERS]


def _inputs(seconds=1.0):
    torch.manual_seed(1)
    n = int(16000 * seconds)
    return 0.1 * torch.randn(1, n), torch.zeros(1, SMALL.style_dim), torch.randn(1, 6, SMALL.noise_dim)


def _busy(trainer):
    """Weights that are all non-trivial, as a trained network's are."""
    with torch.no_grad():
        for net in (trainer.net, trainer.ema_net):
            for p in net.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return trainer


def test_the_seal_scales_the_lip_gap_and_never_puts_close_past_the_jaw():
    rng = np.random.default_rng(0)
    p = torch.tensor(rng.uniform(0, 1, (2, 40, len(RIG_NAMES))), dtype=torch.float32)
    out = seal_curves(p, *seal_masks()).numpy()
    s, jaw = p[..., CLOSE].numpy(), p[..., JAW].numpy()
    np.testing.assert_allclose(out[..., CLOSE], s * jaw, rtol=1e-5)
    assert np.all(out[..., CLOSE] <= out[..., JAW] + 1e-7)
    others = [k for k in range(len(RIG_NAMES)) if k not in OPENERS + [CLOSE]]
    np.testing.assert_allclose(out[..., others], p[..., others].numpy(), rtol=1e-6)
    raw_gap = p[..., JAW].numpy() + 0.5 * (p[..., OPENERS[0]] + p[..., OPENERS[1]] + p[..., OPENERS[2]]
                                           + p[..., OPENERS[3]]).numpy()
    for b in range(2):  # metrics.lip_gap of the sealed curves: (1 - s) * (jaw + openers)
        np.testing.assert_allclose(M.lip_gap(out[b], RIG_NAMES), (1 - s[b]) * raw_gap[b], rtol=1e-5, atol=1e-6)


def test_a_sealed_network_gives_its_losses_the_logits_of_what_it_outputs():
    trainer = _busy(T.Trainer(SEALED, 1e-3))
    audio, style, noise = _inputs()
    with torch.no_grad():
        logits, _ = trainer.net.logits(audio, style, noise)
        curves = trainer.net(audio, style, noise)
    np.testing.assert_allclose(torch.sigmoid(logits).numpy(), curves.numpy(), atol=2e-6)
    assert np.all(curves[..., CLOSE].numpy() <= curves[..., JAW].numpy() + 1e-7)
    # a network without the seal is untouched by it
    plain = _busy(T.Trainer(SMALL, 1e-3))
    with torch.no_grad():
        raw, _ = plain.net.raw_logits(audio, style, noise)
        np.testing.assert_array_equal(plain.net.logits(audio, style, noise)[0].numpy(), raw.numpy())


def test_seal_head_starts_the_seal_from_the_checkpoints_own_close_and_jaw_outputs():
    torch.manual_seed(0)
    ckpt = _busy(T.Trainer(SMALL, 1e-3)).state(dict())
    old = T.Trainer(SMALL, 1e-3)
    old.load(ckpt, weights_only=True)
    new = T.Trainer(T.network_config(ckpt["cfg"], seal=True), 1e-3)
    new.load(ckpt, weights_only=True)
    assert new.cfg.seal and not old.cfg.seal
    T.seal_head(new.net)
    audio, style, noise = _inputs()
    with torch.no_grad():
        a = old.net.raw_logits(audio, style, noise)[0]
        b = new.net.raw_logits(audio, style, noise)[0]
        curves = new.net(audio, style, noise)
    expect = torch.sigmoid(T.SEAL_SCALE * (a[..., CLOSE] - a[..., JAW]) + T.SEAL_BIAS)
    np.testing.assert_allclose(torch.sigmoid(b[..., CLOSE]).numpy(), expect.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(curves[..., CLOSE].numpy(), (expect * torch.sigmoid(a[..., JAW])).numpy(),
                               rtol=1e-4, atol=1e-6)
    keep = [k for k in range(len(RIG_NAMES)) if k not in OPENERS + [CLOSE]]
    np.testing.assert_allclose(b[..., keep].numpy(), a[..., keep].numpy(), atol=1e-6)


def test_seal_needs_a_checkpoint_to_convert():
    with pytest.raises(SystemExit):
        T.parse_args(["--corpus", "c", "--out", "o", "--seal"])


def test_a_sealed_network_exports_and_runs_in_onnxruntime(tmp_path):
    """export() checks onnxruntime against torch itself; here: it passes, and the runtime's curves keep the seal."""
    pytest.importorskip("onnxruntime")
    from inference.animate import animate
    from inference.model import load_model
    from models.training.export import export
    from models.training.train import fit_gmm

    trainer = _busy(T.Trainer(SEALED, 1e-3))
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.uniform(-0.5, 0.5, (200, SEALED.n_named)), rng.normal(0, 1, (200, SEALED.latent_dim))], 1)
    ckpt = tmp_path / "sealed.pt"
    torch.save(trainer.state(dict(prior=fit_gmm(codes, k=2), summary={})), ckpt)
    export(str(ckpt), str(tmp_path / "parley.onnx"), "0.0-test", check=True)
    model = load_model(str(tmp_path / "parley.onnx"), device="cpu", threads=1)
    curves = animate(model, rng.normal(0, 0.1, 16000).astype(np.float32), 16000, 50)
    values = np.asarray(curves.values)
    names = list(curves.names)
    assert np.all(values[:, names.index("mouthClose")] <= values[:, names.index("jawOpen")] + 1e-5)


def test_a_sealed_and_an_unsealed_checkpoint_are_not_averaged():
    """soup (WiSE-FT) of 3.4 and its sealed fine-tune would mix a mouthClose curve with a seal: refused."""
    from models.training.soup import soup
    torch.manual_seed(0)
    plain = _busy(T.Trainer(SMALL, 1e-3)).state(dict())
    sealed = _busy(T.Trainer(SEALED, 1e-3)).state(dict())
    with pytest.raises(SystemExit, match="differ in the lip seal"):
        soup(plain, sealed, 0.5)
    assert soup(sealed, sealed, 0.5)["cfg"]["seal"]
