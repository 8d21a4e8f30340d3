"""The weights inspector reads safetensors headers (local and Hub) without reading weight bytes."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import loaders.inspect as inspect_mod
from loaders import inspect_weights
from loaders.errors import MalformedFile, MissingFile, WeightLoadingError

ST_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}


def bert_like_state(layers: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    state = {"bert.embeddings.word_embeddings.weight": torch.randn(50, 8, generator=g),
             "bert.embeddings.position_ids": torch.arange(16).unsqueeze(0),
             "bert.pooler.dense.weight": torch.randn(8, 8, generator=g),
             "cls.predictions.bias": torch.zeros(50, dtype=torch.bfloat16)}
    for i in range(layers):
        state[f"bert.encoder.layer.{i}.attention.self.query.weight"] = torch.randn(8, 8, generator=g)
        state[f"bert.encoder.layer.{i}.attention.self.query.bias"] = torch.randn(8, generator=g).half()
    return state


def write_header_only(path, header: dict, data_bytes: int | None = None) -> int:
    """A safetensors file holding only the header; with `data_bytes`, extended sparsely to full size."""
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        if data_bytes is not None:
            f.truncate(8 + len(raw) + data_bytes)  # a hole: no disk blocks, no bytes written
    return len(raw)


def llama70b_shapes() -> dict[str, list[int]]:
    """Tensor shapes of Llama-3-70B (80 layers, hidden 8192, GQA 64/8 heads, FFN 28672, vocab 128256)."""
    h, kv, ffn, vocab = 8192, 1024, 28672, 128256
    shapes = {"model.embed_tokens.weight": [vocab, h], "model.norm.weight": [h], "lm_head.weight": [vocab, h]}
    for i in range(80):
        p = f"model.layers.{i}."
        shapes |= {p + "self_attn.q_proj.weight": [h, h], p + "self_attn.k_proj.weight": [kv, h],
                   p + "self_attn.v_proj.weight": [kv, h], p + "self_attn.o_proj.weight": [h, h],
                   p + "mlp.gate_proj.weight": [ffn, h], p + "mlp.up_proj.weight": [ffn, h],
                   p + "mlp.down_proj.weight": [h, ffn], p + "input_layernorm.weight": [h],
                   p + "post_attention_layernorm.weight": [h]}
    return shapes


def header_for(shapes: dict[str, list[int]], dtype: str = "BF16", size: int = 2) -> tuple[dict, int]:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes.items():
        n = size
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    return header, offset


@pytest.fixture
def read_counter(monkeypatch):
    """Counts every byte the inspector reads through open()."""
    counted = {"bytes": 0}

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            data = self.f.read(n)
            counted["bytes"] += len(data)
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(inspect_mod, "open", lambda p, mode="r": Counting(open(p, mode)), raising=False)
    return counted


def assert_parity_with_safe_open(report, folder):
    seen = 0
    for name in report.files:
        with safe_open(str(folder / name), framework="pt") as f:
            for key in f.keys():
                t = next(t for t in report.tensors if t.name == key)
                assert list(t.shape) == f.get_slice(key).get_shape()
                assert t.dtype == f.get_slice(key).get_dtype()
                assert t.nbytes == f.get_tensor(key).numel() * f.get_tensor(key).element_size()
                seen += 1
    assert seen == len(report.tensors)


# --------------------------------------------------------------------------------------------- local
def test_single_file_matches_safe_open(tmp_path):
    state = bert_like_state()
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertForMaskedLM"]}))
    report = inspect_weights(str(tmp_path))
    assert report.format == "safetensors" and report.files == ["model.safetensors"]
    assert report.model_type == "bert" and report.architectures == ["BertForMaskedLM"]
    assert report.metadata == {"format": "pt"}
    assert_parity_with_safe_open(report, tmp_path)
    assert report.total_params == sum(t.numel() for t in state.values())
    assert report.total_bytes == sum(t.numel() * t.element_size() for t in state.values())
    by_dtype = report.by_dtype()
    assert set(by_dtype) == {"F32", "F16", "BF16", "I64"}
    assert by_dtype["F16"] == {"tensors": 3, "params": 24, "bytes": 48}
    assert report.memory()["bfloat16"] == report.total_params * 2
    assert report.memory()["int4"] == report.total_params // 2


def test_groups_collapse_layers(tmp_path):
    save_file(bert_like_state(layers=3), tmp_path / "model.safetensors")
    groups = {g.name: g for g in inspect_weights(str(tmp_path)).groups()}
    assert set(groups) == {"bert.embeddings", "bert.pooler", "bert.encoder.layer.{i}", "cls"}
    layer = groups["bert.encoder.layer.{i}"]
    assert layer.repeats == 3 and layer.params == 3 * (64 + 8)
    assert sorted(layer.template) == [("attention.self.query.bias", (8,), "F16", 3),
                                      ("attention.self.query.weight", (8, 8), "F32", 3)]


def test_moe_experts_collapse_inside_a_layer():
    names = [f"model.layers.{i}.experts.{j}.w1.weight" for i in range(2) for j in range(4)]
    tensors = [inspect_mod.TensorInfo(n, (4, 4), "BF16", "f", 32) for n in names]
    (group,) = inspect_mod.group_tensors(tensors)
    assert group.name == "model.layers.{i}" and group.repeats == 2
    assert group.template == [("experts.{j}.w1.weight", (4, 4), "BF16", 8)]


def test_sharded_checkpoint(tmp_path):
    state = bert_like_state(layers=4)
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[:5], "model-00002-of-00002.safetensors": names[5:]}
    for shard, keys in shards.items():
        save_file({k: state[k] for k in keys}, tmp_path / shard)
    index = {"metadata": {"total_size": 123}, "weight_map": {k: s for s, keys in shards.items() for k in keys}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    report = inspect_weights(str(tmp_path))
    assert report.files == sorted(shards) and report.metadata == {"total_size": 123}
    assert len(report.tensors) == len(state)
    assert_parity_with_safe_open(report, tmp_path)
    json.dumps(report.to_dict())  # JSON-ready


def test_index_naming_a_tensor_its_shard_lacks(tmp_path):
    save_file({"a.weight": torch.zeros(2)}, tmp_path / "s1.safetensors")
    index = {"weight_map": {"a.weight": "s1.safetensors", "b.weight": "s1.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(MalformedFile, match="b.weight"):
        inspect_weights(str(tmp_path))


def test_70b_header_reads_no_weight_bytes(tmp_path, read_counter):
    header, data = header_for(llama70b_shapes())
    n = write_header_only(tmp_path / "model.safetensors", header, data_bytes=data)  # 141 GB sparse file
    report = inspect_weights(str(tmp_path))
    assert read_counter["bytes"] == 8 + n  # the length prefix and the JSON header, nothing else
    assert 70.5e9 < report.total_params < 70.6e9
    assert report.total_bytes == data == report.memory()["bfloat16"]
    groups = {g.name: g for g in report.groups()}
    assert groups["model.layers.{i}"].repeats == 80 and len(groups["model.layers.{i}"].template) == 9
    assert set(groups) == {"model.layers.{i}", "model.embed_tokens", "model.norm", "lm_head"}


def test_header_only_file_is_reported_truncated(tmp_path):
    header, _ = header_for({"w": [1000, 1000]})
    write_header_only(tmp_path / "model.safetensors", header)
    with pytest.raises(MalformedFile, match="truncated"):
        inspect_weights(str(tmp_path))


@pytest.mark.parametrize("content, match", [
    (b"\x01\x02", "too short"),
    (struct.pack("<Q", 10**12) + b"{}", "declares"),
    (struct.pack("<Q", 5) + b"{nope", "not valid JSON"),
    (struct.pack("<Q", 2) + b"[]", "JSON object"),
])
def test_malformed_headers(tmp_path, content, match):
    (tmp_path / "model.safetensors").write_bytes(content)
    with pytest.raises(MalformedFile, match=match):
        inspect_weights(str(tmp_path))


def test_offsets_that_disagree_with_shape(tmp_path):
    write_header_only(tmp_path / "model.safetensors",
                      {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, data_bytes=12)
    with pytest.raises(MalformedFile, match="corrupt"):
        inspect_weights(str(tmp_path))


def test_bin_only_checkpoint_uses_mmap_weights_only_load(tmp_path):
    state = bert_like_state()
    torch.save(state, tmp_path / "pytorch_model.bin")
    report = inspect_weights(str(tmp_path))
    assert report.format == "pytorch"
    assert {t.name: (list(t.shape), t.dtype) for t in report.tensors} == {
        k: (list(v.shape), ST_DTYPES[v.dtype]) for k, v in state.items()}
    assert any("weights_only=True" in s.decision for s in report.trace.warnings)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_bin_with_code_is_refused(tmp_path, writer, capsys):
    if writer == "torch.save":
        torch.save({"w": _Evil()}, tmp_path / "pytorch_model.bin")
    else:
        (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps({"w": _Evil()}, protocol=2))
    with pytest.raises(WeightLoadingError, match="safely"):
        inspect_weights(str(tmp_path))
    assert "pwned" not in capsys.readouterr().out


def test_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(MissingFile, match="no weights"):
        inspect_weights(str(tmp_path))


def test_packaged_minilm(minilm_dir):
    report = inspect_weights(str(minilm_dir))
    assert report.model_type == "bert"
    assert_parity_with_safe_open(report, minilm_dir)
    assert report.total_params == 22_713_728  # 22.7M incl. the position_ids buffer
    groups = {g.name: g for g in report.groups()}
    assert groups["encoder.layer.{i}"].repeats == 6


# --------------------------------------------------------------------------------------------- Hub (mocked)
def fake_repo_metadata(shapes: dict[str, list[int]], shards: int):
    from huggingface_hub.utils import SafetensorsFileMetadata, SafetensorsRepoMetadata, TensorInfo

    names = list(shapes)
    files, weight_map = {}, {}
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        header, _ = header_for({n: shapes[n] for n in names[s::shards]})
        del header["__metadata__"]
        files[fname] = SafetensorsFileMetadata(metadata={"format": "pt"}, tensors={
            n: TensorInfo(dtype=e["dtype"], shape=e["shape"], data_offsets=tuple(e["data_offsets"]))
            for n, e in header.items()})
        weight_map |= dict.fromkeys(header, fname)
    return SafetensorsRepoMetadata(metadata={"total_size": 1}, sharded=True, weight_map=weight_map,
                                   files_metadata=files)


def test_hub_70b_via_range_request_metadata(monkeypatch):
    from huggingface_hub import HfApi

    calls = []
    meta = fake_repo_metadata(llama70b_shapes(), shards=30)
    monkeypatch.setattr(HfApi, "get_safetensors_metadata", lambda self, repo_id, **kw: calls.append(repo_id) or meta)

    def no_download(*a, **kw):
        raise AssertionError("the inspector must not download files")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_download)
    report = inspect_weights("meta-llama/Meta-Llama-3-70B")
    assert calls == ["meta-llama/Meta-Llama-3-70B"]
    assert len(report.files) == 30 and len(report.tensors) == 3 + 80 * 9
    assert 70.5e9 < report.total_params < 70.6e9
    assert report.by_dtype()["BF16"]["bytes"] == report.total_bytes
    assert "range requests" in str(report.trace)


def test_hub_repo_with_only_bin(monkeypatch):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import NotASafetensorsRepoError

    def raise_not_st(self, repo_id, **kw):
        raise NotASafetensorsRepoError("no safetensors")

    monkeypatch.setattr(HfApi, "get_safetensors_metadata", raise_not_st)
    with pytest.raises(MissingFile, match="downloaded whole"):
        inspect_weights("someone/old-bin-model")


def test_import_stays_light():
    import subprocess
    import sys

    code = "import loaders, sys; loaders.inspect_weights; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
