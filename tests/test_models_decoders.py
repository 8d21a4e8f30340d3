"""Decoder families (GPT-2, Llama, Qwen2, Mistral) against transformers on tiny checkpoints built here.

Each checkpoint is written by transformers' `save_pretrained` into tmp_path and loaded through our
production path (`from loaders import AutoModel…`). Outputs are compared in float32: logits,
every hidden state and every attention map, max abs diff ≤ 1e-4, padded rows included (only the
positions that are padding themselves are skipped: their values are arbitrary in both libraries).
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from loaders import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification
from loaders.errors import ConfigError, InputError
from loaders.models.gpt2 import GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model
from loaders.models.llama import LlamaConfig, LlamaForCausalLM, LlamaModel

ATOL = 1e-4
VOCAB = 99
TINY_GPT2 = dict(vocab_size=VOCAB, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=98,
                 eos_token_id=98, initializer_range=0.2)
TINY_LLAMA = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                  initializer_range=0.5)  # large weights: peaked attention, so RoPE and masks matter


def build(tmp_path, hf_class: str, config, name: str = "ckpt"):
    """A random tiny transformers model (eager attention, so attention maps are returned) saved to tmp_path."""
    torch.manual_seed(0)
    model = getattr(transformers, hf_class)._from_config(config, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    folder = tmp_path / name
    model.save_pretrained(folder)
    return model, folder


def inputs(batch: int = 2, length: int = 10, pad: int = 3, left: bool = True):
    """Random ids with a padded second row (left padding by default) and its attention mask."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, VOCAB, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    if batch > 1 and pad:
        mask[1, :pad] = 0 if left else 1
        if not left:
            mask[1, -pad:] = 0
    return ids, mask


