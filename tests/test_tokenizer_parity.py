"""Parity of `loaders.AutoTokenizer` with transformers' AutoTokenizer on checkpoints built here.

Checkpoints: BERT WordPiece from tokenizer.json (the packaged MiniLM) and from vocab.txt alone,
cased BERT, DistilBERT (model_type default and tokenizer_class DistilBertTokenizer), GPT-2
byte-level BPE from vocab.json + merges.txt and from tokenizer.json, RoBERTa from files and from a
tokenizer.json that stores left padding, and transformers' generic class. Every option set runs
on single texts, pairs, batches and batches of pairs of awkward text; ids, masks, type ids,
offsets, overflow mapping, special-tokens mask, tensors and decode must all be equal.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE

from loaders import AutoTokenizer
from loaders.errors import LoaderError

TUTORIAL = "In a hole in the ground there lived a hobbit."
TEXTS = [
    TUTORIAL,
    "",
    "   \t\n  ",
    "Café naïve résumé — ÜNÏCÖDÉ Ångström",
    "東京は日本の首都です。北京欢迎你",
    "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇪🇸",
    "control \x00\x07\x1b chars \u200b zero\u200dwidth \ufeff bom\r\nnewline",
    "Hello, world! It's 3.14 o'clock -- isn't it?",
    "special text: [CLS] a [MASK] <extra> hobbitses <s> </s> <|endoftext|> <ent> [SEP]",
]
LONG = ("The quick brown fox jumps over the lazy dog; café 東京 😀. " * 400)[:20_000]
CORPUS = [TUTORIAL, "Not a nasty, dirty, wet hole, filled with the ends of worms and an oozy smell.",
          "nor yet a dry, bare, sandy hole with nothing in it to sit down on or to eat: it was a hobbit-hole.",
          "Café naïve résumé 東京 北京 😀 hello world, isn't it? 3.14"] * 10
BPE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<|endoftext|>"]

OPTIONS = [
    {},
    {"add_special_tokens": False},
    {"padding": True},
    {"padding": "max_length", "max_length": 24},
    {"truncation": True, "max_length": 8},
    {"max_length": 9},  # no truncation argument: transformers picks longest_first
    {"truncation": "only_first", "max_length": 12},
    {"truncation": "only_second", "max_length": 12},
    {"truncation": True, "max_length": 10, "stride": 3, "return_overflowing_tokens": True},
    {"truncation": "longest_first", "max_length": 16, "stride": 2, "return_overflowing_tokens": True,
     "padding": True},
    {"return_offsets_mapping": True, "return_special_tokens_mask": True, "return_length": True},
    {"padding": True, "return_tensors": "np", "return_offsets_mapping": True},
    {"padding": True, "return_tensors": "pt"},
    {"padding": True, "pad_to_multiple_of": 8, "padding_side": "left"},
    {"return_token_type_ids": True, "return_attention_mask": False},
    {"padding": "longest", "truncation": True},  # model_max_length decides
]
SHAPES = ["single", "pair", "batch", "batch_pairs"]


# --------------------------------------------------------------------------- checkpoint builders
def _write(folder, name, data):
    (folder / name).write_text(json.dumps(data), encoding="utf-8")


def _trained_bpe() -> Tokenizer:
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=BPE_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _bert_files(folder, minilm_dir, model_type, tok_config):
    folder.mkdir()
    shutil.copy(minilm_dir / "vocab.txt", folder / "vocab.txt")
    _write(folder, "config.json", {"model_type": model_type})
    _write(folder, "tokenizer_config.json", tok_config)
    return folder


def _bpe_folder(folder, bpe, model_type, tok_config, tokenizer_json=None):
    folder.mkdir()
    bpe.model.save(str(folder))
    _write(folder, "config.json", {"model_type": model_type})
    _write(folder, "tokenizer_config.json", tok_config)
    if tokenizer_json is not None:
        tokenizer_json.save(str(folder / "tokenizer.json"))
    return folder


def _gpt2_json(bpe: Tokenizer) -> Tokenizer:
    tok = Tokenizer.from_str(bpe.to_str())
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def _roberta_json(bpe: Tokenizer) -> Tokenizer:
    tok = Tokenizer.from_str(bpe.to_str())
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.enable_padding(direction="left", pad_id=1, pad_token="<pad>", length=64)  # must not leak into results
    tok.enable_truncation(64)
    return tok


def _saved_by_transformers(folder, minilm_dir):
    """transformers 5.x save_pretrained after adding a token and an extra special token."""
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(str(minilm_dir))
    tok.add_tokens(["hobbitses"])
    tok.add_special_tokens({"additional_special_tokens": ["<extra>"]})
    tok.save_pretrained(str(folder))
    return folder


def _v4_style(folder, minilm_dir):
    """tokenizer_config.json with `added_tokens_decoder` (as transformers 4.x saved it) beside tokenizer.json."""
    folder.mkdir()
    tok = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tok.add_special_tokens(["<ent>"])
    tok.add_tokens(["hobbitses"])
    tok.save(str(folder / "tokenizer.json"))
    flags = {"lstrip": False, "rstrip": False, "single_word": False}
    decoder = {str(i): {"content": c, "normalized": False, "special": True, **flags}
               for i, c in [(0, "[PAD]"), (100, "[UNK]"), (101, "[CLS]"), (102, "[SEP]"), (103, "[MASK]"),
                            (30522, "<ent>")]}
    decoder["30523"] = {"content": "hobbitses", "normalized": True, "special": False, **flags}
    _write(folder, "config.json", {"model_type": "bert"})
    _write(folder, "tokenizer_config.json", {
        "added_tokens_decoder": decoder, "additional_special_tokens": ["<ent>"], "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]", "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": 512,
        "pad_token": "[PAD]", "sep_token": "[SEP]", "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"})
    _write(folder, "special_tokens_map.json", {"cls_token": "[WRONG]"})  # not read: added_tokens_decoder wins
    return folder


def _cased_normalizer_json(folder, minilm_dir):
    """tokenizer.json's normalizer says cased, tokenizer_config.json says nothing: v5 lowercases anyway."""
    folder.mkdir()
    data = json.loads((minilm_dir / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"].update(lowercase=False, strip_accents=False)
    _write(folder, "tokenizer.json", data)
    _write(folder, "config.json", {"model_type": "bert"})
    _write(folder, "tokenizer_config.json", {"model_max_length": 512})
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, minilm_dir):
    """name → (folder, kwargs for from_pretrained)."""
    root = tmp_path_factory.mktemp("tok")
    bpe = _trained_bpe()
    generic = root / "generic"
    shutil.copytree(minilm_dir, generic, ignore=shutil.ignore_patterns("*.safetensors", "1_Pooling"))
    cfg = json.loads((generic / "tokenizer_config.json").read_text())
    _write(generic, "tokenizer_config.json", {**cfg, "tokenizer_class": "PreTrainedTokenizerFast"})
    std = {"do_lower_case": True, "model_max_length": 512}
    return {
        "bert_json": (minilm_dir, {}),
        "bert_vocab": (_bert_files(root / "bert_vocab", minilm_dir, "bert", std), {}),
        "bert_cased": (_bert_files(root / "bert_cased", minilm_dir, "bert",
                                   {"do_lower_case": False, "strip_accents": True, "tokenize_chinese_chars": False,
                                    "clean_up_tokenization_spaces": True, "model_max_length": 32}), {}),
        "distilbert": (_bert_files(root / "distilbert", minilm_dir, "distilbert", std), {}),
        "distilbert_named": (_bert_files(root / "distilbert_named", minilm_dir, "distilbert",
                                         {**std, "tokenizer_class": "DistilBertTokenizer"}), {}),
        "gpt2_files": (_bpe_folder(root / "gpt2_files", bpe, "gpt2", {"model_max_length": 1024}),
                       {"pad_token": "<|endoftext|>"}),
        "gpt2_json": (_bpe_folder(root / "gpt2_json", bpe, "gpt2", {"model_max_length": 1024}, _gpt2_json(bpe)),
                      {"pad_token": "<|endoftext|>"}),
        "roberta_files": (_bpe_folder(root / "roberta_files", bpe, "roberta", {"model_max_length": 512}), {}),
        "roberta_json": (_bpe_folder(root / "roberta_json", bpe, "roberta", {"model_max_length": 40},
                                     _roberta_json(bpe)), {}),
        "generic": (generic, {}),
        "bert_saved": (_saved_by_transformers(root / "bert_saved", minilm_dir), {}),
        "bert_v4_style": (_v4_style(root / "bert_v4_style", minilm_dir), {}),
        "bert_json_cased_normalizer": (_cased_normalizer_json(root / "bert_json_cased_normalizer", minilm_dir), {}),
    }


@pytest.fixture(scope="module")
def pairs(checkpoints):
    """name → (ours, transformers')."""
    import transformers

    transformers.logging.set_verbosity_error()
    out = {}
    for name, (folder, kwargs) in checkpoints.items():
        out[name] = (AutoTokenizer.from_pretrained(str(folder), **kwargs),
                     transformers.AutoTokenizer.from_pretrained(str(folder), **kwargs))
    return out


# --------------------------------------------------------------------------- comparison helpers
def _inputs(shape: str):
    # The 20,000-character text goes in alone or in a batch; in pairs, overflow with a stride multiplies
    # the windows of both sides and the run would take minutes.
    seconds = TEXTS[1:] + TEXTS[:1]
    if shape == "single":
        return [((t,), {}) for t in [*TEXTS, LONG]]
    if shape == "pair":
        return [((a, b), {}) for a, b in zip(TEXTS, seconds)]
    if shape == "batch":
        return [(([*TEXTS, LONG],), {})]
    return [((TEXTS,), {"text_pair": seconds})]


def _call(tok, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tok(*args, **kwargs), None
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 — compared below: both must fail (Rust panics are BaseException)
            return None, e


def _assert_same_encoding(ours, theirs, label):
    assert list(ours.keys()) == list(theirs.keys()), label
    for key in theirs:
        a, b = ours[key], theirs[key]
        if isinstance(b, np.ndarray) or hasattr(b, "numpy"):
            assert type(a) is type(b), f"{label} {key}"
            a_np, b_np = np.asarray(a), np.asarray(b)
            assert a_np.dtype == b_np.dtype and a_np.shape == b_np.shape, f"{label} {key}"
            assert np.array_equal(a_np, b_np), f"{label} {key}"
        else:
            assert a == b, f"{label} {key}"


def _assert_same_decode(ours_tok, their_tok, ids, label):
    ids = np.asarray(ids).tolist() if not isinstance(ids, list) else ids
    rows = (ids if ids and isinstance(ids[0], list) else [ids])[:12]  # overflow can give hundreds of rows
    for skip in (False, True):
        assert ours_tok.batch_decode(rows, skip_special_tokens=skip) == \
            their_tok.batch_decode(rows, skip_special_tokens=skip), f"{label} batch_decode skip={skip}"
        assert ours_tok.decode(rows[0], skip_special_tokens=skip) == \
            their_tok.decode(rows[0], skip_special_tokens=skip), f"{label} decode skip={skip}"


# --------------------------------------------------------------------------- the grid
FULL = ["bert_json", "bert_vocab", "gpt2_files", "gpt2_json", "roberta_files", "roberta_json"]
# Same pipelines as above with other settings or classes: a representative subset of the options.
SUBSET = {"bert_cased": [0, 2, 4, 8, 10, 12], "distilbert": [0, 2, 8, 10, 11], "distilbert_named": [0, 2, 8, 10],
          "generic": [0, 2, 4, 8, 10, 11], "bert_saved": [0, 2, 10], "bert_v4_style": [0, 2, 10],
          "bert_json_cased_normalizer": [0, 10]}
GRID = [(n, o) for n in FULL for o in range(len(OPTIONS))] + [(n, o) for n, opts in SUBSET.items() for o in opts]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "option"), GRID, ids=[f"{n}-{','.join(OPTIONS[o]) or 'defaults'}" for n, o in GRID])
def test_call_parity(pairs, name, option, shape):
    ours, theirs = pairs[name]
    compared = 0
    for args, extra in _inputs(shape):
        kwargs = {**OPTIONS[option], **extra}
        mine, my_err = _call(ours, args, kwargs)
        ref, ref_err = _call(theirs, args, kwargs)
        label = f"{name} {OPTIONS[option]} {shape} {str(args)[:60]!r}"
        if ref_err is not None:
            assert isinstance(my_err, LoaderError), f"{label}: transformers raised {ref_err!r}, we gave {my_err!r}"
            continue
        assert my_err is None, f"{label}: we raised {my_err!r}"
        _assert_same_encoding(mine, ref, label)
        _assert_same_decode(ours, theirs, ref["input_ids"], label)
        compared += 1
    if OPTIONS[option].get("truncation") not in ("only_first", "only_second") and "pair" not in shape:
        assert compared, "nothing was compared"  # pairs with a stride may fail on both sides (stride too large)


