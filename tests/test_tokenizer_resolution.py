"""How AutoTokenizer resolves a checkpoint: the trace it records, the errors it raises, what it imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE

from loaders import AutoTokenizer
from loaders.errors import (
    InputError,
    LoaderError,
    MalformedFile,
    MissingFile,
    NotImplementedFamily,
    RemoteCodeRefused,
    TokenizerError,
    UnsupportedModelType,
)

ROOT = Path(__file__).resolve().parent.parent
HOBBIT = "In a hole in the ground there lived a hobbit."


def _write(folder: Path, name: str, data) -> None:
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


def _bert(tmp_path, minilm_dir, model_type="bert", tok_config=None, name="bert") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(minilm_dir / "vocab.txt", folder / "vocab.txt")
    _write(folder, "config.json", {"model_type": model_type})
    _write(folder, "tokenizer_config.json", tok_config or {"do_lower_case": True, "model_max_length": 512})
    return folder


def _gpt2(tmp_path) -> Path:
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([HOBBIT] * 5, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    folder = tmp_path / "gpt2"
    folder.mkdir()
    tok.model.save(str(folder))
    _write(folder, "config.json", {"model_type": "gpt2"})
    _write(folder, "tokenizer_config.json", {"model_max_length": 1024})
    return folder


def _steps(tok) -> list[str]:
    return [str(s) for s in tok.trace]


# --------------------------------------------------------------------------- trace
def test_trace_of_default_checkpoint(minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    steps = _steps(tok)
    assert 'config.json: model_type = "bert" → selects the registry entry' in steps
    assert any(s.startswith('tokenizer_config.json: tokenizer_class = "BertTokenizer" → ')
               and s.endswith("BertTokenizer: WordPiece from tokenizer.json") for s in steps), steps
    warned = [str(s) for s in tok.trace.warnings]
    assert any("padding stored in tokenizer.json ignored" in s for s in warned), warned
    assert any("truncation stored in tokenizer.json ignored" in s for s in warned), warned
    assert any(s.startswith('special_tokens_map.json: cls_token = "[CLS]" → id 101') for s in steps), steps
    assert tok.class_name == "BertTokenizer"
    assert tok.trace.to_list()[0]["source"] in ("checkpoint", "hub")


def test_trace_of_vocab_txt_only_checkpoint(tmp_path, minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir)))
    steps = _steps(tok)
    assert any(s.startswith('registry: tokenizer = "BertTokenizer" → default tokenizer for model_type')
               and s.endswith("WordPiece from vocab.txt") for s in steps), steps
    assert any("no tokenizer.json → WordPiece built from the vocabulary file(s)" in s for s in steps), steps
    assert not tok.trace.warnings
    assert tok.describe()["files"] == ["tokenizer_config.json", "vocab.txt"]


def test_named_class_that_differs_from_the_model_type_default_wins(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir, "distilbert", {"tokenizer_class": "DistilBertTokenizerFast"})
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok.class_name == "DistilBertTokenizer"
    assert "token_type_ids" not in tok(HOBBIT)
    assert any("differs from the model_type default 'BertTokenizer'" in s for s in _steps(tok))


def test_distilbert_without_tokenizer_class_is_a_bert_tokenizer(tmp_path, minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir, "distilbert")))
    assert tok.class_name == "BertTokenizer"
    assert list(tok(HOBBIT)) == ["input_ids", "token_type_ids", "attention_mask"]


def test_generic_class_uses_tokenizer_json_verbatim(tmp_path, minilm_dir):
    folder = tmp_path / "generic"
    shutil.copytree(minilm_dir, folder, ignore=shutil.ignore_patterns("*.safetensors", "1_Pooling"))
    _write(folder, "tokenizer_config.json", {"tokenizer_class": "SomethingTokenizerFast", "model_max_length": 512})
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok.class_name == "TokenizersBackend"
    assert any("generic backend built straight from tokenizer.json" in str(s) for s in tok.trace.warnings)
    assert tok(HOBBIT)["input_ids"][:3] == [101, 1999, 1037]


def test_tokenizer_json_normalizer_disagreement_is_noted(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir, tok_config={"model_max_length": 512})
    data = json.loads((minilm_dir / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"]["lowercase"] = False
    _write(folder, "tokenizer.json", data)
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert tok("Hello")["input_ids"] == [101, 7592, 102]  # lowercased, as transformers 5.x does
    assert any("normalizer says lowercase=False but BertTokenizer uses do_lower_case=True" in str(s)
               for s in tok.trace.warnings)


def test_kwargs_override_tokenizer_config(tmp_path, minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir)), model_max_length=6, do_lower_case=False)
    assert tok.model_max_length == 6
    assert tok(HOBBIT, truncation=True)["input_ids"] == [101, 100, 1037, 4920, 1999, 102]  # "In" unknown when cased


def test_model_max_length_default_is_very_large(tmp_path, minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir, tok_config={"do_lower_case": True})))
    assert tok.model_max_length == int(1e30)
    encoding = tok(HOBBIT, truncation=True)
    assert len(encoding["input_ids"]) == 15
    assert any("no truncation" in w for w in encoding.warnings)


# --------------------------------------------------------------------------- call warnings
def test_call_warnings_go_to_the_trace_not_stdout(minilm_dir, capsys):
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    encoding = tok(HOBBIT, max_length=5)
    assert len(encoding["input_ids"]) == 5
    assert any("truncation='longest_first'" in w for w in encoding.warnings)
    long = tok("word " * 600)
    assert any("longer than model_max_length" in w and "602 > 512" in w for w in long.warnings)
    assert any("max_length is ignored" in w for w in tok([HOBBIT, "a"], padding=True, max_length=3).warnings)
    assert capsys.readouterr().out == ""
    assert repr(encoding) == repr(dict(encoding))  # the trace never shows in the dict


def test_batch_encoding_gives_tokens_words_and_encodings(minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    encoding = tok(["hobbit hole", "a"], padding=True, return_offsets_mapping=True)
    assert encoding.tokens(1) == ["[CLS]", "a", "[SEP]", "[PAD]", "[PAD]", "[PAD]"]
    assert encoding.word_ids(0) == [None, 0, 0, 0, 1, None]
    assert encoding.offsets(0)[1:4] == [(0, 2), (2, 4), (4, 6)]
    assert len(encoding.encodings) == 2 and encoding[1].ids == encoding["input_ids"][1]


# --------------------------------------------------------------------------- errors
def test_no_tokenizer_files_is_missing_file(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    _write(folder, "config.json", {"model_type": "bert"})
    with pytest.raises(MissingFile, match=r"neither tokenizer.json nor vocab.txt.*BertTokenizer"):
        AutoTokenizer.from_pretrained(str(folder))


def test_malformed_tokenizer_json(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir)
    _write(folder, "tokenizer.json", '{"version": "1.0", "model": {"vocab": ')
    with pytest.raises(MalformedFile, match=r"tokenizer.json .*line 1"):
        AutoTokenizer.from_pretrained(str(folder))


def test_malformed_tokenizer_json_for_generic_class(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir, tok_config={"tokenizer_class": "PreTrainedTokenizerFast"})
    _write(folder, "tokenizer.json", '{"version": "1.0", "model": {"type": "Nope"}}')
    with pytest.raises(MalformedFile, match="tokenizers library"):
        AutoTokenizer.from_pretrained(str(folder))


def test_malformed_tokenizer_config(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir)
    _write(folder, "tokenizer_config.json", '{"do_lower_case": tru')
    with pytest.raises(MalformedFile, match=r"tokenizer_config.json.*line 1, column"):
        AutoTokenizer.from_pretrained(str(folder))


def test_auto_map_is_refused(tmp_path, minilm_dir):
    folder = _bert(tmp_path, minilm_dir, tok_config={"auto_map": {"AutoTokenizer": ["tok.MyTok", None]}})
    with pytest.raises(RemoteCodeRefused, match="tokenizer_config.json"):
        AutoTokenizer.from_pretrained(str(folder))
    with pytest.raises(RemoteCodeRefused):
        AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir, name="b2")), trust_remote_code=True)


def test_unknown_class_and_model_type(tmp_path, minilm_dir):
    with pytest.raises(NotImplementedFamily, match="FooTokenizer"):
        AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir, "foo", {"tokenizer_class": "FooTokenizer"})))
    with pytest.raises(UnsupportedModelType, match="no default tokenizer"):
        AutoTokenizer.from_pretrained(str(_bert(tmp_path, minilm_dir, "foo", name="foo2")))


def test_gpt2_padding_without_pad_token(tmp_path):
    tok = AutoTokenizer.from_pretrained(str(_gpt2(tmp_path)))
    assert tok.pad_token is None and "token_type_ids" not in tok(HOBBIT)
    with pytest.raises(TokenizerError, match="Asking to pad but the tokenizer does not have a padding token"):
        tok([HOBBIT, "a"], padding=True)
    padded = AutoTokenizer.from_pretrained(str(tmp_path / "gpt2"), pad_token="<|endoftext|>")
    assert padded([HOBBIT, "a"], padding=True)["attention_mask"][1][-1] == 0


def test_bad_call_arguments(minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    with pytest.raises(TokenizerError, match="padding='sideways' is not valid"):
        tok(HOBBIT, padding="sideways")
    with pytest.raises(TokenizerError, match="truncation"):
        tok(HOBBIT, truncation="middle")
    with pytest.raises(InputError, match="string or a list of strings"):
        tok(42)
    with pytest.raises(InputError, match="one pair per text"):
        tok(["a", "b"], ["c"])
    with pytest.raises(TokenizerError, match="stride"):
        tok(HOBBIT, truncation=True, max_length=4, stride=5, return_overflowing_tokens=True)
    with pytest.raises(LoaderError, match="different lengths; pass padding=True"):
        tok([HOBBIT, "a"], return_tensors="np")


# --------------------------------------------------------------------------- describe, threads, imports
def test_describe(minilm_dir):
    facts = AutoTokenizer.from_pretrained(str(minilm_dir)).describe()
    assert facts["class"] == "BertTokenizer" and facts["vocab_size"] == 30522
    assert facts["model_max_length"] == 512 and facts["padding_side"] == "right"
    assert facts["special_tokens"]["cls_token"] == {"token": "[CLS]", "id": 101, "from": "special_tokens_map.json"}
    assert facts["files"] == ["tokenizer_config.json", "tokenizer.json"]


def test_concurrent_calls_with_different_options_do_not_mix(minilm_dir):
    tok = AutoTokenizer.from_pretrained(str(minilm_dir))
    jobs = [dict(padding="max_length", max_length=40), dict(truncation=True, max_length=4), {}]
    expected = [tok([HOBBIT, "short"], **kw)["input_ids"] for kw in jobs]
    failures = []

    def work(i):
        for _ in range(60):
            if tok([HOBBIT, "short"], **jobs[i])["input_ids"] != expected[i]:
                failures.append(i)

    threads = [threading.Thread(target=work, args=(i % 3,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_tokenizing_does_not_import_torch_numpy_or_transformers(minilm_dir):
    code = (f"import sys, loaders\nfrom loaders import AutoTokenizer\n"
            f"AutoTokenizer.from_pretrained({str(minilm_dir)!r})({HOBBIT!r}, padding=True, truncation=True)\n"
            "print(sorted(m for m in ('torch', 'numpy', 'transformers', 'gradio') if m in sys.modules))")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