def max_diff(ours, ref, keep=None) -> float:
    """Max |ours - ref| over the positions `keep` selects (a bool (B, T) mask of real tokens)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    diff = (ours - ref).abs()
    return float(diff[keep].max() if keep is not None else diff.max())


def assert_parity(ours, ref, mask):
    """Logits / last hidden state, every hidden state, every attention map (rows of real query tokens)."""
    keep = mask.bool()
    main = "logits" if getattr(ref, "logits", None) is not None else "last_hidden_state"
    ref_main, our_main = getattr(ref, main), getattr(ours, main)
    assert max_diff(our_main, ref_main, keep if ref_main.dim() == 3 else None) <= ATOL
    assert len(ours.hidden_states) == len(ref.hidden_states)
    for a, b in zip(ours.hidden_states, ref.hidden_states):
        assert max_diff(a, b, keep) <= ATOL
    assert len(ours.attentions) == len(ref.attentions)
    for a, b in zip(ours.attentions, ref.attentions):  # (B, heads, Tq, Tk) → select real query rows
        assert max_diff(a.transpose(1, 2), b.transpose(1, 2), keep) <= ATOL


def run(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)


def assert_fast_path(model, ref_out, ids, mask):
    """Without output_attentions our models take the SDPA path: same numbers as the explicit one."""
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
    main = "logits" if getattr(ref_out, "logits", None) is not None else "last_hidden_state"
    ref_main = getattr(ref_out, main)
    assert max_diff(getattr(out, main), ref_main, mask.bool() if ref_main.dim() == 3 else None) <= ATOL


# --------------------------------------------------------------------------- GPT-2
@pytest.mark.parametrize("auto, hf_class, ours", [
    (AutoModel, "GPT2Model", GPT2Model),
    (AutoModelForCausalLM, "GPT2LMHeadModel", GPT2LMHeadModel),
])
def test_gpt2_parity(tmp_path, auto, hf_class, ours):
    ref_model, folder = build(tmp_path, hf_class, transformers.GPT2Config(**TINY_GPT2))
    model = auto.from_pretrained(folder)
    assert type(model) is ours
    ids, mask = inputs()
    ref = run(ref_model, ids, mask)
    assert_parity(run(model, ids, mask), ref, mask)
    assert_fast_path(model, ref, ids, mask)


def test_gpt2_lm_head_is_tied_and_conv1d_layout(tmp_path):
    _, folder = build(tmp_path, "GPT2LMHeadModel", transformers.GPT2Config(**TINY_GPT2))
    stored = load_file(folder / "model.safetensors")
    assert "lm_head.weight" not in stored  # the tied copy is not saved
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert model.lm_head.weight is model.transformer.wte.weight
    c_attn = model.transformer.h[0].attn.c_attn.weight
    assert tuple(c_attn.shape) == (32, 96)  # Conv1D: (in, out), the transpose of nn.Linear
    assert torch.equal(c_attn, stored["transformer.h.0.attn.c_attn.weight"])


def test_gpt2_sequence_classification_with_pad_token(tmp_path):
    config = transformers.GPT2Config(**TINY_GPT2, pad_token_id=0, num_labels=3)
    ref_model, folder = build(tmp_path, "GPT2ForSequenceClassification", config)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert type(model) is GPT2ForSequenceClassification
    ids, mask = inputs(left=False)
    ids = ids.masked_fill(mask == 0, 0)  # right padding with the pad id: the head reads each row's last real token
    ours, ref = run(model, ids, mask), run(ref_model, ids, mask)
    assert ours.logits.shape == (2, 3)
    assert max_diff(ours.logits, ref.logits) <= ATOL
    assert_parity(ours, ref, mask)
    assert_fast_path(model, ref, ids, mask)


def test_gpt2_old_checkpoint_mask_buffers_are_ignored(tmp_path):
    """Old GPT-2 files carry attn.bias / attn.masked_bias (mask buffers): dropped on purpose, not 'unexpected'."""
    ref_model, folder = build(tmp_path, "GPT2Model", transformers.GPT2Config(**TINY_GPT2))
    tensors = load_file(folder / "model.safetensors")
    for i in range(2):
        tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(1, 1, 64, 64))
        tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)  # head on a base checkpoint
    assert info["unexpected_keys"] == set() and info["missing_keys"] == set()  # lm_head is tied to wte
    assert set(model.loading_report.ignored_keys) == {f"h.{i}.attn.{b}" for i in range(2) for b in ("bias", "masked_bias")}
    ids, mask = inputs()
    assert max_diff(run(model, ids, mask).hidden_states[-1], run(ref_model, ids, mask).last_hidden_state,
                    mask.bool()) <= ATOL


# --------------------------------------------------------------------------- Llama, Qwen2, Mistral
LLAMA_CASES = {
    "llama-untied": ("LlamaForCausalLM", "LlamaConfig", {}),
    "llama-tied": ("LlamaForCausalLM", "LlamaConfig", {"tie_word_embeddings": True}),
    "llama-mha-bias": ("LlamaForCausalLM", "LlamaConfig", {"num_key_value_heads": 4, "attention_bias": True,
                                                           "mlp_bias": True}),
    "qwen2": ("Qwen2ForCausalLM", "Qwen2Config", {}),
    "qwen2-sliding": ("Qwen2ForCausalLM", "Qwen2Config", {"use_sliding_window": True, "sliding_window": 4,
                                                         "max_window_layers": 1}),
    "mistral-sliding": ("MistralForCausalLM", "MistralConfig", {"sliding_window": 4}),
}


@pytest.mark.parametrize("case", list(LLAMA_CASES))
def test_llama_style_causal_lm_parity(tmp_path, case):
    hf_class, hf_config, extra = LLAMA_CASES[case]
    ref_model, folder = build(tmp_path, hf_class, getattr(transformers, hf_config)(**{**TINY_LLAMA, **extra}))
    model, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    assert type(model) is LlamaForCausalLM
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    ids, mask = inputs(length=12)  # 12 tokens > the sliding window of 4
    ref = run(ref_model, ids, mask)
    assert_parity(run(model, ids, mask), ref, mask)
    assert_fast_path(model, ref, ids, mask)
    tied = model.lm_head.weight is model.model.embed_tokens.weight
    assert tied == bool(extra.get("tie_word_embeddings", False))


@pytest.mark.parametrize("case", ["llama-untied", "qwen2"])
def test_llama_style_base_model_on_causal_lm_checkpoint(tmp_path, case):
    hf_class, hf_config, extra = LLAMA_CASES[case]
    ref_model, folder = build(tmp_path, hf_class, getattr(transformers, hf_config)(**{**TINY_LLAMA, **extra}))
    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert type(model) is LlamaModel
    assert info["unexpected_keys"] == {"lm_head.weight"} and info["missing_keys"] == set()
    ids, mask = inputs()
    assert_parity(run(model, ids, mask), run(ref_model.model, ids, mask), mask)


def test_qwen2_qkv_biases_are_loaded(tmp_path):
    ref_model, folder = build(tmp_path, "Qwen2ForCausalLM", transformers.Qwen2Config(**TINY_LLAMA))
    attn = AutoModelForCausalLM.from_pretrained(folder).model.layers[0].self_attn
    assert attn.o_proj.bias is None
    ref = ref_model.model.layers[0].self_attn
    for name in ("q_proj", "k_proj", "v_proj"):
        assert torch.equal(getattr(attn, name).bias, getattr(ref, name).bias)


@pytest.mark.parametrize("case", ["mistral-sliding", "qwen2-sliding"])
def test_sliding_window_changes_the_result(tmp_path, case):
    """The window must matter on this input (else the parity test above could not catch a missing window)."""
    hf_class, hf_config, extra = LLAMA_CASES[case]
    _, folder = build(tmp_path, hf_class, getattr(transformers, hf_config)(**{**TINY_LLAMA, **extra}))
    windowed = AutoModelForCausalLM.from_pretrained(folder)
    assert "sliding_attention" in windowed.config.layer_types
    full = AutoModelForCausalLM.from_pretrained(folder, sliding_window=None, use_sliding_window=False)
    assert {full.config.window_of(i) for i in range(2)} == {None}
    ids, mask = inputs(length=12)
    assert max_diff(run(windowed, ids, mask).logits, run(full, ids, mask).logits, mask.bool()) > 1e-3


ROPE_CASES = {
    "linear": ({"rope_type": "linear", "factor": 2.0}, {}),
    "dynamic": ({"rope_type": "dynamic", "factor": 2.0}, {"max_position_embeddings": 8}),  # 12 tokens > 8
    "llama3": ({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8, "rope_theta": 500000.0}, {}),
    "yarn": ({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}, {}),
}


@pytest.mark.parametrize("case", list(ROPE_CASES))
def test_rope_scaling_parity(tmp_path, case):
    scaling, extra = ROPE_CASES[case]
    config = transformers.LlamaConfig(**{**TINY_LLAMA, **extra}, rope_parameters=dict(scaling))
    ref_model, folder = build(tmp_path, "LlamaForCausalLM", config)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.rope_parameters["rope_type"] == scaling["rope_type"]
    ids, mask = inputs(length=12)
    ours, ref = run(model, ids, mask), run(ref_model, ids, mask)
    assert_parity(ours, ref, mask)
    assert_fast_path(model, ref, ids, mask)
    plain = AutoModelForCausalLM.from_pretrained(folder, rope_parameters={"rope_type": "default"},
                                                 rope_theta=scaling.get("rope_theta"))
    assert max_diff(run(plain, ids, mask).logits, ours.logits, mask.bool()) > 1e-4  # the scaling did something


def test_v4_rope_keys(tmp_path):
    """Older config.json files: top-level rope_theta and rope_scaling with "type" (not rope_parameters)."""
    ref_model, folder = build(tmp_path, "LlamaForCausalLM", transformers.LlamaConfig(**TINY_LLAMA))
    raw = json.loads((folder / "config.json").read_text())
    raw.pop("rope_parameters", None)
    raw.update(rope_theta=1000.0, rope_scaling={"type": "linear", "factor": 3.0})
    (folder / "config.json").write_text(json.dumps(raw))
    ref = transformers.LlamaForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.rope_parameters == {"rope_type": "linear", "factor": 3.0, "rope_theta": 1000.0}
    ids, mask = inputs()
    assert_parity(run(model, ids, mask), run(ref.eval(), ids, mask), mask)


@pytest.mark.parametrize("model_type, hf_config", [("llama", "LlamaConfig"), ("qwen2", "Qwen2Config"),
                                                    ("mistral", "MistralConfig")])
def test_config_defaults_follow_model_type(model_type, hf_config):
    ours = LlamaConfig.from_dict({"model_type": model_type})
    ref = getattr(transformers, hf_config)()
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings",
                "bos_token_id", "eos_token_id"):
        assert getattr(ours, key) == getattr(ref, key), key
    assert ours.rope_parameters["rope_theta"] == ref.rope_parameters["rope_theta"]
    ref_window = getattr(ref, "sliding_window", None)
    assert {ours.window_of(i) for i in range(ours.num_hidden_layers)} <= {None, ref_window}


def test_auto_config_and_unsupported_rope(tmp_path):
    _, folder = build(tmp_path, "MistralForCausalLM", transformers.MistralConfig(**{**TINY_LLAMA, "sliding_window": 4}))
    config = AutoConfig.from_pretrained(folder)
    assert type(config) is LlamaConfig and config.model_type == "mistral" and config.window_of(0) == 4
    assert any("sliding-window" in str(step) for step in config.trace)
    with pytest.raises(ConfigError, match="longrope"):
        LlamaConfig.from_dict({"model_type": "llama", "rope_scaling": {"rope_type": "longrope", "factor": 2.0}})
    with pytest.raises(ConfigError, match="low_freq_factor"):
        LlamaConfig.from_dict({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})


def test_bfloat16_load(tmp_path):
    _, folder = build(tmp_path, "LlamaForCausalLM", transformers.LlamaConfig(**TINY_LLAMA))
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    ids, mask = inputs()
    logits = model(input_ids=ids, attention_mask=mask).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()


def test_gpt2_sequence_classification_without_pad_token_refuses_batches(tmp_path):
    _, folder = build(tmp_path, "GPT2ForSequenceClassification", transformers.GPT2Config(**TINY_GPT2))
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    ids, mask = inputs(pad=0)
    assert model(input_ids=ids[:1]).logits.shape == (1, 2)  # one row: the last position is read
    with pytest.raises(InputError, match="pad_token_id"):
        model(input_ids=ids, attention_mask=mask)


def test_gpt2_base_model_on_lm_head_checkpoint(tmp_path):
    ref_model, folder = build(tmp_path, "GPT2LMHeadModel", transformers.GPT2Config(**TINY_GPT2))
    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert type(model) is GPT2Model
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()  # the tied lm_head was not saved
    assert "transformer.wte.weight" in model.loading_report.renamed  # the base-model prefix was stripped
    ids, mask = inputs()
    assert_parity(run(model, ids, mask), run(ref_model.transformer, ids, mask), mask)
