"""DistilBERT (distilbert/distilbert-base-uncased): a 6-layer BERT without token types or pooler.

Module names follow the checkpoint keys (`distilbert.transformer.layer.0.attention.q_lin.weight`).
Position embeddings are learned, or fixed sinusoids when `sinusoidal_pos_embds` is true (the
checkpoint still stores them; a missing table is rebuilt by `_init_weights`). The tokenizer
(BertTokenizer in transformers v5) returns token_type_ids; DistilBERT accepts and ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..configuration import PretrainedConfig
from ..errors import ConfigError, InputError
from ..modeling.activations import get_activation
from ..modeling.base import PreTrainedModel
from ..modeling.outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .bert import additive_mask, as_batch, attend, refuse_unknown

LAYER_NORM_EPS = 1e-12  # fixed in DistilBERT, not a config key


@dataclass
class DistilBertConfig(PretrainedConfig):
    model_type: str = "distilbert"
    vocab_size: int = 30522
    max_position_embeddings: int = 512
    sinusoidal_pos_embds: bool = False
    n_layers: int = 6
    n_heads: int = 12
    dim: int = 768
    hidden_dim: int = 3072
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    qa_dropout: float = 0.1
    seq_classif_dropout: float = 0.2
    pad_token_id: int | None = 0

    def validate(self) -> None:
        if self.dim % self.n_heads:
            raise ConfigError(f"dim {self.dim} is not a multiple of n_heads {self.n_heads}; fix config.json.")
        get_activation(self.activation)

    @property
    def hidden_size(self) -> int:  # transformers' attribute_map name, used by the UI
        return self.dim


def sinusoids(n_pos: int, dim: int) -> torch.Tensor:
    """(n_pos, dim) fixed table: sin on even columns, cos on odd, wavelength 10000^(2i/dim)."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]
    freq = torch.pow(10000.0, 2 * (torch.arange(dim) // 2).double() / dim)
    angles = pos / freq  # (n_pos, dim)
    table = torch.empty(n_pos, dim, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = angles[:, 0::2].sin(), angles[:, 1::2].cos()
    return table.float()


class Embeddings(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, position_ids=None):
        T = input_ids.shape[1]
        if T > self.position_embeddings.num_embeddings:
            raise InputError(f"{T} tokens exceed the model's {self.position_embeddings.num_embeddings} positions; "
                             "truncate the input (truncation=True).")
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device)[None]  # (1, T)
        x = self.word_embeddings(input_ids) + self.position_embeddings(torch.as_tensor(position_ids))
        return self.dropout(self.LayerNorm(x))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.dropout = config.attention_dropout

    def forward(self, x, mask, want_probs):
        B, T, C = x.shape
        q, k, v = (lin(x).view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)  # (B, nh, T, hs)
                   for lin in (self.q_lin, self.k_lin, self.v_lin))
        y, probs = attend(q, k, v, mask, want_probs, self.dropout if self.training else 0.0)
        return self.out_lin(y.transpose(1, 2).reshape(B, T, C)), probs


class FFN(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.act = get_activation(config.activation)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.lin2(self.act(self.lin1(x))))


class TransformerBlock(nn.Module):
    """Post-norm block: LayerNorm(x + attention(x)), then LayerNorm(x + ffn(x))."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)

    def forward(self, x, mask, want_probs):
        y, probs = self.attention(x, mask, want_probs)
        x = self.sa_layer_norm(y + x)
        return self.output_layer_norm(self.ffn(x) + x), probs


class Transformer(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.layer = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layers))

    def forward(self, x, mask, output_attentions: bool, output_hidden_states: bool):
        hidden, attentions = [x], []
        for layer in self.layer:
            x, probs = layer(x, mask, output_attentions)
            hidden.append(x)
            attentions.append(probs)
        return x, (tuple(hidden) if output_hidden_states else None), \
            (tuple(attentions) if output_attentions else None)


# ----------------------------------------------------------------------------- models
class DistilBertPreTrainedModel(PreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    ignored_keys = {r"(^|\.)position_ids$": "a position-ids buffer from older checkpoints; positions are recomputed"}
    unexpected_reasons = {r"^vocab_(transform|layer_norm|projector)\.": "the masked-LM head; this class does not "
                                                                        "have it"}

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, Embeddings) and self.config.sinusoidal_pos_embds:
            weight = module.position_embeddings.weight
            weight.copy_(sinusoids(*weight.shape).to(weight.dtype))


class DistilBertModel(DistilBertPreTrainedModel):
    """The bare encoder: `last_hidden_state` (batch, seq, dim); no pooler."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> BaseModelOutput:
        refuse_unknown(kwargs)  # token_type_ids: accepted from the tokenizer, not used by DistilBERT
        x = self.embeddings(as_batch(input_ids), position_ids)
        mask = additive_mask(None if attention_mask is None else torch.as_tensor(attention_mask), x.dtype)
        x, hidden, attentions = self.transformer(x, mask, output_attentions, output_hidden_states)
        return BaseModelOutput(last_hidden_state=x, hidden_states=hidden, attentions=attentions)


class _DistilBertHead(DistilBertPreTrainedModel):
    def _encode(self, input_ids, attention_mask, position_ids, output_attentions, output_hidden_states, kwargs):
        return self.distilbert(input_ids, attention_mask, None, position_ids, output_attentions,
                               output_hidden_states, **kwargs)


class DistilBertForMaskedLM(_DistilBertHead):
    """Masked-LM head: vocab_transform → activation → LayerNorm → vocab_projector (tied to the embeddings)."""

    tied_weights = {"vocab_projector.weight": "distilbert.embeddings.word_embeddings.weight"}

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.act = get_activation(config.activation)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> MaskedLMOutput:
        out = self._encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states, kwargs)
        x = self.vocab_layer_norm(self.act(self.vocab_transform(out.last_hidden_state)))
        return MaskedLMOutput(logits=self.vocab_projector(x), hidden_states=out.hidden_states,
                              attentions=out.attentions)


