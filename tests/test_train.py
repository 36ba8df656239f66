"""Training losses: the things that went wrong before and must not again."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dataclasses import replace  # noqa: E402

from inference.arkit import RIG_NAMES  # noqa: E402
from models.training import losses as LS  # noqa: E402
from models.training import train as T  # noqa: E402
from models.training.dataset import phone_frames, shape_frames, vowel_frames  # noqa: E402
from models.training.network import NetConfig  # noqa: E402
from models.training.phonemes import PHONE_INDEX, PHONES  # noqa: E402
from models.training.style_axes import STYLE_AXES  # noqa: E402

FRAMES, CONTEXT, B = 40, 10, 2


def _batch(rng, roll_value=0.6):
    curves = np.zeros((B, FRAMES, len(RIG_NAMES)), np.float32)
    curves[:, 10:25, RIG_NAMES.index("mouthRollLower")] = roll_value  # an /f/ the net must learn to tuck
    curves[:, :, RIG_NAMES.index("jawOpen")] = 0.3 + 0.2 * np.sin(np.arange(FRAMES) / 3.0)
    lab = np.zeros((B, FRAMES), np.float32)
    lab[:, 10:25] = 1
    phone = np.full((B, FRAMES), PHONE_INDEX["AH"], np.int64)
    phone[:, 10:25] = PHONE_INDEX["F"]
    phone[:, -3:] = -1  # unknown labels are ignored
    return dict(audio=(0.05 * rng.standard_normal((B, (FRAMES + 2 * CONTEXT) * 320))).astype(np.float32),
                curves=curves, mask=np.ones((B, FRAMES), np.float32), bilabial=np.zeros((B, FRAMES), np.float32),
                labiodental=lab, rounded=np.zeros((B, FRAMES), np.float32), phone=phone,
                style=np.array([[a.default for a in STYLE_AXES]] * B, np.float32),
                ref=rng.uniform(0, 1, (B, 60, len(RIG_NAMES))).astype(np.float32))


def _trainer():
    torch.manual_seed(0)
    return T.Trainer(NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8), 1e-3)


def _bias_grad(trainer, batch, name):
    """Gradient on the lower head's bias of curve ``name`` after one loss evaluation."""
    head = trainer.net.lower[-1]
    k = trainer.net.lower_idx.index(RIG_NAMES.index(name))
    trainer.opt.zero_grad(set_to_none=True)
    total, parts = trainer.losses(batch, CONTEXT, sample=False)
    total.backward()
    return float(head.bias.grad[k]), parts


def test_a_saturated_curve_still_gets_pulled_up():
    """Model 1.x: L1 through the sigmoid pushed rarely-used curves (mouthRollLower, cheekSquint, gaze) to
    logits near -20 where the gradient is ~1e-9, and they never recovered. The soft-target cross-entropy
    must keep a real gradient there."""
    trainer = _trainer()
    batch = _batch(np.random.default_rng(0))
    with torch.no_grad():
        head = trainer.net.lower[-1]
        head.bias[trainer.net.lower_idx.index(RIG_NAMES.index("mouthRollLower"))] = -20.0
    grad, parts = _bias_grad(trainer, batch, "mouthRollLower")
    assert grad < -1e-3, f"a dead curve gets gradient {grad:.2e}: it can never learn the /f v/ tuck"
    # the same with the cross-entropy switched off: what 1.x had (documents why the term exists)
    trainer.weights = replace(trainer.weights, bce=0.0)
    grad_l1, _ = _bias_grad(trainer, batch, "mouthRollLower")
    assert abs(grad_l1) < 1e-6 < abs(grad)


def test_losses_are_finite_and_reported():
    trainer = _trainer()
    total, parts = trainer.losses(_batch(np.random.default_rng(1)), CONTEXT, sample=True)
    assert np.isfinite(total.item())
    for key in ("l1", "bce", "vel", "closure", "gap", "gap_l1", "brow", "jitter", "phone", "asym", "style"):
        assert key in parts and np.isfinite(parts[key]), key
    # an untrained phone head is near chance: cross-entropy ~ log(40 classes) x its weight
    assert parts["phone"] == pytest.approx(np.log(len(PHONES)) * trainer.weights.phone, rel=0.3)


