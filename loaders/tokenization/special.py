"""Special and added tokens, read with transformers 5.x precedence.

Order (transformers `_from_pretrained` + `PreTrainedTokenizerBase.__init__`):
1. tokenizer_config.json keys, then the caller's kwargs on top;
2. `added_tokens_decoder` in tokenizer_config.json lists the added tokens; only when it is absent
   are the legacy files read: special_tokens_map.json (overrides tokenizer_config, not kwargs),
   added_tokens.json, and tokenizer.json's `added_tokens`;
3. a named token whose text matches an added token takes that AddedToken's flags;
4. the class's own defaults (BERT's "[CLS]", ...) fill what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokenizers import AddedToken

from ..errors import MalformedFile
from ..hub import Checkpoint
from ..trace import Trace

NAMED = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


@dataclass
class SpecialTokens:
    """Named special tokens (standard seven, then model-specific ones), extras, and added tokens by id."""

    named: dict[str, str | AddedToken | None] = field(default_factory=lambda: dict.fromkeys(NAMED))
    extra: list[str | AddedToken] = field(default_factory=list)
    added: dict[int, AddedToken] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # attribute → file (or "call", "class default")


def read_init(ckpt: Checkpoint, tok_config: dict, kwargs: dict, has_tokenizer_json: bool,
              tokenizer_json: dict | None, trace: Trace) -> tuple[dict[str, Any], dict[str, str]]:
    """The init kwargs transformers would pass to the tokenizer class, and which file gave each key."""
    init = {k: v for k, v in tok_config.items() if k not in ("tokenizer_class", "init_inputs")}
    origin = dict.fromkeys(init, "tokenizer_config.json")
    if has_tokenizer_json:
        for key in ("add_bos_token", "add_eos_token"):
            if init.pop(key, None) is not None:
                trace.add("tokenizer_config.json", "ignored because tokenizer.json is used (as transformers does)",
                          key, tok_config[key])
    init.update(kwargs)
    origin.update(dict.fromkeys(kwargs, "call"))
    if "additional_special_tokens" in init and not init.get("extra_special_tokens"):
        init["extra_special_tokens"] = init.pop("additional_special_tokens")
    if "added_tokens_decoder" in init:
        init["added_tokens_decoder"] = _parse_decoder(init["added_tokens_decoder"])
        trace.add("tokenizer_config.json", "added tokens read from here; legacy files not consulted",
                  "added_tokens_decoder", f"{len(init['added_tokens_decoder'])} tokens")
    else:
        init["added_tokens_decoder"] = _legacy_added_tokens(ckpt, init, origin, kwargs, tokenizer_json, trace)
    init = _convert_added_tokens(init)
    by_text = {str(t): t for t in init["added_tokens_decoder"].values()}
    for key in NAMED:
        value = init.get(key)
        if isinstance(value, str) and value in by_text:
            init[key] = by_text[value]
    return init, origin


def _parse_decoder(raw: Any) -> dict[int, AddedToken]:
    if not isinstance(raw, dict):
        raise MalformedFile("tokenizer_config.json: added_tokens_decoder should map ids to token objects.")
    out = {}
    for idx, token in raw.items():
        try:
            out[int(idx)] = token if isinstance(token, AddedToken) else AddedToken(**_token_fields(token))
        except (TypeError, ValueError) as e:
            raise MalformedFile(f"tokenizer_config.json: added_tokens_decoder entry {idx!r} is not a token "
                                f"object ({e}); fix the file.") from e
    return out


def _token_fields(token: dict) -> dict:
    return {k: v for k, v in token.items() if k not in ("__type", "id")}


def _legacy_added_tokens(ckpt, init, origin, kwargs, tokenizer_json, trace) -> dict[int, AddedToken]:
    """special_tokens_map.json, added_tokens.json, tokenizer.json `added_tokens` (no added_tokens_decoder)."""
    added: dict[int, AddedToken] = {}
    stm = ckpt.read_json("special_tokens_map.json")
    if stm:
        for key, value in stm.items():
            if kwargs.get(key):
                continue  # the caller's kwargs win
            if isinstance(value, dict) and key != "extra_special_tokens":
                value = AddedToken(**{**_token_fields(value), "special": True})
            elif key == "extra_special_tokens" and isinstance(value, list):
                existing = list(init.get("extra_special_tokens") or [])
                value = existing + [t for t in _convert_added_tokens(value) if t not in existing]
            init[key] = value
            origin[key] = "special_tokens_map.json"
        trace.add("special_tokens_map.json", "overrides tokenizer_config.json (legacy file)", "keys", sorted(stm))
    legacy = ckpt.read_json("added_tokens.json")
    if legacy:
        special = {str(init[k]) for k in NAMED if init.get(k)}
        special.update(str(t) for t in (init.get("extra_special_tokens") or init.get("additional_special_tokens")
                                         or []))
        for text, idx in legacy.items():
            is_special = text in special
            added[int(idx)] = AddedToken(text, rstrip=False, lstrip=False, normalized=not is_special,
                                         special=is_special)
        trace.add("added_tokens.json", "added tokens (legacy file)", "tokens", len(legacy))
    if tokenizer_json is not None:
        for token in tokenizer_json.get("added_tokens") or []:
            added[int(token["id"])] = AddedToken(**_token_fields(token))
        trace.add("tokenizer.json", "added tokens", "added_tokens", len(tokenizer_json.get("added_tokens") or []))
    return added


def _convert_added_tokens(obj: Any) -> Any:
    """Old tokenizer_config files store tokens as {"__type": "AddedToken", ...}."""
    if isinstance(obj, dict) and obj.get("__type") == "AddedToken":
        return AddedToken(**_token_fields(obj))
    if isinstance(obj, dict):
        return {k: (v if k == "added_tokens_decoder" else _convert_added_tokens(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_convert_added_tokens(v) for v in obj]
    return obj


def collect(init: dict[str, Any], origin: dict[str, str]) -> SpecialTokens:
    """Pop the special-token keys out of `init` (as PreTrainedTokenizerBase.__init__ does)."""
    special = SpecialTokens(added=init.pop("added_tokens_decoder", {}))
    if "additional_special_tokens" in init and "extra_special_tokens" not in init:
        init["extra_special_tokens"] = init.pop("additional_special_tokens")
    model_specific = dict(init.pop("model_specific_special_tokens", None) or {})
    for key in list(init):
        value = init[key]
        if key in NAMED:
            init.pop(key)
            if value is not None:
                _check_token(key, value)
                special.named[key] = value
                special.sources[key] = origin.get(key, "class default")
        elif key == "extra_special_tokens":
            init.pop(key)
            if isinstance(value, dict):
                model_specific.update(value)
            elif isinstance(value, (list, tuple)):
                special.extra = list(value)
        elif key.endswith("_token") and isinstance(value, (str, AddedToken)):
            model_specific[key] = init.pop(key)
            special.sources[key] = origin.get(key, "tokenizer_config.json")
    for key, value in model_specific.items():
        _check_token(key, value)
        special.named[key] = value
    return special


def _check_token(key: str, value: Any) -> None:
    if not isinstance(value, (str, AddedToken)):
        raise MalformedFile(f"Special token {key} should be a string or a token object, not {type(value).__name__}; "
                            "fix tokenizer_config.json / special_tokens_map.json.")