class DistilBertForSequenceClassification(_DistilBertHead):
    """first token → pre_classifier → ReLU → dropout → classifier: logits (batch, num_labels)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> SequenceClassifierOutput:
        out = self._encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states, kwargs)
        pooled = self.dropout(torch.relu(self.pre_classifier(out.last_hidden_state[:, 0])))  # (B, dim)
        return SequenceClassifierOutput(logits=self.classifier(pooled), hidden_states=out.hidden_states,
                                        attentions=out.attentions)


class DistilBertForTokenClassification(_DistilBertHead):
    """One label distribution per token: logits (batch, seq, num_labels)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> TokenClassifierOutput:
        out = self._encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states, kwargs)
        return TokenClassifierOutput(logits=self.classifier(self.dropout(out.last_hidden_state)),
                                     hidden_states=out.hidden_states, attentions=out.attentions)


class DistilBertForQuestionAnswering(_DistilBertHead):
    """Extractive QA: start and end logits (batch, seq)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise ConfigError(f"DistilBertForQuestionAnswering needs num_labels 2 (start, end), not "
                              f"{config.num_labels}; remove id2label/num_labels from config.json.")
        self.distilbert = DistilBertModel(config)
        self.qa_outputs = nn.Linear(config.dim, 2)
        self.dropout = nn.Dropout(config.qa_dropout)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> QuestionAnsweringModelOutput:
        out = self._encode(input_ids, attention_mask, position_ids, output_attentions, output_hidden_states, kwargs)
        start, end = self.qa_outputs(self.dropout(out.last_hidden_state)).split(1, dim=-1)  # (B, T, 1) each
        return QuestionAnsweringModelOutput(start_logits=start.squeeze(-1).contiguous(),
                                            end_logits=end.squeeze(-1).contiguous(),
                                            hidden_states=out.hidden_states, attentions=out.attentions)
