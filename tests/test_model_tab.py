"""Model tab handlers without a browser: every task head's output structure and numbers (vs transformers),
the rendered views, the API functions, the model cache, and error-then-recovery."""

from __future__ import annotations

import json
import shutil

import gradio as gr
import pytest
import torch

from components import model_tab as tab
from loaders import tasks

TEXT = "Paris is the [MASK] of France."
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]
TINY_BERT = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 37, "max_position_embeddings": 64}


def save_bert(folder, minilm_dir, head: str, **config):
    """A tiny transformers BERT with `head`, saved with the packaged MiniLM's tokenizer files."""
    import transformers

    torch.manual_seed(0)
    model = getattr(transformers, head)(transformers.BertConfig(**TINY_BERT, **config)).eval()
    model.save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(minilm_dir / name, folder / name)
    return folder


def save_gpt2(folder):
    """A tiny GPT-2 with a byte-level BPE tokenizer trained on a few sentences."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["The quick brown fox jumps over the lazy dog.", "Once upon a time there was a model."] * 20,
                            trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "model_max_length": 128}))
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=32, n_layer=2, n_head=4, n_positions=128,
                                     bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, minilm_dir):
    root = tmp_path_factory.mktemp("tiny")
    return {
        "mlm": save_bert(root / "mlm", minilm_dir, "BertForMaskedLM"),
        "cls": save_bert(root / "cls", minilm_dir, "BertForSequenceClassification",
                         id2label={0: "negative", 1: "neutral", 2: "positive"}),
        "tok": save_bert(root / "tok", minilm_dir, "BertForTokenClassification",
                         id2label={0: "O", 1: "B-LOC", 2: "I-LOC", 3: "B-PER"}),
        "qa": save_bert(root / "qa", minilm_dir, "BertForQuestionAnswering"),
        "gpt2": save_gpt2(root / "gpt2"),
    }


def transformers_model(folder, head: str):
    import transformers

    return getattr(transformers, head).from_pretrained(folder, dtype=torch.float32).eval()


def reference_inputs(folder, *texts):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(folder)(*texts, return_tensors="pt")


# --------------------------------------------------------------------------------------------- task choice
def test_task_options_follow_architectures(tiny, minilm_dir):
    kinds, default, archs = tasks.task_options(str(tiny["cls"]))
    assert default == "AutoModelForSequenceClassification" and archs == "BertForSequenceClassification"
    assert kinds == ["AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification",
                     "AutoModelForTokenClassification", "AutoModelForQuestionAnswering"]
    assert tasks.task_options(str(tiny["gpt2"]))[:2] == (["AutoModel", "AutoModelForCausalLM",
                                                          "AutoModelForSequenceClassification"],
                                                         "AutoModelForCausalLM")
    assert tasks.task_options(str(minilm_dir))[1] == "AutoModel"
    update, note = tab.on_checkpoint(str(tiny["cls"]))
    assert update["value"] == "AutoModelForSequenceClassification" and "BertForSequenceClassification" in note


# --------------------------------------------------------------------------------------------- heads
def test_base_model_on_minilm(minilm_dir):
    run = tasks.run_model(str(minilm_dir), "AutoModel", "float32", "In this tutorial we learn to load a model.")
    out, s = run.data["output"], run.data["summary"]
    assert out["kind"] == "base" and len(out["embedding"]) == 384 and len(out["layer_norms"]) == 7
    assert out["pooled_from"].startswith("pooler_output")
    assert (s["family"], s["class"], s["layers"], s["heads"], s["hidden_size"]) == ("bert", "BertModel", 6, 12, 384)
    assert s["parameters"] == 22_713_216 and set(s["per_module"]) == {"embeddings", "encoder", "pooler"}
    assert s["memory_bytes"] >= 4 * s["parameters"]
    n = len(run.tokens)
    assert run.attentions.shape == (6, 12, n, n)
    import transformers

    ref_model = transformers.BertModel.from_pretrained(minilm_dir, dtype=torch.float32, attn_implementation="eager")
    ref = ref_model.eval()(**reference_inputs(minilm_dir, "In this tutorial we learn to load a model."),
                           output_attentions=True)
    ref_att = torch.stack([a[0] for a in ref.attentions])
    torch.testing.assert_close(torch.tensor(run.attentions).float(), ref_att, atol=1e-3, rtol=0)  # float16 kept
    torch.testing.assert_close(torch.tensor(out["embedding"]), ref.pooler_output[0], atol=1e-4, rtol=0)
    assert not run.data["loading_report"]["untrained"]
    json.dumps(run.data)


def test_long_input_keeps_small_attention_maps(minilm_dir):
    run = tasks.run_model(str(minilm_dir), "AutoModel", "float32", "word " * 400)
    assert len(run.tokens) == tasks.MAX_TOKENS and run.data["truncated"]
    assert run.attentions.shape == (6, 12, 64, 64)
    assert "truncated to 256 tokens" in tab.render_output(run.data)
    assert "First 64 of 256 tokens" in tab.render_attention({"tokens": run.tokens, "attentions": run.attentions}, 0, 0)


def test_sequence_classification_matches_transformers(tiny):
    run = tasks.run_model(str(tiny["cls"]), "AutoModelForSequenceClassification", "float32", "a fine day")
    out = run.data["output"]
    assert out["labels"] == ["negative", "neutral", "positive"] and out["activation"] == "softmax"
    ref = transformers_model(tiny["cls"], "BertForSequenceClassification")(**reference_inputs(tiny["cls"], "a fine day"))
    torch.testing.assert_close(torch.tensor(out["probabilities"]), ref.logits[0].softmax(-1), atol=1e-4, rtol=0)
    html = tab.render_output(run.data)
    assert "positive" in html and "config.id2label" in html


def test_token_classification(tiny):
    run = tasks.run_model(str(tiny["tok"]), "AutoModelForTokenClassification", "float32", "Ada lives in London")
    out = run.data["output"]
    assert [r["token"] for r in out["tokens"]] == ["ada", "lives", "in", "london"]  # specials skipped
    assert all(r["label"] in out["labels"] and 0 < r["probability"] <= 1 for r in out["tokens"])
    ref = transformers_model(tiny["tok"], "BertForTokenClassification")(**reference_inputs(tiny["tok"],
                                                                                           "Ada lives in London"))
    expected = ref.logits[0, 1:-1].argmax(-1).tolist()
    assert [["O", "B-LOC", "I-LOC", "B-PER"].index(r["label"]) for r in out["tokens"]] == expected


def test_masked_lm_candidates_match_transformers(tiny):
    run = tasks.run_model(str(tiny["mlm"]), "AutoModelForMaskedLM", "float32", TEXT, top_k=3)
    (mask,) = run.data["output"]["masks"]
    ref_inputs = reference_inputs(tiny["mlm"], TEXT)
    pos = int((ref_inputs["input_ids"][0] == 103).nonzero())
    assert mask["position"] == pos
    probs = transformers_model(tiny["mlm"], "BertForMaskedLM")(**ref_inputs).logits[0, pos].softmax(-1)
    p, idx = probs.topk(3)
    assert [c["id"] for c in mask["candidates"]] == idx.tolist()
    torch.testing.assert_close(torch.tensor([c["probability"] for c in mask["candidates"]]), p, atol=1e-5, rtol=0)
    assert not run.data["loading_report"]["untrained"]


def test_masked_lm_without_mask_says_so(tiny):
    out = tasks.run_model(str(tiny["mlm"]), "AutoModelForMaskedLM", "float32", "no mask here").data["output"]
    assert out["masks"] == [] and "[MASK]" in out["note"]
    assert "[MASK]" in tab.render_output({"output": out, "tokens": []})


def test_causal_lm_continuation_matches_transformers_greedy(tiny):
    run = tasks.run_model(str(tiny["gpt2"]), "AutoModelForCausalLM", "float32", "The quick brown", max_new_tokens=8)
    out = run.data["output"]
    assert len(out["next_token"]) == 5 and out["settings"]["strategy"] == "greedy"
    ref_model = transformers_model(tiny["gpt2"], "GPT2LMHeadModel")
    ids = reference_inputs(tiny["gpt2"], "The quick brown")["input_ids"]
    assert run.data["input_ids"] == ids[0].tolist()
    ref = ref_model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=0, eos_token_id=None)
    steps = out["steps"]
    assert [s["id"] for s in steps] == ref[0, ids.shape[1]:].tolist()[:len(steps)]
    assert steps[0]["id"] == out["next_token"][0]["id"]  # greedy picks the top next token
    assert steps[0]["probability"] == pytest.approx(out["next_token"][0]["probability"], abs=1e-5)
    assert all(0 < s["probability"] <= 1 for s in steps)
    assert "Continuation" in tab.render_output(run.data)


def test_causal_lm_sampling_is_seeded(tiny):
    kw = {"max_new_tokens": 6, "do_sample": True, "temperature": 1.5}
    a = tasks.run_model(str(tiny["gpt2"]), "AutoModelForCausalLM", "float32", "Once", seed=1, **kw)
    b = tasks.run_model(str(tiny["gpt2"]), "AutoModelForCausalLM", "float32", "Once", seed=1, **kw)
    assert a.data["output"]["steps"] == b.data["output"]["steps"]
    assert a.data["output"]["settings"]["strategy"] == "sampling"


def test_question_answering_span(tiny):
    context = "Ada Lovelace wrote the first program in London."
    run = tasks.run_model(str(tiny["qa"]), "AutoModelForQuestionAnswering", "float32", context, "Who wrote it?")
    out = run.data["output"]
    start, end = out["char_span"]
    assert out["answer"] == context[start:end] and out["answer"]
    s, e = out["token_span"]
    assert s <= e and out["start_top"] and out["end_top"]
    ref = transformers_model(tiny["qa"], "BertForQuestionAnswering")(**reference_inputs(tiny["qa"], "Who wrote it?",
                                                                                        context))
    best_start = out["start_top"][0]["index"]
    type_ids = reference_inputs(tiny["qa"], "Who wrote it?", context)["token_type_ids"][0]
    ctx_idx = [i for i, t in enumerate(type_ids.tolist()) if t == 1][:-1]  # context tokens, not the final [SEP]
    assert best_start == ctx_idx[int(ref.start_logits[0, ctx_idx].argmax())]
    assert "ce-answer" in tab.render_output(run.data)


def test_question_answering_needs_a_question(tiny):
    with pytest.raises(gr.Error, match="question"):
        tab.on_run(str(tiny["qa"]), "AutoModelForQuestionAnswering", "float32", "cpu", "context", "", 5, 5, False,
                   1.0, 0)


# --------------------------------------------------------------------------------------------- the tab
def test_on_run_renders_every_view(tiny, minilm_dir):
    outs = tab.on_run(str(minilm_dir), "AutoModelForMaskedLM", "float32", "cpu", TEXT, "", 5, 5, False, 1.0, 0)
    summary, report, output, layer, head, attention, overview, trace, state = outs
    assert "BertForMaskedLM" in summary and "Module tree" in summary and "<details" in summary
    assert "untrained" in report and "random" in report  # MiniLM has no MLM head: red warning
    assert "top candidates" in output
    assert layer["maximum"] == 5 and head["maximum"] == 11
    assert attention.count("<rect") == len(state["tokens"]) ** 2
    assert overview.count("<img") == 6 * 12
    assert "AutoModelForMaskedLM" in trace and "config.json" in trace
    assert "Layer 3, head 7" in tab.on_attention(state, 3, 7)
    assert "Layer 5, head 11" in tab.on_attention(state, 99, 99)  # clamped


def test_error_then_recovery(tiny, tmp_path):
    with pytest.raises(gr.Error, match="does not exist"):
        tab.on_run(str(tmp_path / "nope"), "AutoModel", "float32", "cpu", "hi", "", 5, 5, False, 1.0, 0)
    with pytest.raises(gr.Error, match="empty"):
        tab.on_run(str(tiny["cls"]), "AutoModel", "float32", "cpu", "  ", "", 5, 5, False, 1.0, 0)
    with pytest.raises(gr.Error, match="no AutoModelForQuestionAnswering"):
        tab.on_run(str(tiny["gpt2"]), "AutoModelForQuestionAnswering", "float32", "cpu", "hi", "q", 5, 5, False, 1.0, 0)
    outs = tab.on_run(str(tiny["cls"]), "AutoModelForSequenceClassification", "float32", "cpu", "hi", "", 5, 5, False,
                      1.0, 0)
    assert "neutral" in outs[2]


def test_untrained_head_on_base_checkpoint_is_red(tiny):
    outs = tab.on_run(str(tiny["mlm"]), "AutoModelForSequenceClassification", "float32", "cpu", "hi", "", 5, 5, False,
                      1.0, 0)
    assert "ce-report untrained" in outs[1] and "classifier" in outs[1]


def test_models_are_cached_per_key(tiny):
    a = tasks.load_model(str(tiny["cls"]), "AutoModel", "float32")
    assert tasks.load_model(str(tiny["cls"]), "AutoModel", "float32") is a
    b = tasks.load_model(str(tiny["cls"]), "AutoModel", "bfloat16")
    assert b is not a and b.dtype == torch.bfloat16
    assert len(tasks.MODELS) <= tasks.MODELS.capacity


def test_bfloat16_run(tiny):
    run = tasks.run_model(str(tiny["cls"]), "AutoModelForSequenceClassification", "bfloat16", "hi")
    assert run.data["summary"]["dtype"] == "bfloat16"
    assert sum(run.data["output"]["probabilities"]) == pytest.approx(1.0, abs=1e-3)


def test_api_functions_return_json(tiny, minilm_dir):
    data = tab.run_model_api(str(tiny["cls"]), "AutoModelForSequenceClassification", "float32", "hi")
    assert json.loads(json.dumps(data))["output"]["labels"] == ["negative", "neutral", "positive"]
    assert {"summary", "loading_report", "tokens", "trace"} <= set(data)
    weights = tab.inspect_weights_api(str(minilm_dir))
    assert weights["total_params"] == 22_713_728 and json.dumps(weights)
    with pytest.raises(gr.Error):
        tab.inspect_weights_api("")


def test_on_inspect_renders(tiny):
    html, trace = tab.on_inspect(str(tiny["gpt2"]))
    assert "transformer.h.{i} × 2" in html and "bfloat16" in html and "Every tensor" in html
    assert "model.safetensors" in trace


def test_app_registers_the_api_endpoints():
    from app import build_app

    names = {d.api_name for d in build_app().fns.values()}
    assert {"run_model", "inspect_weights"} <= names


# --------------------------------------------------------------------------------------------- other families
def save_family(folder, tokenizer_from, hf_class: str, hf_config: str, **config):
    """A tiny transformers model of another family, with the tokenizer files of `tokenizer_from`."""
    import transformers

    torch.manual_seed(0)
    getattr(transformers, hf_class)(getattr(transformers, hf_config)(**config)).eval().save_pretrained(folder)
    for f in tokenizer_from.iterdir():
        if f.name.startswith("tokenizer") or f.name in ("vocab.txt", "special_tokens_map.json"):
            shutil.copy(f, folder / f.name)
    return folder


def test_llama_causal_lm_in_the_tab(tiny, tmp_path):
    folder = save_family(tmp_path / "llama", tiny["gpt2"], "LlamaForCausalLM", "LlamaConfig", vocab_size=300,
                         hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=128, bos_token_id=0, eos_token_id=0)
    assert tasks.task_options(str(folder))[1] == "AutoModelForCausalLM"
    run = tasks.run_model(str(folder), "AutoModelForCausalLM", "float32", "The quick brown", max_new_tokens=6)
    s = run.data["summary"]
    assert (s["family"], s["layers"], s["heads"], s["kv_heads"], s["hidden_size"]) == ("llama", 2, 4, 2, 32)
    ids = torch.tensor([run.data["input_ids"]])
    ref = transformers_model(folder, "LlamaForCausalLM").generate(ids, max_new_tokens=6, do_sample=False,
                                                                  pad_token_id=0, eos_token_id=None)
    steps = run.data["output"]["steps"]
    assert [st["id"] for st in steps] == ref[0, ids.shape[1]:].tolist()[:len(steps)]
    assert run.attentions.shape[:2] == (2, 4)  # attention probabilities also from the decoder
    assert "4 (key/value: 2)" in tab.render_summary(s, run.model)


def test_distilbert_summary_reads_its_own_config_keys(tmp_path, minilm_dir):
    folder = save_family(tmp_path / "distil", minilm_dir, "DistilBertForMaskedLM", "DistilBertConfig", dim=32,
                         n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64)
    run = tasks.run_model(str(folder), "AutoModelForMaskedLM", "float32", TEXT)
    s = run.data["summary"]
    assert (s["family"], s["layers"], s["heads"], s["hidden_size"]) == ("distilbert", 2, 4, 32)
    assert run.data["output"]["masks"] and not run.data["loading_report"]["untrained"]


# --------------------------------------------------------------------------------------------- devices
def test_devices_follow_cuda_availability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert tab.devices() == ["cpu"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert tab.devices() == ["cpu", "cuda"]


def test_unknown_device_is_refused(tiny):
    with pytest.raises(gr.Error, match="not available"):
        tab.on_run(str(tiny["cls"]), "AutoModel", "float32", "tpu", "hi", "", 5, 5, False, 1.0, 0)
