"""AutoTokenizer: which tokenizer class a checkpoint asks for, and building it (transformers 5.x order).

Class choice: config.json is read for `model_type`; tokenizer_config.json's `tokenizer_class`
decides, else config.json's `tokenizer_class`, else the registry's default for the model_type.
A named class that differs from the model_type's default is used if it is a real class,
otherwise transformers falls back to its generic backend (tokenizer.json verbatim).
Files: tokenizer.json first; else the class's vocabulary files (vocab.txt, vocab.json + merges.txt).
"""

from __future__ import annotations

import json
from typing import Any

from tokenizers import AddedToken
from tokenizers import Tokenizer as Backend

from ..configuration import read_model_type, refuse_remote_code, refuse_trust_remote_code
from ..errors import MalformedFile, MissingFile, NotImplementedFamily, UnsupportedModelType
from ..hub import Checkpoint
from ..registry import REGISTRY, get_family
from ..trace import Trace
from . import families, special
from .families import TokenizerSpec
from .tokenizer import Tokenizer

VERY_LARGE_INTEGER = int(1e30)  # transformers' model_max_length when none is configured
# Init keys the Tokenizer itself uses; every other tokenizer_config key is only listed in the trace.
_USED = {"model_max_length", "max_len", "padding_side", "truncation_side", "model_input_names", "name_or_path",
         "clean_up_tokenization_spaces", "do_lower_case", "tokenize_chinese_chars", "strip_accents",
         "add_prefix_space", "trim_offsets", "add_bos_token", "add_eos_token", "errors"}


class AutoTokenizer:
    """`AutoTokenizer.from_pretrained(checkpoint)` → a Tokenizer behaving like transformers' class for it."""

    def __init__(self):
        raise TypeError("Use AutoTokenizer.from_pretrained(checkpoint).")

    @staticmethod
    def from_pretrained(checkpoint, *, revision: str | None = None, token: str | None = None,
                        trust_remote_code: bool = False, **kwargs) -> Tokenizer:
        """Resolve the checkpoint, choose the class, build it; `kwargs` override tokenizer_config.json keys."""
        refuse_trust_remote_code(trust_remote_code)
        for ignored in ("use_fast", "_from_auto"):
            kwargs.pop(ignored, None)
        trace = Trace("AutoTokenizer")
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        spec = choose_class(ckpt, trace)
        return build(spec, ckpt, kwargs, trace)


# --------------------------------------------------------------------------- which class
def choose_class(ckpt: Checkpoint, trace: Trace) -> TokenizerSpec:
    """transformers' AutoTokenizer decision, each step recorded."""
    model_type = read_model_type(ckpt, trace, required=False)
    config = ckpt.read_json("config.json") or {}
    tok_config = ckpt.read_json("tokenizer_config.json") or {}
    refuse_remote_code(tok_config, "tokenizer_config.json")
    default = _registry_default(model_type, trace)
    named, source = tok_config.get("tokenizer_class"), "tokenizer_config.json"
    if not named and config.get("tokenizer_class"):
        named, source = config["tokenizer_class"], "config.json"
    if not named:
        if default is None:
            raise UnsupportedModelType(f"{ckpt.where} names no tokenizer_class and model_type {model_type!r} has "
                                       "no default tokenizer; add tokenizer_class to tokenizer_config.json.")
        return _spec_or_raise(default, "registry", f"default tokenizer for model_type {model_type!r}", trace, ckpt)
    if default and _strip(default) != _strip(named):
        spec = families.find_spec(named)
        if spec is None or spec.name == "TokenizersBackend":
            what = "is transformers' generic class" if spec else "names no class transformers has"
            trace.warn(source, f"differs from the model_type default {default!r} and {what} → generic backend "
                       "built straight from tokenizer.json", "tokenizer_class", named)
            return families.SPECS["TokenizersBackend"]
        return _spec_or_raise(named, source, f"differs from the model_type default {default!r}; the named class "
                              "wins", trace, ckpt, key="tokenizer_class")
    return _spec_or_raise(named, source, "names the class", trace, ckpt, key="tokenizer_class")


