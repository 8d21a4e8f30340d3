"""The loaded tokenizer: transformers' call semantics on top of a `tokenizers.Tokenizer`.

Built by `AutoTokenizer.from_pretrained` (see auto.py); this module only runs it. Each call sets
padding and truncation on the backend, as transformers does, under a lock: one tokenizer may be
shared by several users of the app at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from tokenizers import AddedToken
from tokenizers import Tokenizer as Backend

from ..errors import InputError, TokenizerError
from ..trace import Trace
from . import options
from .encoding import BatchEncoding, encodings_to_dict
from .special import SpecialTokens

# Text cleanup transformers applies on decode when clean_up_tokenization_spaces is on (not for BPE).
_CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


class Tokenizer:
    """A tokenizer that behaves like the transformers class named `class_name`."""

    def __init__(self, backend: Backend, *, class_name: str, special: SpecialTokens, model_input_names: Sequence[str],
                 name_or_path: str = "", model_max_length: int = int(1e30), padding_side: str = "right",
                 truncation_side: str = "right", clean_up_tokenization_spaces: bool = False,
                 files: Sequence[str] = (), trace: Trace | None = None):
        self._backend = backend
        self._special = special
        self._lock = threading.Lock()
        self.class_name = class_name
        self.model_input_names = list(model_input_names)
        self.name_or_path = name_or_path
        self.model_max_length = model_max_length
        self.padding_side = padding_side
        self.truncation_side = truncation_side
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.files = list(files)
        self.trace = trace if trace is not None else Trace("AutoTokenizer")

    # ------------------------------------------------------------------ special tokens
    def __getattr__(self, name: str) -> Any:
        """`cls_token`, `cls_token_id`, `extra_special_tokens`, ... like transformers' attributes."""
        special = self.__dict__.get("_special")
        if special is not None:
            base = name.removesuffix("_id") if name.endswith("_token_id") else name
            if base in special.named:
                value = special.named[base]
                if value is None:
                    return None
                return str(value) if base == name else self.convert_tokens_to_ids(str(value))
            if name == "extra_special_tokens":
                return [str(t) for t in special.extra]
            if name == "extra_special_tokens_ids":
                return self.convert_tokens_to_ids([str(t) for t in special.extra])
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def pad_token_type_id(self) -> int:
        return 0

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """Named special tokens that are set, e.g. {'cls_token': '[CLS]', ...}."""
        return {k: str(v) for k, v in self._special.named.items() if v is not None}

    @property
    def all_special_tokens(self) -> list[str]:
        """Named then extra special tokens, each once."""
        seen: dict[str, None] = {}
        for value in [*self._special.named.values(), *self._special.extra]:
            if value is not None:
                seen.setdefault(str(value))
        return list(seen)

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return self._backend.get_added_tokens_decoder()

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without added tokens."""
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        """Token → id, added tokens included."""
        return self._backend.get_vocab(with_added_tokens=True)

    @property
    def backend_tokenizer(self) -> Backend:
        """The `tokenizers.Tokenizer` doing the work."""
        return self._backend

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | None | list[int | None]:
        """Token(s) → id(s); unknown tokens map to the unk token's id (None without one)."""
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _token_to_id(self, token: str) -> int | None:
        index = self._backend.token_to_id(token)
        if index is None:
            unk = self._special.named.get("unk_token")
            return None if unk is None else self._backend.token_to_id(str(unk))
        return index

    def convert_ids_to_tokens(self, ids: int | Sequence[int], skip_special_tokens: bool = False):
        """Id(s) → token string(s); None for an id outside the vocabulary."""
        if isinstance(ids, int):
            return self._backend.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._backend.id_to_token(int(i)) for i in ids if int(i) not in skip]

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._backend.num_special_tokens_to_add(pair)

    # ------------------------------------------------------------------ encoding
    def __call__(self, text, text_pair=None, *, add_special_tokens: bool = True, padding=False, truncation=None,
                 max_length: int | None = None, stride: int = 0, is_split_into_words: bool = False,
                 pad_to_multiple_of: int | None = None, padding_side: str | None = None, return_tensors=None,
                 return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                 return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
                 return_offsets_mapping: bool = False, return_length: bool = False,
                 verbose: bool = True) -> BatchEncoding:
        """Tokenize a text, a pair, or a batch of either, with transformers' arguments and results."""
        trace = Trace("tokenizer call")
        batch, batched = _as_batch(text, text_pair, is_split_into_words)
        strat = options.resolve(padding, truncation, max_length, pad_to_multiple_of, self.model_max_length,
                                self._has_pad_token(), trace)
        if padding_side not in (None, "left", "right"):
            raise TokenizerError(f"padding_side={padding_side!r} is not valid; use 'left' or 'right'.")
        with self._lock:
            try:
                self._configure(strat, stride, pad_to_multiple_of, padding_side)
                encodings = self._backend.encode_batch(batch, add_special_tokens=add_special_tokens,
                                                       is_pretokenized=is_split_into_words)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # noqa: BLE001 — Rust errors are Exception, Rust panics BaseException
                reason = str(e).split(" (note")[0].rstrip(" ,.")
                raise TokenizerError(f"Tokenizing failed: {reason}; check max_length, stride and truncation.") from e
        keys = self._keys(return_token_type_ids, return_attention_mask, return_special_tokens_mask,
                          return_offsets_mapping, return_length)
        data, rows = encodings_to_dict(encodings, keys, return_overflowing_tokens)
        if verbose and strat.max_length is None:
            self._warn_too_long(data["input_ids"], trace)
        if not batched and return_tensors is None and not return_overflowing_tokens:
            data = {k: (v[0] if v and isinstance(v[0], list) else v) for k, v in data.items()}
        result = BatchEncoding(data, rows, trace)
        return result.convert_to_tensors(return_tensors)

    def _has_pad_token(self) -> bool:
        pad = self._special.named.get("pad_token")
        if pad is None:
            return False
        pad_id = self.convert_tokens_to_ids(str(pad))
        return pad_id is not None and pad_id >= 0

    def _configure(self, strat: options.Strategies, stride: int, pad_to_multiple_of, padding_side) -> None:
        """Set the backend's truncation and padding for this call (tokenizer.json's own settings never apply)."""
        if strat.truncation == "do_not_truncate":
            self._backend.no_truncation()
        else:
            self._backend.enable_truncation(strat.max_length, stride=stride, strategy=strat.truncation,
                                            direction=self.truncation_side)
        if strat.padding == "do_not_pad":
            self._backend.no_padding()
        else:
            pad = str(self._special.named["pad_token"])
            self._backend.enable_padding(
                direction=padding_side or self.padding_side, pad_id=self.convert_tokens_to_ids(pad), pad_type_id=0,
                pad_token=pad, length=strat.max_length if strat.padding == "max_length" else None,
                pad_to_multiple_of=pad_to_multiple_of)

    def _keys(self, type_ids, attention, special_mask, offsets, length) -> tuple[str, ...]:
        type_ids = "token_type_ids" in self.model_input_names if type_ids is None else type_ids
        attention = "attention_mask" in self.model_input_names if attention is None else attention
        wanted = (("input_ids", True), ("token_type_ids", type_ids), ("attention_mask", attention),
                  ("special_tokens_mask", special_mask), ("offset_mapping", offsets), ("length", length))
        return tuple(key for key, on in wanted if on)

    def _warn_too_long(self, rows: list[list[int]], trace: Trace) -> None:
        longest = max((len(r) for r in rows), default=0)
        if self.model_max_length and longest > self.model_max_length:
            trace.warn("call", "sequence longer than model_max_length: running it through the model will fail "
                       "with indexing errors (pass truncation=True)", "length",
                       f"{longest} > {self.model_max_length}")

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, **kwargs) -> list[int]:
        """Only the input ids of one text (or pair)."""
        return self(text, text_pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """Token strings, without special tokens unless asked."""
        return self(text, pair, add_special_tokens=add_special_tokens).tokens()

    # ------------------------------------------------------------------ decoding
    def decode(self, token_ids, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str | list[str]:
        """Ids → text; a list of id lists gives a list of texts."""
        token_ids = _to_python(token_ids)
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        if token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self._decode(seq, skip_special_tokens, clean_up_tokenization_spaces) for seq in token_ids]
        return self._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def batch_decode(self, sequences, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None) -> list[str]:
        """Each id list → text."""
        sequences = _to_python(sequences)
        if len(sequences) == 0:
            return []
        result = self.decode(sequences, skip_special_tokens, clean_up_tokenization_spaces)
        return [result] if isinstance(result, str) else result

    def _decode(self, ids: list[int], skip_special_tokens: bool, clean_up: bool | None) -> str:
        text = self._backend.decode(list(ids), skip_special_tokens=skip_special_tokens)
        clean_up = self.clean_up_tokenization_spaces if clean_up is None else clean_up
        # transformers skips the cleanup for BPE models: it would delete real spaces before punctuation.
        if clean_up and type(self._backend.model).__name__ != "BPE":
            for before, after in _CLEANUP:
                text = text.replace(before, after)
        return text

    # ------------------------------------------------------------------ description
    def describe(self) -> dict[str, Any]:
        """Facts for the UI: class, sizes, special tokens with ids, sides, files used."""
        specials = {k: {"token": str(v), "id": self.convert_tokens_to_ids(str(v)),
                        "from": self._special.sources.get(k, "")}
                    for k, v in self._special.named.items() if v is not None}
        return {"class": self.class_name, "name_or_path": self.name_or_path, "vocab_size": self.vocab_size,
                "size_with_added_tokens": len(self), "model_max_length": self.model_max_length,
                "model_input_names": list(self.model_input_names), "special_tokens": specials,
                "extra_special_tokens": [str(t) for t in self._special.extra],
                "added_tokens": {i: str(t) for i, t in self.added_tokens_decoder.items()},
                "padding_side": self.padding_side, "truncation_side": self.truncation_side,
                "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces, "files": list(self.files)}

    def __repr__(self) -> str:
        return (f"{self.class_name}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length}, padding_side={self.padding_side!r}, "
                f"truncation_side={self.truncation_side!r}, special_tokens={self.special_tokens_map})")


def _as_batch(text, text_pair, split_words: bool) -> tuple[list, bool]:
    """Inputs → (list for encode_batch, whether the caller gave a batch)."""
    _check_text(text, "text")
    if text_pair is not None:
        _check_text(text_pair, "text_pair")
    if split_words:
        batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
    else:
        batched = isinstance(text, (list, tuple))
    if not batched:
        return ([(text, text_pair)] if text_pair else [text]), False
    if isinstance(text_pair, str):
        raise InputError("For a batch of texts, text_pair must be a list of the same length, not a string.")
    if text_pair is not None and len(text) != len(text_pair):
        raise InputError(f"text has {len(text)} items but text_pair has {len(text_pair)}; give one pair per text.")
    if len(text) == 0:
        raise InputError("The batch is empty; give at least one text.")
    return (list(zip(text, text_pair)) if text_pair is not None else list(text)), True


def _check_text(value, name: str) -> None:
    if isinstance(value, str):
        return
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, list, tuple)) for v in value[:1]):
        return
    raise InputError(f"{name} must be a string or a list of strings, not {type(value).__name__}.")


def _to_python(ids):
    """numpy arrays and torch tensors → nested lists (without importing either)."""
    return ids.tolist() if hasattr(ids, "tolist") else ids
