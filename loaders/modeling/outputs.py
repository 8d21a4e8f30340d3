"""Model outputs with transformers' field names: `out.logits`, `out["logits"]` and `out[0]` all work.

Like transformers' ModelOutput, fields left as None are skipped by indexing, iteration and
`to_tuple()`, so `out[0]` is the first field that has a value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class ModelOutput:
    """Base of every output: a dataclass that also reads like an ordered dict of its non-None fields."""

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def values(self) -> list[Any]:
        return [getattr(self, k) for k in self.keys()]

    def to_tuple(self) -> tuple:
        return tuple(self.values())

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())


Tensors = tuple[torch.Tensor, ...] | None


@dataclass
class BaseModelOutput(ModelOutput):
    """A base model's output. `pooler_output` only for families with a pooler (BERT, RoBERTa);
    `past_key_values` only for decoders called with `use_cache=True`. `hidden_states` has
    num_layers + 1 entries (embeddings first); `attentions` one (batch, heads, q, k) per layer."""

    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    past_key_values: Any = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (batch, seq, vocab)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (batch, num_labels)
    past_key_values: Any = None
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (batch, seq, num_labels)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None  # (batch, seq)
    end_logits: torch.Tensor | None = None  # (batch, seq)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class CausalLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (batch, seq, vocab)
    past_key_values: Any = None
    hidden_states: Tensors = None
    attentions: Tensors = None
