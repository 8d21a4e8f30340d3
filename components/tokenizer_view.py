"""HTML for the Tokenizer tab: pure functions from plain data (lists and dicts) to markup.

A *row* is one encoded sequence (one batch item, or one overflow window of it) as a dict:
`label`, `texts` ([text, pair-or-None]), `tokens`, `input_ids`, `attention_mask`, `token_type_ids`,
`offsets`, `special_tokens_mask`, `sequence_ids`, `word_ids` (each a list per position, or None when
the tokenizer does not return it), `decoded`, `decoded_skip`, `cut` (tokens removed by truncation),
`windows` (how many windows the sample was split into), `max_length`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

MAX_TOKENS_SHOWN = 1024  # per row: the highlight, strip and table stop here (the JSON output has all)
MAX_ROWS_SHOWN = 12
N_HUES = 6

CSS = """
.ce-tok-side { display: flex; flex-direction: column; gap: 12px; }
.ce-tok-head { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.ce-tok-head .ckpt { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; font-size: 1.05em; }
.ce-tok-head .cls { background: #eef2ff; color: #3730a3; border-radius: 999px; padding: 1px 10px; font-size: .85em; }
.ce-tok-card { border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: 10px; padding: 12px 14px;
  background: var(--block-background-fill, #fff); }
.ce-tok-card h4 { margin: 0 0 8px 0; font-size: .95em; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.ce-tok-card .sub { color: var(--body-text-color-subdued, #6b7280); font-weight: 400; font-size: .9em; }
.ce-tok-counts { display: flex; gap: 6px; flex-wrap: wrap; margin-bottom: 10px; }
.ce-stat { border-radius: 6px; padding: 2px 8px; font-size: .82em; background: rgba(100,116,139,.12); }
.ce-stat b { font-family: ui-monospace, monospace; }
.ce-stat.warn { background: rgba(245,158,11,.18); color: #92400e; }
.ce-stat.info { background: rgba(59,130,246,.14); color: #1e40af; }
.ce-hl { font-size: 1.3em; line-height: 2.2; white-space: pre-wrap; word-break: break-word; margin-bottom: 8px; }
.ce-tk { border-radius: 4px; padding: 2px 1px; margin: 0 1px; box-decoration-break: clone;
  -webkit-box-decoration-break: clone; border-bottom: 2px solid transparent; cursor: default; position: relative; }
.ce-h0 { background: rgba(59,130,246,.20); border-bottom-color: rgba(59,130,246,.55); }
.ce-h1 { background: rgba(245,158,11,.22); border-bottom-color: rgba(245,158,11,.6); }
.ce-h2 { background: rgba(16,185,129,.20); border-bottom-color: rgba(16,185,129,.55); }
.ce-h3 { background: rgba(236,72,153,.18); border-bottom-color: rgba(236,72,153,.5); }
.ce-h4 { background: rgba(139,92,246,.20); border-bottom-color: rgba(139,92,246,.55); }
.ce-h5 { background: rgba(20,184,166,.20); border-bottom-color: rgba(20,184,166,.55); }
.ce-sp { display: inline-block; font-family: ui-monospace, monospace; font-size: .78em; line-height: 1.5;
  background: #475569; color: #f8fafc; border-radius: 4px; padding: 0 5px; margin: 0 2px; vertical-align: 1px; }
.ce-pad { background: transparent; color: #94a3b8; border: 1px dashed #94a3b8; }
.ce-out { color: #9ca3af; text-decoration: line-through; text-decoration-color: rgba(239,68,68,.6); }
.ce-zero { display: inline-block; width: 6px; height: 1em; vertical-align: -2px; }
.ce-tk[data-tip]:hover::after, .ce-sp[data-tip]:hover::after, .ce-chip[data-tip]:hover::after {
  content: attr(data-tip); position: absolute; left: 0; top: 100%; margin-top: 4px; z-index: 50;
  white-space: pre; background: #111827; color: #f9fafb; font: 12px/1.4 ui-monospace, monospace;
  padding: 4px 7px; border-radius: 5px; box-shadow: 0 2px 8px rgba(0,0,0,.25); pointer-events: none; }
.ce-sp, .ce-chip { position: relative; }
.ce-strip { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0 10px 0; }
.ce-chip { display: inline-flex; flex-direction: column; align-items: center; border-radius: 6px; padding: 2px 6px;
  min-width: 2.2em; border-bottom: 2px solid transparent; }
.ce-chip .t { font-family: ui-monospace, monospace; font-size: .85em; white-space: pre; }
.ce-chip .i { font-family: ui-monospace, monospace; font-size: .72em; opacity: .75; }
.ce-chip.ce-sp { background: #475569; color: #f8fafc; margin: 0; font-size: 1em; display: inline-flex; }
.ce-chip.ce-sp .t, .ce-chip.ce-sp .i, .ce-sp { color: #f8fafc; }
.ce-chip.ce-pad .t, .ce-chip.ce-pad .i, .ce-sp.ce-pad { color: #94a3b8; }
.ce-chip.ce-pad { background: rgba(148,163,184,.12); color: #94a3b8; border: 1px dashed #94a3b8; }
.ce-tk.ce-rep, .ce-chip.ce-rep { outline: 2px dashed rgba(37,99,235,.7); outline-offset: -1px; }
.ce-tk.hl, .ce-chip.hl, .ce-sp.hl { outline: 2px solid #f59e0b; outline-offset: 1px; }
.ce-decode { display: grid; grid-template-columns: max-content 1fr; gap: 3px 10px; font-size: .9em; margin: 4px 0 8px 0; }
.ce-decode .k { color: var(--body-text-color, #374151); opacity: .75; font-family: ui-monospace, monospace; font-size: .9em; }
.ce-decode code { white-space: pre-wrap; word-break: break-word; }
.ce-ok { color: #047857; } .ce-diff { color: #b45309; }
.ce-table-wrap { max-height: 420px; overflow: auto; border: 1px solid var(--border-color-primary, #e5e7eb); border-radius: 8px; }
.ce-tok-side table.ce-tok-table { border-collapse: collapse; width: 100%; font-size: .85em; border: none; margin: 0; }
table.ce-tok-table th { position: sticky; top: 0; background: var(--background-fill-secondary, #f3f4f6); text-align: left;
  padding: 4px 8px; font-weight: 600; z-index: 1; }
.ce-tok-side table.ce-tok-table td, .ce-tok-side table.ce-tok-table th { border: none; white-space: nowrap; }
.ce-tok-side table.ce-tok-table td { padding: 2px 8px; border-top: 1px solid var(--border-color-primary, #eef0f3); }
table.ce-tok-table td.m { font-family: ui-monospace, monospace; }
table.ce-tok-table tr.special td { background: rgba(71,85,105,.08); }
table.ce-tok-table tr.padded td { color: #9ca3af; font-style: italic;
  background: repeating-linear-gradient(45deg, rgba(148,163,184,.10) 0 6px, transparent 6px 12px); }
table.ce-tok-table tr.hl td { background: rgba(245,158,11,.25); }
.ce-facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; font-size: .9em; }
.ce-facts .k { color: var(--body-text-color, #374151); opacity: .75; }
.ce-facts .v { font-family: ui-monospace, monospace; }
.ce-special-list { display: flex; flex-wrap: wrap; gap: 6px; }
.ce-special-list .ce-sp { font-size: .85em; }
.ce-special-list .id { font-family: ui-monospace, monospace; font-size: .85em; opacity: .75; margin-left: 2px; }
.dark .ce-stat.warn { color: #fcd34d; } .dark .ce-stat.info { color: #93c5fd; }
.dark .ce-ok { color: #34d399; } .dark .ce-diff { color: #fbbf24; }
.dark .ce-tok-head .cls { background: #312e81; color: #e0e7ff; }
.ce-note { color: var(--body-text-color-subdued, #6b7280); font-size: .85em; }
details.ce-more > summary { cursor: pointer; font-size: .9em; margin: 4px 0; }
"""

# Hovering a token (in the text, the strip or the table) highlights that position everywhere in its card.
JS_ON_LOAD = """
const toggle = (ev, on) => {
  const el = ev.target.closest('[data-pos]');
  if (!el) return;
  const card = el.closest('.ce-tok-card');
  if (!card) return;
  card.querySelectorAll('[data-pos="' + el.dataset.pos + '"]').forEach(x => x.classList.toggle('hl', on));
};
element.addEventListener('mouseover', ev => toggle(ev, true));
element.addEventListener('mouseout', ev => toggle(ev, false));
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def visible_token(token: str) -> str:
    """A token string with invisible characters made visible (space → ␣, newline → ⏎, tab → ⇥)."""
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥") if token else "∅"


def row_counts(row: dict) -> dict:
    """Tokens, padding, special, content tokens, characters and characters per content token."""
    n = len(row["input_ids"])
    mask = row.get("attention_mask") or [1] * n
    special = row.get("special_tokens_mask") or [0] * n
    pads = sum(1 for m in mask if m == 0)
    specials = sum(1 for s, m in zip(special, mask) if s and m)
    content = n - pads - specials
    chars = sum(len(t) for t in row["texts"] if t)
    return {"tokens": n, "padding": pads, "special": specials, "content": content, "characters": chars,
            "chars_per_token": round(chars / content, 2) if content else None}


def side_html(side: dict) -> str:
    """One checkpoint's whole result: header, facts, then one card per row."""
    facts = side.get("facts") or {}
    parts = ['<div class="ce-tok-side">', '<div class="ce-tok-head">',
             f'<span class="ckpt">{esc(side["checkpoint"])}</span>']
    if facts.get("class"):
        parts.append(f'<span class="cls">{esc(facts["class"])}</span>')
    parts.append("</div>")
    rows = side["rows"]
    for row in rows[:MAX_ROWS_SHOWN]:
        parts.append(row_html(row))
    if len(rows) > MAX_ROWS_SHOWN:
        parts.append(f'<p class="ce-note">{len(rows) - MAX_ROWS_SHOWN} more rows not shown here; '
                     "the JSON output below has them all.</p>")
    parts.append(facts_html(facts))
    parts.append("</div>")
    return "".join(parts)


def row_html(row: dict) -> str:
    """A card: title, counts, highlighted text, token strip, decode round-trip, table."""
    n = len(row["input_ids"])
    shown = min(n, MAX_TOKENS_SHOWN)
    parts = [f'<div class="ce-tok-card"><h4>{esc(row["label"])}</h4>', counts_html(row)]
    parts.append(f'<div class="ce-hl">{highlight_html(row, shown)}</div>')
    parts.append(f'<div class="ce-strip">{strip_html(row, shown)}</div>')
    parts.append(decode_html(row))
    if shown < n:
        parts.append(f'<p class="ce-note">Showing the first {shown} of {n} tokens; the JSON output has all.</p>')
    parts.append('<details class="ce-more" open><summary>Table</summary>'
                 f'<div class="ce-table-wrap">{table_html(row, shown)}</div></details></div>')
    return "".join(parts)


def counts_html(row: dict) -> str:
    c = row_counts(row)
    stats = [f'<b>{c["tokens"]}</b> tokens', f'<b>{c["content"]}</b> content',
             f'<b>{c["special"]}</b> special', f'<b>{c["padding"]}</b> padding',
             f'<b>{c["characters"]}</b> characters']
    if c["chars_per_token"] is not None:
        stats.append(f'<b>{c["chars_per_token"]}</b> characters / content token')
    parts = [f'<span class="ce-stat">{s}</span>' for s in stats]
    if row.get("cut"):
        parts.append(f'<span class="ce-stat warn">✂ <b>{row["cut"]}</b> tokens cut by truncation'
                     f'{_at(row.get("max_length"))}</span>')
    if row.get("windows", 1) > 1:
        parts.append(f'<span class="ce-stat info">overflow window <b>{row["window"] + 1}</b> of <b>{row["windows"]}</b>'
                     f' (stride {row.get("stride", 0)})</span>')
    if row.get("repeated"):
        parts.append(f'<span class="ce-stat info ce-rep-key"><b>{len(row["repeated"])}</b> tokens repeated from the '
                     "previous window (dashed)</span>")
    if row.get("too_long"):
        parts.append(f'<span class="ce-stat warn">⚠ longer than model_max_length ({row["too_long"]}): '
                     "a model would fail or cut it</span>")
    return f'<div class="ce-tok-counts">{"".join(parts)}</div>'


def _at(max_length) -> str:
    return f" (max_length {max_length})" if max_length else ""


def _rep(row: dict, k: int) -> str:
    return " ce-rep" if k in (row.get("repeated") or ()) else ""


def _tip(row: dict, k: int) -> str:
    tip = f"#{k}  id {row['input_ids'][k]}  {row['tokens'][k]!r}"
    offsets = row.get("offsets")
    if offsets:
        tip += f"  chars {offsets[k][0]}–{offsets[k][1]}"
    return tip


def _kind(row: dict, k: int) -> str:
    """'pad', 'special' or 'content' for position k."""
    mask = row.get("attention_mask")
    if mask is not None and mask[k] == 0:
        return "pad"
    special = row.get("special_tokens_mask")
    return "special" if special and special[k] else "content"


def chip(row: dict, k: int, kind: str, inner: str, hue: int = 0) -> str:
    cls = {"pad": "ce-sp ce-pad", "special": "ce-sp"}.get(kind, f"ce-tk ce-h{hue}") + _rep(row, k)
    return f'<span class="{cls}" data-pos="{k}" data-tip="{esc(_tip(row, k))}">{inner}</span>'


def strip_html(row: dict, shown: int) -> str:
    """Every token as a chip: token string above, id below, coloured like its span in the text."""
    out, hue = [], 0
    for k in range(shown):
        kind = _kind(row, k)
        cls = {"pad": "ce-chip ce-sp ce-pad", "special": "ce-chip ce-sp"}.get(kind, f"ce-chip ce-h{hue % N_HUES}")
        cls += _rep(row, k)
        if kind == "content":
            hue += 1
        out.append(f'<span class="{cls}" data-pos="{k}" data-tip="{esc(_tip(row, k))}">'
                   f'<span class="t">{esc(visible_token(row["tokens"][k]))}</span>'
                   f'<span class="i">{row["input_ids"][k]}</span></span>')
    return "".join(out)


def highlight_html(row: dict, shown: int) -> str:
    """The input text with each content token's characters highlighted; special tokens as chips in place.

    Characters no token of this row covers at the start or end of a text (cut by truncation, or in
    another overflow window) are struck through.
    """
    texts = [t or "" for t in row["texts"]]
    offsets = row.get("offsets")
    if offsets is None:  # no offsets from this tokenizer: tokens in a row, no alignment
        return "".join(chip(row, k, _kind(row, k), esc(visible_token(row["tokens"][k])), k % N_HUES)
                       for k in range(shown))
    seq_ids = row.get("sequence_ids") or infer_sequence_ids(row)
    last = {s: k for k in range(shown) if (s := seq_ids[k]) is not None and _kind(row, k) == "content"}
    cursor = {s: None for s in last}
    out, hue = [], 0
    for k in range(shown):
        kind, s = _kind(row, k), seq_ids[k]
        if kind != "content" or s is None or s >= len(texts):
            label = esc(row["tokens"][k]) if kind != "content" else esc(visible_token(row["tokens"][k]))
            out.append(chip(row, k, kind if kind != "content" else "special", label))
            continue
        text, (a, b) = texts[s], offsets[k]
        if cursor[s] is None:  # first token of this text in the row
            out.append(_gap(text[:a], edge=True))
            cursor[s] = a
        start = max(a, cursor[s])
        out.append(_gap(text[cursor[s]:start], edge=False))
        inner = esc(text[start:b]) if b > start else '<span class="ce-zero"></span>'
        out.append(chip(row, k, "content", inner, hue % N_HUES))
        hue += 1
        cursor[s] = max(cursor[s], b)
        if k == last[s]:
            out.append(_gap(text[cursor[s]:], edge=True))
    return "".join(_place_untokenized(out, texts, last, seq_ids, shown))


def _place_untokenized(out: list[str], texts: list[str], last: dict, seq_ids: list, shown: int) -> list[str]:
    """Put each text that got no content token in this row (whitespace only, or fully cut) where it
    belongs: the first text after the leading special tokens, the second after the first's tokens."""
    for s, text in enumerate(texts):
        if s in last or not text:
            continue
        lead = next((k for k in range(shown) if seq_ids[k] is not None), min(1, len(out)))
        out.insert(lead if s == 0 else len(out) - _trailing_specials(seq_ids, shown), _gap(text, edge=True))
    return out


def _trailing_specials(seq_ids: list, shown: int) -> int:
    n = 0
    while n < shown and seq_ids[shown - 1 - n] is None:
        n += 1
    return n


def _gap(text: str, edge: bool) -> str:
    """Characters between tokens: whitespace as is; uncovered text at an edge struck through."""
    if not text:
        return ""
    if edge and text.strip():
        return f'<span class="ce-out" title="not in this row: cut by truncation or in another window">{esc(text)}</span>'
    return esc(text)


def infer_sequence_ids(row: dict) -> list[int | None]:
    """Which text each token comes from when the tokenizer does not say: the second text starts
    where character offsets jump back (its offsets count from 0 again)."""
    has_pair = len(row["texts"]) > 1 and row["texts"][1] is not None
    seq = 1 if has_pair and not row["texts"][0] else 0
    out, prev_end = [], 0
    for k, (a, b) in enumerate(row["offsets"]):
        if _kind(row, k) != "content":
            out.append(None)
            continue
        if has_pair and seq == 0 and a < prev_end:
            seq = 1
        out.append(seq)
        prev_end = b
    return out


def decode_html(row: dict) -> str:
    """decode(ids) with and without special tokens, and whether it gives the input back."""
    plain = row["texts"][0] if len(row["texts"]) == 1 or row["texts"][1] is None else None
    parts = ['<div class="ce-decode">',
             f'<span class="k">decode(ids)</span><code>{esc(row["decoded"])}</code>',
             f'<span class="k">decode(ids, skip_special_tokens=True)</span><code>{esc(row["decoded_skip"])}</code>']
    if plain is not None and not row.get("cut") and row.get("windows", 1) == 1:
        if row["decoded_skip"] == plain:
            verdict = '<span class="ce-ok">✓ identical to the input</span>'
        elif row["decoded_skip"] == plain.lower():
            verdict = '<span class="ce-ok">✓ the input, lowercased (this tokenizer lowercases)</span>'
        else:
            verdict = ('<span class="ce-diff">≠ differs from the input (the tokenizer normalises: case, accents, '
                       "spacing, unknown characters)</span>")
        parts.append(f'<span class="k">round trip</span>{verdict}')
    parts.append("</div>")
    return "".join(parts)


def table_html(row: dict, shown: int) -> str:
    """position, token, id, attention_mask, token_type_id, offsets, covered text, word, special."""
    texts = [t or "" for t in row["texts"]]
    seq_ids = row.get("sequence_ids") or (infer_sequence_ids(row) if row.get("offsets") else None)
    cols = ["pos", "token", "id", "attention_mask", "token_type_id", "offsets", "text", "word", "special"]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = []
    for k in range(shown):
        kind = _kind(row, k)
        cls = {"pad": "padded", "special": "special"}.get(kind, "")
        covered = ""
        if row.get("offsets") and kind == "content" and seq_ids and seq_ids[k] is not None:
            a, b = row["offsets"][k]
            covered = texts[seq_ids[k]][a:b] if seq_ids[k] < len(texts) else ""
        cells = [k, visible_token(row["tokens"][k]), row["input_ids"][k], _at_k(row, "attention_mask", k),
                 _at_k(row, "token_type_ids", k), _offsets(row, k), repr(covered) if covered else "",
                 _at_k(row, "word_ids", k), {"pad": "padding", "special": "✓"}.get(kind, "")]
        tds = "".join(f'<td class="m">{esc(c)}</td>' for c in cells)
        body.append(f'<tr class="{cls}" data-pos="{k}">{tds}</tr>')
    return f'<table class="ce-tok-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _at_k(row: dict, key: str, k: int) -> str:
    values = row.get(key)
    if values is None:
        return "—"
    return "" if values[k] is None else str(values[k])


def _offsets(row: dict, k: int) -> str:
    offsets = row.get("offsets")
    return "—" if offsets is None else f"({offsets[k][0]}, {offsets[k][1]})"


def facts_html(facts: dict) -> str:
    """Tokenizer facts: class, vocab size, limits, sides, then each special token with its id."""
    special = facts.get("special_tokens") or {}
    plain = {k: v for k, v in facts.items() if k not in ("special_tokens", "class") and v is not None}
    rows = [f'<span class="k">class</span><span class="v">{esc(facts.get("class", "?"))}</span>']
    rows += [f'<span class="k">{esc(k)}</span><span class="v">{esc(_fact(v))}</span>' for k, v in plain.items()]
    chips = "".join(f'<span title="{esc(name)}"><span class="ce-sp">{esc(tok)}</span><span class="id">{esc(i)}</span>'
                    f'<span class="ce-note"> {esc(name)}</span></span>' for name, tok, i in special_list(special))
    return ('<div class="ce-tok-card"><h4>Tokenizer facts</h4><div class="ce-facts">' + "".join(rows)
            + f'<span class="k">special tokens</span><span class="ce-special-list">{chips or "none"}</span>'
            + "</div></div>")


def _fact(value) -> str:
    if isinstance(value, int) and value >= 10**20:
        return f"{value:.0e} (no limit set)"
    if isinstance(value, dict):  # e.g. added_tokens {id: token}
        shown = ", ".join(f"{k} {v}" for k, v in list(value.items())[:8])
        return f"{len(value)}: {shown}" + (", …" if len(value) > 8 else "")
    if isinstance(value, list | tuple):
        return (", ".join(str(v) for v in value[:12]) + (", …" if len(value) > 12 else "")) or "none"
    return str(value)


def special_list(special) -> list[tuple[str, str, object]]:
    """(name, token, id) triples from the engine's `describe()["special_tokens"]`, whatever its shape:
    {name: {"token":…, "id":…}}, {name: [token, id]}, {name: token} or a list of dicts."""
    out = []
    items = special.items() if isinstance(special, dict) else ((d.get("name", ""), d) for d in special)
    for name, value in items:
        if isinstance(value, dict):
            out.append((name, value.get("token", value.get("content", "?")), value.get("id", "?")))
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            out.append((name, value[0], value[1]))
        else:
            out.append((name, value, "?"))
    return out


def empty_html(message: str) -> str:
    return f'<div class="ce-tok-side"><p class="ce-note">{esc(message)}</p></div>'