def test_phone_head_is_not_part_of_the_exported_net():
    trainer = _trainer()
    assert not any(p is q for p in trainer.phone_head.parameters() for q in trainer.net.parameters())
    assert "phone_head" in trainer.state({})


def test_jitter_term_prefers_the_teachers_crispness():
    """As crisp as the target scores 0 whatever it does frame by frame; a blurred copy and a frozen mouth do not."""
    batch = _batch(np.random.default_rng(2))
    target = torch.from_numpy(batch["curves"])
    mask = torch.from_numpy(batch["mask"])
    blurred = torch.nn.functional.avg_pool1d(target.transpose(1, 2), 5, 1, 2, count_include_pad=False).transpose(1, 2)
    assert float(LS.jitter_gap(target, target, mask)) == 0.0
    assert float(LS.jitter_gap(target.flip(1), target, mask)) < 1e-5  # same crispness, other motion
    assert float(LS.jitter_gap(blurred, target, mask)) > 0.3
    assert float(LS.jitter_gap(torch.zeros_like(target), target, mask)) > 2.0


def test_phone_frames_map_labels_and_skip_unknowns():
    phones = [(0.0, 0.1, "sil"), (0.1, 0.2, "F"), (0.2, 0.3, "AH1"), (0.3, 0.4, "QQ")]
    out = phone_frames(phones, 20)
    assert out[0] == PHONE_INDEX["sil"] and out[6] == PHONE_INDEX["F"] and out[12] == PHONE_INDEX["AH"]
    assert (out[15:] == -1).all()


def test_vowel_frames_mark_the_central_half_of_each_vowel_by_height():
    phones = [(0.0, 0.1, "sil"), (0.1, 0.26, "AA1"), (0.26, 0.34, "P"), (0.34, 0.5, "IY0"), (0.5, 0.66, "AH0")]
    out = vowel_frames(phones, 40)
    assert out[:7].tolist() == [0] * 7 and out[7:11].tolist() == [3] * 4 and out[11:19].tolist() == [0] * 8
    assert out[19:23].tolist() == [1] * 4 and (out[27:31] == 2).all() and (out[33:] == 0).all()


def test_shape_frames_mark_rounded_and_spread_phones_central_halves():
    phones = [(0.0, 0.1, "sil"), (0.1, 0.26, "UW1"), (0.26, 0.34, "P"), (0.34, 0.5, "IY0"), (0.5, 0.66, "AA1"),
              (0.66, 0.82, "w")]
    out = shape_frames(phones, 45)
    assert out[7:11].tolist() == [1] * 4 and out[19:23].tolist() == [2] * 4     # /uw/ rounded, /iy/ spread
    assert (out[:7] == 0).all() and (out[11:19] == 0).all() and (out[23:35] == 0).all()   # /p/, /aa/: neither
    assert out[35:39].tolist() == [1] * 4                                       # /w/ in any case


def test_rounding_term_compares_each_width_curve_per_class_and_keeps_the_contrast():
    T_, K = 20, len(LS.WIDTH_CURVES)
    shape = torch.zeros(1, T_, dtype=torch.long)
    shape[0, 3:7], shape[0, 12:16] = 1, 2             # a rounded and a spread vowel
    mask = torch.ones(1, T_)
    teacher = torch.zeros(1, T_, K)
    teacher[0, 1:9, :2], teacher[0, 10:18, 2:] = 0.6, 0.3   # pucker+funnel in /u/, stretch+smile in /i/
    assert float(LS.rounding_term(teacher, teacher, shape, mask, 1.0)) == 0.0
    assert float(LS.rounding_term(torch.roll(teacher, 1, dims=1), teacher, shape, mask, 1.0)) == 0.0  # a frame late
    flat = teacher.clone()
    flat[0, 3:7], flat[0, 12:16] = teacher[0, 3:16].mean(0), teacher[0, 3:16].mean(0)   # no contrast
    assert float(LS.rounding_term(flat, teacher, shape, mask, 1.0)) > 0.05
    weak = 0.5 * teacher                                                        # half the pucker, half the spread
    expect = 0.5 * (2 * 0.3 / K + 4 * 0.15 / K)
    assert abs(float(LS.rounding_term(weak, teacher, shape, mask, 1.0)) - expect) < 1e-6
    assert float(LS.rounding_term(weak, teacher, shape, mask, 0.0)) == 0.0     # off by default
    assert float(LS.rounding_term(weak, teacher, torch.zeros_like(shape), mask, 1.0)) == 0.0   # no such phones


