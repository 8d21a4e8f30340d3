"""Checkpoint Explorer's AutoClass engine: `from loaders import AutoTokenizer` works like transformers.

Names are imported lazily (PEP 562) so that `import loaders` stays fast and does not import torch;
a model class pulls torch in only when first used. Never imports gradio or transformers.
"""

from __future__ import annotations

import importlib

from .errors import LoaderError
from .hub import DEFAULT_TEXT_CHECKPOINT, Checkpoint
from .trace import Trace

_LAZY = {
    "AutoConfig": "loaders.configuration",
    "PretrainedConfig": "loaders.configuration",
    "BatchFeature": "loaders.batch",
    "AutoTokenizer": "loaders.tokenization",
    "BatchEncoding": "loaders.tokenization",
    "AutoFeatureExtractor": "loaders.feature_extraction",
    "AutoImageProcessor": "loaders.feature_extraction",
    "AutoModel": "loaders.modeling.auto",
    "AutoModelForMaskedLM": "loaders.modeling.auto",
    "AutoModelForCausalLM": "loaders.modeling.auto",
    "AutoModelForSequenceClassification": "loaders.modeling.auto",
    "AutoModelForTokenClassification": "loaders.modeling.auto",
    "AutoModelForQuestionAnswering": "loaders.modeling.auto",
    "inspect_weights": "loaders.inspect",
}

__all__ = ["Checkpoint", "DEFAULT_TEXT_CHECKPOINT", "LoaderError", "Trace", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loaders' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