def _registry_default(model_type: str | None, trace: Trace) -> str | None:
    if not model_type:
        return None
    if model_type not in REGISTRY:
        try:
            get_family(model_type)
        except UnsupportedModelType:
            trace.warn("registry", "model_type unknown here; only tokenizer_class can decide", "model_type",
                       model_type)
            return None
    return get_family(model_type).tokenizer


def _source_files(spec: TokenizerSpec, ckpt: Checkpoint) -> str:
    if ckpt.has("tokenizer.json") or not spec.vocab_files:
        return "tokenizer.json"
    return " + ".join(spec.vocab_files)


def _spec_or_raise(name: str, source: str, why: str, trace: Trace, ckpt: Checkpoint,
                   key: str = "tokenizer") -> TokenizerSpec:
    spec = families.find_spec(name)
    if spec is None:
        supported = ", ".join(sorted(families.SPECS))
        raise NotImplementedFamily(f"{source}: {key} = {name!r} is not implemented; supported: {supported}.")
    label = spec.name if spec.name == _strip(name) else f"{spec.name} (transformers' generic class)"
    trace.add(source, f"{why} → {label}: {spec.describe} from {_source_files(spec, ckpt)}", key, name)
    return spec


def _strip(name: str) -> str:
    return name if name == "PreTrainedTokenizerFast" else name.removesuffix("Fast")


# --------------------------------------------------------------------------- building it
def build(spec: TokenizerSpec, ckpt: Checkpoint, kwargs: dict[str, Any], trace: Trace) -> Tokenizer:
    """Read the files `spec` needs, then assemble the backend, special tokens and settings."""
    tok_config = ckpt.read_json("tokenizer_config.json") or {}
    json_path = ckpt.path("tokenizer.json")
    raw_json = _read_tokenizer_json(json_path, ckpt) if json_path is not None and spec.kind != "json" else None
    files = ["tokenizer_config.json"] if tok_config else []
    if json_path is None:
        _require_vocab_files(spec, ckpt)
    generic_json = _load_generic(json_path, ckpt) if spec.kind == "json" else None
    added_source = raw_json if raw_json is not None else _added_only(generic_json)
    init, origin = special.read_init(ckpt, tok_config, kwargs, json_path is not None, added_source, trace)
    for key, value in spec.defaults.items():
        if key not in init:
            init[key] = value
            origin.setdefault(key, "class default")
    json_settings = raw_json if raw_json is not None else _settings_only(generic_json)
    _ignore_json_padding(json_settings, init, trace)
    tokens = special.collect(init, origin)
    if not spec.dedicated:
        trace.warn("registry", f"no dedicated {spec.name} here → tokenizer.json used verbatim (same ids for "
                   "standard checkpoints)", "tokenizer_class", spec.name)
    backend, used = _backend(spec, ckpt, json_path, raw_json, generic_json, init, tokens, trace)
    files += used
    _add_tokens(backend, tokens)
    _post_processor(spec, backend, tokens, init, raw_json, trace)
    return _finish(spec, backend, tokens, init, ckpt, files, trace)


def _require_vocab_files(spec: TokenizerSpec, ckpt: Checkpoint) -> None:
    """No tokenizer.json: the class's own vocabulary files must all be there."""
    if not spec.vocab_files:
        raise MissingFile(f"{ckpt.where} has no tokenizer.json, which {spec.name} needs (it has no other "
                          "vocabulary format here); check that this checkpoint ships a tokenizer.")
    if not all(ckpt.has(f) for f in spec.vocab_files):
        raise MissingFile(f"{ckpt.where} has neither tokenizer.json nor {' + '.join(spec.vocab_files)}, which "
                          f"{spec.name} needs; check that this checkpoint ships a tokenizer.")


