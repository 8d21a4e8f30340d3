"""The Tokenizer tab in the real app, driven by headless Chromium, and its /tokenize API endpoint."""

from __future__ import annotations

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from test_tokenizer_tab import HOBBIT, TUTORIAL_IDS, tiny_bpe_checkpoint

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)  # a shared, busy machine: give the app time to answer

SENTENCE = "The hobbit was hungry."


def out(page, side: str = "a"):
    return page.locator(f"#ce-tok-out-{side}")


def chips(page, side: str = "a") -> list[tuple[str, str]]:
    """(token, id) of every chip in the first card's token strip."""
    texts = out(page, side).locator(".ce-tok-card").first.locator(".ce-strip .ce-chip").all_inner_texts()
    return [tuple(t.split("\n")) for t in texts]


def tokenize(page, text: str | None = None, checkpoint: str | None = None) -> None:
    if checkpoint is not None:
        page.locator("#ce-tok-ckpt input, #ce-tok-ckpt textarea").first.fill(checkpoint)
    if text is not None:
        page.locator("#ce-tok-text textarea").fill(text)
    page.locator("#ce-tok-run").click()


def test_typed_sentence_shows_tokens_and_ids(page):
    # A first visit already shows the tutorial sentence.
    expect(out(page).locator(".ce-strip .ce-chip")).to_have_count(15)
    assert [int(i) for _, i in chips(page)] == TUTORIAL_IDS

    tokenize(page, SENTENCE)
    highlight = out(page).locator(".ce-hl").first
    expect(highlight).to_contain_text("hungry")
    assert chips(page) == [("[CLS]", "101"), ("the", "1996"), ("ho", "7570"), ("##bb", "10322"), ("##it", "4183"),
                           ("was", "2001"), ("hungry", "7501"), (".", "1012"), ("[SEP]", "102")]
    # each token sits over its own characters; special tokens are chips apart
    assert highlight.locator(".ce-tk").all_inner_texts() == ["The", "ho", "bb", "it", "was", "hungry", "."]
    assert highlight.locator(".ce-sp").all_inner_texts() == ["[CLS]", "[SEP]"]
    assert "id 10322" in highlight.locator('.ce-tk[data-pos="3"]').get_attribute("data-tip")
    # the table row of ##bb, and hovering the token highlights it
    row = out(page).locator('tr[data-pos="3"]').first
    expect(row).to_contain_text("##bb")
    expect(row).to_contain_text("10322")
    highlight.locator('.ce-tk[data-pos="3"]').hover()
    expect(row).to_have_class("hl")
    expect(out(page).locator(".ce-tok-counts").first).to_contain_text("9 tokens")
    expect(page.locator("#ce-tok-trace")).to_contain_text("tokenizer_config.json")
    screenshot(page, "tokenizer_single")


def test_pair_padding_and_truncation_are_visible(page):
    expect(out(page).locator(".ce-strip .ce-chip")).to_have_count(15)
    page.locator("#ce-tok-pair textarea").fill("Not a nasty, dirty, wet hole.")
    page.locator("#ce-tok-padding").get_by_text("max_length", exact=True).click()
    page.get_by_label("Max length (0: none)").fill("24")
    page.get_by_label("Truncation").click()
    page.get_by_role("option", name="longest_first").click()
    tokenize(page)
    card = out(page).locator(".ce-tok-card").first
    expect(card.locator(".ce-stat.warn")).to_contain_text("tokens cut by truncation (max_length 24)")
    expect(card.locator(".ce-hl .ce-out").first).to_be_visible()
    expect(card.locator(".ce-strip .ce-chip")).to_have_count(24)
    screenshot(page, "tokenizer_pair_truncated")


def test_compare_mode(page, tmp_path):
    bpe = tiny_bpe_checkpoint(tmp_path)
    expect(out(page).locator(".ce-strip .ce-chip")).to_have_count(15)
    page.locator("#ce-tok-compare input[type=checkbox]").check()
    page.locator("#ce-tok-ckpt-b input, #ce-tok-ckpt-b textarea").first.fill(bpe)
    tokenize(page, HOBBIT)
    expect(out(page, "b").locator(".ce-tok-head")).to_contain_text("tiny-bpe")
    tokens_b = [t for t, _ in chips(page, "b")]
    assert "".join(tokens_b).replace("Ġ", " ") == HOBBIT
    assert [int(i) for _, i in chips(page, "a")] == TUTORIAL_IDS
    expect(out(page, "b").locator(".ce-facts")).to_contain_text("GPT2Tokenizer")
    screenshot(page, "tokenizer_compare")


def test_error_is_a_message_and_the_app_keeps_working(page, tmp_path):
    expect(out(page).locator(".ce-strip .ce-chip")).to_have_count(15)
    tokenize(page, checkpoint=str(tmp_path / "no-such-folder"))
    toast = page.locator(".toast-body").first
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("no-such-folder")
    assert "Traceback" not in toast.inner_text()
    page.wait_for_timeout(800)  # let the toast finish fading in before the screenshot
    screenshot(page, "tokenizer_error")
    tokenize(page, SENTENCE, checkpoint="sentence-transformers/all-MiniLM-L6-v2")
    expect(out(page).locator(".ce-hl").first).to_contain_text("hungry")


def test_tokenize_api_endpoint(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    html_a, html_b, trace, result = client.predict(
        "sentence-transformers/all-MiniLM-L6-v2", HOBBIT, "", False, True, "none", "none", None, 0, False, False, "",
        api_name="/tokenize")
    row = result["rows"][0]
    assert row["input_ids"] == TUTORIAL_IDS and row["token_type_ids"] == [0] * 15
    assert row["tokens"][10:13] == ["ho", "##bb", "##it"]
    assert result["facts"]["class"] == "BertTokenizer" and "##bb" in html_a and html_b == ""
