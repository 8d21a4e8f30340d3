"""RoBERTa and XLM-RoBERTa: BERT's encoder with other embeddings and heads.

What differs from BERT (loaders/models/bert.py, whose encoder and pooler are reused as is):
- position ids count from `pad_token_id + 1` and padding tokens keep position `pad_token_id`
  (fairseq's `make_positions`), so `max_position_embeddings` is 514 for 512 tokens;
- the masked-LM head is `lm_head` (dense → gelu → layer_norm → decoder tied to the embeddings);
- sequence classification reads the `<s>` token through its own dense+tanh head, not the pooler.
XLM-RoBERTa checkpoints use the same keys (`roberta.` prefix) with model_type "xlm-roberta".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..modeling.outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .bert import (
    BertConfig,
    BertEncoder,
    BertPooler,
    BertPreTrainedModel,
    additive_mask,
    as_batch,
    classifier_dropout,
    refuse_unknown,
)


@dataclass
class RobertaConfig(BertConfig):
    model_type: str = "roberta"
    vocab_size: int = 50265
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2


def position_ids_from(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """Real tokens get padding_idx+1, +2, …; padding tokens get padding_idx. (batch, seq)."""
    real = input_ids.ne(padding_idx).int()
    return torch.cumsum(real, dim=1).type_as(real) * real + padding_idx


class RobertaEmbeddings(nn.Module):
    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids=None, position_ids=None):
        if position_ids is None:
            position_ids = position_ids_from(input_ids, self.padding_idx)
        position_ids = torch.as_tensor(position_ids)
        if int(position_ids.max()) >= self.position_embeddings.num_embeddings:
            raise InputError(f"{input_ids.shape[1]} tokens exceed the model's "
                             f"{self.position_embeddings.num_embeddings - self.padding_idx - 1} positions; "
                             "truncate the input (truncation=True).")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(torch.as_tensor(token_type_ids)) \
            + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class RobertaPreTrainedModel(BertPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    unexpected_reasons = {r"^lm_head\.": "the masked-LM head; this class does not have it",
                          r"^(roberta\.)?pooler\.": "the pooler of the bare model; this class does not use it"}

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, RobertaLMHead):
            module.bias.zero_()


class RobertaModel(RobertaPreTrainedModel):
    """The bare encoder: `last_hidden_state` and, with a pooler, `pooler_output`."""

    def __init__(self, config: RobertaConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> BaseModelOutput:
        refuse_unknown(kwargs)
        x = self.embeddings(as_batch(input_ids), token_type_ids, position_ids)
        mask = additive_mask(None if attention_mask is None else torch.as_tensor(attention_mask), x.dtype)
        x, hidden, attentions = self.encoder(x, mask, output_attentions, output_hidden_states)
        pooled = self.pooler(x) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=x, pooler_output=pooled, hidden_states=hidden, attentions=attentions)


class RobertaLMHead(nn.Module):
    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)  # weight and bias tied, see below
        self.bias = nn.Parameter(torch.empty(config.vocab_size))

    def forward(self, x):
        return self.decoder(self.layer_norm(F.gelu(self.dense(x))))


class RobertaForMaskedLM(RobertaPreTrainedModel):
    """Masked-LM head: vocabulary logits per token; the decoder shares the word-embedding matrix."""

    tied_weights = {"lm_head.decoder.weight": "roberta.embeddings.word_embeddings.weight",
                    "lm_head.decoder.bias": "lm_head.bias"}

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False, **kwargs) -> MaskedLMOutput:
        out = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                           output_hidden_states, **kwargs)
        return MaskedLMOutput(logits=self.lm_head(out.last_hidden_state), hidden_states=out.hidden_states,
                              attentions=out.attentions)


class RobertaClassificationHead(nn.Module):
    """<s> token → dropout → dense → tanh → dropout → out_proj."""

    def __init__(self, config: RobertaConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, x):
        x = torch.tanh(self.dense(self.dropout(x[:, 0])))
        return self.out_proj(self.dropout(x))


class RobertaForSequenceClassification(RobertaPreTrainedModel):
    """One label distribution per text: logits (batch, num_labels)."""

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> SequenceClassifierOutput:
        out = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                           output_hidden_states, **kwargs)
        return SequenceClassifierOutput(logits=self.classifier(out.last_hidden_state),
                                        hidden_states=out.hidden_states, attentions=out.attentions)


class RobertaForTokenClassification(RobertaPreTrainedModel):
    """One label distribution per token: logits (batch, seq, num_labels)."""

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> TokenClassifierOutput:
        out = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                           output_hidden_states, **kwargs)
        return TokenClassifierOutput(logits=self.classifier(self.dropout(out.last_hidden_state)),
                                     hidden_states=out.hidden_states, attentions=out.attentions)


class RobertaForQuestionAnswering(RobertaPreTrainedModel):
    """Extractive QA: start and end logits (batch, seq)."""

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.roberta = RobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                output_attentions: bool = False, output_hidden_states: bool = False,
                **kwargs) -> QuestionAnsweringModelOutput:
        out = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, output_attentions,
                           output_hidden_states, **kwargs)
        start, end = self.qa_outputs(out.last_hidden_state).split(1, dim=-1)  # (B, T, 1) each
        return QuestionAnsweringModelOutput(start_logits=start.squeeze(-1).contiguous(),
                                            end_logits=end.squeeze(-1).contiguous(),
                                            hidden_states=out.hidden_states, attentions=out.attentions)
