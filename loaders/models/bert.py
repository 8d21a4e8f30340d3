"""BERT (google-bert/bert-base-uncased, sentence-transformers MiniLM, ...): config, encoder, heads.

Module names follow the checkpoint keys (`bert.encoder.layer.0.attention.self.query.weight`), so
loading is a copy. The attention uses torch's fused `scaled_dot_product_attention` unless the
caller asks for the attention probabilities, which need the explicit softmax.
RoBERTa reuses this file's encoder (loaders/models/roberta.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
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

# Tokenizer outputs a model call may receive through `model(**enc)` and does not need.
TOKENIZER_EXTRAS = {"offset_mapping", "special_tokens_mask", "overflow_to_sample_mapping", "length", "word_ids"}


@dataclass
class BertConfig(PretrainedConfig):
    model_type: str = "bert"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    classifier_dropout: float | None = None
    position_embedding_type: str = "absolute"  # v4 key; relative variants are not implemented
    is_decoder: bool = False

    def validate(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads "
                              f"{self.num_attention_heads}; fix config.json.")
        if self.position_embedding_type != "absolute":
            raise ConfigError(f"position_embedding_type {self.position_embedding_type!r} is not implemented; "
                              "only 'absolute' is.")
        if self.is_decoder:
            raise ConfigError("is_decoder=true (BERT as a causal decoder) is not implemented; use an encoder config.")
        get_activation(self.hidden_act)


# ----------------------------------------------------------------------------- shared encoder pieces
def additive_mask(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, seq) 1/0 → (batch, 1, 1, seq) with 0 where attended and the dtype's minimum where padded."""
    if attention_mask is None or bool(attention_mask.all()):
        return None  # no padding: lets SDPA take its fastest path
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def attend(q, k, v, mask, want_probs: bool, dropout: float):
    """Scaled dot-product attention on (batch, heads, seq, head_size); probabilities only if asked."""
    if not want_probs:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout), None
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (B, nh, T, T)
    if mask is not None:
        scores = scores + mask
    probs = scores.softmax(dim=-1)
    return F.dropout(probs, dropout) @ v, probs


def as_batch(input_ids) -> torch.Tensor:
    """input_ids as a (batch, seq) long tensor; lists and 1-D tensors are accepted."""
    if input_ids is None:
        raise InputError("input_ids is required; pass the tokenizer's output, e.g. model(**tokenizer(text, "
                         "return_tensors='pt')).")
    ids = torch.as_tensor(input_ids)
    ids = ids[None] if ids.dim() == 1 else ids
    if ids.dim() != 2:
        raise InputError(f"input_ids should be (batch, seq); got shape {tuple(ids.shape)}.")
    return ids.long()


