"""Audio feature extractors: numerical parity with transformers on the same inputs.

Each extractor is saved with transformers' `save_pretrained` in a tmp dir and loaded by both sides
through the Auto classes (ours: loaders, theirs: transformers), so resolution is exercised too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from loaders import AutoFeatureExtractor
from loaders.errors import FeatureExtractionError

SR = 16000


def _speechlike(n: int, seed: int) -> np.ndarray:
    """A chirp with noise and a silent stretch: real dynamics for the log floor and normalisation."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.05 * rng.standard_normal(n)
    x[n // 3: n // 3 + n // 10] = 0.0
    return x.astype(np.float32)


def _pair(tmp_path, extractor, name: str):
    folder = tmp_path / name
    extractor.save_pretrained(folder)
    return AutoFeatureExtractor.from_pretrained(str(folder)), transformers.AutoFeatureExtractor.from_pretrained(folder)


def _maxdiff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# ---------------------------------------------------------------- Whisper
@pytest.fixture(scope="module", params=[80, 128])
def whisper_pair(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"whisper{request.param}")
    return _pair(tmp, transformers.WhisperFeatureExtractor(feature_size=request.param), "whisper")


@pytest.mark.parametrize("seconds", [1.3, 30.0, 47.5])
def test_whisper_log_mel_parity(whisper_pair, seconds):
    ours, theirs = whisper_pair
    x = _speechlike(int(seconds * SR), seed=int(seconds * 10))
    a = ours(x, sampling_rate=SR, return_tensors="np")
    b = theirs(x, sampling_rate=SR, return_tensors="np")
    assert list(a) == list(b) == ["input_features"]
    assert a.input_features.shape == b.input_features.shape == (1, ours.feature_size, 3000)
    assert a.input_features.dtype == np.float32
    assert _maxdiff(a.input_features, b.input_features) <= 1e-4


def test_whisper_batch_parity_with_attention_mask(whisper_pair):
    ours, theirs = whisper_pair
    batch = [_speechlike(n, seed=n) for n in (8000, 480000, 600000, 123457)]
    a = ours(batch, sampling_rate=SR, return_attention_mask=True, return_tensors="pt")
    b = theirs(batch, sampling_rate=SR, return_attention_mask=True, return_tensors="pt")
    assert set(a) == set(b) == {"input_features", "attention_mask"}
    assert a.input_features.shape == b.input_features.shape == (4, ours.feature_size, 3000)
    assert _maxdiff(a.input_features, b.input_features) <= 1e-4
    assert torch.equal(a.attention_mask.long(), b.attention_mask.long())
    assert a.attention_mask[0].sum() == 50  # 0.5 s of real signal = 50 frames


def test_whisper_padding_longest_and_do_normalize(whisper_pair):
    ours, theirs = whisper_pair
    batch = [_speechlike(n, seed=n) for n in (20000, 33333)]
    kw = dict(sampling_rate=SR, padding="longest", do_normalize=True, return_tensors="np")
    a, b = ours(batch, **kw), theirs(batch, **kw)
    assert a.input_features.shape == b.input_features.shape == (2, ours.feature_size, 33333 // 160)
    assert _maxdiff(a.input_features, b.input_features) <= 1e-4
    # transformers' quirk: do_normalize without return_attention_mask returns the per-sample mask
    assert np.array_equal(a.attention_mask, b.attention_mask)


@pytest.mark.parametrize("call_mask", [None, False, True])
def test_whisper_config_attention_mask_quirk(tmp_path, call_mask):
    """A config with return_attention_mask=true and a falsy call argument gives a per-sample mask."""
    ours, theirs = _pair(tmp_path, transformers.WhisperFeatureExtractor(return_attention_mask=True), "wmask")
    batch = [_speechlike(n, seed=n) for n in (16000, 20000)]
    a = ours(batch, sampling_rate=SR, return_attention_mask=call_mask, return_tensors="np")
    b = theirs(batch, sampling_rate=SR, return_attention_mask=call_mask, return_tensors="np")
    assert a.attention_mask.shape == b.attention_mask.shape == ((2, 3000) if call_mask else (2, 480000))
    assert np.array_equal(a.attention_mask, b.attention_mask)


def test_whisper_wrong_rate_raises_ours(whisper_pair):
    ours, _ = whisper_pair
    with pytest.raises(FeatureExtractionError, match="16000 Hz"):
        ours(_speechlike(8000, 0), sampling_rate=8000)


def test_whisper_mel_filters_match_and_are_cached(whisper_pair):
    ours, theirs = whisper_pair
    assert ours.mel_filters.shape == theirs.mel_filters.shape
    assert _maxdiff(ours.mel_filters, theirs.mel_filters) <= 1e-12
    assert ours.mel_filters is ours.mel_filters  # lru_cache: one table per setting
    assert not ours.mel_filters.flags.writeable


def test_whisper_explain_marks_padding(whisper_pair):
    ours, _ = whisper_pair
    x = _speechlike(int(2.5 * SR), 1)
    info = ours.explain(x, SR)
    assert info["features"].shape == (ours.feature_size, 3000)
    assert np.allclose(info["features"], ours(x, sampling_rate=SR, return_tensors="np").input_features[0])
    assert info["valid_samples"] == len(x) and info["total_samples"] == 480000
    assert info["valid_frames"] == 250 and info["padding"]["frames"] == 2750
    assert info["features_before_padding"].shape == (ours.feature_size, 250)
    assert int(info["attention_mask"].sum()) == len(x)
    assert len(info["feature_axis"]["mel_hz"]) == ours.feature_size
    assert [s["name"] for s in info["steps"]] == ["pad / truncate", "stft", "mel", "log"]
    facts = ours.describe()
    assert (facts["n_fft"], facts["hop_length"], facts["n_samples"], facts["nb_max_frames"]) == (400, 160, 480000, 3000)


def test_whisper_long_input_explain_truncates(whisper_pair):
    ours, _ = whisper_pair
    info = ours.explain(_speechlike(35 * SR, 2), SR)
    assert info["padding"]["truncated_samples"] == 5 * SR and info["padding"]["samples"] == 0


# ---------------------------------------------------------------- Wav2Vec2
@pytest.fixture(scope="module", params=[True, False], ids=["mask-default", "no-mask-default"])
def w2v_pair(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("w2v")
    return _pair(tmp, transformers.Wav2Vec2FeatureExtractor(return_attention_mask=request.param), "w2v")


@pytest.mark.parametrize("padding,max_length", [(True, None), ("max_length", 40000), (False, None),
                                                ("longest", None)])
@pytest.mark.parametrize("return_attention_mask", [None, True, False])
def test_wav2vec2_padded_batch_parity(w2v_pair, padding, max_length, return_attention_mask):
    ours, theirs = w2v_pair
    batch = [_speechlike(n, seed=n) + 0.1 for n in (16000, 30000, 7001)]
    kw = dict(sampling_rate=SR, padding=padding, max_length=max_length, return_attention_mask=return_attention_mask)
    a, b = ours(batch, **kw), theirs(batch, **kw)
    assert list(a) == list(b)
    for p, q in zip(a.input_values, b.input_values):
        assert p.shape == q.shape and p.dtype == q.dtype == np.float32
        assert _maxdiff(p, q) <= 1e-5
    if "attention_mask" in b:
        assert all(np.array_equal(p, q) for p, q in zip(a.attention_mask, b.attention_mask))


def test_wav2vec2_quirk_padding_in_statistics(w2v_pair):
    """Without an attention mask the zeros of padding change a short item's normalisation."""
    ours, theirs = w2v_pair
    short, long = _speechlike(8000, 3) + 0.2, _speechlike(24000, 4)
    alone = ours(short, sampling_rate=SR).input_values[0]
    no_mask = ours([short, long], sampling_rate=SR, padding=True, return_attention_mask=False,
                   return_tensors="np").input_values
    with_mask = ours([short, long], sampling_rate=SR, padding=True, return_attention_mask=True,
                     return_tensors="np").input_values
    assert _maxdiff(with_mask[0, :8000], alone) <= 1e-5 and np.all(with_mask[0, 8000:] == 0.0)
    assert _maxdiff(no_mask[0, :8000], alone) > 1e-2  # the quirk
    ref = theirs([short, long], sampling_rate=SR, padding=True, return_attention_mask=False,
                 return_tensors="np").input_values
    assert _maxdiff(no_mask, ref) <= 1e-5


def test_wav2vec2_truncation_and_tensors(w2v_pair):
    ours, theirs = w2v_pair
    batch = [_speechlike(n, seed=n) for n in (5000, 9000)]
    kw = dict(sampling_rate=SR, padding="max_length", max_length=6000, truncation=True, pad_to_multiple_of=512,
              return_tensors="pt")
    a, b = ours(batch, **kw), theirs(batch, **kw)
    assert a.input_values.shape == b.input_values.shape == (2, 6144)
    assert _maxdiff(a.input_values, b.input_values) <= 1e-5


def test_wav2vec2_wrong_rate_and_stereo_raise(w2v_pair):
    ours, _ = w2v_pair
    with pytest.raises(FeatureExtractionError, match="16000 Hz"):
        ours(_speechlike(1000, 0), sampling_rate=44100)
    with pytest.raises(FeatureExtractionError, match="mono"):
        ours(np.zeros((2, 3, 100), dtype=np.float32), sampling_rate=SR)


def test_wav2vec2_explain(w2v_pair):
    ours, _ = w2v_pair
    x = _speechlike(12000, 5) + 0.3
    info = ours.explain(x, SR, padding="max_length", max_length=16000)
    assert info["features"].shape == (16000,) and info["valid_samples"] == 12000
    assert abs(info["stats"]["features"]["mean"]) < 0.5 and info["padding"]["samples"] == 4000
    assert info["attention_mask"].sum() == 12000
    assert ours.describe()["do_normalize"] is True


# ---------------------------------------------------------------- AST
@pytest.fixture(scope="module")
def ast_pair(tmp_path_factory):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers warns that one of the 128 Kaldi filters is empty
        return _pair(tmp_path_factory.mktemp("ast"), transformers.ASTFeatureExtractor(), "ast")


@pytest.mark.parametrize("samples", [400, 16000, 10 * SR + 123, 12 * SR])
def test_ast_fbank_parity(ast_pair, samples):
    ours, theirs = ast_pair
    x = _speechlike(samples, samples)
    a, b = ours(x, sampling_rate=SR, return_tensors="np"), theirs(x, sampling_rate=SR, return_tensors="np")
    assert a.input_values.shape == b.input_values.shape == (1, 1024, 128)
    assert _maxdiff(a.input_values, b.input_values) <= 1e-3


def test_ast_batch_and_explain(ast_pair):
    ours, theirs = ast_pair
    batch = [_speechlike(n, n) for n in (8000, 40000)]
    a, b = ours(batch, sampling_rate=SR, return_tensors="pt"), theirs(batch, sampling_rate=SR, return_tensors="pt")
    assert _maxdiff(a.input_values, b.input_values) <= 1e-3
    info = ours.explain(batch[1], SR)
    assert info["features_before_padding"].shape == (1 + (40000 - 400) // 160, 128)
    assert info["padding"]["frames"] == 1024 - info["valid_frames"]
    assert ours.describe()["mel_scale"] == "kaldi"
    with pytest.raises(FeatureExtractionError, match="shorter than one"):
        ours(np.zeros(100, dtype=np.float32), sampling_rate=SR)
