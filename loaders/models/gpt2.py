"""GPT-2, top to bottom: config → Conv1D → attention → MLP → block → model → heads.

Module names follow the checkpoint keys (`transformer.h.0.attn.c_attn.weight`), so loading is a
copy. GPT-2 stores its projections as `Conv1D`: weight (in, out), the transpose of `nn.Linear`.
Old checkpoints carry `attn.bias` / `attn.masked_bias` — causal-mask buffers, not weights — and
they are ignored on purpose. `lm_head.weight` is tied to `transformer.wte.weight`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration import PretrainedConfig
from ..errors import ConfigError, InputError
from ..generation import GenerationMixin
from ..modeling.activations import get_activation
from ..modeling.base import PreTrainedModel
from ..modeling.outputs import BaseModelOutput, CausalLMOutput, SequenceClassifierOutput


@dataclass
class GPT2Config(PretrainedConfig):
    """config.json of model_type "gpt2", with transformers' defaults (openai-community/gpt2 sizes)."""

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None  # None → 4 * n_embd
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    summary_type: str = "cls_index"  # the summary_* keys belong to GPT2DoubleHeadsModel (not built here)
    summary_use_proj: bool = True
    summary_activation: str | None = None
    summary_proj_to_labels: bool = True
    summary_first_dropout: float = 0.1
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    reorder_and_upcast_attn: bool = False  # only changes mixed-precision rounding; float32 results are equal
    add_cross_attention: bool = False
    bos_token_id: int | None = 50256
    eos_token_id: int | list[int] | None = 50256

    # transformers' attribute_map: the generic names the UI and generic code use.
    @property
    def hidden_size(self) -> int:
        return self.n_embd

    @property
    def num_attention_heads(self) -> int:
        return self.n_head

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layer

    @property
    def max_position_embeddings(self) -> int:
        return self.n_positions

    def validate(self) -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(f"GPT-2 config: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}).")
        get_activation(self.activation_function)  # unknown names raise ConfigError listing the known ones
        if self.add_cross_attention:
            raise ConfigError("GPT-2 config: add_cross_attention=true (GPT-2 as a decoder of an encoder-decoder) "
                              "is not supported; use a plain GPT-2 checkpoint.")


class Conv1D(nn.Module):
    """GPT-2's linear layer: y = x @ weight + bias with weight stored (in, out)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
        return out.view(*x.shape[:-1], -1)


def attend(q, k, v, mask, scale: float, want_probs: bool):
    """Scaled dot-product attention. q (B, nh, Tq, hs), k/v (B, nh, Tk, hs); mask bool (B|1, 1, Tq, Tk),
    True = may attend, or None = plain causal (Tq == Tk) / no mask (Tq == 1). Returns (out, probs|None)."""
    if not want_probs:
        causal = mask is None and q.shape[2] > 1
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale), None
    if mask is None:
        mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril(k.shape[2] - q.shape[2])
    scores = (q @ k.transpose(-1, -2)) * scale  # (B, nh, Tq, Tk)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    probs = scores.softmax(dim=-1) * mask.any(dim=-1, keepdim=True)  # a fully masked row (left padding) → 0, as SDPA
    return probs @ v, probs


class GPT2Attention(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.scale = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scale /= float(layer_idx + 1)
        self.c_attn = Conv1D(config.n_embd, 3 * config.n_embd)  # q, k, v in one projection
        self.c_proj = Conv1D(config.n_embd, config.n_embd)

    def forward(self, x, mask, past, want_probs: bool):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, self.head_dim).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        out, probs = attend(q, k, v, mask, self.scale, want_probs)
        out = out.transpose(1, 2).reshape(B, T, C)
        return self.c_proj(out), (k, v), probs


class GPT2MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        inner = config.n_inner or 4 * config.n_embd
        self.c_fc = Conv1D(config.n_embd, inner)
        self.c_proj = Conv1D(inner, config.n_embd)
        self.act = get_activation(config.activation_function)  # gelu_new: torch's fused tanh GELU

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, x, mask, past, want_probs: bool):
        attn_out, present, probs = self.attn(self.ln_1(x), mask, past, want_probs)
        x = x + attn_out
        return x + self.mlp(self.ln_2(x)), present, probs


def causal_mask(attention_mask, q_len: int, past_len: int, batch: int, device) -> torch.Tensor | None:
    """Bool (B|1, 1, Tq, Tk), True = may attend; None when plain causal attention (or no mask at all) is exact."""
    if attention_mask is not None and bool(attention_mask.all()):
        attention_mask = None  # all ones: nothing to hide, keep the fast path
    if attention_mask is None and (past_len == 0 or q_len == 1):
        return None
    kv_len = past_len + q_len
    q_pos = torch.arange(past_len, kv_len, device=device)[:, None]
    mask = (torch.arange(kv_len, device=device)[None, :] <= q_pos)[None, None]  # (1, 1, Tq, Tk)
    if attention_mask is not None:
        mask = mask & attention_mask[:, None, None, -kv_len:].bool()
    return mask


class GPT2PreTrainedModel(PreTrainedModel):
    config_class = GPT2Config
    base_model_prefix = "transformer"
    # Causal-mask buffers saved by old checkpoints: the mask is rebuilt per call, so they carry no weights.
    ignored_keys = {r"\.attn\.(masked_)?bias$": "GPT-2's causal-mask buffer from old checkpoints; the mask is "
                    "rebuilt on every call"}

    def _init_weights(self, module: nn.Module) -> None:
        """transformers' init: normal(0, initializer_range); residual projections scaled by 1/√(2·n_layer)."""
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, Conv1D, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        if isinstance(module, (GPT2Attention, GPT2MLP)):
            nn.init.normal_(module.c_proj.weight, mean=0.0, std=std / math.sqrt(2 * self.config.n_layer))


