"""The Tokenizer tab: what AutoTokenizer does to a text, token by token, and why it chose that tokenizer.

The handler `tokenize` is also the `/tokenize` API endpoint. It loads tokenizers through a bounded
LRU cache shared by all users (nothing else is kept between calls), turns each result into plain
rows (`collect`) and hands them to `tokenizer_view` for the markup.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import gradio as gr

from loaders import DEFAULT_TEXT_CHECKPOINT, Trace
from loaders.cache import LRUCache
from loaders.errors import InputError, TokenizerError

from . import tokenizer_view as view
from .common import checkpoint_box, friendly, trace_html

DEFAULT_TEXT = "In a hole in the ground there lived a hobbit."
MAX_CHARACTERS = 200_000  # one request's text (all lines together); keeps a shared server responsive
MAX_LINES = 1_000
PADDING = ["none", "longest", "max_length"]
TRUNCATION = ["none", "longest_first", "only_first", "only_second"]

_TOKENIZERS = LRUCache(8)  # checkpoint string -> loaded tokenizer, shared and bounded

CSS = view.CSS + """
#ce-tok-run { min-width: 160px; }
.ce-tok-options { align-items: end; }
"""


@dataclass(frozen=True)
class Options:
    """The call options as the UI names them; `call_kwargs` turns them into tokenizer arguments."""

    add_special_tokens: bool = True
    padding: str = "none"
    truncation: str = "none"
    max_length: int | None = None
    stride: int = 0
    return_overflowing_tokens: bool = False

    def call_kwargs(self) -> dict:
        kwargs = dict(add_special_tokens=self.add_special_tokens,
                      padding=False if self.padding == "none" else self.padding,
                      truncation=False if self.truncation == "none" else self.truncation,
                      return_offsets_mapping=True, return_special_tokens_mask=True)
        if self.max_length is not None:
            kwargs["max_length"] = self.max_length
        if self.return_overflowing_tokens:
            kwargs.update(stride=self.stride, return_overflowing_tokens=True)
        return kwargs


def load_tokenizer(checkpoint: str):
    """The tokenizer for `checkpoint`, from the shared cache or freshly loaded."""
    from loaders import AutoTokenizer

    checkpoint = (checkpoint or "").strip()
    if not checkpoint:
        raise InputError(f"Type a checkpoint: a Hub repo id such as {DEFAULT_TEXT_CHECKPOINT!r} or a local folder.")
    return _TOKENIZERS.get_or_create(checkpoint, lambda: AutoTokenizer.from_pretrained(checkpoint))


def split_inputs(text: str, pair: str, batch: bool) -> tuple[list[str], list[str] | None]:
    """Texts (and pairs) to encode: one, or in batch mode one per non-empty line."""
    text, pair = text or "", pair or ""
    if len(text) + len(pair) > MAX_CHARACTERS:
        raise InputError(f"The text is {len(text) + len(pair):,} characters; this tab takes up to "
                         f"{MAX_CHARACTERS:,}. Shorten it, or use `loaders` from Python.")
    if not batch:
        return [text], ([pair] if pair else None)
    texts = [line for line in text.splitlines() if line.strip()] or [""]
    pairs = [line for line in pair.splitlines() if line.strip()] or None
    if len(texts) > MAX_LINES:
        raise InputError(f"Batch mode got {len(texts):,} lines; this tab takes up to {MAX_LINES:,}.")
    if pairs is not None and len(pairs) != len(texts):
        raise InputError(f"Batch mode pairs line by line: {len(texts)} texts but {len(pairs)} second texts. "
                         "Give one second text per line, or none.")
    return texts, pairs


def run_side(checkpoint: str, texts: list[str], pairs: list[str] | None, options: Options) -> tuple[dict, list]:
    """Load, encode and describe one checkpoint: (JSON-ready result, traces to show)."""
    tok = load_tokenizer(checkpoint)
    enc = _encode(tok, texts, pairs, **options.call_kwargs())
    full = _untruncated_lengths(tok, texts, pairs, options)
    side = {"checkpoint": checkpoint.strip(), "facts": facts(tok), "options": asdict(options),
            "rows": collect(tok, enc, texts, pairs, full, options)}
    traces = [_titled(t, checkpoint) for t in (getattr(tok, "trace", None), getattr(enc, "trace", None))
              if t is not None and len(t)]
    side["trace"] = [step for t in traces for step in t.to_list()]
    return side, traces


def _titled(trace: Trace, checkpoint: str) -> Trace:
    """A copy of a trace whose title names the checkpoint (two sides in compare mode read apart)."""
    return Trace(f"{trace.title} · {checkpoint.strip()}", list(trace.steps))


def _encode(tok, texts, pairs, **kwargs):
    """Call the tokenizer; a panic inside the Rust `tokenizers` library (a BaseException, so it would
    slip past `friendly`) becomes a readable message."""
    try:
        return tok(texts, pairs, **kwargs)
    except Exception:
        raise
    except BaseException as e:
        if type(e).__name__ != "PanicException":
            raise
        first_line = str(e).split("\n")[0]
        raise TokenizerError(f"The tokenizers library refused these options: {first_line}. "
                             "Try a larger max length or a smaller stride.") from None


def _untruncated_lengths(tok, texts, pairs, options: Options) -> list[int]:
    """Each sample's token count without truncation or padding (to show how much truncation cut)."""
    enc = _encode(tok, texts, pairs, add_special_tokens=options.add_special_tokens, truncation=False, padding=False)
    return [len(ids) for ids in enc["input_ids"]]


