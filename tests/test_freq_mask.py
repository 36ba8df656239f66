"""SpecAugment-style frequency masking in training (``train --freq-mask P``, ``features.FrequencyMask``)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.training import train as T  # noqa: E402
from models.training.features import N_MELS, FrequencyMask  # noqa: E402
from models.training.network import MotionNet, NetConfig  # noqa: E402

SMALL = NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8)


def test_masked_bands_are_whole_mel_channels_filled_with_the_items_mean():
    feats = torch.randn(64, N_MELS, 30)
    out = FrequencyMask(p=1.0, count=2, width=12, seed=3)(feats)
    changed = (out != feats).any(-1)  # [B, n_mels]: a band is all of a channel's frames or none of them
    assert torch.equal((out != feats).all(-1), changed)
    widths = changed.sum(1)
    assert 0 < widths.float().mean() and int(widths.max()) <= 2 * 12
    b, k = torch.nonzero(changed)[0]
    assert torch.allclose(out[b, k], feats[b].mean().expand(30))


def test_p_sets_the_share_of_masked_items_and_eval_mode_never_masks():
    feats = torch.randn(2000, N_MELS, 4)
    mask = FrequencyMask(p=0.5, count=2, width=12, seed=0)
    share = float((mask(feats) != feats).flatten(1).any(1).float().mean())
    assert 0.4 < share < 0.5  # half the items drawn, a few of those with two zero-width bands
    mask.eval()
    assert torch.equal(mask(feats), feats)
    assert torch.equal(FrequencyMask(p=0.0)(feats), feats)


def test_only_the_training_network_masks_and_the_exported_one_holds_no_trace(tmp_path):
    args, weights = T.parse_args(["--corpus", "c", "--out", str(tmp_path), "--freq-mask", "1"])
    trainer = T.Trainer(SMALL, 1e-3, weights)
    trainer.net.feature_mask = FrequencyMask(args.freq_mask)
    audio, style, noise = 0.1 * torch.randn(1, 16000), torch.zeros(1, SMALL.style_dim), torch.randn(1, 6, SMALL.noise_dim)
    trainer.ema_net.load_state_dict(trainer.net.state_dict())
    with torch.no_grad():
        assert not torch.equal(trainer.net(audio, style, noise), trainer.ema_net(audio, style, noise))
        fresh = MotionNet(SMALL).eval()
        fresh.load_state_dict(trainer.ema_net.state_dict())  # what export builds: no mask, same keys
        assert fresh.feature_mask is None and trainer.ema_net.feature_mask is None
        np.testing.assert_array_equal(fresh(audio, style, noise).numpy(), trainer.ema_net(audio, style, noise).numpy())
    assert set(trainer.net.state_dict()) == set(fresh.state_dict())


@pytest.mark.parametrize("bad", ["-0.1", "1.5"])
def test_a_share_outside_0_to_1_is_refused_with_what_to_give(bad, capsys):
    with pytest.raises(SystemExit):
        T.parse_args(["--corpus", "c", "--out", "o", "--freq-mask", bad])
    assert "between 0 and 1" in capsys.readouterr().err
