"""Dict-like results of tokenizers, feature extractors and processors (transformers' BatchFeature).

Values are lists, numpy arrays or torch tensors according to `return_tensors` (None, "np", "pt");
keys are also attributes (`enc.input_ids`). torch is imported only when "pt" is asked for.
"""

from __future__ import annotations

from typing import Any

from .errors import LoaderError


class BatchFeature(dict):
    """A dict of model inputs with attribute access and tensor conversion."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def convert_to_tensors(self, return_tensors: str | None) -> BatchFeature:
        """Convert every value in place to `return_tensors` ("pt", "np" or None = leave as is)."""
        if return_tensors is None:
            return self
        for key, value in self.items():
            self[key] = to_tensor(value, return_tensors, key)
        return self

    def to(self, device) -> BatchFeature:
        """Move torch tensors to `device` (a no-op for other values)."""
        for key, value in self.items():
            if hasattr(value, "to") and hasattr(value, "device"):
                self[key] = value.to(device)
        return self


def to_tensor(value: Any, return_tensors: str, key: str = "value"):
    """Convert one (possibly nested) value to a numpy array or a torch tensor."""
    import numpy as np

    if return_tensors not in ("np", "pt"):
        raise LoaderError(f"return_tensors={return_tensors!r} is not supported; use 'pt', 'np' or None.")
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except ValueError as e:  # ragged lists
        raise LoaderError(f"'{key}' has sequences of different lengths; pass padding=True to make a tensor.") from e
    if array.dtype == object:
        raise LoaderError(f"'{key}' has sequences of different lengths; pass padding=True to make a tensor.")
    if return_tensors == "np":
        return array
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))
