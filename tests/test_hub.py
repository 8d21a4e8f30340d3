"""Checkpoint resolution, JSON errors, the trace, AutoConfig's refusals — no network."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loaders import AutoConfig, Checkpoint, Trace
from loaders.errors import (
    CheckpointNotFound,
    HubUnreachable,
    LocalPathRefused,
    MalformedFile,
    MissingFile,
    RemoteCodeRefused,
    UnsupportedModelType,
)
from loaders.hub import DEFAULT_TEXT_CHECKPOINT, Policy


def test_import_pulls_in_neither_gradio_nor_transformers_nor_torch():
    code = ("import sys, loaders; from loaders import AutoTokenizer, AutoConfig; "
            "bad = [m for m in ('gradio', 'transformers', 'torch') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_default_id_resolves_to_packaged_copy_offline(minilm_dir):
    ckpt = Checkpoint.open(DEFAULT_TEXT_CHECKPOINT)
    assert ckpt.kind == "packaged" and ckpt.folder == minilm_dir
    assert "packaged copy" in str(ckpt.trace)
    assert ckpt.has("tokenizer.json") and not ckpt.has("merges.txt")


def test_local_folder(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    ckpt = Checkpoint.open(str(tmp_path))
    assert ckpt.kind == "local"
    assert ckpt.read_json("config.json") == {"model_type": "bert"}
    assert ckpt.read_json("tokenizer_config.json") is None


@pytest.mark.parametrize("spec", ["/no/such/folder", "./missing", "not a repo id!"])
def test_missing_folder_or_bad_id(spec):
    with pytest.raises(CheckpointNotFound):
        Checkpoint.open(spec)


def test_a_file_is_not_a_checkpoint(tmp_path):
    f = tmp_path / "config.json"
    f.write_text("{}")
    with pytest.raises(CheckpointNotFound, match="is a file"):
        Checkpoint.open(str(f))


def test_unknown_repo_offline_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    ckpt = Checkpoint.open("someone/never-downloaded", cache_dir=str(tmp_path))
    with pytest.raises(HubUnreachable, match="not in the local cache"):
        ckpt.read_json("config.json", required=True)


def test_public_mode_refuses_local_paths(tmp_path):
    with pytest.raises(LocalPathRefused):
        Checkpoint.open(str(tmp_path), policy=Policy(allow_local=False))


def test_malformed_json_names_file_and_line(tmp_path):
    (tmp_path / "config.json").write_text('{\n  "model_type": "bert",\n  oops\n}')
    with pytest.raises(MalformedFile, match=r"config\.json .*line 3"):
        AutoConfig.from_pretrained(str(tmp_path))


def test_missing_config(tmp_path):
    with pytest.raises(MissingFile, match="config.json"):
        AutoConfig.from_pretrained(str(tmp_path))


def test_missing_and_unknown_model_type(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UnsupportedModelType, match="no 'model_type'.*bert"):
        AutoConfig.from_pretrained(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "xyz"}')
    with pytest.raises(UnsupportedModelType, match="'xyz' is not supported; supported: .*bert"):
        AutoConfig.from_pretrained(str(tmp_path))


def test_remote_code_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "auto_map": {"AutoModel": "x.Y"}}))
    with pytest.raises(RemoteCodeRefused, match="never executes"):
        AutoConfig.from_pretrained(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(RemoteCodeRefused):
        AutoConfig.from_pretrained(str(tmp_path), trust_remote_code=True)


def test_generic_config_keeps_every_key(tmp_path):
    raw = {"model_type": "vit", "hidden_size": 768, "torch_dtype": "float32",
           "id2label": {"0": "cat", "1": "dog", "2": "bird"}}
    (tmp_path / "config.json").write_text(json.dumps(raw))
    config = AutoConfig.from_pretrained(str(tmp_path))
    assert config.model_type == "vit" and config.dtype == "float32"
    assert config.id2label == {0: "cat", 1: "dog", 2: "bird"} and config.num_labels == 3
    assert config.extra["hidden_size"] == 768
    assert "hidden_size" in str(config.trace)


def test_trace_renders_and_serialises():
    t = Trace("AutoTokenizer")
    t.add("tokenizer_config.json", "WordPiece from tokenizer.json", "tokenizer_class", "BertTokenizer")
    t.warn("tokenizer.json", "padding stored in tokenizer.json ignored", "padding", {"Fixed": 128})
    text = str(t)
    assert 'tokenizer_config.json: tokenizer_class = "BertTokenizer" → WordPiece from tokenizer.json' in text
    assert "⚠" in text and len(t.warnings) == 1
    assert json.loads(json.dumps(t.to_list()))[1]["level"] == "warn"
