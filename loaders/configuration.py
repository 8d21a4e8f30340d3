"""AutoConfig: config.json → model_type → the family's config dataclass.

A family config subclasses `PretrainedConfig` with fields named exactly as the config.json keys
and transformers' defaults. Keys a dataclass does not declare are kept in `extra` and listed in
the trace, never silently dropped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import ConfigError, RemoteCodeRefused
from .hub import Checkpoint
from .registry import get_family, import_object
from .trace import Trace

# Keys config.json files carry for bookkeeping only; kept in `extra` without a warning.
BOOKKEEPING_KEYS = {"transformers_version", "_name_or_path", "gradient_checkpointing", "_commit_hash",
                    "use_cache", "output_past", "finetuning_task", "problem_type", "return_dict",
                    "output_hidden_states", "output_attentions", "chunk_size_feed_forward"}


@dataclass
class PretrainedConfig:
    """Keys every config.json may have. Family configs add their own fields after these."""

    model_type: str = ""
    architectures: list[str] | None = None
    id2label: dict[int, str] | None = None
    label2id: dict[str, int] | None = None
    dtype: str | None = None  # legacy key `torch_dtype` is read into this
    tie_word_embeddings: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    initializer_range: float = 0.02
    extra: dict[str, Any] = field(default_factory=dict)  # keys not modelled, shown in the trace

    trace: ClassVar[Trace | None] = None  # set per instance by from_dict (not a dataclass field)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], trace: Trace | None = None, **overrides) -> PretrainedConfig:
        """Build from config.json's dict; `overrides` (e.g. num_labels=5) win over the file."""
        trace = trace if trace is not None else Trace(f"{cls.__name__}")
        _refuse_remote_code(raw, "config.json")
        data = dict(raw)
        data.update(overrides)
        if "torch_dtype" in data:
            legacy = data.pop("torch_dtype")
            data.setdefault("dtype", legacy)
        num_labels = data.pop("num_labels", None)
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names}
        try:
            config = cls(**known, extra=extra)
        except TypeError as e:
            raise ConfigError(f"config.json does not fit {cls.__name__}: {e}") from e
        config._set_labels(num_labels)
        config.trace = trace
        config.validate()
        unknown = sorted(k for k in extra if k not in BOOKKEEPING_KEYS)
        if unknown:
            trace.add("config.json", f"kept, not used by {cls.__name__}", "unmodelled keys", unknown)
        return config

    def _set_labels(self, num_labels: int | None) -> None:
        if self.id2label:
            self.id2label = {int(k): str(v) for k, v in self.id2label.items()}  # JSON keys are strings
        if num_labels is not None and (not self.id2label or len(self.id2label) != int(num_labels)):
            self.id2label = {i: f"LABEL_{i}" for i in range(int(num_labels))}
        if not self.id2label:
            self.id2label = {0: "LABEL_0", 1: "LABEL_1"}  # transformers' default: two labels
        self.label2id = {v: k for k, v in self.id2label.items()}

    @property
    def num_labels(self) -> int:
        return len(self.id2label or {})

    def validate(self) -> None:
        """Families override to check values (e.g. hidden size divisible by heads)."""

    def get(self, key: str, default: Any = None) -> Any:
        """A field or an unmodelled key, like dict.get."""
        if key in self.extra:
            return self.extra[key]
        return getattr(self, key, default)

    def to_dict(self) -> dict[str, Any]:
        """The config as config.json would hold it (unmodelled keys included)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out.update(self.extra)
        return out


def _refuse_remote_code(raw: dict, source: str) -> None:
    if raw.get("auto_map") or raw.get("trust_remote_code"):
        raise RemoteCodeRefused(f"{source} asks to run the checkpoint's own Python code (auto_map); "
                                "Checkpoint Explorer never executes code from a checkpoint.")


def refuse_trust_remote_code(trust_remote_code: bool) -> None:
    """Raise RemoteCodeRefused when a caller passes trust_remote_code=True."""
    if trust_remote_code:
        raise RemoteCodeRefused("trust_remote_code=True is refused: Checkpoint Explorer never runs code "
                                "from a checkpoint.")


def refuse_remote_code(raw: dict | None, source: str) -> None:
    """Raise RemoteCodeRefused if a JSON file (config, tokenizer_config, ...) carries `auto_map`."""
    if raw:
        _refuse_remote_code(raw, source)


def read_model_type(ckpt: Checkpoint, trace: Trace, required: bool = True) -> str | None:
    """config.json's model_type (refusing remote code), recorded in the trace."""
    raw = ckpt.read_json("config.json", required=required, purpose="choosing the architecture")
    if raw is None:
        return None
    refuse_remote_code(raw, "config.json")
    model_type = raw.get("model_type")
    trace.add("config.json", "selects the registry entry" if model_type else "no model_type", "model_type", model_type)
    return model_type


class AutoConfig:
    """`AutoConfig.from_pretrained(checkpoint)` → the family's config dataclass."""

    @staticmethod
    def from_pretrained(checkpoint, *, revision: str | None = None, token: str | None = None,
                        trust_remote_code: bool = False, **overrides) -> PretrainedConfig:
        """Read config.json, pick the dataclass by model_type; `overrides` replace keys (num_labels=…)."""
        refuse_trust_remote_code(trust_remote_code)
        trace = Trace("AutoConfig")
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        raw = ckpt.read_json("config.json", required=True, purpose="AutoConfig")
        refuse_remote_code(raw, "config.json")
        family = get_family(raw.get("model_type"))
        trace.add("config.json", f"registry entry '{family.model_type}'", "model_type", raw.get("model_type"))
        if family.config is None:
            cls = PretrainedConfig
            trace.add("registry", "no dedicated config class yet → generic PretrainedConfig (all keys kept)")
        else:
            cls = import_object(family.config)
            trace.add("registry", f"config class {cls.__name__}")
        return cls.from_dict(raw, trace, **overrides)