class GPT2Model(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.h = nn.ModuleList(GPT2Block(config, i) for i in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.wte

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False) -> BaseModelOutput:
        """Hidden states (B, T, n_embd); past_key_values: per layer (k, v), each (B, n_head, T_past, head_dim)."""
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        B, T = x.shape[:2]
        past_len = past_key_values[0][0].shape[2] if past_key_values else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + T, device=x.device)[None]
        if past_len + T > self.config.n_positions:
            raise InputError(f"GPT-2: {past_len + T} tokens exceed n_positions={self.config.n_positions}; "
                             "shorten the input or max_new_tokens.")
        x = x + self.wpe(position_ids)
        if token_type_ids is not None:
            x = x + self.wte(token_type_ids)  # GPT-2 reuses the token embedding for token types
        mask = causal_mask(attention_mask, T, past_len, B, x.device)
        hidden, attentions, presents = [], [], []
        for i, block in enumerate(self.h):
            if output_hidden_states:
                hidden.append(x)
            x, present, probs = block(x, mask, past_key_values[i] if past_key_values else None, output_attentions)
            presents.append(present)
            attentions.append(probs)
        x = self.ln_f(x)
        return BaseModelOutput(
            last_hidden_state=x,
            past_key_values=tuple(presents) if use_cache else None,
            hidden_states=(*hidden, x) if output_hidden_states else None,  # last entry is after ln_f, as transformers
            attentions=tuple(attentions) if output_attentions else None,
        )


class GPT2LMHeadModel(GenerationMixin, GPT2PreTrainedModel):
    tied_weights = {"lm_head.weight": "transformer.wte.weight"}

    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False, logits_to_keep: int = 0) -> CausalLMOutput:
        """Next-token logits (B, T, vocab); `logits_to_keep=1` computes only the last position (generation)."""
        out = self.transformer(input_ids, attention_mask, token_type_ids, position_ids, past_key_values,
                               inputs_embeds, use_cache, output_attentions, output_hidden_states)
        h = out.last_hidden_state[:, -logits_to_keep:] if logits_to_keep else out.last_hidden_state
        return CausalLMOutput(logits=self.lm_head(h), past_key_values=out.past_key_values,
                                      hidden_states=out.hidden_states, attentions=out.attentions)


class GPT2ForSequenceClassification(GPT2PreTrainedModel):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                past_key_values=None, inputs_embeds=None, use_cache: bool = False, output_attentions: bool = False,
                output_hidden_states: bool = False) -> SequenceClassifierOutput:
        """Label logits (B, num_labels), read at each row's last non-padding token (as transformers)."""
        out = self.transformer(input_ids, attention_mask, token_type_ids, position_ids, past_key_values,
                               inputs_embeds, use_cache, output_attentions, output_hidden_states)
        logits = self.score(out.last_hidden_state)  # (B, T, num_labels)
        last = last_token_index(input_ids, self.config.pad_token_id, logits.shape[0])
        pooled = logits[torch.arange(logits.shape[0], device=logits.device), last]
        return SequenceClassifierOutput(logits=pooled, past_key_values=out.past_key_values,
                                                hidden_states=out.hidden_states, attentions=out.attentions)


def last_token_index(input_ids, pad_token_id: int | None, batch: int):
    """Index of each row's last non-pad token; -1 (the last position) without a pad token."""
    if pad_token_id is None:
        if batch != 1:
            raise InputError("GPT-2 sequence classification: config has no pad_token_id, so a batch of more than "
                             "one sequence cannot be read; set pad_token_id in config.json or classify one by one.")
        return -1
    if input_ids is None:
        return -1  # with inputs_embeds the padding cannot be seen (transformers does the same)
    non_pad = (input_ids != pad_token_id).int()
    return (torch.arange(input_ids.shape[-1], device=input_ids.device) * non_pad).argmax(-1)