@pytest.mark.parametrize("name", [*FULL, *SUBSET])
def test_attribute_parity(pairs, name):
    ours, theirs = pairs[name]
    assert ours.class_name == type(theirs).__name__
    assert ours.model_input_names == theirs.model_input_names
    assert (ours.vocab_size, len(ours), ours.get_vocab()) == (theirs.vocab_size, len(theirs), theirs.get_vocab())
    assert ours.model_max_length == theirs.model_max_length
    assert (ours.padding_side, ours.truncation_side) == (theirs.padding_side, theirs.truncation_side)
    assert ours.special_tokens_map == theirs.special_tokens_map
    assert ours.all_special_tokens == theirs.all_special_tokens
    assert ours.all_special_ids == theirs.all_special_ids
    for attr in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert getattr(ours, attr + "_id") == getattr(theirs, attr + "_id"), attr
    assert ours.clean_up_tokenization_spaces == theirs.clean_up_tokenization_spaces
    assert {i: str(t) for i, t in ours.added_tokens_decoder.items()} == \
        {i: str(t) for i, t in theirs.added_tokens_decoder.items()}
    for text in TEXTS:
        assert ours.tokenize(text) == theirs.tokenize(text), text
        assert ours.encode(text) == theirs.encode(text), text
        ids = theirs.encode(text)
        assert ours.convert_ids_to_tokens(ids) == theirs.convert_ids_to_tokens(ids)
        assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == \
            theirs.convert_ids_to_tokens(ids, skip_special_tokens=True)
        tokens = theirs.convert_ids_to_tokens(ids)
        assert ours.convert_tokens_to_ids(tokens) == theirs.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("certainly-not-a-token") == theirs.convert_tokens_to_ids("certainly-not-a-token")
    assert ours.num_special_tokens_to_add(pair=True) == theirs.num_special_tokens_to_add(pair=True)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("gpt2_files", {"add_bos_token": True, "add_eos_token": True, "bos_token": "<s>", "eos_token": "</s>"}),
    ("gpt2_json", {"add_bos_token": True, "pad_token": "<pad>"}),
    ("gpt2_json", {"add_prefix_space": True}),
    ("roberta_files", {"add_prefix_space": True}),
    ("roberta_json", {"trim_offsets": False, "padding_side": "right"}),
    ("roberta_files", {"model_input_names": ["input_ids", "token_type_ids", "attention_mask"]}),
    ("bert_vocab", {"do_lower_case": False, "strip_accents": False, "cls_token": "[SEP]"}),
    ("generic", {"add_eos_token": True, "eos_token": "[SEP]"}),
])
def test_loading_kwargs_parity(checkpoints, name, kwargs):
    import transformers

    folder = str(checkpoints[name][0])
    ours, theirs = AutoTokenizer.from_pretrained(folder, **kwargs), transformers.AutoTokenizer.from_pretrained(
        folder, **kwargs)
    assert ours.all_special_tokens == theirs.all_special_tokens
    for args in [(TEXTS[3],), (TEXTS[0], TEXTS[-1]), ([TEXTS[5], TEXTS[6]],)]:
        options = {"return_offsets_mapping": True, "return_special_tokens_mask": True}
        mine, ref = ours(*args, **options), theirs(*args, **options)
        _assert_same_encoding(mine, ref, f"{name} {kwargs} {args!r}")
        _assert_same_decode(ours, theirs, ref["input_ids"], f"{name} {kwargs}")