def _read_tokenizer_json(path, ckpt: Checkpoint) -> dict:
    from ..hub import load_json_file

    data = load_json_file(path, f"tokenizer.json in {ckpt.where}")
    if not isinstance(data.get("model"), dict):
        raise MalformedFile(f"tokenizer.json in {ckpt.where} has no 'model' object; re-download or fix it.")
    return data


def _load_generic(path, ckpt: Checkpoint) -> Backend:
    try:
        return Backend.from_file(str(path))
    except Exception as e:  # noqa: BLE001 — the Rust parser raises plain Exception with line and column
        raise MalformedFile(f"tokenizer.json in {ckpt.where} cannot be read by the tokenizers library "
                            f"({str(e).splitlines()[0]}); re-download or fix it.") from e


def _added_only(backend: Backend | None) -> dict | None:
    """tokenizer.json's added tokens, as the JSON would list them (for the legacy-files path)."""
    if backend is None:
        return None
    return {"added_tokens": [{"id": i, **_token_dict(t)} for i, t in backend.get_added_tokens_decoder().items()]}


def _token_dict(token: AddedToken) -> dict:
    return {"content": token.content, "single_word": token.single_word, "lstrip": token.lstrip,
            "rstrip": token.rstrip, "normalized": token.normalized, "special": token.special}


def _settings_only(backend: Backend | None) -> dict:
    if backend is None:
        return {}
    padding, truncation = backend.padding, backend.truncation
    strategy = {"Fixed": padding["length"]} if padding and padding["length"] else "BatchLongest"
    return {"padding": padding and {"direction": padding["direction"], "pad_token": padding["pad_token"],
                                    "strategy": strategy},
            "truncation": truncation and {"direction": truncation["direction"],
                                          "max_length": truncation["max_length"]}}


def _ignore_json_padding(raw: dict, init: dict, trace: Trace) -> None:
    """tokenizer.json may store padding/truncation; transformers only takes sides and pad token from them."""
    padding, truncation = raw.get("padding"), raw.get("truncation")
    if padding:
        trace.warn("tokenizer.json", "padding stored in tokenizer.json ignored: the call's padding argument "
                   "decides", "padding", padding.get("strategy"))
        side = str(padding.get("direction", "right")).lower()
        if "padding_side" not in init and side != "right":
            trace.warn("tokenizer.json", "padding_side taken from tokenizer.json (transformers does)", "direction",
                       side)
        init.setdefault("padding_side", side)
        if padding.get("pad_token") is not None:
            init.setdefault("pad_token", padding["pad_token"])
    if truncation:
        trace.warn("tokenizer.json", "truncation stored in tokenizer.json ignored: the call's truncation and "
                   "max_length decide", "truncation", {"max_length": truncation.get("max_length")})
        side = str(truncation.get("direction", "right")).lower()
        init.setdefault("truncation_side", side)


def _backend(spec, ckpt, json_path, raw_json, generic_json, init, tokens, trace) -> tuple[Backend, list[str]]:
    """The `tokenizers` pipeline without added tokens (family classes) or verbatim (generic)."""
    if spec.kind == "json":
        trace.add("tokenizer.json", "pipeline loaded verbatim", "model", type(generic_json.model).__name__)
        generic_json.no_padding()
        generic_json.no_truncation()
        return generic_json, ["tokenizer.json"]
    unk = str(tokens.named.get("unk_token"))  # BertTokenizer passes str(unk_token) to WordPiece
    try:
        if raw_json is not None:
            model = raw_json["model"]
            vocab = _vocab_dict(model.get("vocab"))
            trace.add("tokenizer.json", f"{spec.describe} vocabulary taken; normalizer, pre-tokenizer and "
                      "post-processor rebuilt from tokenizer_config.json (as transformers 5.x does)", "vocab",
                      f"{len(vocab)} tokens")
            if spec.kind == "wordpiece":
                _note_normalizer(raw_json.get("normalizer"), init, trace)
                return families.wordpiece(vocab, unk, init), ["tokenizer.json"]
            merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
            return families.byte_level_bpe(vocab, merges, init), ["tokenizer.json"]
        paths = [str(ckpt.require(f, spec.name)) for f in spec.vocab_files]
        trace.add(" + ".join(spec.vocab_files), f"no tokenizer.json → {spec.describe} built from the vocabulary "
                  "file(s)", "files", list(spec.vocab_files))
        if spec.kind == "wordpiece":
            return families.wordpiece(paths[0], unk, init), list(spec.vocab_files)
        return families.byte_level_bpe(paths[0], paths[1], init), list(spec.vocab_files)
    except (MalformedFile, KeyError, AttributeError, TypeError):
        raise
    except Exception as e:  # noqa: BLE001 — tokenizers raises plain Exception on unreadable vocab files
        raise MalformedFile(f"{spec.name} vocabulary in {ckpt.where} cannot be read ({e}); re-download or fix "
                            "the tokenizer files.") from e


