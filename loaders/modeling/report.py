"""The loading report: what happened to every weight, as data the UI shows, in plain words.

`LoadingReport.info()` is transformers' `output_loading_info` dict; `to_dict()` is JSON-ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..trace import Trace


@dataclass
class LoadingReport:
    """What happened to every weight, as data. Key names are the model's (after renames/prefix)."""

    weight_files: list[str] = field(default_factory=list)
    format: str = ""
    dtype: str = ""
    loaded: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)  # not in the checkpoint → newly initialised
    unexpected_keys: dict[str, str] = field(default_factory=dict)  # in the checkpoint, not in the model → why
    mismatched_keys: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # (key, checkpoint, model)
    ignored_keys: dict[str, str] = field(default_factory=dict)  # dropped on purpose (family's ignored_keys)
    renamed: dict[str, str] = field(default_factory=dict)  # checkpoint key → model key
    tied: dict[str, str] = field(default_factory=dict)  # target → source
    newly_initialised: list[str] = field(default_factory=list)  # missing + mismatched-and-ignored
    warnings: list[str] = field(default_factory=list)  # plain words, for people

    @property
    def untrained(self) -> bool:
        """True when some parameters are random (their outputs mean nothing until fine-tuned)."""
        return bool(self.newly_initialised)

    def info(self) -> dict[str, Any]:
        """transformers' `output_loading_info` dict: sets of keys, mismatches as (key, ckpt shape, model shape)."""
        return {"missing_keys": set(self.missing_keys), "unexpected_keys": set(self.unexpected_keys),
                "mismatched_keys": set(self.mismatched_keys), "error_msgs": []}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, dicts, strings) for the UI and the API."""
        return {"weight_files": self.weight_files, "format": self.format, "dtype": self.dtype,
                "loaded": len(self.loaded), "missing_keys": self.missing_keys,
                "unexpected_keys": self.unexpected_keys,
                "mismatched_keys": [[k, list(a), list(b)] for k, a, b in self.mismatched_keys],
                "ignored_keys": self.ignored_keys, "renamed": self.renamed, "tied": self.tied,
                "newly_initialised": self.newly_initialised, "untrained": self.untrained, "warnings": self.warnings}


def explain(name: str, report: LoadingReport, trace: Trace) -> None:
    """Write the plain-words warnings into the report and the trace (`name`: the model class)."""
    trace.add("weights", f"{len(report.loaded)} tensors loaded into {name}", "dtype", report.dtype)
    if report.renamed:
        trace.add("weights", f"{len(report.renamed)} checkpoint name(s) adapted (legacy names, base-model prefix)",
                  "example", next(iter(report.renamed.items())))
    if report.tied:
        trace.add("config.json", "tied weights share one tensor", "tie_word_embeddings", report.tied)
    if report.ignored_keys:
        for reason in sorted(set(report.ignored_keys.values())):
            keys = sorted(k for k, why in report.ignored_keys.items() if why == reason)
            trace.add("weights", f"dropped on purpose: {reason}", "keys", keys)
    if report.unexpected_keys:
        msg = (f"{len(report.unexpected_keys)} weight(s) in the checkpoint are not used by {name} and were "
               f"ignored (for example {next(iter(report.unexpected_keys))}: "
               f"{next(iter(report.unexpected_keys.values()))}).")
        report.warnings.append(msg)
        trace.warn("weights", msg, "unexpected_keys", sorted(report.unexpected_keys))
    if report.mismatched_keys:
        msg = (f"{len(report.mismatched_keys)} weight(s) had another shape in the checkpoint and were "
               "re-initialised (ignore_mismatched_sizes=True).")
        report.warnings.append(msg)
        trace.warn("weights", msg, "mismatched_keys", [k for k, _, _ in report.mismatched_keys])
    if report.newly_initialised:
        msg = (f"{len(report.newly_initialised)} weight(s) of {name} are not in the checkpoint and were newly "
               f"initialised with random values ({', '.join(report.newly_initialised[:4])}"
               f"{', …' if len(report.newly_initialised) > 4 else ''}): this part is untrained, so its outputs are "
               "meaningless until the model is fine-tuned on a task.")
        report.warnings.append(msg)
        trace.warn("weights", msg, "missing_keys", report.newly_initialised)
