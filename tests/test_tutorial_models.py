"""The tutorial's AutoModel section (seeds/000_…: "## AutoModel") run with `from loaders import …`.

The tutorial loads "distilbert/distilbert-base-uncased" (a DistilBertForMaskedLM checkpoint) once
as a sequence classifier and once as a token classifier. Offline, the same repo id resolves to a
tiny checkpoint with that layout placed in a temporary Hugging Face cache, so the tutorial's code
runs verbatim apart from the import line. Both heads are missing from the checkpoint, and the
loading report has to say so in plain words, exactly as transformers' loading info does.
"""

from __future__ import annotations

import textwrap

import pytest
import torch
import transformers as T

REPO = "distilbert/distilbert-base-uncased"
COMMIT = "0" * 40

# The tutorial's two code blocks, verbatim except the import line.
SEQUENCE_BLOCK = """
>>> from transformers import AutoModelForSequenceClassification

>>> model = AutoModelForSequenceClassification.from_pretrained("distilbert/distilbert-base-uncased")
"""
TOKEN_BLOCK = """
>>> from transformers import AutoModelForTokenClassification

>>> model = AutoModelForTokenClassification.from_pretrained("distilbert/distilbert-base-uncased")
"""
VOCAB = ["[PAD]"] + [f"[unused{i}]" for i in range(5)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + \
    "the a cat dog sat on mat hello world esto es una prueba hola , . ! ?".split()


def run_block(block: str) -> dict:
    code = "\n".join(line.removeprefix(">>> ") for line in textwrap.dedent(block).strip().splitlines())
    code = code.replace("from transformers import", "from loaders import")
    scope: dict = {}
    exec(compile(code, "<tutorial>", "exec"), scope)  # noqa: S102 — our own test text
    return scope


@pytest.fixture
def distilbert_repo(tmp_path, monkeypatch):
    """A tiny DistilBertForMaskedLM laid out like the Hub repo, inside a temporary HF cache."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    repo_dir = cache / ("models--" + REPO.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    torch.manual_seed(0)
    config = T.DistilBertConfig(vocab_size=len(VOCAB), dim=32, n_layers=2, n_heads=4, hidden_dim=37)
    T.DistilBertForMaskedLM(config).eval().save_pretrained(snapshot)
    (snapshot / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    T.BertTokenizerFast(vocab_file=str(snapshot / "vocab.txt"), do_lower_case=True,
                        model_max_length=512).save_pretrained(snapshot)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return snapshot


@pytest.mark.parametrize("block,head,kind", [
    (SEQUENCE_BLOCK, ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"],
     "AutoModelForSequenceClassification"),
    (TOKEN_BLOCK, ["classifier.bias", "classifier.weight"], "AutoModelForTokenClassification"),
])
def test_tutorial_block_runs_and_reports_untrained_head(distilbert_repo, block, head, kind):
    model = run_block(block)["model"]
    assert type(model).__name__ == kind.replace("AutoModel", "DistilBert")
    report = model.loading_report
    assert report.missing_keys == head  # the head is not in a masked-LM checkpoint …
    assert sorted(report.unexpected_keys) == ["vocab_layer_norm.bias", "vocab_layer_norm.weight",
                                              "vocab_projector.bias", "vocab_transform.bias",
                                              "vocab_transform.weight"]  # … and the MLM head is not used
    warning = next(w for w in report.warnings if "newly initialised" in w)
    assert "untrained" in warning and "fine-tuned" in warning
    # transformers reports the same keys for the same checkpoint.
    _, info = getattr(T, kind).from_pretrained(distilbert_repo, output_loading_info=True)
    assert report.info() == info
    # The trace shows what the checkpoint was trained as, and that it did not pick the head.
    arch = next(s for s in model.trace if s.key == "architectures")
    assert arch.value == ["DistilBertForMaskedLM"] and "shown only" in arch.decision


def test_tutorial_model_runs_on_tokenizer_output(distilbert_repo):
    from loaders import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(REPO)
    model = AutoModelForSequenceClassification.from_pretrained(REPO)
    enc = tokenizer(["hola, esto es una prueba.", "the cat sat on the mat!"], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)  # token_type_ids from the BERT tokenizer are accepted and unused
    assert out.logits.shape == (2, 2)
    probs = out.logits.softmax(-1)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2))
