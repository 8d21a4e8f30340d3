"""The shared weight-loading mechanism (loaders/modeling/base.py, weights.py) against transformers.

Every case builds a tiny BERT checkpoint in tmp_path with transformers, loads it with ours and
with transformers, and compares the loading report (transformers' `output_loading_info` dict)
and, where weights load, the outputs.
"""

from __future__ import annotations

import json
import pickle

import pytest
import torch
import transformers as T
from safetensors.torch import load_file, save_file

from loaders import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification
from loaders.errors import (
    ConfigError,
    MissingFile,
    NotImplementedFamily,
    RemoteCodeRefused,
    UnsupportedModelType,
    WeightLoadingError,
)
from loaders.modeling.auto import AutoModelForCausalLM, default_task, supported_tasks
from loaders.modeling.base import PreTrainedModel
from loaders.models.bert import BertForSequenceClassification, BertModel

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)


def tiny_config(**kw) -> T.BertConfig:
    return T.BertConfig(**{**TINY, **kw})


def save(tmp_path, cls=T.BertModel, name="ckpt", **config_kw):
    """A transformers model with seeded random weights saved with save_pretrained; returns (folder, model)."""
    torch.manual_seed(0)
    model = cls(tiny_config(**config_kw)).eval()
    folder = tmp_path / name
    model.save_pretrained(folder)
    return folder, model


def reference(cls, folder, **kw):
    return cls.from_pretrained(folder, output_loading_info=True, dtype=torch.float32, **kw)


def ids():
    torch.manual_seed(1)
    x = torch.randint(1, 99, (2, 9))
    mask = torch.ones_like(x)
    mask[1, 6:] = 0
    return dict(input_ids=x, attention_mask=mask)


def max_diff(a, b) -> float:
    return (a - b).abs().max().item()


def state_dict_of(folder):
    return load_file(folder / "model.safetensors")


def write_checkpoint(folder, tensors, config: T.BertConfig, fmt="safetensors"):
    folder.mkdir(parents=True, exist_ok=True)
    config.to_json_file(folder / "config.json")
    if fmt == "safetensors":
        save_file(tensors, folder / "model.safetensors")
    else:
        torch.save(tensors, folder / "pytorch_model.bin")
    return folder


