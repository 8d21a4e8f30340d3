"""`generate()` for our causal LMs (GPT-2, Llama-style): greedy or sampling, with a KV cache.

Follows transformers' decoder-only loop: position ids from the attention mask (left padding
works), logits of the last position in float32, warpers in transformers' order (temperature →
top-k → top-p), finished rows padded with `pad_token_id` (else the first eos id), stop when
every row has produced an eos or `max_new_tokens` is reached. Returns the ids as a LongTensor
(prompt included), or an object with `sequences` and per-step `scores` when
`return_dict_in_generate=True`.

A model plugs in by accepting `input_ids, attention_mask, position_ids, past_key_values,
use_cache, logits_to_keep` and returning `.logits` (B, T, vocab) and `.past_key_values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .errors import InputError
from .hub import Checkpoint
from .trace import Trace

# transformers' GenerationConfig defaults for what we support (`_get_default_generation_params`).
DEFAULTS = {"max_length": 20, "do_sample": False, "temperature": 1.0, "top_k": 50, "top_p": 1.0}
GENERATION_KEYS = {"max_length", "max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "eos_token_id",
                   "pad_token_id", "bos_token_id"}
_BOOKKEEPING = {"transformers_version", "_from_model_config"}


@dataclass
class GenerateDecoderOnlyOutput:
    """What `generate(..., return_dict_in_generate=True)` returns (transformers' field names)."""

    sequences: torch.LongTensor
    scores: tuple[torch.Tensor, ...] | None = None  # per step (B, vocab): logits after the warpers
    logits: tuple[torch.Tensor, ...] | None = None  # per step (B, vocab): raw logits (output_logits=True)
    past_key_values: Any = None


def temperature_filter(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    """transformers' TemperatureLogitsWarper: divide the logits by `temperature` (> 0)."""
    return scores / temperature


def top_k_filter(scores: torch.Tensor, top_k: int, filter_value: float = -float("inf"),
                 min_tokens_to_keep: int = 1) -> torch.Tensor:
    """transformers' TopKLogitsWarper: keep the k highest logits (ties with the k-th kept), others → filter_value."""
    k = min(max(top_k, min_tokens_to_keep), scores.shape[-1])
    kth = torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(scores < kth, filter_value)


def top_p_filter(scores: torch.Tensor, top_p: float, filter_value: float = -float("inf"),
                 min_tokens_to_keep: int = 1) -> torch.Tensor:
    """transformers' TopPLogitsWarper: keep the smallest set of most likely tokens whose probability reaches top_p."""
    sorted_logits, sorted_idx = torch.sort(scores, descending=False)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    remove = cumulative <= (1 - top_p)  # ascending order: the unlikely tail whose mass is ≤ 1 - top_p
    remove[..., -min_tokens_to_keep:] = False
    return scores.masked_fill(remove.scatter(1, sorted_idx, remove), filter_value)


def warp(scores: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Sampling warpers in transformers' order; values that change nothing are skipped as transformers does."""
    if temperature != 1.0:
        scores = temperature_filter(scores, temperature)
    if top_k:
        scores = top_k_filter(scores, top_k)
    if top_p is not None and top_p < 1.0:
        scores = top_p_filter(scores, top_p)
    return scores


class GenerationMixin:
    """Adds `generate()` to a causal LM, and reads the checkpoint's generation_config.json when loading.

    List it before the family's PreTrainedModel (`class XForCausalLM(GenerationMixin, XPreTrainedModel)`)
    so that its `from_pretrained` wraps the shared one.
    """

    generation_config: dict | None = None  # generation_config.json's supported keys; None → config + defaults

    @classmethod
    def from_pretrained(cls, checkpoint, *, revision: str | None = None, token: str | None = None,
                        trace: Trace | None = None, **kwargs):
        """The shared `from_pretrained`, then generation_config.json (as transformers reads it beside config.json)."""
        trace = trace if trace is not None else Trace(f"{cls.__name__}.from_pretrained")
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        result = super().from_pretrained(ckpt, trace=trace, **kwargs)
        model = result[0] if isinstance(result, tuple) else result
        model.generation_config = read_generation_config(ckpt, trace)
        return result

    def generate(self, input_ids=None, attention_mask=None, **kwargs):
        """See `generate(model, ...)`: same arguments, called as a method like transformers' `model.generate`."""
        return generate(self, input_ids, attention_mask, **kwargs)


def read_generation_config(ckpt: Checkpoint, trace: Trace) -> dict | None:
    """generation_config.json's keys that our generate() honours; the others are listed in the trace as ignored."""
    raw = ckpt.read_json("generation_config.json", purpose="generation defaults")
    if raw is None:
        return None
    used = {k: v for k, v in raw.items() if k in GENERATION_KEYS}
    trace.add("generation_config.json", "defaults for generate()", "keys", used)
    ignored = sorted(k for k, v in raw.items() if k not in GENERATION_KEYS and k not in _BOOKKEEPING
                     and v not in (None, False, 0, 1, 1.0))
    if ignored:
        trace.warn("generation_config.json", "not supported by our generate() (transformers would apply them)",
                   "ignored", ignored)
    return used


@dataclass
class _Settings:
    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int | None
    top_p: float | None
    eos: torch.Tensor | None  # (n_eos,) ids that end a row
    pad_token_id: int | None


def generate(model, input_ids=None, attention_mask=None, *, max_new_tokens: int | None = None,
             max_length: int | None = None, do_sample: bool | None = None, temperature: float | None = None,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             generator: torch.Generator | None = None, eos_token_id: int | list[int] | None = None,
             pad_token_id: int | None = None, use_cache: bool = True, output_scores: bool = False,
             output_logits: bool = False, return_dict_in_generate: bool = False, **unsupported):
    """Continue `input_ids` (B, T) with the model; returns (B, T + new) ids, or a GenerateDecoderOnlyOutput.

    Unset arguments come from the model's generation config, then its config (eos/pad ids), then
    transformers' defaults (max_length 20; when sampling: temperature 1.0, top_k 50, top_p 1.0).
    `seed` makes sampling reproducible (a private torch.Generator; the global RNG is untouched).
    """
    if unsupported:
        raise InputError(f"generate(): unsupported argument(s) {', '.join(sorted(unsupported))}; supported: "
                         "max_new_tokens, max_length, do_sample, temperature, top_k, top_p, seed, eos_token_id, "
                         "pad_token_id, use_cache, output_scores, output_logits, return_dict_in_generate.")
    if input_ids is None or input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise InputError("generate() needs input_ids of shape (batch, length ≥ 1), e.g. from the tokenizer.")
    given = {"max_new_tokens": max_new_tokens, "max_length": max_length, "do_sample": do_sample,
             "temperature": temperature, "top_k": top_k, "top_p": top_p, "eos_token_id": eos_token_id,
             "pad_token_id": pad_token_id}
    settings = _settings(model, input_ids, given)
    if settings.do_sample and generator is None and seed is not None:
        generator = torch.Generator(device=input_ids.device).manual_seed(int(seed))
    attention_mask = _attention_mask(input_ids, attention_mask, settings)
    with torch.no_grad():
        return _loop(model, input_ids, attention_mask, settings, generator, use_cache,
                     output_scores, output_logits, return_dict_in_generate)


def _settings(model, input_ids, given: dict) -> _Settings:
    """Merge the call's arguments over the generation config, the model config and the defaults."""
    gen_config = getattr(model, "generation_config", None) or {}
    config = model.config

    def pick(name):
        if given.get(name) is not None:
            return given[name]
        if gen_config.get(name) is not None:
            return gen_config[name]
        return getattr(config, name, None) if name.endswith("token_id") else DEFAULTS.get(name)

    max_new = pick("max_new_tokens")
    if max_new is None:
        max_new = pick("max_length") - input_ids.shape[1]
    if max_new < 1:
        raise InputError(f"generate(): nothing to generate (the prompt has {input_ids.shape[1]} tokens and "
                         f"max_length is {pick('max_length')}); pass max_new_tokens.")
    temperature = float(pick("temperature"))
    if pick("do_sample") and temperature <= 0:
        raise InputError(f"generate(): temperature must be > 0 when sampling, got {temperature}; "
                         "use do_sample=False for greedy decoding.")
    eos = pick("eos_token_id")
    eos = [eos] if isinstance(eos, int) else list(eos or [])
    eos = torch.tensor(eos, device=input_ids.device) if eos else None
    pad = pick("pad_token_id")
    if pad is None and eos is not None:
        pad = int(eos[0])  # transformers: "Setting pad_token_id to eos_token_id" for finished rows
    return _Settings(int(max_new), bool(pick("do_sample")), temperature, pick("top_k"), pick("top_p"), eos, pad)


def _attention_mask(input_ids, attention_mask, settings: _Settings) -> torch.Tensor:
    """The caller's mask; else hide pad tokens when the prompt has some (and pad is not eos), as transformers."""
    if attention_mask is not None:
        if attention_mask.shape != input_ids.shape:
            raise InputError(f"generate(): attention_mask {tuple(attention_mask.shape)} does not match input_ids "
                             f"{tuple(input_ids.shape)}.")
        return attention_mask.long()
    pad = settings.pad_token_id
    pad_is_eos = settings.eos is not None and pad is not None and bool((settings.eos == pad).any())
    if pad is not None and not pad_is_eos and bool((input_ids == pad).any()):
        return (input_ids != pad).long()
    return torch.ones_like(input_ids)


def _loop(model, ids, mask, s: _Settings, generator, use_cache: bool, output_scores: bool, output_logits: bool,
          return_dict: bool):
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: the first real token is position 0
    step_ids, step_pos, past = ids, positions, None
    unfinished = torch.ones(ids.shape[0], dtype=torch.bool, device=ids.device)
    scores_out, logits_out = [], []
    for _ in range(s.max_new_tokens):
        out = model(input_ids=step_ids, attention_mask=mask, position_ids=step_pos, past_key_values=past,
                    use_cache=use_cache, logits_to_keep=1)
        logits = out.logits[:, -1, :].to(dtype=torch.float32)
        scores = warp(logits, s.temperature, s.top_k, s.top_p) if s.do_sample else logits
        if s.do_sample:
            next_ids = torch.multinomial(scores.softmax(dim=-1), num_samples=1, generator=generator).squeeze(1)
        else:
            next_ids = scores.argmax(dim=-1)
        if s.eos is not None:
            next_ids = torch.where(unfinished, next_ids, torch.full_like(next_ids, s.pad_token_id))
            unfinished &= ~torch.isin(next_ids, s.eos)
        if output_scores:
            scores_out.append(scores)
        if output_logits:
            logits_out.append(logits)
        ids = torch.cat([ids, next_ids[:, None]], dim=-1)
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=-1)
        positions = torch.cat([positions, positions[:, -1:] + 1], dim=-1)
        if use_cache:
            step_ids, step_pos, past = next_ids[:, None], positions[:, -1:], out.past_key_values
        else:
            step_ids, step_pos = ids, positions  # recompute everything: the reference the cache must equal
        if s.eos is not None and not bool(unfinished.any()):
            break
    if not return_dict:
        return ids
    return GenerateDecoderOnlyOutput(sequences=ids, scores=tuple(scores_out) if output_scores else None,
                                     logits=tuple(logits_out) if output_logits else None,
                                     past_key_values=past if use_cache else None)