def test_opening_term_compares_per_class_means_not_frames():
    T_ = 30
    vowel = torch.zeros(1, T_, dtype=torch.long)
    vowel[0, 5:10], vowel[0, 15:20] = 3, 1          # an open and a close vowel
    mask = torch.ones(1, T_)
    teacher = torch.zeros(1, T_)
    teacher[0, 2:13], teacher[0, 13:22] = 0.4, 0.1   # the vowels; the class frames are their central halves
    shifted = torch.roll(teacher, 2, dims=1)          # the same opening two frames late
    assert LS.opening_term(teacher, teacher, vowel, mask, 1.0) == 0.0
    half = LS.opening_term(0.5 * teacher, teacher, vowel, mask, 1.0)
    assert abs(float(half) - 0.5 * (0.2 + 0.05)) < 1e-6            # a mouth that opens half as wide
    assert float(LS.opening_term(shifted, teacher, vowel, mask, 1.0)) == 0.0    # when, within a vowel: no matter
    flat = torch.full((1, T_), 0.25)                                 # the same size on every vowel: no contrast
    assert abs(float(LS.opening_term(flat, teacher, vowel, mask, 1.0)) - 0.5 * (0.15 + 0.15)) < 1e-6
    assert LS.opening_term(0.5 * teacher, teacher, vowel, mask, 0.0) == 0.0     # off by default
    vowel[0, 15:18] = 0                                              # classes with under 3 frames are skipped
    vowel[0, 18:20] = 1
    assert abs(float(LS.opening_term(0.5 * teacher, teacher, vowel, mask, 1.0)) - 0.2) < 1e-6


def test_asymmetry_term_sees_only_the_left_right_difference():
    """The pairs are left/right twins; the term grows when the target leans to one side and the prediction does not."""
    trainer = _trainer()
    assert len(trainer.left_idx) == len(trainer.right_idx) >= 10
    for l, r in zip(trainer.left_idx.tolist(), trainer.right_idx.tolist()):
        assert RIG_NAMES[l][:-2] == RIG_NAMES[r][:-2] or (RIG_NAMES[l], RIG_NAMES[r]) == ("mouthLeft", "mouthRight")
    batch = _batch(np.random.default_rng(3))
    trainer.weights = replace(trainer.weights, asym=1.0)
    _, sym = trainer.losses(batch, CONTEXT, sample=False)
    batch["curves"][:, :, RIG_NAMES.index("mouthSmile_L")] += 0.3
    _, lean = trainer.losses(batch, CONTEXT, sample=False)
    assert lean["asym"] > sym["asym"] + 0.3 / len(trainer.left_idx) * 0.5


def test_lip_gap_term_matches_the_metric_and_only_touches_shut_bilabial_frames():
    """The torch lip gap is metrics.lip_gap; the hinge is zero where the teacher's lips are open or the
    frame is not /p b m/, and grows with the predicted gap where they are shut."""
    from models.training import metrics as M
    rng = np.random.default_rng(4)
    curves = rng.uniform(0, 1, (B, FRAMES, len(RIG_NAMES))).astype(np.float32)
    trainer = _trainer()
    ours = LS.lip_gap_t(torch.from_numpy(curves), trainer.name_idx).numpy()
    for b in range(B):
        np.testing.assert_allclose(ours[b], M.lip_gap(curves[b], RIG_NAMES), atol=1e-6)
    batch = _batch(rng)
    _, no_pbm = trainer.losses(batch, CONTEXT, sample=False)
    assert no_pbm["gap"] == 0.0  # no /p b m/ frame in the batch
    batch["bilabial"][:, 30:36] = 1.0  # the teacher's jaw is open there (0.3 +- 0.2): nothing to enforce
    _, open_pbm = trainer.losses(batch, CONTEXT, sample=False)
    assert open_pbm["gap"] == 0.0
    batch["curves"][:, 30:36, RIG_NAMES.index("jawOpen")] = 0.0  # now shut: the untrained net's gap is penalised
    _, shut = trainer.losses(batch, CONTEXT, sample=False)
    assert shut["gap"] > 0.01 and shut["event"] == 0.0              # the event term is off by default
    trainer.weights = replace(trainer.weights, event=1.0)
    _, events = trainer.losses(batch, CONTEXT, sample=False)
    assert events["event"] > 0.01 and events["gap"] == shut["gap"]
    assert shut["rounding"] == 0.0                                  # the rounding term is off by default
    batch["shape"] = np.zeros(batch["mask"].shape, np.int64)
    batch["shape"][:, 10:16], batch["curves"][:, 10:16, RIG_NAMES.index("mouthPucker")] = 1, 0.9
    trainer.weights = replace(trainer.weights, rounding=1.0)
    _, rounds = trainer.losses(batch, CONTEXT, sample=False)
    assert rounds["rounding"] > 0.01 and rounds["event"] == events["event"]


