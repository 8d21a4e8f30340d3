"""generate(): greedy and sampling against transformers' `generate` on tiny GPT-2 and Llama-style checkpoints.

Greedy continuations must be identical token for token (batches with left padding included); the
KV-cache path must equal full recomputation; sampling with a seed is reproducible and, because our
private generator draws like torch's global one, equals transformers' sampling under
`torch.manual_seed(seed)`. The top-k / top-p filters are compared with transformers' warpers.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

from loaders import AutoModelForCausalLM
from loaders.errors import InputError
from loaders.generation import GenerateDecoderOnlyOutput, top_k_filter, top_p_filter

VOCAB = 99
CONFIGS = {
    "gpt2": ("GPT2LMHeadModel", transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=128, n_embd=32, n_layer=2, n_head=4, bos_token_id=98, eos_token_id=98,
        initializer_range=0.2)),
    "llama": ("LlamaForCausalLM", transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=1, eos_token_id=2, pad_token_id=0,
        initializer_range=0.2)),
    "qwen2": ("Qwen2ForCausalLM", transformers.Qwen2Config(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, eos_token_id=2, pad_token_id=0, initializer_range=0.2,
        tie_word_embeddings=True)),
    "mistral": ("MistralForCausalLM", transformers.MistralConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=128, bos_token_id=1, eos_token_id=2, pad_token_id=0,
        sliding_window=6, initializer_range=0.2)),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def pair(request, tmp_path_factory):
    """(transformers model, our model) on the same saved checkpoint."""
    hf_class, config = CONFIGS[request.param]
    torch.manual_seed(0)
    ref = getattr(transformers, hf_class)._from_config(config, dtype=torch.float32).eval()
    folder = tmp_path_factory.mktemp(request.param)
    ref.save_pretrained(folder)
    return ref, AutoModelForCausalLM.from_pretrained(folder)


def prompt(batch: int = 3, length: int = 7, pad: int = 3):
    """Random ids; row 1 left-padded with `pad` pad tokens (id 0), as a tokenizer with padding_side='left' gives."""
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(3, VOCAB - 1, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    if batch > 1 and pad:
        ids[1, :pad], mask[1, :pad] = 0, 0
    return ids, mask


def test_greedy_equals_transformers(pair):
    ref, ours = pair
    ids, mask = prompt()
    expected = ref.generate(ids, attention_mask=mask, max_new_tokens=12, do_sample=False, pad_token_id=0)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=12, pad_token_id=0)
    assert got.dtype == torch.long
    assert torch.equal(got, expected)  # 12 new tokens > Mistral's window of 6: the cache must respect it


def test_kv_cache_equals_recomputation(pair):
    _, ours = pair
    ids, mask = prompt()
    cached = ours.generate(ids, attention_mask=mask, max_new_tokens=10, output_scores=True,
                           return_dict_in_generate=True)
    full = ours.generate(ids, attention_mask=mask, max_new_tokens=10, use_cache=False, output_scores=True,
                         return_dict_in_generate=True)
    assert torch.equal(cached.sequences, full.sequences)
    assert max((a - b).abs().max().item() for a, b in zip(cached.scores, full.scores)) <= 1e-4
    sampled = [ours.generate(ids, attention_mask=mask, max_new_tokens=10, do_sample=True, seed=5, use_cache=c)
               for c in (True, False)]
    assert torch.equal(*sampled)


def test_sampling_with_seed_is_deterministic_and_matches_transformers(pair):
    ref, ours = pair
    ids, mask = prompt()
    kwargs = dict(attention_mask=mask, max_new_tokens=10, do_sample=True, temperature=1.5, top_k=20, top_p=0.9)
    first = ours.generate(ids, seed=123, **kwargs)
    assert torch.equal(first, ours.generate(ids, seed=123, **kwargs))
    assert not torch.equal(first, ours.generate(ids, seed=124, **kwargs))
    torch.manual_seed(123)
    assert torch.equal(first, ref.generate(ids, pad_token_id=0, **kwargs))


def test_sampling_respects_top_k_and_top_p(pair):
    _, ours = pair
    ids, mask = prompt()
    out = ours.generate(ids, attention_mask=mask, max_new_tokens=8, do_sample=True, top_k=3, seed=0, eos_token_id=[],
                        output_scores=True, output_logits=True, return_dict_in_generate=True)
    new = out.sequences[:, ids.shape[1]:]
    for step, (scores, logits) in enumerate(zip(out.scores, out.logits)):
        assert ((scores > -float("inf")).sum(-1) <= 3).all()
        chosen = new[:, step]
        top3 = logits.topk(3).indices
        assert (top3 == chosen[:, None]).any(-1).all()
    greedy = ours.generate(ids, attention_mask=mask, max_new_tokens=8)
    assert torch.equal(ours.generate(ids, attention_mask=mask, max_new_tokens=8, do_sample=True, top_k=1, seed=3),
                       greedy)
    assert torch.equal(ours.generate(ids, attention_mask=mask, max_new_tokens=8, do_sample=True, top_p=1e-6, seed=3),
                       greedy)


def test_scores_equal_transformers_scores(pair):
    ref, ours = pair
    ids, mask = prompt()
    expected = ref.generate(ids, attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=0,
                            output_scores=True, return_dict_in_generate=True)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=6, pad_token_id=0, output_scores=True,
                        return_dict_in_generate=True)
    assert isinstance(got, GenerateDecoderOnlyOutput)
    assert torch.equal(got.sequences, expected.sequences)
    assert len(got.scores) == len(expected.scores) == 6
    for a, b in zip(got.scores, expected.scores):
        assert a.shape == b.shape == (3, VOCAB)
        assert (a - b).abs().max().item() <= 1e-4


@pytest.mark.parametrize("as_list", [False, True])
def test_eos_stops_and_pads_finished_rows(pair, as_list):
    ref, ours = pair
    ids, mask = prompt()
    free = ours.generate(ids, attention_mask=mask, max_new_tokens=10, eos_token_id=[])
    eos = int(free[0, ids.shape[1] + 2])  # row 0's third new token becomes the end-of-sequence token
    eos_arg = [eos, 97] if as_list else eos
    expected = ref.generate(ids, attention_mask=mask, max_new_tokens=10, do_sample=False, eos_token_id=eos_arg,
                            pad_token_id=0)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=10, eos_token_id=eos_arg, pad_token_id=0)
    assert torch.equal(got, expected)
    row0 = got[0, ids.shape[1]:]
    assert row0[2] == eos and (row0[3:] == 0).all()  # finished: padded with pad_token_id


def test_stops_early_when_every_row_has_ended(pair):
    _, ours = pair
    ids, _ = prompt(batch=1)
    free = ours.generate(ids, max_new_tokens=10, eos_token_id=[])
    eos = int(free[0, ids.shape[1] + 1])
    got = ours.generate(ids, max_new_tokens=10, eos_token_id=eos)
    assert got.shape[1] <= ids.shape[1] + 2 and int(got[0, -1]) == eos


def test_defaults_and_errors(pair):
    _, ours = pair
    ids, _ = prompt(batch=1, length=5)
    assert ours.generate(ids, eos_token_id=[]).shape == (1, 20)  # transformers' default max_length
    with pytest.raises(InputError, match="num_beams"):
        ours.generate(ids, num_beams=4)
    with pytest.raises(InputError, match="temperature"):
        ours.generate(ids, do_sample=True, temperature=0.0)
    with pytest.raises(InputError, match="input_ids"):
        ours.generate(torch.zeros(1, 0, dtype=torch.long))


def test_filters_equal_transformers_warpers():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 50, generator=g) * 3
    scores[0, :5] = 2.0  # ties around the cut
    for k in (1, 3, 10, 50, 80):
        assert torch.equal(top_k_filter(scores, k), TopKLogitsWarper(k)(None, scores))
    for p in (0.01, 0.3, 0.75, 0.95, 1.0):
        assert torch.equal(top_p_filter(scores, p), TopPLogitsWarper(p)(None, scores))
    kept = (top_p_filter(scores, 0.3) > -float("inf")).sum(-1)
    assert (kept >= 1).all() and (kept < 50).all()
    assert torch.equal(top_p_filter(scores, 0.3, min_tokens_to_keep=5),
                       TopPLogitsWarper(0.3, min_tokens_to_keep=5)(None, scores))


def test_generation_config_json_sets_defaults(tmp_path):
    """generation_config.json beside config.json gives generate()'s defaults, as in transformers."""
    hf_class, config = CONFIGS["llama"]
    torch.manual_seed(0)
    ref = getattr(transformers, hf_class)._from_config(config, dtype=torch.float32).eval()
    ref.save_pretrained(tmp_path)
    ids, mask = prompt()
    free = AutoModelForCausalLM.from_pretrained(tmp_path).generate(ids, attention_mask=mask, max_new_tokens=10,
                                                                    eos_token_id=[])
    eos = int(free[0, ids.shape[1] + 1])
    settings = {"eos_token_id": [eos, 97], "pad_token_id": 0, "max_length": 15}
    (tmp_path / "generation_config.json").write_text(json.dumps(settings))
    ours = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert ours.generation_config == settings
    expected = transformers.AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).generate(
        ids, attention_mask=mask)
    got = ours.generate(ids, attention_mask=mask)
    assert got.shape[1] == 15 and torch.equal(got, expected)
    (tmp_path / "generation_config.json").write_text(json.dumps({**settings, "repetition_penalty": 1.3}))
    ours = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert any(step.level == "warn" and "repetition_penalty" in str(step.value) for step in ours.trace)
