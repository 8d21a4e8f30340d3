"""Encoder families (BERT, DistilBERT, RoBERTa, XLM-RoBERTa) × every head: float32 parity with transformers.

Tiny configs (REFERENCE §7) saved with save_pretrained in tmp_path, loaded through our Auto
classes; logits, hidden states and attention probabilities must match within 1e-4. Then the
real packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import pytest
import torch
import transformers as T

import loaders
from loaders.modeling.auto import AUTO_CLASSES

TOL = 1e-4
SMALL = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
CONFIGS = {
    "bert": lambda: T.BertConfig(**SMALL),
    "distilbert": lambda: T.DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37),
    "distilbert-sinusoidal": lambda: T.DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                                        sinusoidal_pos_embds=True),
    "roberta": lambda: T.RobertaConfig(**SMALL, max_position_embeddings=40),
    "xlm-roberta": lambda: T.XLMRobertaConfig(**SMALL, max_position_embeddings=40),
}
KINDS = ["AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification",
         "AutoModelForTokenClassification", "AutoModelForQuestionAnswering"]
OUR_NAMES = {  # transformers' class → ours (XLM-RoBERTa is RoBERTa's implementation)
    "XLMRobertaModel": "RobertaModel", "XLMRobertaForMaskedLM": "RobertaForMaskedLM",
}


def batch(pad_id: int, with_types: bool):
    """Two sequences, the second padded, plus token types for BERT."""
    torch.manual_seed(1)
    input_ids = torch.randint(3, 99, (2, 11))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    input_ids[1, 7:] = pad_id
    out = dict(input_ids=input_ids, attention_mask=attention_mask)
    if with_types:
        out["token_type_ids"] = (torch.arange(11) >= 5).long().expand(2, -1).contiguous()
    return out


def assert_outputs_match(ref, ours):
    keys = [k for k in ref.keys() if k not in ("cross_attentions", "loss")]
    assert keys, "the reference returned nothing to compare"
    for key in keys:
        a, b = ref[key], ours[key]
        if isinstance(a, tuple):
            assert len(a) == len(b), key
            for x, y in zip(a, b):
                torch.testing.assert_close(y, x, atol=TOL, rtol=0, msg=key)
        else:
            assert a.shape == b.shape, key
            torch.testing.assert_close(b, a, atol=TOL, rtol=0, msg=key)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(family, kind) → (folder, transformers model with eager attention), built lazily."""
    cache = {}

    def get(family: str, kind: str):
        if (family, kind) not in cache:
            torch.manual_seed(0)
            config = CONFIGS[family]()
            config._attn_implementation = "eager"  # the only transformers path that returns attention probs
            ref = getattr(T, kind).from_config(config).eval()
            folder = tmp_path_factory.mktemp(f"{family}-{kind}")
            ref.save_pretrained(folder)
            cache[family, kind] = folder, ref
        return cache[family, kind]

    return get


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", list(CONFIGS))
def test_parity_every_family_and_head(checkpoints, family, kind):
    folder, ref = checkpoints(family, kind)
    ours, info = getattr(loaders, kind).from_pretrained(folder, output_loading_info=True)
    assert type(ours).__name__ == OUR_NAMES.get(type(ref).__name__, type(ref).__name__.replace("XLM", ""))
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    inputs = batch(ref.config.pad_token_id, family == "bert")
    with torch.no_grad():
        expected = ref(**inputs, output_hidden_states=True, output_attentions=True)
        got = ours(**inputs, output_hidden_states=True, output_attentions=True)
        fast = ours(**inputs)  # the SDPA path, without attention probabilities
    assert_outputs_match(expected, got)
    assert fast.attentions is None and fast.hidden_states is None
    torch.testing.assert_close(fast[0], expected[0], atol=TOL, rtol=0)
    assert got.attentions[0].shape == (2, 4, 11, 11)
    assert len(got.hidden_states) == 3  # embeddings + 2 layers


@pytest.mark.parametrize("family", ["bert", "distilbert", "roberta"])
def test_base_and_head_loaded_across(checkpoints, family):
    """A head on a base checkpoint and a base on a head checkpoint: same report as transformers, same numbers."""
    base_folder, base_ref = checkpoints(family, "AutoModel")
    head, info = loaders.AutoModelForTokenClassification.from_pretrained(base_folder, output_loading_info=True)
    ref_head, ref_info = T.AutoModelForTokenClassification.from_pretrained(base_folder, output_loading_info=True)
    assert info == ref_info and info["missing_keys"] == {"classifier.weight", "classifier.bias"}
    head_folder, head_ref = checkpoints(family, "AutoModelForMaskedLM")
    base, info = loaders.AutoModel.from_pretrained(head_folder, output_loading_info=True)
    assert info == T.AutoModel.from_pretrained(head_folder, output_loading_info=True)[1]
    assert info["unexpected_keys"]
    inputs = batch(base_ref.config.pad_token_id, False)
    with torch.no_grad():
        prefix = head_ref.base_model_prefix
        torch.testing.assert_close(base(**inputs).last_hidden_state,
                                   getattr(head_ref, prefix)(**inputs).last_hidden_state, atol=TOL, rtol=0)
        torch.testing.assert_close(getattr(head, prefix)(**inputs).last_hidden_state,
                                   base_ref(**inputs).last_hidden_state, atol=TOL, rtol=0)