def test_tuck_hinge_only_touches_frames_where_the_teacher_tucks_and_the_roll_l1_weighs_against_false_tucks():
    """Zero where the teacher does not tuck or the frame is not /f v/; where it tucks (0.6 in /f/ frames)
    an untucked prediction is pushed towards TUCK_HINGE, and a prediction already over it costs nothing
    there, but pays the every-frame roll L1 wherever the teacher's lip is not rolled in."""
    trainer = _trainer()
    batch = _batch(np.random.default_rng(6))
    _, tucked = trainer.losses(batch, CONTEXT, sample=False)
    assert tucked["tuck_hinge"] >= 0.0
    shallow = _batch(np.random.default_rng(6), roll_value=0.2)  # below the teacher's threshold: nothing to enforce
    _, none = trainer.losses(shallow, CONTEXT, sample=False)
    assert none["tuck_hinge"] == 0.0
    no_fv = _batch(np.random.default_rng(6))
    no_fv["labiodental"][:] = 0.0
    _, none = trainer.losses(no_fv, CONTEXT, sample=False)
    assert none["tuck_hinge"] == 0.0
    with torch.no_grad():  # drive the roll's logit down: the hinge is then (TUCK_HINGE - ~0) x weight
        head = trainer.net.lower[-1]
        head.bias[trainer.net.lower_idx.index(RIG_NAMES.index("mouthRollLower"))] = -20.0
    _, low = trainer.losses(batch, CONTEXT, sample=False)
    assert abs(low["tuck_hinge"] - LS.TUCK_HINGE * trainer.weights.tuck_hinge) < 1e-3
    # its counterweight, the every-frame roll L1: the 15 tucked frames of 0.6 missed, out of FRAMES
    assert abs(low["roll_l1"] - 0.6 * 15 / FRAMES * trainer.weights.roll_l1) < 1e-3
    with torch.no_grad():
        head.bias[trainer.net.lower_idx.index(RIG_NAMES.index("mouthRollLower"))] = 20.0
    _, high = trainer.losses(batch, CONTEXT, sample=False)
    assert high["tuck_hinge"] < 1e-6
    # ... and a lip rolled in everywhere pays for the frames where the teacher's is not
    assert abs(high["roll_l1"] - (0.4 * 15 + 1.0 * (FRAMES - 15)) / FRAMES * trainer.weights.roll_l1) < 1e-3


def test_brow_term_wants_the_teachers_brow_activity():
    """activity_gap is 0 for the teacher itself and grows for a flat or an exaggerated brow track."""
    t = torch.zeros(B, FRAMES, 3)
    t[:, :, 0] = 0.2 + 0.1 * torch.sin(torch.arange(FRAMES) / 4.0)
    mask = torch.ones(B, FRAMES)
    assert float(LS.activity_gap(t, t, mask)) < 1e-6
    assert float(LS.activity_gap(torch.full_like(t, 0.2), t, mask)) > 1.0
    assert float(LS.activity_gap(t * 3.0, t, mask)) > 0.9
    trainer = _trainer()
    assert [RIG_NAMES[k] for k in trainer.brow_idx.tolist()] == [n for n in RIG_NAMES if n.startswith("brow")]


