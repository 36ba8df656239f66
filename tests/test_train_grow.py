"""Growing the trunk of a trained network (``train --init CKPT --grow D ...``): capacity without starting over."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.training import train as T  # noqa: E402
from models.training.network import NetConfig  # noqa: E402

SMALL = NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8)


def _trained(cfg=SMALL):
    """A trainer whose weights are all non-trivial, as a trained checkpoint's are (fresh blocks are the identity)."""
    torch.manual_seed(0)
    trainer = T.Trainer(cfg, 1e-3)
    with torch.no_grad():
        for net in (trainer.net, trainer.ema_net):
            for p in net.parameters():
                p.add_(0.05 * torch.randn_like(p))
    return trainer.state(dict())


def _run(net):
    torch.manual_seed(1)
    audio, style, noise = 0.1 * torch.randn(1, 16000), torch.zeros(1, SMALL.style_dim), torch.randn(1, 6, 8)
    with torch.no_grad():
        return net(audio, style, noise)


def test_a_grown_network_starts_out_computing_what_its_checkpoint_did():
    ckpt = _trained()
    cfg = T.network_config(ckpt["cfg"], (1, 3, 9))
    assert cfg.dilations == (1, 3, 1, 3, 9) and cfg.channels == SMALL.channels
    assert cfg.receptive_frames() == SMALL.receptive_frames() + 13
    small, grown = T.Trainer(SMALL, 1e-3), T.Trainer(cfg, 1e-3)
    small.load(ckpt, weights_only=True)
    grown.load(ckpt, weights_only=True)
    assert len(grown.net.blocks) == 5
    for a, b in ((small.net, grown.net), (small.ema_net, grown.ema_net)):
        np.testing.assert_array_equal(_run(a).numpy(), _run(b).numpy())
    # and the new blocks learn: their output convolutions get a gradient at the first step
    out = grown.net(0.1 * torch.randn(1, 16000), torch.zeros(1, SMALL.style_dim), torch.randn(1, 6, 8)).sum()
    out.backward()
    assert grown.net.blocks[4].out.weight.grad.abs().sum() > 0


def test_a_checkpoint_that_does_not_fit_is_refused_with_what_differs():
    """Wider channels, or a checkpoint with *more* blocks than the network: no silent partial load."""
    ckpt = _trained(NetConfig(channels=16, dilations=(1, 3, 9), upper_channels=8, style_hidden=8))
    with pytest.raises(SystemExit, match="does not fit this network"):
        T.Trainer(SMALL, 1e-3).load(ckpt, weights_only=True)
    with pytest.raises(SystemExit, match="does not fit this network: size mismatch for conv_in.weight"):
        T.Trainer(NetConfig(channels=24, dilations=(1, 3), upper_channels=8, style_hidden=8), 1e-3).load(
            _trained(), weights_only=True)


def test_grow_needs_a_checkpoint_to_grow(capsys):
    with pytest.raises(SystemExit):
        T.parse_args(["--corpus", "c", "--out", "o", "--grow", "1", "3"])
    assert "--grow adds blocks to the network of --init" in capsys.readouterr().err
    args, _ = T.parse_args(["--corpus", "c", "--out", "o", "--init", "x.pt", "--grow", "1", "3"])
    assert args.grow == [1, 3]


def test_a_soup_of_a_checkpoint_and_its_grown_fine_tune_lies_between_them():
    """``soup`` at 0 is the start (the grown blocks back to the identity), at 1 the fine-tune; mismatched shapes,
    a key the start cannot have had, or a weight outside [0, 1] are refused with what to do."""
    from models.training.soup import soup
    a = _trained()
    b = _trained(T.network_config(a["cfg"], (9,)))  # a "fine-tune": every weight moved, one block added
    nets = {}
    for alpha in (0.0, 0.5, 1.0):
        trainer = T.Trainer(T.network_config(a["cfg"], (9,)), 1e-3)
        trainer.load(soup(a, b, alpha), weights_only=True)
        nets[alpha] = _run(trainer.ema_net).numpy()
    small = T.Trainer(SMALL, 1e-3)
    small.load(a, weights_only=True)
    grown = T.Trainer(T.network_config(a["cfg"], (9,)), 1e-3)
    grown.load(b, weights_only=True)
    np.testing.assert_allclose(nets[0.0], _run(small.ema_net).numpy(), atol=1e-6)
    np.testing.assert_allclose(nets[1.0], _run(grown.ema_net).numpy(), atol=1e-6)
    assert np.abs(nets[0.5] - nets[0.0]).max() > 1e-4 and np.abs(nets[0.5] - nets[1.0]).max() > 1e-4
    with pytest.raises(SystemExit, match="use a weight in"):
        soup(a, b, 1.5)
    with pytest.raises(SystemExit, match="only in --b"):
        soup(a, dict(b, ema_net={**b["ema_net"], "extra.weight": torch.zeros(1)}), 0.5)
    wide = _trained(NetConfig(channels=24, dilations=(1, 3), upper_channels=8, style_hidden=8))
    with pytest.raises(SystemExit, match="not one fine-tuning path"):
        soup(a, wide, 0.5)
