"""The Tokenizer tab without a browser: the HTML renderers on hand-made rows, and the handler
(`tokenize`, also the /tokenize endpoint) on the packaged MiniLM and tiny checkpoints built here."""

from __future__ import annotations

import html
import json
import re

import gradio as gr
import pytest

from components import tokenizer_tab as tab
from components import tokenizer_view as view

HOBBIT = "In a hole in the ground there lived a hobbit."
TUTORIAL_IDS = [101, 1999, 1037, 4920, 1999, 1996, 2598, 2045, 2973, 1037, 7570, 10322, 4183, 1012, 102]


# --- renderers on hand-made rows ----------------------------------------------------------------
def make_row(**over) -> dict:
    """`[CLS] ho ##bb ##it ! [SEP] [PAD]` for the text "ho-bbit!" style offsets."""
    row = {"label": "Text", "texts": ["hobbit!", None],
           "tokens": ["[CLS]", "ho", "##bb", "##it", "!", "[SEP]", "[PAD]"],
           "input_ids": [101, 7570, 10322, 4183, 999, 102, 0],
           "attention_mask": [1, 1, 1, 1, 1, 1, 0], "token_type_ids": [0] * 7,
           "special_tokens_mask": [1, 0, 0, 0, 0, 1, 1],
           "offsets": [[0, 0], [0, 2], [2, 4], [4, 6], [6, 7], [0, 0], [0, 0]],
           "sequence_ids": [None, 0, 0, 0, 0, None, None], "word_ids": [None, 0, 0, 0, 1, None, None],
           "decoded": "[CLS] hobbit! [SEP] [PAD]", "decoded_skip": "hobbit!", "cut": 0, "windows": 1, "window": 0}
    row.update(over)
    return row


