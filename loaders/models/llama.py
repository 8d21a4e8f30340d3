"""Llama-style decoders — Llama, Qwen2, Mistral — top to bottom: config → RoPE → RMSNorm →
attention (grouped-query, optional sliding window) → SwiGLU MLP → layer → model → causal LM.

The three share one implementation; the config records how they differ:
- Qwen2 has biases on q/k/v (not on o); Llama has them on all four only with `attention_bias`.
- Mistral applies `sliding_window` to every layer; Qwen2 only with `use_sliding_window`, and only
  to layers ≥ `max_window_layers` (or as `layer_types` says); Llama never.
- Defaults per model_type are transformers' (Qwen2's vocabulary is 151936, Mistral's kv heads 8…).
Module names follow the checkpoint keys (`model.layers.0.self_attn.q_proj.weight`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration import PretrainedConfig
from ..errors import ConfigError
from ..generation import GenerationMixin
from ..modeling.activations import get_activation
from ..modeling.base import PreTrainedModel
from ..modeling.outputs import BaseModelOutput, CausalLMOutput
from ..trace import Trace

ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "llama3")

# transformers' config defaults that differ from LlamaConfig's, by model_type (configuration_<type>.py).
TYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "llama": {},
    "qwen2": {"vocab_size": 151936, "intermediate_size": 22016, "max_position_embeddings": 32768,
              "num_key_value_heads": 32, "bos_token_id": None, "eos_token_id": None, "sliding_window": 4096,
              "max_window_layers": 28},
    "mistral": {"intermediate_size": 14336, "num_key_value_heads": 8, "max_position_embeddings": 4096 * 32,
                "sliding_window": 4096},
}


@dataclass
class LlamaConfig(PretrainedConfig):
    """config.json of model_type llama, qwen2 or mistral (transformers' defaults per type)."""

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None  # None → num_attention_heads (plain multi-head attention)
    head_dim: int | None = None  # None → hidden_size // num_attention_heads
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float | None = None  # v4 key; v5 keeps it inside rope_parameters
    rope_scaling: dict | None = None  # v4 key for the scaling type and factor
    rope_parameters: dict | None = None  # v5: {"rope_type", "rope_theta", "factor", ...}; normalised below
    attention_bias: bool = False  # Llama: bias on q/k/v/o projections
    attention_dropout: float = 0.0
    mlp_bias: bool = False
    pretraining_tp: int = 1  # a training detail; transformers v5 ignores it too
    sliding_window: int | None = None  # Mistral, Qwen2 (with use_sliding_window)
    use_sliding_window: bool = False  # Qwen2
    max_window_layers: int | None = None  # Qwen2: layers from this index on use the window
    layer_types: list[str] | None = None  # v5: "full_attention" / "sliding_attention" per layer
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2

    @classmethod
    def from_dict(cls, raw: dict[str, Any], trace: Trace | None = None, **overrides) -> LlamaConfig:
        """As PretrainedConfig.from_dict, with the defaults of raw["model_type"] for keys the file lacks."""
        defaults = {k: v for k, v in TYPE_DEFAULTS.get(raw.get("model_type", "llama"), {}).items() if k not in raw}
        return super().from_dict({**defaults, **raw}, trace, **overrides)

    def __post_init__(self) -> None:
        self.model_type = self.model_type or "llama"
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        self.rope_parameters = self._rope()
        self.layer_types = self._layer_types()

    @property
    def qkv_bias(self) -> bool:
        return self.attention_bias or self.model_type == "qwen2"  # Qwen2's q/k/v biases are architectural

    def window_of(self, layer: int) -> int | None:
        """The sliding window of `layer` (None = full causal attention)."""
        return self.sliding_window if self.layer_types[layer] == "sliding_attention" else None  # may be None too

    def _rope(self) -> dict[str, Any]:
        """transformers' standardize_rope_params: one dict with rope_type, rope_theta and the scaling keys."""
        rope = dict(self.rope_scaling or self.rope_parameters or {})
        rope.setdefault("rope_type", rope.get("type", "default"))
        rope.pop("type", None)
        rope.setdefault("rope_theta", self.rope_theta if self.rope_theta is not None else 10000.0)
        if rope["rope_type"] in ("llama3", "yarn"):
            rope.setdefault("original_max_position_embeddings", self.max_position_embeddings)
        return rope

    def _layer_types(self) -> list[str]:
        if self.model_type == "qwen2":
            if not self.use_sliding_window:
                self.sliding_window = None  # as transformers' Qwen2Config: the window is off unless switched on
            window = self.sliding_window
            if self.layer_types:
                return list(self.layer_types)
            first = self.max_window_layers if self.max_window_layers is not None else 0
            return ["sliding_attention" if window is not None and i >= first else "full_attention"
                    for i in range(self.num_hidden_layers)]
        sliding = self.model_type == "mistral" and self.sliding_window is not None
        return ["sliding_attention" if sliding else "full_attention"] * self.num_hidden_layers

    def validate(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"{self.model_type} config: hidden_size ({self.hidden_size}) must be divisible by "
                              f"num_attention_heads ({self.num_attention_heads}).")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ConfigError(f"{self.model_type} config: num_attention_heads ({self.num_attention_heads}) must be "
                              f"a multiple of num_key_value_heads ({self.num_key_value_heads}).")
        get_activation(self.hidden_act)  # unknown names raise ConfigError listing the known ones
        self._validate_rope()
        if self.trace is not None:
            self._explain(self.trace)

    def _validate_rope(self) -> None:
        rope = self.rope_parameters
        kind = rope["rope_type"]
        if kind not in ROPE_TYPES:
            raise ConfigError(f"{self.model_type} config: RoPE type {kind!r} is not supported; "
                              f"supported: {', '.join(ROPE_TYPES)}.")
        needed = {"linear": ["factor"], "dynamic": ["factor"], "yarn": ["factor"],
                  "llama3": ["factor", "low_freq_factor", "high_freq_factor"]}.get(kind, [])
        lacking = [k for k in needed if rope.get(k) is None]
        if lacking:
            raise ConfigError(f"{self.model_type} config: RoPE type {kind!r} needs {', '.join(lacking)} in "
                              "rope_scaling / rope_parameters.")

    def _explain(self, trace: Trace) -> None:
        rope = self.rope_parameters
        trace.add("config.json", f"RoPE {rope['rope_type']}, θ = {rope['rope_theta']}", "rope_parameters", rope)
        if self.num_key_value_heads != self.num_attention_heads:
            trace.add("config.json", f"grouped-query attention: {self.num_attention_heads} query heads share "
                      f"{self.num_key_value_heads} key/value heads", "num_key_value_heads", self.num_key_value_heads)
        windows = [i for i in range(self.num_hidden_layers) if self.window_of(i)]
        if windows:
            trace.add("config.json", f"sliding-window attention on layers {windows[0]}–{windows[-1]}",
                      "sliding_window", self.sliding_window)
        elif self.sliding_window is not None:
            trace.add("config.json", f"sliding window not applied ({self.model_type} attends to the whole text)",
                      "sliding_window", self.sliding_window)


# --------------------------------------------------------------------------- rotary position embedding
def rope_inv_freq(config: LlamaConfig, seq_len: int, device) -> tuple[torch.Tensor, float]:
    """Inverse frequencies (head_dim/2,) and the cos/sin scale, per transformers' modeling_rope_utils."""
    rope, dim = config.rope_parameters, config.head_dim
    base, kind = float(rope["rope_theta"]), rope["rope_type"]
    if kind == "dynamic" and seq_len > config.max_position_embeddings:  # NTK: grow the base past the trained length
        factor = rope["factor"]
        base *= ((factor * seq_len / config.max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim))
    if kind == "linear":
        return inv_freq / rope["factor"], 1.0
    if kind == "llama3":
        return _llama3(inv_freq, rope), 1.0
    if kind == "yarn":
        return _yarn(config, rope, base, dim, device)
    return inv_freq, 1.0


def _llama3(inv_freq: torch.Tensor, rope: dict) -> torch.Tensor:
    """Llama 3.1: long wavelengths divided by `factor`, short kept, the band between interpolated."""
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    old_len = rope["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > old_len / low, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old_len / high) * ~(wavelen > old_len / low)
    return torch.where(medium, smoothed, scaled)


def _yarn(config: LlamaConfig, rope: dict, base: float, dim: int, device) -> tuple[torch.Tensor, float]:
    """YaRN: interpolate low frequencies, extrapolate high ones, ramp between; scale cos/sin by mscale."""
    factor, original = rope.get("factor"), rope["original_max_position_embeddings"]
    factor = factor if factor is not None else config.max_position_embeddings / original

    def mscale(scale, m=1.0):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    attention_factor = rope.get("attention_factor")
    if attention_factor is None:
        m, m_all = rope.get("mscale"), rope.get("mscale_all_dim")
        attention_factor = float(mscale(factor, m) / mscale(factor, m_all)) if m and m_all else mscale(factor)

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(rope.get("beta_fast") or 32), correction_dim(rope.get("beta_slow") or 1)
    if rope.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    high = high + 0.001 if low == high else high  # avoid a zero-width ramp
    ramp = ((torch.arange(dim // 2, dtype=torch.float32, device=device) - low) / (high - low)).clamp(0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2, device=device).float() / dim)
    extrapolation = 1 - ramp  # weight of the original (extrapolated) frequency per dimension
    inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv_freq, attention_factor


class LlamaRotaryEmbedding(nn.Module):
    """cos/sin (B, T, head_dim) for position ids; frequencies computed on first use (no checkpoint buffer)."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self._cache: tuple[torch.Tensor, float] | None = None

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor):
        seq_len = int(position_ids.max()) + 1
        if self.config.rope_parameters["rope_type"] == "dynamic" and seq_len > self.config.max_position_embeddings:
            inv_freq, scale = rope_inv_freq(self.config, seq_len, x.device)
        else:
            if self._cache is None or self._cache[0].device != x.device:
                self._cache = rope_inv_freq(self.config, 0, x.device)
            inv_freq, scale = self._cache
        freqs = position_ids[..., None].float() * inv_freq  # (B, T, head_dim/2), in float32 as transformers
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * scale).to(x.dtype), (emb.sin() * scale).to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(q, k, cos, sin):
    cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, hd) broadcast over heads
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


# --------------------------------------------------------------------------- blocks
class LlamaRMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()  # statistics in float32 even for bf16/fp16 weights, as transformers
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def attend(q, k, v, mask, scale: float, want_probs: bool):
    """q (B, nh, Tq, hd), k/v (B, nkv, Tk, hd) with nh a multiple of nkv; mask bool (B|1, 1, Tq, Tk), True = may
    attend, or None = plain causal (Tq == Tk) / nothing hidden (Tq == 1). Returns (out (B, nh, Tq, hd), probs|None)."""
    gqa = q.shape[1] != k.shape[1]
    if not want_probs:
        causal = mask is None and q.shape[2] > 1
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale, enable_gqa=gqa)
        return out, None
    if gqa:
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    if mask is None:
        mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril(k.shape[2] - q.shape[2])
    scores = (q @ k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    probs = scores.softmax(dim=-1, dtype=torch.float32).to(q.dtype)
    probs = probs * mask.any(dim=-1, keepdim=True)  # a fully masked row (left padding) → 0, as SDPA gives
    return probs @ v, probs


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.head_dim = config.head_dim
        self.window = config.window_of(layer_idx)
        nh, nkv, hd = config.num_attention_heads, config.num_key_value_heads, config.head_dim
        self.q_proj = nn.Linear(config.hidden_size, nh * hd, bias=config.qkv_bias)
        self.k_proj = nn.Linear(config.hidden_size, nkv * hd, bias=config.qkv_bias)
        self.v_proj = nn.Linear(config.hidden_size, nkv * hd, bias=config.qkv_bias)
        self.o_proj = nn.Linear(nh * hd, config.hidden_size, bias=config.attention_bias)

    def forward(self, x, cos, sin, mask, past, want_probs: bool):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, -1, self.head_dim).transpose(1, 2)
        q, k = apply_rotary(q, k, cos, sin)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        out, probs = attend(q, k, v, mask, self.head_dim ** -0.5, want_probs)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, -1)), (k, v), probs


class LlamaMLP(nn.Module):
    """SwiGLU: down(act(gate(x)) * up(x))."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=config.mlp_bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=config.mlp_bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.mlp_bias)
        self.act = get_activation(config.hidden_act)

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = LlamaAttention(config, layer_idx)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = LlamaMLP(config)

    def forward(self, x, cos, sin, mask, past, want_probs: bool):
        attn_out, present, probs = self.self_attn(self.input_layernorm(x), cos, sin, mask, past, want_probs)
        x = x + attn_out
        return x + self.mlp(self.post_attention_layernorm(x)), present, probs


def causal_mask(attention_mask, q_len: int, past_len: int, window: int | None, device) -> torch.Tensor | None:
    """Bool (B|1, 1, Tq, Tk), True = may attend (causal, padding, sliding window: kv > q - window);
    None when plain causal attention (or nothing at all) is exact."""
    kv_len = past_len + q_len
    window = window if window is not None and kv_len > window else None  # a window wider than the text hides nothing
    if attention_mask is not None and bool(attention_mask.all()):
        attention_mask = None
    if attention_mask is None and window is None and (past_len == 0 or q_len == 1):
        return None
    q_pos = torch.arange(past_len, kv_len, device=device)[:, None]
    kv_pos = torch.arange(kv_len, device=device)[None, :]
    mask = kv_pos <= q_pos
    if window is not None:
        mask &= kv_pos > q_pos - window
    mask = mask[None, None]
    if attention_mask is not None:
        mask = mask & attention_mask[:, None, None, -kv_len:].bool()
    return mask


# --------------------------------------------------------------------------- models
class LlamaPreTrainedModel(PreTrainedModel):
    config_class = LlamaConfig
    base_model_prefix = "model"
    ignored_keys: ClassVar[dict[str, str]] = {
        r"rotary_emb\.inv_freq$": "RoPE frequencies saved by old checkpoints; recomputed from the config"}

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, LlamaRMSNorm):
            with torch.no_grad():
                module.weight.fill_(1.0)


class LlamaModel(LlamaPreTrainedModel):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        pad = config.pad_token_id
        pad = pad if isinstance(pad, int) and 0 <= pad < config.vocab_size else None
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=pad)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(config)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BaseModelOutput:
        """Hidden states (B, T, hidden); past_key_values: per layer (k, v), each (B, n_kv_heads, T_past, head_dim)."""
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        T = x.shape[1]
        past_len = past_key_values[0][0].shape[2] if past_key_values else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + T, device=x.device)[None]
        cos, sin = self.rotary_emb(x, position_ids)
        masks = {w: causal_mask(attention_mask, T, past_len, w, x.device)
                 for w in {self.config.window_of(i) for i in range(len(self.layers))}}
        hidden, attentions, presents = [], [], []
        for i, layer in enumerate(self.layers):
            if output_hidden_states:
                hidden.append(x)
            past = past_key_values[i] if past_key_values else None
            x, present, probs = layer(x, cos, sin, masks[layer.self_attn.window], past, output_attentions)
            presents.append(present)
            attentions.append(probs)
        x = self.norm(x)
        return BaseModelOutput(
            last_hidden_state=x,
            past_key_values=tuple(presents) if use_cache else None,
            hidden_states=(*hidden, x) if output_hidden_states else None,  # last entry is after the norm
            attentions=tuple(attentions) if output_attentions else None,
        )


class LlamaForCausalLM(GenerationMixin, LlamaPreTrainedModel):
    tied_weights: ClassVar[dict[str, str]] = {"lm_head.weight": "model.embed_tokens.weight"}

    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False, logits_to_keep: int = 0) -> CausalLMOutput:
        """Next-token logits (B, T, vocab); `logits_to_keep=1` computes only the last position (generation)."""
        out = self.model(input_ids, attention_mask, position_ids, past_key_values, inputs_embeds, use_cache,
                         output_attentions, output_hidden_states)
        h = out.last_hidden_state[:, -logits_to_keep:] if logits_to_keep else out.last_hidden_state
        return CausalLMOutput(logits=self.lm_head(h), past_key_values=out.past_key_values,
                              hidden_states=out.hidden_states, attentions=out.attentions)