# BertNormalizer field in tokenizer.json → the tokenizer_config.json key BertTokenizer builds it from.
_BERT_NORMALIZER_KEYS = {"lowercase": "do_lower_case", "strip_accents": "strip_accents",
                         "handle_chinese_chars": "tokenize_chinese_chars"}


def _note_normalizer(normalizer: dict | None, init: dict, trace: Trace) -> None:
    """Say where tokenizer.json's BertNormalizer disagrees with the one rebuilt from tokenizer_config.json."""
    if not isinstance(normalizer, dict) or normalizer.get("type") != "BertNormalizer":
        return
    for field, key in _BERT_NORMALIZER_KEYS.items():
        if field in normalizer and normalizer[field] != init[key]:
            trace.warn("tokenizer.json", f"normalizer says {field}={normalizer[field]!r} but BertTokenizer uses "
                       f"{key}={init[key]!r} from tokenizer_config.json or its default (transformers 5.x does too)",
                       f"normalizer.{field}", normalizer[field])


def _vocab_dict(vocab) -> dict[str, int]:
    if isinstance(vocab, dict):
        return vocab
    if isinstance(vocab, list):  # Unigram-style [[token, score], ...] listed in order
        return {(t[0] if isinstance(t, list) else t): i for i, t in enumerate(vocab)}
    raise MalformedFile("tokenizer.json: model.vocab is missing or not a mapping; re-download or fix it.")


def _add_tokens(backend: Backend, tokens: special.SpecialTokens) -> None:
    """TokenizersBackend.__init__: added tokens by id, then any special token not yet known."""
    to_add: list[AddedToken | str] = [tok for _, tok in sorted(tokens.added.items())]
    known = {t.content for t in backend.get_added_tokens_decoder().values()}
    known.update(str(t) for t in to_add)
    for value in [*tokens.named.values(), *tokens.extra]:
        if value is not None and str(value) not in known and value not in to_add:
            to_add.append(value)
    named = {str(v) for v in tokens.named.values() if v}
    final = []
    for tok in to_add:
        if isinstance(tok, str):
            tok = AddedToken(tok, special=True)
        elif not tok.special and str(tok) in named:
            tok.special = True
        final.append(tok)
    if final:
        backend.add_tokens(final)
    backend.encode_special_tokens = False


def _post_processor(spec, backend: Backend, tokens, init, raw_json: dict | None, trace: Trace) -> None:
    """The special-token template each class installs (ids looked up after tokens were added)."""
    named = {k: (str(v) if v is not None else None) for k, v in tokens.named.items()}
    if spec.kind == "wordpiece":
        cls, sep = named["cls_token"], named["sep_token"]
        backend.post_processor = families.bert_template(cls, backend.token_to_id(cls), sep, backend.token_to_id(sep))
        trace.add("class", f"{cls} $A {sep} / {cls} $A {sep} $B {sep} (token_type_ids 0…0 1…1)", "template",
                  spec.name)
    elif spec.kind == "roberta":
        cls, sep = named["cls_token"], named["sep_token"]
        backend.post_processor = families.roberta_processing(sep, _id(backend, sep), cls, _id(backend, cls), init)
        trace.add("class", f"{cls} $A {sep} / {cls} $A {sep}{sep} $B {sep}", "trim_offsets", init["trim_offsets"])
    elif "add_bos_token" in init or "add_eos_token" in init:  # asked for explicitly: the template is rebuilt
        _bos_eos(backend, named, init, trace)
    elif spec.kind == "gpt2" and raw_json is not None and raw_json.get("post_processor"):
        _json_post_processor(backend, raw_json["post_processor"], trace)
    elif backend.post_processor is None or spec.kind == "gpt2":
        _bos_eos(backend, named, init, trace)