def test_upper_mean_term_asks_the_prior_noise_take_for_the_teachers_brow_level():
    """With prior noise the upper face must reach the teacher's level (a surprised speaker's raised brows):
    raising the target brows raises the term; it is off (0) unless weighted."""
    trainer = _trainer()
    batch = _batch(np.random.default_rng(5))
    trainer.weights = replace(trainer.weights, upper_mean=0.0)
    _, off = trainer.losses(batch, CONTEXT, sample=False)
    assert off["upper_mean"] == 0.0
    trainer.weights = replace(trainer.weights, upper_mean=1.0)
    torch.manual_seed(0)
    _, low = trainer.losses(batch, CONTEXT, sample=False)
    for n in ("browOuterUp_L", "browOuterUp_R", "eyeWide_L", "eyeWide_R"):
        batch["curves"][:, :, RIG_NAMES.index(n)] = 0.9
    torch.manual_seed(0)
    _, high = trainer.losses(batch, CONTEXT, sample=False)
    assert high["upper_mean"] > low["upper_mean"] + 0.5 * 4 * 0.8 / len(trainer.upper_idx)


def test_closure_event_term_asks_each_interval_to_shut_once_and_part_whatever_the_frame():
    """Per /p b m/ interval: zero when the lips meet on any one of its frames and part within 200 ms, however late
    within the interval; a half-shut mouth over the whole interval and a mouth held shut both pay; intervals the
    teacher does not shut, and crops without /p b m/, cost nothing; runs never join across crops."""
    T_ = 60
    bil = torch.zeros(2, T_)
    bil[0, 20:24], bil[0, 56:60], bil[1, 0:3] = 1, 1, 1    # the last run of crop 0 ends where crop 1's begins
    ids, n = LS.run_ids(bil)
    assert n == 3 and ids.view(2, T_)[0, 57] != ids.view(2, T_)[1, 0] and ids.view(2, T_)[0, 0] == n
    teacher = torch.full((2, T_), 0.3)
    teacher[0, 21:23], teacher[0, 57:60], teacher[1, 0:2] = 0.0, 0.0, 0.0
    assert float(LS.closure_event_term(teacher, teacher, bil, 1.0)) == 0.0
    late = torch.full((2, T_), 0.3)
    late[0, 23], late[0, 59], late[1, 2] = 0.0, 0.0, 0.0       # shut on the interval's last frame only
    assert float(LS.closure_event_term(late, teacher, bil, 1.0)) == 0.0
    assert float(LS.closure_event_term(late, teacher, bil, 0.0)) == 0.0    # off by default
    half = torch.full((2, T_), 0.3)
    half[0, 18:26], half[0, 55:60], half[1, 0:4] = 0.06, 0.06, 0.06        # 0.06: the metric's "not shut"
    assert abs(float(LS.closure_event_term(half, teacher, bil, 1.0)) - (0.06 - LS.REACH_GAP)) < 1e-6
    held = torch.zeros(2, T_)                                              # shut, never parts
    assert abs(float(LS.closure_event_term(held, teacher, bil, 1.0)) - LS.RELEASE_GAP) < 1e-6
    open_teacher = torch.full((2, T_), 0.3)                                # the teacher keeps the lips apart
    assert float(LS.closure_event_term(half, open_teacher, bil, 1.0)) == 0.0
    assert float(LS.closure_event_term(half, teacher, torch.zeros(2, T_), 1.0)) == 0.0
    g = half.clone().requires_grad_(True)
    LS.closure_event_term(g, teacher, bil, 1.0).backward()
    assert g.grad[0, :18].abs().sum() == 0 and g.grad[0, 18:24].sum() > 0  # only the interval's frames move