def test_output_access_styles(checkpoints):
    folder, _ = checkpoints("bert", "AutoModelForSequenceClassification")
    model = loaders.AutoModelForSequenceClassification.from_pretrained(folder)
    with torch.no_grad():
        out = model(**batch(0, True))
    assert out.logits is out["logits"] is out[0]
    assert list(out.keys()) == ["logits"] and out.to_tuple() == (out.logits,)
    with pytest.raises(KeyError):
        out["hidden_states"]
    with torch.no_grad():
        single = model(input_ids=[5, 6, 7])  # a plain list, one sequence
    assert single.logits.shape == (1, 2)


def test_minilm_parity(minilm_dir):
    """The real packaged all-MiniLM-L6-v2 (BertModel, 6 layers, 384 wide) against transformers."""
    tok = T.AutoTokenizer.from_pretrained(minilm_dir)
    enc = tok(["Hola, esto es una prueba.", "A longer second sentence, to make padding happen here."],
              padding=True, return_tensors="pt")
    ref = T.AutoModel.from_pretrained(minilm_dir, dtype=torch.float32, attn_implementation="eager").eval()
    ours = loaders.AutoModel.from_pretrained(minilm_dir)
    assert type(ours).__name__ == "BertModel" and ours.loading_report.missing_keys == []
    with torch.no_grad():
        expected = ref(**enc, output_hidden_states=True, output_attentions=True)
        got = ours(**enc, output_hidden_states=True, output_attentions=True)
        fast = ours(**enc)
    assert_outputs_match(expected, got)
    torch.testing.assert_close(fast.last_hidden_state, expected.last_hidden_state, atol=TOL, rtol=0)
    torch.testing.assert_close(fast.pooler_output, expected.pooler_output, atol=TOL, rtol=0)


def test_minilm_bfloat16_runs(minilm_dir):
    ours = loaders.AutoModel.from_pretrained(minilm_dir, dtype="bfloat16")
    ref = loaders.AutoModel.from_pretrained(minilm_dir)
    ids = torch.tensor([[101, 7592, 2088, 102]])
    with torch.no_grad():
        low, full = ours(input_ids=ids).last_hidden_state, ref(input_ids=ids).last_hidden_state
    assert low.dtype == torch.bfloat16 and (low.float() - full).abs().max().item() < 0.1


def test_too_long_input_is_an_input_error(minilm_dir):
    model = loaders.AutoModel.from_pretrained(minilm_dir)
    with pytest.raises(loaders.LoaderError, match="truncat"):
        model(input_ids=torch.ones(1, 600, dtype=torch.long))


def test_every_registered_encoder_kind_resolves():
    for model_type in ("bert", "distilbert", "roberta", "xlm-roberta"):
        for kind in KINDS:
            from loaders.modeling.auto import model_class

            assert model_class(kind, model_type).__name__.endswith(
                {"AutoModel": "Model"}.get(kind, kind.removeprefix("AutoModel")))
    assert set(AUTO_CLASSES) >= set(KINDS)


def test_distilbert_sinusoids_match_transformers():
    from transformers.models.distilbert.modeling_distilbert import create_sinusoidal_embeddings

    from loaders.models.distilbert import sinusoids

    expected = create_sinusoidal_embeddings(40, 32, torch.empty(40, 32))
    torch.testing.assert_close(sinusoids(40, 32), expected, atol=1e-6, rtol=0)


def test_missing_sinusoidal_table_is_rebuilt(tmp_path):
    """A sinusoidal DistilBERT checkpoint without its (fixed) position table still matches transformers."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    config = CONFIGS["distilbert-sinusoidal"]()
    ref = T.DistilBertModel(config).eval()
    ref.save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    del tensors["embeddings.position_embeddings.weight"]
    save_file(tensors, tmp_path / "model.safetensors")
    ours = loaders.AutoModel.from_pretrained(tmp_path)
    assert ours.loading_report.missing_keys == ["embeddings.position_embeddings.weight"]
    with torch.no_grad():
        inputs = batch(0, False)
        torch.testing.assert_close(ours(**inputs).last_hidden_state, ref(**inputs).last_hidden_state,
                                   atol=TOL, rtol=0)
