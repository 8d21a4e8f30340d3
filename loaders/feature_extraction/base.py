"""What every feature extractor and image processor shares: a config dataclass built from
preprocessor_config.json (keys we don't model are kept and shown), the trace, `describe()`.

A family's config is a dataclass whose fields are the JSON keys, with transformers' class defaults.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from ..errors import FeatureExtractionError
from ..trace import Trace

PREPROCESSOR_FILE = "preprocessor_config.json"

# Keys that say which class to build or which library wrote the file: read by auto.py, not configs.
BOOKKEEPING_KEYS = {"feature_extractor_type", "image_processor_type", "processor_class", "transformers_version",
                    "_processor_class", "auto_map"}


def build_config(cls: type, raw: dict[str, Any], trace: Trace, overrides: dict[str, Any] | None = None,
                 derived: dict[str, str] | None = None) -> Any:
    """Instantiate dataclass `cls` from the JSON dict; record keys given, defaults used and keys ignored.

    `overrides` (from the caller's from_pretrained(..., key=value)) win over the file.
    `derived` names keys the file may carry that the class recomputes (key → why), e.g. Whisper's
    `mel_filters`; they are listed in the trace, never used.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    data = {k: v for k, v in raw.items() if k not in BOOKKEEPING_KEYS}
    for key, value in (overrides or {}).items():
        if key not in names:
            raise FeatureExtractionError(f"{key}={value!r} is not a setting of {cls.__name__}; "
                                         f"known settings: {', '.join(names)}.")
        trace.add("call", "overrides the file", key, value)
        data[key] = value
    for key, why in (derived or {}).items():
        if key in data:
            data.pop(key)
            trace.add(PREPROCESSOR_FILE, f"ignored: {why}", key, "…")
    known = {k: v for k, v in data.items() if k in names}
    unused = sorted(k for k in data if k not in names)
    if unused:
        trace.add(PREPROCESSOR_FILE, f"kept, not used by {cls.__name__.removesuffix('Config')}", "unused keys", unused)
    defaults = [n for n in names if n not in known]
    if defaults:
        trace.add("defaults", "class defaults used for keys the file does not set", "keys", defaults)
    try:
        return cls(**known)
    except TypeError as e:  # a key whose value has an impossible shape for the dataclass
        raise FeatureExtractionError(f"{PREPROCESSOR_FILE} does not fit {cls.__name__}: {e}") from e


class Preprocessor:
    """Base of audio extractors and image processors: holds `config`, `trace` and exposes settings as attributes."""

    config_class: ClassVar[type]
    model_input_names: ClassVar[list[str]] = []
    derived_keys: ClassVar[dict[str, str]] = {}
    type_key: ClassVar[str] = "feature_extractor_type"  # the key naming the class in the JSON

    def __init__(self, config: Any, trace: Trace | None = None):
        self.config = config
        self.trace = trace if trace is not None else Trace(type(self).__name__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], trace: Trace | None = None, **overrides) -> Preprocessor:
        """Build from preprocessor_config.json's dict (overrides win), recording every decision."""
        trace = trace if trace is not None else Trace(cls.__name__)
        config = build_config(cls.config_class, raw, trace, overrides, cls.derived_keys)
        return cls(config, trace)

    def __getattr__(self, name: str) -> Any:
        # Settings read like transformers' attributes: `fe.sampling_rate`, `ip.size`.
        if name.startswith("_") or name in ("config", "trace"):
            raise AttributeError(name)
        try:
            return getattr(self.config, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """The settings as preprocessor_config.json would hold them."""
        out = dataclasses.asdict(self.config)
        out[self.type_key] = type(self).__name__
        return out

    def describe(self) -> dict[str, Any]:
        """Facts for the UI: the class and every setting (JSON-friendly values)."""
        return {"class": type(self).__name__, **dataclasses.asdict(self.config)}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(self.config).items())
        return f"{type(self).__name__}({settings})"


def stats(array) -> dict[str, Any]:
    """mean / std / min / max / shape of an array, as plain floats (for the UI)."""
    import numpy as np

    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "shape": list(a.shape)}
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "shape": list(a.shape)}
