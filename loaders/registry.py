"""The one registry: `model_type` (from config.json) → what each Auto class builds for it.

Entries name classes by transformers' class name (what a checkpoint's JSON files mention) and by
our implementation as "module:Class" strings, imported only when used. Filled explicitly below;
registering a model_type twice raises. Nothing is ever guessed from a repo name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .errors import NotImplementedFamily, UnsupportedModelType

# Auto classes for models, in the order the Model tab lists tasks.
MODEL_KINDS = (
    "AutoModel",
    "AutoModelForMaskedLM",
    "AutoModelForCausalLM",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering",
)


@dataclass(frozen=True)
class Family:
    model_type: str
    config: str | None = None  # "loaders.models.bert:BertConfig"; None → generic PretrainedConfig
    tokenizer: str | None = None  # transformers' default tokenizer class name for this model_type
    feature_extractor: str | None = None  # transformers' class name (AutoFeatureExtractor)
    image_processor: str | None = None  # transformers' class name (AutoImageProcessor)
    processor: str | None = None  # transformers' class name (AutoProcessor)
    models: dict[str, str] = field(default_factory=dict)  # Auto kind → "module:Class"
    names: dict[str, str] = field(default_factory=dict)  # Auto kind → transformers' class name


REGISTRY: dict[str, Family] = {}
# model_type spellings that mean another entry (transformers accepts both).
ALIASES: dict[str, str] = {}


def register(family: Family) -> Family:
    """Add a family; a second registration of the same model_type is a programming error."""
    if family.model_type in REGISTRY or family.model_type in ALIASES:
        raise ValueError(f"model_type {family.model_type!r} registered twice")
    REGISTRY[family.model_type] = family
    return family


def supported() -> list[str]:
    return sorted(REGISTRY)


def get_family(model_type: str | None, source: str = "config.json") -> Family:
    """The registry entry for `model_type`; missing or unknown raises with the list of supported ones."""
    if not model_type:
        raise UnsupportedModelType(f"{source} has no 'model_type' key, so the architecture cannot be chosen; "
                                   f"supported: {', '.join(supported())}.")
    key = ALIASES.get(model_type, model_type)
    if key not in REGISTRY:
        raise UnsupportedModelType(f"model_type {model_type!r} is not supported; supported: {', '.join(supported())}.")
    return REGISTRY[key]


def import_object(path: str):
    """Import "package.module:Name"; a module not written yet raises NotImplementedFamily."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("loaders"):
            raise NotImplementedFamily(f"{path} is not implemented yet.") from e
        raise
    return getattr(module, attr)


def _text_models(module: str, prefix: str, heads: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Our classes and transformers' names for a text family (`heads`: Auto kind → class suffix)."""
    ours = {kind: f"loaders.models.{module}:{prefix}{suffix}" for kind, suffix in heads.items()}
    names = {kind: f"{prefix}{suffix}" for kind, suffix in heads.items()}
    return ours, names


_ENCODER_HEADS = {
    "AutoModel": "Model",
    "AutoModelForMaskedLM": "ForMaskedLM",
    "AutoModelForSequenceClassification": "ForSequenceClassification",
    "AutoModelForTokenClassification": "ForTokenClassification",
    "AutoModelForQuestionAnswering": "ForQuestionAnswering",
}
_DECODER_HEADS = {"AutoModel": "Model", "AutoModelForCausalLM": "ForCausalLM"}

for _mt, _mod, _prefix, _tok in [
    ("bert", "bert", "Bert", "BertTokenizer"),
    ("distilbert", "distilbert", "DistilBert", "BertTokenizer"),  # v5 maps DistilBERT to BertTokenizer
    ("roberta", "roberta", "Roberta", "RobertaTokenizer"),
]:
    _ours, _names = _text_models(_mod, _prefix, _ENCODER_HEADS)
    register(Family(_mt, config=f"loaders.models.{_mod}:{_prefix}Config", tokenizer=_tok, models=_ours, names=_names))

# XLM-RoBERTa is RoBERTa's architecture with a SentencePiece (Unigram) vocabulary.
_ours, _ = _text_models("roberta", "Roberta", _ENCODER_HEADS)
register(Family("xlm-roberta", config="loaders.models.roberta:RobertaConfig", tokenizer="XLMRobertaTokenizer",
                models=_ours, names=_text_models("roberta", "XLMRoberta", _ENCODER_HEADS)[1]))

_ours, _names = _text_models("gpt2", "GPT2", {"AutoModel": "Model", "AutoModelForCausalLM": "LMHeadModel",
                                              "AutoModelForSequenceClassification": "ForSequenceClassification"})
register(Family("gpt2", config="loaders.models.gpt2:GPT2Config", tokenizer="GPT2Tokenizer", models=_ours, names=_names))

# Llama-style decoders share one implementation; the config records the differences.
for _mt, _prefix, _tok in [("llama", "Llama", "LlamaTokenizer"), ("qwen2", "Qwen2", "Qwen2Tokenizer"),
                           ("mistral", "Mistral", "LlamaTokenizer")]:
    _ours, _names = _text_models("llama", "Llama", _DECODER_HEADS)
    register(Family(_mt, config="loaders.models.llama:LlamaConfig", tokenizer=_tok, models=_ours,
                    names=_text_models("llama", _prefix, _DECODER_HEADS)[1]))

# Audio and vision: preprocessing now; models come with their own issues.
register(Family("wav2vec2", tokenizer="Wav2Vec2CTCTokenizer", feature_extractor="Wav2Vec2FeatureExtractor",
                processor="Wav2Vec2Processor"))
register(Family("whisper", tokenizer="WhisperTokenizer", feature_extractor="WhisperFeatureExtractor",
                processor="WhisperProcessor"))
register(Family("audio-spectrogram-transformer", feature_extractor="ASTFeatureExtractor"))
register(Family("vit", image_processor="ViTImageProcessor"))
register(Family("deit", image_processor="DeiTImageProcessor"))
register(Family("beit", image_processor="BeitImageProcessor"))
register(Family("convnext", image_processor="ConvNextImageProcessor"))
register(Family("clip", tokenizer="CLIPTokenizer", image_processor="CLIPImageProcessor", processor="CLIPProcessor"))
register(Family("layoutlmv2", tokenizer="LayoutLMv2Tokenizer", image_processor="LayoutLMv2ImageProcessor",
                processor="LayoutLMv2Processor"))
