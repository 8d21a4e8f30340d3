"""BatchEncoding: a tokenizer's result, plus the `tokenizers` Encoding objects behind it.

It prints like a plain dict (the tutorial prints one) and keeps the Encodings so the UI can map
tokens back to characters (`tokens(i)`, `word_ids(i)`, offsets). `encodings_to_dict` is the hot
path of a batch call: one list comprehension per key, no per-token Python loop.
"""

from __future__ import annotations

from typing import Any

from ..batch import BatchFeature, to_tensor
from ..errors import InputError
from ..trace import Trace


class BatchEncoding(BatchFeature):
    """A dict of model inputs (`input_ids`, `attention_mask`, ...) with the Encodings that made them."""

    def __init__(self, data: dict[str, Any] | None = None, encodings: list | None = None,
                 trace: Trace | None = None):
        super().__init__(data or {})
        # Stored in the instance __dict__, so they never show up as dict items or in print().
        self.__dict__["_encodings"] = encodings
        self.__dict__["trace"] = trace if trace is not None else Trace("tokenizer call")

    def __getitem__(self, key):
        if isinstance(key, int):  # transformers: enc[i] is the i-th Encoding
            return self._require_encodings()[key]
        return super().__getitem__(key)

    def convert_to_tensors(self, return_tensors: str | None) -> BatchEncoding:
        """As BatchFeature's, except that an empty result is int64 (transformers' choice), not float."""
        if return_tensors is None:
            return self
        import numpy as np

        for key, value in self.items():
            try:
                array = np.asarray(value)
            except ValueError:  # ragged rows: to_tensor raises our error with advice
                array = value
            if isinstance(array, np.ndarray) and array.size == 0:
                array = array.astype(np.int64)
            self[key] = to_tensor(array, return_tensors, key)
        return self

    @property
    def encodings(self) -> list | None:
        """The `tokenizers.Encoding` objects, one per returned row (overflow rows included)."""
        return self.__dict__["_encodings"]

    @property
    def warnings(self) -> list[str]:
        """What transformers would have logged for this call, as text."""
        return [str(step) for step in self.trace.warnings]

    def _require_encodings(self) -> list:
        if not self.encodings:
            raise InputError("This result holds no Encoding objects (was it built by hand?).")
        return self.encodings

    def tokens(self, batch_index: int = 0) -> list[str]:
        """Token strings of row `batch_index`."""
        return self._require_encodings()[batch_index].tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token of row `batch_index`, the index of the word it belongs to (None for special tokens)."""
        return self._require_encodings()[batch_index].word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """For each token, 0 (first text), 1 (second text of a pair) or None (special or padding)."""
        return self._require_encodings()[batch_index].sequence_ids

    def offsets(self, batch_index: int = 0) -> list[tuple[int, int]]:
        """Character span of each token in its own text ((0, 0) for special and padding tokens)."""
        return self._require_encodings()[batch_index].offsets


def encodings_to_dict(encodings: list, keys: tuple[str, ...], overflow: bool) -> tuple[dict[str, list], list]:
    """Turn Encodings into {key: [row, ...]}; with `overflow`, each one's overflowing rows follow it."""
    if overflow:
        rows, mapping = [], []
        for i, enc in enumerate(encodings):
            rows.append(enc)
            rows.extend(enc.overflowing)
            mapping.extend([i] * (1 + len(enc.overflowing)))
    else:
        rows = encodings
    data = {key: _column(rows, key) for key in keys}
    if overflow:
        data["overflow_to_sample_mapping"] = mapping
    return data, rows


def _column(rows: list, key: str) -> list:
    if key == "input_ids":
        return [e.ids for e in rows]
    if key == "token_type_ids":
        return [e.type_ids for e in rows]
    if key == "attention_mask":
        return [e.attention_mask for e in rows]
    if key == "special_tokens_mask":
        return [e.special_tokens_mask for e in rows]
    if key == "offset_mapping":
        return [e.offsets for e in rows]
    if key == "length":
        return [len(e) for e in rows]
    raise AssertionError(f"unknown encoding key {key}")
