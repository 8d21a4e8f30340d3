"""AutoModel and AutoModelFor*: config.json → model_type → the registry's class for this Auto kind.

As in transformers, the Auto class decides the head; `config.architectures` (what the checkpoint
was trained as) is shown in the trace and picks only the UI's default task (`default_task`).
"""

from __future__ import annotations

from typing import ClassVar

from ..configuration import PretrainedConfig, read_model_type, refuse_trust_remote_code
from ..errors import NotImplementedFamily, UnsupportedModelType
from ..hub import Checkpoint
from ..registry import MODEL_KINDS, Family, get_family, import_object
from ..trace import Trace

# Class-name endings in `architectures` → the Auto kind that builds that head.
_SUFFIX_KINDS = [
    ("ForMaskedLM", "AutoModelForMaskedLM"),
    ("ForPreTraining", "AutoModelForMaskedLM"),  # BERT pre-training = masked LM + next sentence
    ("ForCausalLM", "AutoModelForCausalLM"),
    ("LMHeadModel", "AutoModelForCausalLM"),
    ("ForSequenceClassification", "AutoModelForSequenceClassification"),
    ("ForTokenClassification", "AutoModelForTokenClassification"),
    ("ForQuestionAnswering", "AutoModelForQuestionAnswering"),
    ("Model", "AutoModel"),
]


class _AutoModel:
    kind: ClassVar[str] = "AutoModel"

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.kind} is not instantiated; use {self.kind}.from_pretrained(checkpoint).")

    @classmethod
    def from_pretrained(cls, checkpoint, *, revision: str | None = None, token: str | None = None,
                        trust_remote_code: bool = False, config: PretrainedConfig | None = None, **kwargs):
        """Load `checkpoint` with the head this Auto class stands for; kwargs go to the model's from_pretrained
        (dtype, device, output_loading_info, ignore_mismatched_sizes, config overrides such as num_labels)."""
        refuse_trust_remote_code(trust_remote_code)
        trace = Trace(cls.kind)
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        if config is not None:
            model_type = config.model_type
            trace.add("call", "config given by the caller", "model_type", model_type)
        else:
            model_type = read_model_type(ckpt, trace)
        model_cls = model_class(cls.kind, model_type, trace)
        return model_cls.from_pretrained(ckpt, config=config, trace=trace, **kwargs)

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs):
        """A randomly initialised model of this head for `config` (e.g. from AutoConfig)."""
        trace = Trace(f"{cls.kind}.from_config")
        model_cls = model_class(cls.kind, config.model_type, trace)
        return model_cls.from_config(config, trace=trace, **kwargs)


def model_class(kind: str, model_type: str | None, trace: Trace | None = None) -> type:
    """Our class for (Auto kind, model_type); a family without that head raises, listing the ones it has."""
    family = get_family(model_type)
    path = family.models.get(kind)
    if path is None:
        if not family.models:
            raise NotImplementedFamily(f"model_type {family.model_type!r} is known for preprocessing, but no model "
                                       "class is implemented for it yet; try the weights inspector instead.")
        raise UnsupportedModelType(f"{family.model_type} has no {kind} head; it has: "
                                   f"{', '.join(supported_tasks(family.model_type))}.")
    model_cls = import_object(path)
    if trace is not None:
        trace.add("registry", f"{kind} → {model_cls.__name__} (transformers: {family.names.get(kind, '?')})",
                  "model_type", family.model_type)
    return model_cls


def supported_tasks(model_type: str) -> list[str]:
    """The Auto kinds this model_type has a class for, in the Model tab's order."""
    family: Family = get_family(model_type)
    return [k for k in MODEL_KINDS if k in family.models]


def default_task(config: PretrainedConfig | dict) -> str:
    """The Auto kind matching what the checkpoint was trained as (`architectures`), else AutoModel."""
    get = config.get if isinstance(config, dict) else (lambda k: getattr(config, k, None))
    tasks = supported_tasks(get("model_type"))
    names = {v: k for k, v in get_family(get("model_type")).names.items()}
    for arch in get("architectures") or []:
        kind = names.get(arch) or next((k for suffix, k in _SUFFIX_KINDS if arch.endswith(suffix)), None)
        if kind in tasks:
            return kind
    return "AutoModel"


class AutoModel(_AutoModel):
    """The bare model (hidden states, pooled output where the family has a pooler)."""

    kind = "AutoModel"


class AutoModelForMaskedLM(_AutoModel):
    kind = "AutoModelForMaskedLM"


class AutoModelForCausalLM(_AutoModel):
    kind = "AutoModelForCausalLM"


class AutoModelForSequenceClassification(_AutoModel):
    kind = "AutoModelForSequenceClassification"


class AutoModelForTokenClassification(_AutoModel):
    kind = "AutoModelForTokenClassification"


class AutoModelForQuestionAnswering(_AutoModel):
    kind = "AutoModelForQuestionAnswering"


AUTO_CLASSES: dict[str, type[_AutoModel]] = {c.kind: c for c in (
    AutoModel, AutoModelForMaskedLM, AutoModelForCausalLM, AutoModelForSequenceClassification,
    AutoModelForTokenClassification, AutoModelForQuestionAnswering)}
assert set(AUTO_CLASSES) == set(MODEL_KINDS)