def refuse_unknown(kwargs: dict) -> None:
    unknown = sorted(set(kwargs) - TOKENIZER_EXTRAS)
    if unknown:
        raise InputError(f"unexpected model inputs {unknown}; pass input_ids, attention_mask, token_type_ids.")


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = config.attention_probs_dropout_prob

    def forward(self, x, mask, want_probs):
        B, T, C = x.shape
        q, k, v = (lin(x).view(B, T, self.num_heads, C // self.num_heads).transpose(1, 2)  # (B, nh, T, hs)
                   for lin in (self.query, self.key, self.value))
        y, probs = attend(q, k, v, mask, want_probs, self.dropout if self.training else 0.0)
        return y.transpose(1, 2).reshape(B, T, C), probs


class BertSelfOutput(nn.Module):
    """dense → dropout → LayerNorm(x + residual); also the FFN output block (BertOutput)."""

    def __init__(self, config: BertConfig, in_size: int):
        super().__init__()
        self.dense = nn.Linear(in_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config, config.hidden_size)

    def forward(self, x, mask, want_probs):
        y, probs = self.self(x, mask, want_probs)
        return self.output(y, x), probs


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = get_activation(config.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertSelfOutput(config, config.intermediate_size)

    def forward(self, x, mask, want_probs):
        x, probs = self.attention(x, mask, want_probs)
        return self.output(self.intermediate(x), x), probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x, mask, output_attentions: bool, output_hidden_states: bool):
        """→ (last hidden state, hidden states incl. embeddings or None, attention probs or None)."""
        hidden, attentions = [x], []
        for layer in self.layer:
            x, probs = layer(x, mask, output_attentions)
            hidden.append(x)
            attentions.append(probs)
        return x, (tuple(hidden) if output_hidden_states else None), \
            (tuple(attentions) if output_attentions else None)


class BertPooler(nn.Module):
    """tanh(dense(first token)): the [CLS] summary the classification head reads."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        T = input_ids.shape[1]
        if T > self.position_embeddings.num_embeddings:
            raise InputError(f"{T} tokens exceed the model's {self.position_embeddings.num_embeddings} positions; "
                             "truncate the input (truncation=True).")
        if position_ids is None:
            position_ids = torch.arange(T, device=input_ids.device)[None]  # (1, T)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(torch.as_tensor(token_type_ids)) \
            + self.position_embeddings(torch.as_tensor(position_ids))
        return self.dropout(self.LayerNorm(x))


# ----------------------------------------------------------------------------- models
class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    # Old checkpoints saved these buffers; they are recomputed (transformers drops them too).
    ignored_keys = {r"(^|\.)position_ids$": "a position-ids buffer from older checkpoints; positions are recomputed",
                    r"(^|\.)token_type_ids$": "a token-type-ids buffer from older checkpoints; not a weight"}
    unexpected_reasons = {r"^cls\.seq_relationship\.": "the next-sentence-prediction head of pre-training "
                                                        "(BertForPreTraining); no Auto class uses it",
                          r"^(bert\.)?pooler\.": "the pooler of the bare model; this class does not use it",
                          r"^cls\.predictions\.": "the masked-LM head; this class does not have it"}

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, BertLMPredictionHead):
            module.bias.zero_()


class BertModel(BertPreTrainedModel):
    """The bare encoder: `last_hidden_state` (batch, seq, hidden) and, with a pooler, `pooler_output`."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> BaseModelOutput:
        refuse_unknown(kwargs)
        ids = as_batch(input_ids)
        x = self.embeddings(ids, token_type_ids, position_ids)
        mask = additive_mask(None if attention_mask is None else torch.as_tensor(attention_mask), x.dtype)
        x, hidden, attentions = self.encoder(x, mask, output_attentions, output_hidden_states)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=x, pooler_output=pooled, hidden_states=hidden, attentions=attentions)


class BertLMPredictionHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)  # weight and bias tied, see below
        self.bias = nn.Parameter(torch.empty(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)


class BertForMaskedLM(BertPreTrainedModel):
    """Masked-LM head: vocabulary logits per token; the decoder shares the word-embedding matrix."""

    tied_weights = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                    "cls.predictions.decoder.bias": "cls.predictions.bias"}

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> MaskedLMOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, **kwargs)
        return MaskedLMOutput(logits=self.cls.predictions(out.last_hidden_state), hidden_states=out.hidden_states,
                              attentions=out.attentions)


def classifier_dropout(config: BertConfig) -> float:
    return config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob


class BertForSequenceClassification(BertPreTrainedModel):
    """One label distribution per text, from the pooled [CLS] vector: logits (batch, num_labels)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> SequenceClassifierOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, **kwargs)
        logits = self.classifier(self.dropout(out.pooler_output))
        return SequenceClassifierOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class BertForTokenClassification(BertPreTrainedModel):
    """One label distribution per token: logits (batch, seq, num_labels)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> TokenClassifierOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, **kwargs)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        return TokenClassifierOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA: start and end logits (batch, seq) over the context tokens."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> QuestionAnsweringModelOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                        output_hidden_states, **kwargs)
        start, end = self.qa_outputs(out.last_hidden_state).split(1, dim=-1)  # (B, T, 1) each
        return QuestionAnsweringModelOutput(start_logits=start.squeeze(-1).contiguous(),
                                            end_logits=end.squeeze(-1).contiguous(),
                                            hidden_states=out.hidden_states, attentions=out.attentions)