def _id(backend: Backend, token: str) -> int:
    index = backend.token_to_id(token)
    if index is None:
        raise MissingFile(f"Special token {token!r} is not in the vocabulary; the tokenizer files disagree.")
    return index


def _json_post_processor(backend: Backend, raw: dict, trace: Trace) -> None:
    """GPT2Tokenizer keeps tokenizer.json's post-processor (a cheap parse: vocabulary left out)."""
    shell = {"version": "1.0", "model": {"type": "BPE", "vocab": {}, "merges": []}, "post_processor": raw}
    backend.post_processor = Backend.from_str(json.dumps(shell)).post_processor
    trace.add("tokenizer.json", "post-processor kept", "post_processor", raw.get("type"))


def _bos_eos(backend: Backend, named: dict, init: dict, trace: Trace) -> None:
    bos = named.get("bos_token") if init.get("add_bos_token") else None
    eos = named.get("eos_token") if init.get("add_eos_token") else None
    backend.post_processor = families.bos_eos_template(bos and (bos, _id(backend, bos)),
                                                       eos and (eos, _id(backend, eos)))
    trace.add("class", "no special tokens added around the text" if not (bos or eos) else
              f"template {'BOS ' if bos else ''}$A{' EOS' if eos else ''}", "add_bos_token / add_eos_token",
              (bool(bos), bool(eos)))


def _finish(spec, backend, tokens, init, ckpt, files, trace) -> Tokenizer:
    max_len = init.pop("model_max_length", init.pop("max_len", None))
    if max_len is None:
        trace.add("tokenizer_config.json", "no limit → model_max_length = int(1e30)", "model_max_length", None)
        max_len = VERY_LARGE_INTEGER
    else:
        trace.add("tokenizer_config.json", "limit for truncation=True / padding='max_length'", "model_max_length",
                  max_len)
    for key in ("padding_side", "truncation_side"):
        if init.get(key, "right") not in ("left", "right"):
            raise MalformedFile(f"{key} = {init[key]!r} is not 'left' or 'right'; fix tokenizer_config.json.")
    names = init.get("model_input_names") or spec.model_input_names
    trace.add("class", "keys returned by a call", "model_input_names", list(names))
    _trace_special(tokens, backend, trace)
    unused = sorted(k for k in init if k not in _USED and not k.startswith("_") and k not in spec.defaults)
    if unused:
        trace.add("tokenizer_config.json", "kept, not used by the tokenizer", "other keys", unused)
    return Tokenizer(backend, class_name=spec.name, special=tokens, model_input_names=names,
                     name_or_path=ckpt.spec, model_max_length=int(max_len),
                     padding_side=init.get("padding_side", "right"), truncation_side=init.get("truncation_side",
                                                                                                   "right"),
                     clean_up_tokenization_spaces=bool(init.get("clean_up_tokenization_spaces", False)),
                     files=files, trace=trace)


def _trace_special(tokens: special.SpecialTokens, backend: Backend, trace: Trace) -> None:
    for key, value in tokens.named.items():
        if value is not None:
            trace.add(tokens.sources.get(key, "class default"), f"id {backend.token_to_id(str(value))}", key,
                      str(value))
    if tokens.added:
        trace.add("added tokens", "registered with the tokenizer", "count", len(tokens.added))