def shown_text(markup: str) -> str:
    """The characters of the text as the highlight shows them: token spans and gaps, chips left out."""
    markup = re.sub(r'<span class="ce-sp[^"]*"[^>]*>.*?</span>', "", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_counts_separate_content_special_and_padding():
    c = view.row_counts(make_row())
    assert c == {"tokens": 7, "padding": 1, "special": 2, "content": 4, "characters": 7, "chars_per_token": 1.75}


def test_highlight_puts_each_token_over_its_characters():
    markup = view.highlight_html(make_row(), 7)
    spans = re.findall(r'<span class="ce-tk ce-h(\d)" data-pos="(\d+)" data-tip="([^"]*)">([^<]*)</span>', markup)
    assert [(pos, text) for _, pos, _, text in spans] == [("1", "ho"), ("2", "bb"), ("3", "it"), ("4", "!")]
    assert len({hue for hue, *_ in spans[:2]}) == 2  # neighbours get different hues
    assert "id 10322" in html.unescape(spans[1][2]) and "&#x27;##bb&#x27;" in spans[1][2]
    assert 'class="ce-sp" data-pos="0"' in markup and ">[CLS]<" in markup
    assert 'class="ce-sp ce-pad" data-pos="6"' in markup
    assert shown_text(markup) == "hobbit!"


def test_truncated_text_is_struck_through():
    row = make_row(texts=["hobbit! and more", None])
    markup = view.highlight_html(row, 7)
    assert '<span class="ce-out"' in markup and "and more" in markup
    assert shown_text(markup) == "hobbit! and more"


def test_pair_text_is_placed_by_sequence_ids_or_inferred():
    row = make_row(texts=["ab", "cd"], tokens=["[CLS]", "ab", "[SEP]", "cd", "[SEP]"], input_ids=[1, 2, 3, 4, 3],
                   attention_mask=[1] * 5, token_type_ids=[0, 0, 0, 1, 1], special_tokens_mask=[1, 0, 1, 0, 1],
                   offsets=[[0, 0], [0, 2], [0, 0], [0, 2], [0, 0]], sequence_ids=[None, 0, None, 1, None],
                   word_ids=[None, 0, None, 0, None])
    assert shown_text(view.highlight_html(row, 5)) == "abcd"
    assert view.infer_sequence_ids(dict(row, sequence_ids=None)) == [None, 0, None, 1, None]
    assert shown_text(view.highlight_html(dict(row, sequence_ids=None), 5)) == "abcd"


def test_overlapping_offsets_do_not_repeat_characters():
    # byte-level BPE: one emoji split into two tokens that both claim its whole span
    row = make_row(texts=["a😀", None], tokens=["a", "ðŁĺ", "Ģ"], input_ids=[64, 900, 901],
                   attention_mask=[1, 1, 1], token_type_ids=None, special_tokens_mask=[0, 0, 0],
                   offsets=[[0, 1], [1, 2], [1, 2]], sequence_ids=[0, 0, 0], word_ids=[0, 1, 1])
    markup = view.highlight_html(row, 3)
    assert shown_text(markup) == "a😀"
    assert markup.count('class="ce-tk') == 3 and "ce-zero" in markup


def test_table_marks_padding_and_special_rows():
    markup = view.table_html(make_row(), 7)
    assert markup.count('<tr class="padded"') == 1 and markup.count('<tr class="special"') == 2
    assert '<tr class="" data-pos="2"><td class="m">2</td><td class="m">##bb</td><td class="m">10322</td>' in markup
    assert "&#x27;bb&#x27;" in markup  # the characters the token covers


def test_markup_escapes_user_text():
    row = make_row(texts=["<b>x</b>", None], tokens=["[CLS]", "<", "b", ">", "x", "[SEP]", "[PAD]"],
                   offsets=[[0, 0], [0, 1], [1, 2], [2, 3], [3, 4], [0, 0], [0, 0]], decoded_skip="<b>x")
    markup = view.row_html(row)
    assert "<b>x" not in markup and "&lt;b&gt;x" in markup


def test_counts_show_truncation_and_windows():
    assert "✂ <b>5</b> tokens cut by truncation (max_length 8)" in view.counts_html(make_row(cut=5, max_length=8))
    assert "window <b>2</b> of <b>3</b> (stride 2)" in view.counts_html(make_row(window=1, windows=3, stride=2))
    assert "longer than model_max_length (512)" in view.counts_html(make_row(too_long=512))


def test_round_trip_verdicts():
    assert "identical to the input" in view.decode_html(make_row())
    assert "lowercased" in view.decode_html(make_row(texts=["Hobbit!", None]))
    assert "differs" in view.decode_html(make_row(texts=["hobbit !", None]))
    assert "round trip" not in view.decode_html(make_row(cut=3))


def test_special_token_shapes_are_all_understood():
    want = [("cls_token", "[CLS]", 101)]
    assert view.special_list({"cls_token": {"token": "[CLS]", "id": 101}}) == want
    assert view.special_list({"cls_token": ["[CLS]", 101]}) == want
    assert view.special_list([{"name": "cls_token", "content": "[CLS]", "id": 101}]) == want
    facts = view.facts_html({"class": "BertTokenizer", "vocab_size": 30522, "model_max_length": int(1e30),
                             "special_tokens": {"cls_token": {"token": "[CLS]", "id": 101}}})
    assert "BertTokenizer" in facts and "30522" in facts and "no limit set" in facts and "101" in facts


def test_long_rows_are_capped():
    n = view.MAX_TOKENS_SHOWN + 10
    row = make_row(texts=["x" * n, None], tokens=["x"] * n, input_ids=[1] * n, attention_mask=[1] * n,
                   token_type_ids=[0] * n, special_tokens_mask=[0] * n, offsets=[[i, i + 1] for i in range(n)],
                   sequence_ids=[0] * n, word_ids=list(range(n)), decoded="", decoded_skip="")
    markup = view.row_html(row)
    assert f"Showing the first {view.MAX_TOKENS_SHOWN} of {n} tokens" in markup
    assert markup.count("<tr ") == view.MAX_TOKENS_SHOWN  # body rows (the header is a bare <tr>)


# --- input handling -------------------------------------------------------------------------------
def test_split_inputs():
    assert tab.split_inputs("a", "", False) == (["a"], None)
    assert tab.split_inputs("a\n\nb\n", "x\ny", True) == (["a", "b"], ["x", "y"])
    assert tab.split_inputs("", "", True) == ([""], None)
    with pytest.raises(Exception, match="2 texts but 1 second texts"):
        tab.split_inputs("a\nb", "x", True)
    with pytest.raises(Exception, match="characters"):
        tab.split_inputs("x" * (tab.MAX_CHARACTERS + 1), "", False)


def test_options_become_tokenizer_arguments():
    kwargs = tab.Options(True, "max_length", "only_second", 16, 4, True).call_kwargs()
    assert kwargs["padding"] == "max_length" and kwargs["truncation"] == "only_second"
    assert (kwargs["max_length"], kwargs["stride"], kwargs["return_overflowing_tokens"]) == (16, 4, True)
    kwargs = tab.Options().call_kwargs()
    assert kwargs["padding"] is False and kwargs["truncation"] is False and "max_length" not in kwargs
    assert "stride" not in kwargs


# --- the handler on real tokenizers ----------------------------------------------------------------
def run(checkpoint, text=HOBBIT, pair="", batch=False, special=True, padding="none", truncation="none",
        max_length=None, stride=0, overflow=False, compare=False, checkpoint_b=""):
    return tab.tokenize(str(checkpoint), text, pair, batch, special, padding, truncation, max_length, stride,
                        overflow, compare, str(checkpoint_b))


def test_tutorial_sentence(minilm_dir):
    html_a, html_b, trace, result = run(minilm_dir)
    (row,) = result["rows"]
    assert row["input_ids"] == TUTORIAL_IDS and row["attention_mask"] == [1] * 15
    assert row["tokens"][10:13] == ["ho", "##bb", "##it"]
    assert row["offsets"][10:13] == [[38, 40], [40, 42], [42, 44]]
    assert row["decoded_skip"] == HOBBIT.lower() and row["decoded"].startswith("[CLS] in a hole")
    assert html_b == "" and "##bb" in html_a and ">10322<" in html_a
    assert "vocab_size" in html_a or "vocab size" in html_a
    assert "tokenizer_config.json" in trace
    gr.JSON().postprocess(result)  # the API returns it as JSON (gradio is stricter than json.dumps)


def test_default_checkpoint_name_loads_the_packaged_copy():
    _, _, _, result = tab._first_visit()
    assert result["rows"][0]["input_ids"] == TUTORIAL_IDS


def test_results_match_transformers(minilm_dir):
    from transformers import AutoTokenizer

    ref = AutoTokenizer.from_pretrained(str(minilm_dir))
    text, pair = "The hobbit, a hungry creature, lived underground.", "Bilbo Baggins!"
    cases = [dict(padding="max_length", truncation="longest_first", max_length=12),
             dict(truncation="only_first", max_length=14, stride=2, overflow=True),
             dict(padding="longest", special=False)]
    for case in cases:
        _, _, _, result = run(minilm_dir, text, pair, **case)
        kwargs = tab.Options(case.get("special", True), case.get("padding", "none"), case.get("truncation", "none"),
                             case.get("max_length"), case.get("stride", 0), case.get("overflow", False)).call_kwargs()
        want = ref([text], [pair], **kwargs)
        assert [r["input_ids"] for r in result["rows"]] == want["input_ids"], case
        assert [r["token_type_ids"] for r in result["rows"]] == want["token_type_ids"], case
        assert [r["offsets"] for r in result["rows"]] == [[list(o) for o in row] for row in want["offset_mapping"]]


def test_truncation_cut_is_counted(minilm_dir):
    _, _, _, full = run(minilm_dir)
    _, _, _, cut = run(minilm_dir, truncation="longest_first", max_length=8)
    assert len(cut["rows"][0]["input_ids"]) == 8 and cut["rows"][0]["cut"] == 15 - 8
    assert full["rows"][0]["cut"] == 0


def test_overflow_windows_are_listed(minilm_dir):
    html_a, _, _, result = run(minilm_dir, truncation="longest_first", max_length=8, stride=2, overflow=True)
    rows = result["rows"]
    assert len(rows) > 1 and {r["windows"] for r in rows} == {len(rows)}
    assert rows[0]["label"] == f"Text · window 1 of {len(rows)}"
    assert rows[1]["input_ids"][1:3] == rows[0]["input_ids"][-3:-1]  # stride 2: windows overlap by 2 tokens
    assert rows[0]["repeated"] == [] and rows[1]["repeated"] == [1, 2]
    assert "<b>2</b> tokens repeated from the previous window" in html_a and "ce-rep" in html_a
    assert html_a.count('class="ce-tok-card"') == len(rows) + 1  # + the facts card


def test_batch_mode_pads_to_longest(minilm_dir):
    _, _, _, result = run(minilm_dir, text="Hello world\n" + HOBBIT, batch=True, padding="longest")
    short, long_ = result["rows"]
    assert len(short["input_ids"]) == len(long_["input_ids"]) == 15
    assert short["attention_mask"].count(0) == 11 and short["label"] == "Text 1"


def test_bad_checkpoint_then_good_one(minilm_dir, tmp_path):
    with pytest.raises(gr.Error) as info:
        run(tmp_path / "missing")
    assert "missing" in str(info.value.message) and "Traceback" not in str(info.value.message)
    with pytest.raises(gr.Error):
        run("   ")
    assert run(minilm_dir)[3]["rows"][0]["input_ids"] == TUTORIAL_IDS


def test_bad_options_are_messages(minilm_dir):
    with pytest.raises(gr.Error, match="stride"):  # the tokenizers library panics on this
        run(minilm_dir, "a hungry hobbit lived underground", "Bilbo Baggins!", truncation="only_first",
            max_length=10, stride=2, overflow=True)
    with pytest.raises(gr.Error, match="Max length"):
        run(minilm_dir, max_length=-3)
    with pytest.raises(gr.Error, match="second checkpoint"):
        run(minilm_dir, compare=True, checkpoint_b=" ")


def test_compare_two_checkpoints(minilm_dir, tmp_path):
    bpe = tiny_bpe_checkpoint(tmp_path)
    html_a, html_b, trace, result = run(minilm_dir, compare=True, checkpoint_b=bpe)
    other = result["compare"]
    assert other["checkpoint"] == str(bpe) and result["rows"][0]["input_ids"] == TUTORIAL_IDS
    assert other["rows"][0]["tokens"][0] == "In" and "Ġ" in "".join(other["rows"][0]["tokens"])
    assert "".join(other["rows"][0]["tokens"]).replace("Ġ", " ") == HOBBIT
    assert "ce-tok-side" in html_b and str(bpe) in html_b and trace.count("<h4>") >= 2


def test_padding_without_pad_token_is_a_message(tmp_path):
    with pytest.raises(gr.Error, match="(?i)pad"):
        run(tiny_bpe_checkpoint(tmp_path), text="a\nbb", batch=True, padding="longest")


AWKWARD = ["", "   ", "Crème brûlée à São Paulo", "東京は日本の首都です", "emoji 😀👍🏽 done", "tab\tand\x07bell", "x" * 3000]


@pytest.mark.parametrize("text", AWKWARD, ids=range(len(AWKWARD)))
def test_highlight_shows_the_whole_text(minilm_dir, tmp_path, text):
    for checkpoint in (minilm_dir, tiny_bpe_checkpoint(tmp_path)):
        _, _, _, result = run(checkpoint, text=text)
        row = result["rows"][0]
        assert shown_text(view.highlight_html(row, len(row["input_ids"]))) == text, checkpoint


def test_tokenizers_are_cached_and_bounded(minilm_dir):
    first = tab.load_tokenizer(str(minilm_dir))
    assert tab.load_tokenizer(f"  {minilm_dir} ") is first
    assert tab._TOKENIZERS.capacity <= 16


def tiny_bpe_checkpoint(folder) -> str:
    """A GPT-2-style byte-level BPE checkpoint (no pad token) trained here on a few sentences."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    target = folder / "tiny-bpe"
    if target.exists():
        return str(target)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator([HOBBIT, "In a hole there lived a hobbit and a dragon.", "the ground"] * 20, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  unk_token="<|endoftext|>", model_max_length=1024)
    tok.save_pretrained(target)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "GPT2Tokenizer"
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    (target / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": bpe.get_vocab_size()}))
    return str(target)