def collect(tok, enc, texts, pairs, full_lengths: list[int], options: Options) -> list[dict]:
    """One plain dict per returned row (a batch item, or one overflow window of it)."""
    ids = enc["input_ids"]
    mapping = enc.get("overflow_to_sample_mapping") or list(range(len(ids)))
    windows = [mapping.count(i) for i in range(len(texts))]
    limit = tok.model_max_length if isinstance(getattr(tok, "model_max_length", None), int) else None
    rows, seen = [], {}
    for r, row_ids in enumerate(ids):
        i = mapping[r]
        window = seen[i] = seen.get(i, -1) + 1
        mask = _key(enc, "attention_mask", r)
        kept = sum(mask) if mask is not None else len(row_ids)
        many = len(texts) > 1
        label = f"Text {i + 1}" if many else "Text"
        if windows[i] > 1:
            label += f" · window {window + 1} of {windows[i]}"
        rows.append({
            "label": label, "sample": i, "window": window, "windows": windows[i],
            "texts": [texts[i], pairs[i] if pairs else None],
            "input_ids": list(row_ids), "tokens": list(enc.tokens(r)),
            "attention_mask": mask, "token_type_ids": _key(enc, "token_type_ids", r),
            "special_tokens_mask": _key(enc, "special_tokens_mask", r),
            "offsets": [list(o) for o in enc["offset_mapping"][r]] if "offset_mapping" in enc else None,
            "sequence_ids": list(enc.sequence_ids(r)), "word_ids": list(enc.word_ids(r)),
            "decoded": tok.decode(row_ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(row_ids, skip_special_tokens=True),
            "cut": max(full_lengths[i] - kept, 0) if windows[i] == 1 and options.truncation != "none" else 0,
            "max_length": options.max_length, "stride": options.stride,
            "too_long": limit if limit and options.truncation == "none" and full_lengths[i] > limit else None,
        })
        rows[-1]["repeated"] = _repeated(rows[-2] if window else None, rows[-1])
    return rows


def _repeated(previous: dict | None, row: dict) -> list[int]:
    """Positions of `row` whose token (same text, same characters) the previous window of the same
    sample already had: the `stride` overlap between overflow windows."""
    if previous is None or row["offsets"] is None:
        return []
    seen = {(s, tuple(o)) for s, o in zip(previous["sequence_ids"], previous["offsets"]) if s is not None}
    return [k for k, (s, o) in enumerate(zip(row["sequence_ids"], row["offsets"])) if s is not None and (s, tuple(o)) in seen]


def _key(enc, key: str, r: int) -> list | None:
    return list(enc[key][r]) if key in enc else None


def facts(tok) -> dict:
    """The tokenizer's description, with at least its class."""
    described = dict(tok.describe()) if hasattr(tok, "describe") else {}
    described.setdefault("class", getattr(tok, "class_name", type(tok).__name__))
    return described


@friendly
def tokenize(checkpoint: str, text: str, pair: str, batch: bool, add_special_tokens: bool, padding: str,
             truncation: str, max_length: float | None, stride: float | None, overflow: bool, compare: bool,
             checkpoint_b: str):
    """Tokenize the text (or pair, or lines) with one checkpoint, or two side by side.

    Returns the HTML of each side, the resolution trace, and the result as JSON (input_ids, masks,
    offsets, tokens, decode round-trip and tokenizer facts per row).
    """
    texts, pairs = split_inputs(text, pair, batch)
    options = Options(bool(add_special_tokens), padding or "none", truncation or "none",
                      _positive(max_length, "Max length"), _positive(stride, "Stride", zero=True) or 0,
                      bool(overflow))
    side_a, traces = run_side(checkpoint, texts, pairs, options)
    result, html_b = dict(side_a), ""
    if compare:
        if not (checkpoint_b or "").strip():
            raise InputError("Compare mode: type a second checkpoint (a Hub repo id or a local folder).")
        side_b, traces_b = run_side(checkpoint_b, texts, pairs, options)
        result["compare"] = side_b
        traces += traces_b
        html_b = view.side_html(side_b)
    # JSON-safe for the API: int dict keys (added_tokens) become strings, tuples lists, odd values text
    return view.side_html(side_a), html_b, trace_html(*traces), json.loads(json.dumps(result, default=str))


def _positive(value, name: str, zero: bool = False) -> int | None:
    if value is None or (value == 0 and not zero):
        return None
    if value < 0 or value != int(value):
        raise InputError(f"{name} must be a whole number{' ≥ 0' if zero else ' ≥ 1'}; got {value}.")
    return int(value)


def build() -> None:
    """Layout of the tab and its events (the button is the `/tokenize` endpoint)."""
    with gr.Row(equal_height=True):
        ckpt_a = checkpoint_box(scale=4, elem_id="ce-tok-ckpt")
        ckpt_b = checkpoint_box(value="", label="Second checkpoint (compare)", visible=False, scale=4,
                                elem_id="ce-tok-ckpt-b")
        compare = gr.Checkbox(label="Compare two checkpoints", value=False, scale=1, min_width=170,
                              elem_id="ce-tok-compare")
    with gr.Row():
        text = gr.Textbox(value=DEFAULT_TEXT, label="Text", lines=3, scale=3, elem_id="ce-tok-text")
        pair = gr.Textbox(value="", label="Second text (optional: makes a pair)", lines=3, scale=2,
                          elem_id="ce-tok-pair")
    with gr.Row(elem_classes="ce-tok-options"):
        batch = gr.Checkbox(label="Batch: one text per line", value=False, min_width=150, elem_id="ce-tok-batch")
        special = gr.Checkbox(label="Add special tokens", value=True, min_width=150)
        padding = gr.Radio(PADDING, value="none", label="Padding", min_width=240, elem_id="ce-tok-padding")
        truncation = gr.Dropdown(TRUNCATION, value="none", label="Truncation", min_width=150)
        max_length = gr.Number(value=None, label="Max length (0: none)", precision=0, min_width=100)
        stride = gr.Number(value=0, label="Stride", precision=0, minimum=0, min_width=90)
        overflow = gr.Checkbox(label="Return overflowing tokens", value=False, min_width=150)
    run = gr.Button("Tokenize", variant="primary", elem_id="ce-tok-run")
    with gr.Row(equal_height=False):
        out_a = gr.HTML(view.empty_html("Press Tokenize."), js_on_load=view.JS_ON_LOAD, elem_id="ce-tok-out-a")
        out_b = gr.HTML("", js_on_load=view.JS_ON_LOAD, visible=False, elem_id="ce-tok-out-b")
    with gr.Accordion("Resolution trace: why this tokenizer, and what the call did", open=True):
        trace = gr.HTML(elem_id="ce-tok-trace")
    with gr.Accordion("JSON: what the /tokenize API returns", open=False):
        result = gr.JSON(elem_id="ce-tok-json")

    inputs = [ckpt_a, text, pair, batch, special, padding, truncation, max_length, stride, overflow, compare, ckpt_b]
    outputs = [out_a, out_b, trace, result]
    run.click(tokenize, inputs, outputs, api_name="tokenize")
    gr.on([text.submit, ckpt_a.submit, ckpt_b.submit], tokenize, inputs, outputs, api_visibility="private")
    compare.change(lambda on: (gr.update(visible=on), gr.update(visible=on)), compare, [ckpt_b, out_b],
                   api_visibility="private")
    # First visit: show the default checkpoint on the default sentence without a click.
    gr.on(None, _first_visit, None, outputs, api_visibility="private")


def _first_visit():
    """The default checkpoint on the default sentence, so a first visit shows a result without a click."""
    return tokenize(DEFAULT_TEXT_CHECKPOINT, DEFAULT_TEXT, "", False, True, "none", "none", None, 0, False, False, "")
