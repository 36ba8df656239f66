"""The languages a model learned: counted over the training shards (Corpus.languages, corpus_languages from
shard headers) and written into the ONNX metadata by export (from the summary, or for older checkpoints from the
corpus folders the summary names)."""
import json
import logging
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from inference.arkit import RIG_NAMES  # noqa: E402
from models.training.dataset import Corpus, corpus_languages, shard_summary  # noqa: E402
from models.training.export import build_test_model, export  # noqa: E402

NAMES = np.array(RIG_NAMES)


def write_shard(path, seconds, voice, lang=None, split=None, fps=50.0, seed=0):
    rng = np.random.default_rng(seed)
    fields = dict(audio=(0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32), sr=np.int32(16000),
                  curves=np.zeros((int(np.ceil(seconds * fps)), len(NAMES)), np.float32), names=NAMES,
                  fps=np.float32(fps), style=np.zeros(11, np.float32), voice=np.array(voice),
                  phones=np.zeros(0, [("start", "<f4"), ("end", "<f4"), ("label", "<U4")]))
    if lang is not None:
        fields["lang"] = np.array(lang)
    if split is not None:
        fields["split"] = np.array(split)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **fields)


def tiny_corpus(root):
    """Two folders: English TTS shards without ``lang`` (one at 60 fps), a multilingual folder with cs and de,
    a held-out voice (with a ~variant), a dev shard and a clip too short to train on."""
    write_shard(root / "full" / "a.npz", 2.0, "en-us:a")
    write_shard(root / "full" / "b.npz", 1.5, "en-us:b", fps=60.0)
    write_shard(root / "full" / "held.npz", 3.0, "held:voice~slow")
    write_shard(root / "multi" / "cs" / "c1.npz", 1.0, "cs:x", lang="cs")
    write_shard(root / "multi" / "cs" / "c2.npz", 2.5, "cs:y", lang="cs")
    write_shard(root / "multi" / "de" / "d1.npz", 1.25, "de:x", lang="de")
    write_shard(root / "multi" / "de" / "dev.npz", 4.0, "de:z", lang="de", split="dev")
    write_shard(root / "multi" / "de" / "short.npz", 0.2, "de:x", lang="de")
    (root / "multi" / "broken.npz").write_bytes(b"not a zip")
    return [str(root / "full"), f"{root / 'multi'}:3"]


def test_corpus_languages_from_headers_match_the_loaded_training_items(tmp_path):
    roots = tiny_corpus(tmp_path)
    want = {"cs": 3.5 / 3600, "de": 1.25 / 3600, "en": 3.5 / 3600}
    corpus = Corpus(roots, exclude={"held:voice"}, val_fraction=0.0)  # the broken shard is skipped by both
    assert corpus.languages() == pytest.approx(want)
    assert sum(corpus.languages().values()) == pytest.approx(corpus.hours())
    assert corpus_languages(roots, exclude={"held:voice"}, val_fraction=0.0) == pytest.approx(want)
    info = shard_summary(tmp_path / "full" / "b.npz")
    assert info == dict(lang="en", voice="en-us:b", split="train", sr=16000, samples=24000, frames=75)
    # held-out voices count again once they are not held out; dev shards and short clips never do
    assert corpus_languages(roots, exclude=(), val_fraction=0.0)["en"] == pytest.approx(6.5 / 3600)
    # the validation share is the one Corpus keeps out of its training items
    corpus = Corpus(roots, exclude={"held:voice"}, val_fraction=0.5)
    assert corpus.val and corpus.languages() == pytest.approx(
        corpus_languages(roots, exclude={"held:voice"}, val_fraction=0.5))
    with pytest.raises(FileNotFoundError, match="gone"):
        corpus_languages([str(tmp_path / "gone")], exclude=())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    build_test_model(folder)
    return folder / "test.pt"


def export_with(checkpoint, folder, summary):
    ckpt = torch.load(checkpoint, weights_only=False)
    ckpt["summary"] = summary
    path = folder / "with_summary.pt"
    torch.save(ckpt, path)
    out = export(str(path), str(folder / "parley.onnx"), "9.9-test", check=False)[0]
    props = {p.key: p.value for p in onnx.load(out).metadata_props}
    return json.loads(props["languages"]) if "languages" in props else None


def test_export_writes_the_summarys_languages_rounded(checkpoint, tmp_path):
    """Rounded to 0.01 h; a language with a few seconds of speech (ml, 10 s) rounds to 0 and is not listed."""
    got = export_with(checkpoint, tmp_path, {"languages": {"en": 4.03712, "cs": 0.5049, "de": 1.0, "ml": 10 / 3600}})
    assert got == {"cs": 0.5, "de": 1.0, "en": 4.04}


def test_export_of_an_older_checkpoint_scans_its_corpus_skipping_held_out_voices_and_dev_shards(
        checkpoint, tmp_path, monkeypatch):
    """36 s is 0.01 h: each shard the scan wrongly counted would show in the rounded hours. (None of these file
    names falls in the validation share.)"""
    corpus = tmp_path / "corpus"
    write_shard(corpus / "full" / "en.npz", 36.0, "en-us:a")
    write_shard(corpus / "full" / "en_held.npz", 36.0, "held:voice~slow")
    write_shard(corpus / "multi" / "de.npz", 36.0, "de:x", lang="de")
    write_shard(corpus / "multi" / "dev.npz", 72.0, "de:z", lang="de", split="dev")
    write_shard(corpus / "multi" / "cs_z.npz", 36.0, "cs:x", lang="cs")
    write_shard(corpus / "multi" / "cs_held.npz", 36.0, "cs:y", lang="cs")
    monkeypatch.chdir(tmp_path)  # the summary's folders are relative to the working directory
    summary = {"corpus": ["corpus/full", "corpus/multi:3"], "held_out": ["held:voice", "cs:y"]}
    assert export_with(checkpoint, tmp_path, summary) == {"cs": 0.01, "de": 0.01, "en": 0.01}
    loaded = Corpus(summary["corpus"], exclude=summary["held_out"])  # what training on that corpus counts
    assert {k: round(v, 2) for k, v in loaded.languages().items()} == {"cs": 0.01, "de": 0.01, "en": 0.01}
    summary["held_out"] = []
    assert export_with(checkpoint, tmp_path, summary) == {"cs": 0.02, "de": 0.01, "en": 0.02}


def test_export_without_the_corpus_folders_leaves_languages_out_with_one_warning(checkpoint, tmp_path, caplog,
                                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING, logger="parley.export"):
        got = export_with(checkpoint, tmp_path, {"corpus": ["../nowhere/full:3"], "held_out": []})
    assert got is None and (tmp_path / "parley.onnx").is_file()
    warnings = [r for r in caplog.records if r.name == "parley.export"]
    assert len(warnings) == 1 and "exporting without 'languages'" in warnings[0].getMessage()
