"""The Model tab in the real app (headless Chromium): run models, read the views, inspect weights."""

from __future__ import annotations

import pytest
from conftest import screenshot
from test_inspect import header_for, llama70b_shapes, write_header_only
from test_model_tab import save_bert, save_gpt2

pytestmark = pytest.mark.browser


def open_model_tab(page):
    page.get_by_role("tab", name="Model", exact=True).click()
    page.locator("#model-run-button").wait_for()


def set_checkpoint(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input, #{elem_id} textarea").first
    box.fill(value)
    box.press("Enter")


def test_run_default_minilm(page):
    open_model_tab(page)
    page.locator("#model-run-button").click()
    summary = page.locator("#model-summary")
    summary.get_by_text("BertModel").first.wait_for()
    assert "22.7M" in summary.inner_text()
    report = page.locator("#model-report")
    assert "Every weight of BertModel came from the checkpoint" in report.inner_text()
    assert page.locator("#model-attention svg rect").count() > 50
    assert "Sentence embedding" in page.locator("#model-output").inner_text()
    summary.get_by_text("Module tree").click()
    summary.get_by_text("BertEncoder").wait_for()
    page.locator("#model-head input[type=number]").fill("3")
    page.locator("#model-head input[type=number]").press("Enter")
    page.locator("#model-attention").get_by_text("Layer 0, head 3").wait_for()
    screenshot(page, "model_minilm_base")


def test_masked_lm_and_classification_from_local_folders(page, tmp_path, minilm_dir):
    mlm = save_bert(tmp_path / "tiny-mlm", minilm_dir, "BertForMaskedLM")
    cls = save_bert(tmp_path / "tiny-cls", minilm_dir, "BertForSequenceClassification",
                    id2label={0: "negative", 1: "neutral", 2: "positive"})
    open_model_tab(page)
    set_checkpoint(page, "model-checkpoint", str(mlm))
    page.get_by_text("config.json architectures").wait_for()
    page.wait_for_function("document.querySelector('#model-task input').value.includes('masked LM')")
    page.locator("#model-run-button").click()
    page.locator("#model-output").get_by_text("top candidates").wait_for()
    assert "BertForMaskedLM" in page.locator("#model-summary").inner_text()
    screenshot(page, "model_tiny_mlm")

    set_checkpoint(page, "model-checkpoint", str(cls))
    page.wait_for_function("document.querySelector('#model-task input').value.includes('sequence classification')")
    page.locator("#model-run-button").click()
    page.locator("#model-output").get_by_text("positive").wait_for()
    assert "Label probabilities" in page.locator("#model-output").inner_text()
    page.get_by_text("All heads overview").click()
    page.locator("#model-overview img").first.wait_for()
    assert page.locator("#model-overview img").count() == 2 * 4
    screenshot(page, "model_tiny_cls")


def test_untrained_head_shows_red_report_and_error_recovers(page, tmp_path):
    open_model_tab(page)
    set_checkpoint(page, "model-checkpoint", str(tmp_path / "does-not-exist"))
    page.locator("#model-run-button").click()
    page.get_by_text("does not exist").first.wait_for()
    screenshot(page, "model_error")
    set_checkpoint(page, "model-checkpoint", "sentence-transformers/all-MiniLM-L6-v2")
    page.locator("#model-task input").click()
    page.get_by_role("option", name="masked LM (AutoModelForMaskedLM)").click()
    page.locator("#model-run-button").click()
    page.locator("#model-report .untrained").wait_for()
    assert "random" in page.locator("#model-report").inner_text()
    screenshot(page, "model_untrained_head")


def test_causal_lm_and_question_answering(page, tmp_path, minilm_dir):
    gpt2 = save_gpt2(tmp_path / "tiny-gpt2")
    qa = save_bert(tmp_path / "tiny-qa", minilm_dir, "BertForQuestionAnswering")
    open_model_tab(page)
    set_checkpoint(page, "model-checkpoint", str(gpt2))
    page.wait_for_function("document.querySelector('#model-task input').value.includes('causal LM')")
    page.locator("#model-text textarea").fill("The quick brown")
    page.locator("#model-run-button").click()
    page.locator("#model-output").get_by_text("Continuation").wait_for()
    assert "Next-token distribution" in page.locator("#model-output").inner_text()
    screenshot(page, "model_tiny_gpt2")

    set_checkpoint(page, "model-checkpoint", str(qa))
    page.wait_for_function("document.querySelector('#model-task input').value.includes('question answering')")
    page.locator("#model-question input, #model-question textarea").first.wait_for()
    page.locator("#model-text textarea").fill("Ada Lovelace wrote the first program in London.")
    page.locator("#model-run-button").click()
    page.locator("#model-output .ce-answer").wait_for()
    assert "Start position" in page.locator("#model-output").inner_text()
    screenshot(page, "model_tiny_qa")


def test_weights_inspector(page, tmp_path):
    open_model_tab(page)
    page.get_by_role("tab", name="Weights inspector").click()
    page.locator("#weights-button").click()
    out = page.locator("#weights-report")
    out.get_by_text("encoder.layer.{i} × 6").wait_for()
    text = out.inner_text()
    assert "22.7M" in text and "int4" in text and "F32" in text
    screenshot(page, "model_weights_inspector")

    header, data = header_for(llama70b_shapes())
    write_header_only(tmp_path / "model.safetensors", header, data_bytes=data)  # sparse: 141 GB, no blocks
    set_checkpoint(page, "weights-checkpoint", str(tmp_path))
    out.get_by_text("model.layers.{i} × 80").wait_for()
    text = out.inner_text()
    assert "70.6B" in text and "131 GiB" in text  # bfloat16 weights
    screenshot(page, "model_weights_inspector_70b")


def test_api_endpoints(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    data = client.predict("sentence-transformers/all-MiniLM-L6-v2", "AutoModel", "float32", "Hello world", "", 5, 20,
                          api_name="/run_model")
    assert data["class"] == "BertModel" and data["output"]["kind"] == "base"
    assert data["tokens"] == ["[CLS]", "hello", "world", "[SEP]"]
    weights = client.predict("sentence-transformers/all-MiniLM-L6-v2", api_name="/inspect_weights")
    assert weights["total_params"] == 22_713_728 and weights["groups"][1]["name"] == "encoder.layer.{i}"