def test_weight_flags_build_one_runs_weights_and_leave_the_next_run_alone():
    """Two runs' arguments parsed in one process: the first run's --closure-weight and --roll-l1-weight reach
    its trainer only; the second gets the defaults again (train.py once wrote flags into module constants)."""
    base = ["--corpus", "c", "--out", "o"]
    args, first = T.parse_args([*base, "--closure-weight", "3", "--roll-l1-weight", "0", "--upper-mean-weight", "0.5"])
    assert (first.closure, first.roll_l1, first.upper_mean) == (3.0, 0.0, 0.5)
    assert args.batch == 16 and args.lr == 2e-3
    _, second = T.parse_args(base)
    assert second == LS.LossWeights() and second.closure == 12.0 and second.roll_l1 == 1.0
    assert [f for f, _, _, _ in LS.weight_flags()] == [
        "--closure-weight", "--gesture-weight", "--asym-weight", "--gap-weight", "--brow-weight",
        "--upper-mean-weight", "--tuck-hinge-weight", "--roll-l1-weight", "--opening-weight", "--event-weight",
        "--rounding-weight"]
    torch.manual_seed(0)
    cfg = NetConfig(channels=16, dilations=(1, 3), upper_channels=8, style_hidden=8)
    batch = _batch(np.random.default_rng(7))
    runs = []
    for weights in (first, second):
        torch.manual_seed(0)
        trainer = T.Trainer(cfg, 1e-3, weights)
        runs.append(trainer.losses(batch, CONTEXT, sample=False)[1])
    assert runs[0]["roll_l1"] == 0.0 < runs[1]["roll_l1"]
    torch.manual_seed(0)
    again = T.Trainer(cfg, 1e-3).losses(batch, CONTEXT, sample=False)[1]
    assert again == runs[1]  # a later default trainer is the second run's, whatever the first set


def test_corpus_folders_take_a_sampling_weight_and_never_train_on_dev_speakers(tmp_path):
    """``--corpus real:3`` draws that folder's audio three times as often; shards marked split=dev stay out."""
    from models.training.dataset import Corpus, split_root
    assert split_root("/data/real_en:3") == ("/data/real_en", 3.0)
    assert split_root("/data/real_en") == ("/data/real_en", 1.0)
    assert split_root("C:/corpus") == ("C:/corpus", 1.0)  # not a weight: the folder's own name
    rng = np.random.default_rng(0)
    names = np.array(RIG_NAMES)
    for folder, split, count in (("tts", "train", 4), ("real", "train", 4), ("real", "dev", 2)):
        (tmp_path / folder).mkdir(exist_ok=True)
        for i in range(count):
            np.savez(tmp_path / folder / f"{split}{i}.npz", audio=rng.normal(size=16000).astype(np.float32) * 0.1,
                     sr=16000, curves=np.zeros((50, len(names)), np.float32), names=names, fps=50.0,
                     style=np.zeros(11, np.float32), voice=f"{folder}:{split}{i}", split=split,
                     phones=np.zeros(0, [("start", "<f4"), ("end", "<f4"), ("label", "<U4")]))
    corpus = Corpus([str(tmp_path / "tts"), f"{tmp_path / 'real'}:3"], exclude=(), val_fraction=0.0)
    assert sorted(it["voice"] for it in corpus.items if it["voice"].startswith("real")) == \
        [f"real:train{i}" for i in range(4)]
    share = sum(w for w, it in zip(corpus.weights, corpus.items) if it["voice"].startswith("real"))
    assert share == pytest.approx(0.75)


def test_effect_p_overrides_reach_the_augmentation_chain_and_bad_ones_say_what_to_write(capsys):
    """--effect-p noise=1 makes every augmented crop noisy (the chain's own info says so); --effect-p noise=2
    and --effect-p hum=0.5 stop argparse with a message naming the form and the effects."""
    from models.training.dataset import Augmenter
    args, _ = T.parse_args(["--corpus", "c", "--out", "o", "--effect-p", "noise=1", "--augment-p", "0.8"])
    assert dict(args.effect_p) == {"noise": 1.0} and args.augment_p == 0.8
    aug = Augmenter("voices", dict(args.effect_p))
    calls = []
    fn = aug.fn
    aug.fn = lambda x, **kw: calls.append(fn(x, **kw)[1]) or fn(x, **kw)
    x = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    for seed in range(6):
        aug(x, np.random.default_rng(seed))
    assert len(calls) == 6 and all("noise_snr" in info for info in calls)
    for bad in ("noise=2", "hum=0.5", "noise"):
        with pytest.raises(SystemExit):
            T.parse_args(["--corpus", "c", "--out", "o", "--effect-p", bad])
        assert "EFFECT=P" in capsys.readouterr().err