# ----------------------------------------------------------------------------- file layouts
def test_sharded_safetensors(tmp_path):
    torch.manual_seed(0)
    ref = T.BertModel(tiny_config()).eval()
    folder = tmp_path / "sharded"
    ref.save_pretrained(folder, max_shard_size="20KB")
    assert (folder / "model.safetensors.index.json").is_file() and not (folder / "model.safetensors").exists()
    shards = set(json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"].values())
    assert len(shards) > 1
    ours, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert info == reference(T.AutoModel, folder)[1]
    assert sorted(ours.loading_report.weight_files) == sorted(shards)
    with torch.no_grad():
        assert max_diff(ours(**ids()).last_hidden_state, ref(**ids()).last_hidden_state) <= 1e-5


def test_bin_only_checkpoint(tmp_path):
    folder, ref = save(tmp_path, T.BertForMaskedLM)
    tensors = state_dict_of(folder)
    (folder / "model.safetensors").unlink()
    torch.save(tensors, folder / "pytorch_model.bin")
    ours, info = AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
    assert ours.loading_report.format == "bin"
    assert info == reference(T.AutoModelForMaskedLM, folder)[1]
    with torch.no_grad():
        assert max_diff(ours(**ids()).logits, ref(**ids()).logits) <= 1e-5


def test_sharded_bin_index(tmp_path):
    folder, ref = save(tmp_path)
    tensors = state_dict_of(folder)
    (folder / "model.safetensors").unlink()
    names = sorted(tensors)
    halves = {"pytorch_model-00001-of-00002.bin": names[: len(names) // 2],
              "pytorch_model-00002-of-00002.bin": names[len(names) // 2:]}
    weight_map = {}
    for shard, keys in halves.items():
        torch.save({k: tensors[k] for k in keys}, folder / shard)
        weight_map.update(dict.fromkeys(keys, shard))
    (folder / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    ours, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    assert info == reference(T.AutoModel, folder)[1]
    assert len(ours.loading_report.weight_files) == 2
    with torch.no_grad():
        assert max_diff(ours(**ids()).last_hidden_state, ref(**ids()).last_hidden_state) <= 1e-5


class _RunsCode:
    """A pickle payload that would create a marker file when unpickled by an unrestricted loader."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_fails_safely(tmp_path):
    folder, _ = save(tmp_path)
    tensors = state_dict_of(folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    payload = {**tensors, "evil": _RunsCode(marker)}
    with open(folder / "pytorch_model.bin", "wb") as f:
        torch.save(payload, f, pickle_module=pickle)
    with pytest.raises(WeightLoadingError, match="refused"):
        AutoModel.from_pretrained(folder)
    assert not marker.exists()  # the payload never ran


def test_no_weights_and_truncated_file(tmp_path):
    folder, _ = save(tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightLoadingError, match="truncated"):
        AutoModel.from_pretrained(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(MissingFile, match="no weights"):
        AutoModel.from_pretrained(folder)


# ----------------------------------------------------------------------------- key names
def test_legacy_gamma_beta_names(tmp_path):
    folder, ref = save(tmp_path)
    legacy = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
              for k, v in state_dict_of(folder).items()}
    assert any(k.endswith(".gamma") for k in legacy)
    old = write_checkpoint(tmp_path / "legacy", legacy, tiny_config())
    ours, info = AutoModel.from_pretrained(old, output_loading_info=True)
    assert info == reference(T.AutoModel, old)[1]
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert "embeddings.LayerNorm.gamma" in ours.loading_report.renamed
    with torch.no_grad():
        assert max_diff(ours(**ids()).last_hidden_state, ref(**ids()).last_hidden_state) <= 1e-5


def test_old_position_ids_buffer_is_dropped_not_unexpected(tmp_path):
    folder, _ = save(tmp_path)
    tensors = {**state_dict_of(folder), "embeddings.position_ids": torch.arange(512)[None]}
    old = write_checkpoint(tmp_path / "old", tensors, tiny_config())
    ours, info = AutoModel.from_pretrained(old, output_loading_info=True)
    assert info == reference(T.AutoModel, old)[1]
    assert "embeddings.position_ids" in ours.loading_report.ignored_keys


def test_head_on_base_checkpoint_reports_untrained_head(tmp_path):
    folder, _ = save(tmp_path, T.BertModel)
    ours, info = AutoModelForSequenceClassification.from_pretrained(folder, output_loading_info=True)
    ref_model, ref_info = reference(T.AutoModelForSequenceClassification, folder)
    assert info == ref_info
    assert info["missing_keys"] == {"classifier.weight", "classifier.bias"}
    report = ours.loading_report
    assert report.untrained and report.newly_initialised == ["classifier.bias", "classifier.weight"]
    assert any("untrained" in w and "random" in w for w in report.warnings)
    assert any(s.level == "warn" and "untrained" in s.decision for s in ours.trace)
    # The family's init: normal(0, initializer_range) weights, zero bias; the base weights are the checkpoint's.
    assert torch.all(ours.classifier.bias == 0) and 0.005 < ours.classifier.weight.std().item() < 0.05
    with torch.no_grad():
        base = ref_model.bert(**ids()).pooler_output
        assert max_diff(ours.bert(**ids()).pooler_output, base) <= 1e-5


def test_base_on_head_checkpoint_reports_unexpected(tmp_path):
    folder, ref = save(tmp_path, T.BertForMaskedLM)
    ours, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    ref_info = reference(T.AutoModel, folder)[1]
    assert info == ref_info
    assert any(k.startswith("cls.predictions") for k in info["unexpected_keys"])
    assert info["missing_keys"] == {"pooler.dense.weight", "pooler.dense.bias"}  # MLM checkpoints have no pooler
    reasons = ours.loading_report.unexpected_keys
    assert all("masked-LM head" in why for k, why in reasons.items() if k.startswith("cls."))
    with torch.no_grad():
        assert max_diff(ours(**ids()).last_hidden_state, ref.bert(**ids()).last_hidden_state) <= 1e-5


def test_tied_decoder_is_one_tensor(tmp_path):
    folder, _ = save(tmp_path, T.BertForMaskedLM)
    assert "cls.predictions.decoder.weight" not in state_dict_of(folder)  # saved without the tied copy
    ours = AutoModelForMaskedLM.from_pretrained(folder)
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    assert ours.cls.predictions.decoder.bias is ours.cls.predictions.bias
    assert "cls.predictions.decoder.weight" in ours.loading_report.tied


def test_shape_mismatch_raises_unless_ignored(tmp_path):
    folder, _ = save(tmp_path, T.BertForSequenceClassification)  # 2 labels
    with pytest.raises(WeightLoadingError, match="ignore_mismatched_sizes"):
        AutoModelForSequenceClassification.from_pretrained(folder, num_labels=5)
    ours, info = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=5, output_loading_info=True,
                                                                    ignore_mismatched_sizes=True)
    ref_info = reference(T.AutoModelForSequenceClassification, folder, num_labels=5, ignore_mismatched_sizes=True)[1]
    assert info == ref_info  # mismatches as (key, checkpoint shape, model shape), like transformers
    assert ("classifier.weight", (2, 32), (5, 32)) in info["mismatched_keys"]
    assert ours.classifier.weight.shape == (5, 32) and ours.loading_report.untrained


# ----------------------------------------------------------------------------- dtype and memory
@pytest.mark.parametrize("requested,expected", [
    (None, torch.float32), ("float32", torch.float32), ("bfloat16", torch.bfloat16),
    ("float16", torch.float16), (torch.bfloat16, torch.bfloat16), ("auto", torch.float16)])
def test_dtype_choices(tmp_path, requested, expected):
    folder, _ = save(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config.pop("dtype", None)
    config["torch_dtype"] = "float16"  # the legacy key; "auto" must follow it
    (folder / "config.json").write_text(json.dumps(config))
    model = AutoModel.from_pretrained(folder, dtype=requested)
    assert {p.dtype for p in model.parameters()} == {expected}
    with torch.no_grad():
        assert torch.isfinite(model(**ids()).last_hidden_state.float()).all()


def test_auto_dtype_without_config_key_follows_checkpoint(tmp_path):
    folder, ref = save(tmp_path)
    bf16 = {k: v.to(torch.bfloat16) for k, v in state_dict_of(folder).items()}
    config = tiny_config()
    folder = write_checkpoint(tmp_path / "bf16", bf16, config)
    raw = json.loads((folder / "config.json").read_text())
    raw.pop("dtype", None)
    (folder / "config.json").write_text(json.dumps(raw))
    assert AutoModel.from_pretrained(folder).dtype == torch.bfloat16
    with pytest.raises(ConfigError, match="not supported"):
        AutoModel.from_pretrained(folder, dtype="int3")


def test_no_random_initialised_copy(tmp_path, monkeypatch):
    """A complete checkpoint runs no init at all; a head on a base checkpoint inits only the head."""
    folder, _ = save(tmp_path, T.BertModel)
    inits = []
    real = PreTrainedModel._init_weights
    monkeypatch.setattr(PreTrainedModel, "_init_weights", lambda self, m: (inits.append(m), real(self, m)))
    resets = []
    for cls in (torch.nn.Linear, torch.nn.Embedding, torch.nn.LayerNorm):
        original = cls.reset_parameters
        monkeypatch.setattr(cls, "reset_parameters", lambda self, o=original: (
            resets.append(self) if not self.weight.is_meta else None, o(self)))
    model = BertModel.from_pretrained(folder)
    assert inits == [] and resets == []
    # The weights are views of the memory-mapped file: no tensor was copied while loading.
    assert not any(p.is_meta for p in model.parameters())
    inits.clear()
    head = BertForSequenceClassification.from_pretrained(folder)
    assert inits == [head.classifier] and resets == []


# ----------------------------------------------------------------------------- Auto resolution
def test_architectures_do_not_pick_the_head(tmp_path):
    folder, _ = save(tmp_path, T.BertForMaskedLM)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert type(model).__name__ == "BertForSequenceClassification"
    assert any(s.key == "architectures" and "shown only" in s.decision for s in model.trace)
    assert default_task(model.config) == "AutoModelForMaskedLM"


def test_supported_tasks_and_errors(tmp_path):
    assert supported_tasks("distilbert") == ["AutoModel", "AutoModelForMaskedLM",
                                             "AutoModelForSequenceClassification", "AutoModelForTokenClassification",
                                             "AutoModelForQuestionAnswering"]
    assert "AutoModelForCausalLM" not in supported_tasks("bert")
    folder, _ = save(tmp_path)
    with pytest.raises(UnsupportedModelType, match="has no AutoModelForCausalLM head; it has: AutoModel"):
        AutoModelForCausalLM.from_pretrained(folder)
    with pytest.raises(RemoteCodeRefused):
        AutoModel.from_pretrained(folder, trust_remote_code=True)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "x.Y"}}))
    with pytest.raises(RemoteCodeRefused):
        AutoModel.from_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "wav2vec2"}))
    with pytest.raises(NotImplementedFamily):
        AutoModel.from_pretrained(folder)


def test_from_config_builds_random_model():
    from loaders.models.bert import BertConfig

    config = BertConfig.from_dict({**TINY, "model_type": "bert"})
    model = AutoModelForMaskedLM.from_config(config)
    assert type(model).__name__ == "BertForMaskedLM"
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert 0.01 < model.bert.embeddings.word_embeddings.weight.std().item() < 0.03


def test_loading_report_is_json_ready(tmp_path):
    folder, _ = save(tmp_path, T.BertForMaskedLM)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    data = json.loads(json.dumps(model.loading_report.to_dict()))
    assert data["untrained"] is True and data["missing_keys"] == ["bert.pooler.dense.bias", "bert.pooler.dense.weight",
                                                                  "classifier.bias", "classifier.weight"]
    assert json.dumps(model.trace.to_list())


def test_bert_base_uncased_layout(tmp_path):
    """Like the real bert-base-uncased file: a BertForPreTraining checkpoint with gamma/beta names, the
    position_ids buffer and the tied decoder weight saved, loaded as masked LM and as classifier."""
    folder, ref = save(tmp_path, T.BertForPreTraining)
    tensors = state_dict_of(folder)
    tensors["cls.predictions.decoder.weight"] = tensors["bert.embeddings.word_embeddings.weight"].clone()
    tensors["bert.embeddings.position_ids"] = torch.arange(512)[None]
    legacy = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
              for k, v in tensors.items()}
    old = write_checkpoint(tmp_path / "bert-base-uncased", legacy, tiny_config(architectures=["BertForMaskedLM"]))
    ours, info = AutoModelForMaskedLM.from_pretrained(old, output_loading_info=True)
    assert info == reference(T.AutoModelForMaskedLM, old)[1]
    assert {k for k in info["unexpected_keys"]} == {"cls.seq_relationship.weight", "cls.seq_relationship.bias",
                                                     "bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    assert "next-sentence" in ours.loading_report.unexpected_keys["cls.seq_relationship.weight"]
    with torch.no_grad():
        assert max_diff(ours(**ids()).logits, ref(**ids()).prediction_logits) <= 1e-5
    _, info = AutoModelForSequenceClassification.from_pretrained(old, output_loading_info=True)
    assert info == reference(T.AutoModelForSequenceClassification, old)[1]


def test_legacy_torch_dtype_argument(tmp_path):
    folder, _ = save(tmp_path)
    model = AutoModel.from_pretrained(folder, torch_dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16 and "dtype" not in model.config.extra


def test_given_config_with_overrides(tmp_path):
    from loaders import AutoConfig

    folder, _ = save(tmp_path, T.BertForSequenceClassification)
    config = AutoConfig.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, config=config, num_labels=3,
                                                               ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 3 and config.num_labels == 2  # the caller's config is not changed