@pytest.mark.parametrize(("name", "kwargs"), [("bert_json", {}), ("roberta_files", {"add_prefix_space": True})])
def test_pretokenized_parity(checkpoints, name, kwargs):
    import transformers

    folder = str(checkpoints[name][0])
    ours, theirs = AutoTokenizer.from_pretrained(folder, **kwargs), transformers.AutoTokenizer.from_pretrained(
        folder, **kwargs)
    for args in [(["Hello", "wörld", "東京"],), ([["Hello", "world"], ["a"]],), (["Hello", "world"], ["x", "y"])]:
        options = {"is_split_into_words": True, "return_offsets_mapping": True, "padding": True}
        _assert_same_encoding(ours(*args, **options), theirs(*args, **options), f"{name} {args!r}")


def test_decode_accepts_tensors_and_cleanup_flag(pairs):
    import torch

    ours, theirs = pairs["bert_cased"]
    ids = theirs("Hello , world ! It 's fine .", return_tensors="pt")["input_ids"]
    assert ours.decode(ids[0]) == theirs.decode(ids[0])
    assert ours.batch_decode(ids.numpy()) == theirs.batch_decode(ids.numpy())
    for flag in (True, False):
        assert ours.decode(ids[0], clean_up_tokenization_spaces=flag) == \
            theirs.decode(ids[0], clean_up_tokenization_spaces=flag)
    assert ours.decode(torch.tensor(5)) == theirs.decode(torch.tensor(5))
    assert ours.batch_decode([]) == theirs.batch_decode([]) == []


def test_padding_stored_in_tokenizer_json_does_not_leak(pairs):
    ours, theirs = pairs["roberta_json"]
    mine, ref = ours(TUTORIAL), theirs(TUTORIAL)
    assert mine["input_ids"] == ref["input_ids"]
    assert len(mine["input_ids"]) < 64  # tokenizer.json says pad to 64
    assert ours.padding_side == theirs.padding_side == "left"  # the side itself is taken from tokenizer.json


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=_TEXT, b=_TEXT)
@pytest.mark.parametrize("name", ["bert_json", "gpt2_json", "roberta_files"])
def test_random_text_parity(pairs, name, a, b):
    ours, theirs = pairs[name]
    for args in ((a,), (a, b), ([a, b],)):
        kwargs = {"return_offsets_mapping": True, "return_special_tokens_mask": True}
        _assert_same_encoding(ours(*args, **kwargs), theirs(*args, **kwargs), f"{name} {args!r}")
    ids = theirs(a, b)["input_ids"]
    assert ours.decode(ids) == theirs.decode(ids)
    assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)
