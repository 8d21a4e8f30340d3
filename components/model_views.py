"""Pure rendering helpers for the Model tab: numbers and lists in, HTML strings out.

Nothing here loads a model or imports gradio, so every view is unit-testable. Charts are plain
HTML/CSS bars; the attention map is an SVG (tokens on both axes) and the all-heads overview a grid
of small PNG thumbnails (Pillow), so that 12 × 12 heads stay light in the page.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from typing import Any

from loaders.tasks import MAX_MAP_TOKENS

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4f46e5",
           "#65a30d"]
CSS = """
.ce-bars { font-size: 0.85em; margin: 0.3em 0 0.8em 0; }
.ce-bars h4 { margin: 0.2em 0; }
.ce-bar { display: grid; grid-template-columns: minmax(6em, 14em) 1fr 5.5em; gap: 0.5em; align-items: center; }
.ce-bar .lbl { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, monospace; }
.ce-bar .track { background: #eef2f7; height: 1em; border-radius: 3px; }
.ce-bar .fill { background: #3b82f6; height: 100%; border-radius: 3px; }
.ce-bar.top .fill { background: #1d4ed8; }
.ce-bar .val { text-align: right; font-variant-numeric: tabular-nums; }
.ce-table { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0; }
.ce-table th, .ce-table td { border-bottom: 1px solid #e5e7eb; padding: 0.15em 0.6em; text-align: left; }
.ce-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ce-tokens { line-height: 2.1em; font-family: ui-monospace, monospace; font-size: 0.9em; }
.ce-tok { padding: 0.1em 0.25em; margin: 0 0.1em; border-radius: 4px; border: 1px solid #d1d5db; }
.ce-tok sub { font-size: 0.7em; margin-left: 0.2em; opacity: 0.85; }
.ce-legend span { margin-right: 0.8em; font-size: 0.85em; }
.ce-report { padding: 0.6em 0.9em; border-radius: 6px; border: 1px solid #bbf7d0; background: #f0fdf4; }
.ce-report.untrained { border-color: #fca5a5; background: #fef2f2; color: #991b1b; }
.ce-report.notice { border-color: #fde68a; background: #fffbeb; }
.ce-report ul { margin: 0.3em 0; padding-left: 1.3em; }
.ce-tree details { margin-left: 1em; }
.ce-tree summary { cursor: pointer; font-family: ui-monospace, monospace; font-size: 0.85em; }
.ce-tree .cls { color: #6b7280; }
.ce-overview { display: grid; gap: 2px; font-size: 0.7em; align-items: center; }
.ce-overview img { image-rendering: pixelated; width: 100%; border: 1px solid #e5e7eb; }
.ce-answer { background: #fde047; padding: 0.05em 0.2em; border-radius: 3px; font-weight: 600; }
.ce-kv { font-size: 0.9em; }
.ce-kv b { display: inline-block; min-width: 16em; font-weight: 600; }
"""


# --------------------------------------------------------------------------------------------- numbers
def fmt_count(n: float) -> str:
    """22713728 → '22.7M'."""
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return str(int(n))


def fmt_bytes(n: float) -> str:
    """90856960 → '86.6 MiB'."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def pct(p: float) -> str:
    return f"{100 * p:.1f}%" if p >= 0.001 else f"{100 * p:.2g}%"


def esc(value: Any) -> str:
    return html.escape(str(value))


def show_token(token: str) -> str:
    """Make whitespace in a token visible (GPT-2's Ġ is already decoded to a space by us)."""
    return token.replace("\n", "↵").replace(" ", "·") if token.strip() != token or not token else token


# --------------------------------------------------------------------------------------------- generic views
def table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """A compact table; columns listed in `numeric` are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="ce-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv_html(pairs: Sequence[tuple[str, Any]]) -> str:
    """'label: value' lines for a summary."""
    return '<div class="ce-kv">' + "".join(f"<div><b>{esc(k)}</b> {esc(v)}</div>" for k, v in pairs) + "</div>"


def bar_chart_html(items: Sequence[tuple[str, float]], title: str | None = None,
                   fmt: Callable[[float], str] = pct, scale: float | None = None) -> str:
    """Horizontal bars, one per (label, value); the largest is marked. `scale` = value of a full bar."""
    top = max((v for _, v in items), default=0.0)
    scale = scale if scale is not None else (top or 1.0)
    rows = []
    for label, value in items:
        width = max(0.0, min(100.0, 100.0 * value / scale)) if scale else 0.0
        cls = "ce-bar top" if value == top and top > 0 else "ce-bar"
        rows.append(f'<div class="{cls}"><span class="lbl" title="{esc(label)}">{esc(label)}</span>'
                    f'<div class="track"><div class="fill" style="width:{width:.1f}%"></div></div>'
                    f'<span class="val">{esc(fmt(value))}</span></div>')
    head = f"<h4>{esc(title)}</h4>" if title else ""
    return f'<div class="ce-bars">{head}{"".join(rows)}</div>'


def label_color(label: str, labels: Sequence[str]) -> str:
    return PALETTE[list(labels).index(label) % len(PALETTE)] if label in labels else "#9ca3af"


def tokens_by_label_html(tokens: Sequence[str], labels: Sequence[str], scores: Sequence[float],
                         all_labels: Sequence[str], neutral: str = "O") -> str:
    """Token classification: each token tinted by its predicted label, with the probability; a legend."""
    spans = []
    for tok, lab, p in zip(tokens, labels, scores, strict=True):
        if lab == neutral:
            spans.append(f'<span class="ce-tok" title="{esc(lab)} {pct(p)}">{esc(show_token(tok))}</span>')
            continue
        color = label_color(lab, all_labels)
        spans.append(f'<span class="ce-tok" style="background:{color}22;border-color:{color}" '
                     f'title="{esc(lab)} {pct(p)}">{esc(show_token(tok))}<sub style="color:{color}">{esc(lab)}'
                     "</sub></span>")
    legend = "".join(f'<span style="color:{label_color(lab, all_labels)}">■ {esc(lab)}</span>' for lab in all_labels)
    return f'<div class="ce-legend">{legend}</div><div class="ce-tokens">{"".join(spans)}</div>'


def prob_color(p: float) -> str:
    """Low probability red, high green (for generated tokens)."""
    p = min(1.0, max(0.0, p))
    return f"hsl({int(120 * p)}, 70%, 88%)"


def continuation_html(prompt: str, steps: Sequence[tuple[str, float]]) -> str:
    """The prompt, then each generated token tinted and labelled by the probability it had when chosen."""
    spans = [f'<span class="ce-tok" style="background:{prob_color(p)}" title="p = {pct(p)}">'
             f"{esc(show_token(tok))}<sub>{pct(p)}</sub></span>" for tok, p in steps]
    return f'<div class="ce-tokens"><span style="opacity:0.7">{esc(prompt)}</span> {"".join(spans)}</div>'


def highlight_span_html(text: str, start: int, end: int) -> str:
    """`text` with characters [start, end) marked as the answer."""
    start, end = max(0, start), max(start, min(end, len(text)))
    return (f'<div class="ce-tokens">{esc(text[:start])}<span class="ce-answer">{esc(text[start:end])}</span>'
            f"{esc(text[end:])}</div>")


def vector_strip_html(values: Sequence[float], title: str, limit: int = 96) -> str:
    """The first `limit` numbers of a vector as a diverging colour strip (blue < 0 < red) with stats."""
    vals = list(values)
    if not vals:
        return ""
    peak = max(abs(v) for v in vals) or 1.0
    cells = "".join(f'<span title="[{i}] {v:+.4f}" style="display:inline-block;width:6px;height:22px;'
                    f'background:{_diverging(v / peak)}"></span>' for i, v in enumerate(vals[:limit]))
    norm = sum(v * v for v in vals) ** 0.5
    mean = sum(vals) / len(vals)
    stats = f"dim {len(vals)} · L2 norm {norm:.4g} · mean {mean:+.4g} · min {min(vals):+.4g} · max {max(vals):+.4g}"
    more = f" (first {limit} dimensions)" if len(vals) > limit else ""
    return f"<h4>{esc(title)}</h4><div>{cells}</div><div class='ce-kv'>{esc(stats + more)}</div>"


def _diverging(x: float) -> str:
    x = max(-1.0, min(1.0, x))
    if x >= 0:
        return f"rgb(255,{int(255 * (1 - x))},{int(255 * (1 - x))})"
    return f"rgb({int(255 * (1 + x))},{int(255 * (1 + x))},255)"


# --------------------------------------------------------------------------------------------- attention
def heat(v: float) -> str:
    """0 → white, 1 → dark blue."""
    v = min(1.0, max(0.0, v))
    return f"rgb({int(255 - 226 * v)},{int(255 - 177 * v)},{int(255 - 39 * v)})"


def attention_svg(tokens: Sequence[str], matrix: Sequence[Sequence[float]], title: str = "") -> str:
    """Attention probabilities as an SVG heatmap: rows = query tokens, columns = key tokens."""
    n = min(len(tokens), MAX_MAP_TOKENS)
    top = max((float(matrix[i][j]) for i in range(n) for j in range(n)), default=0.0)
    cell = 22 if n <= 24 else 14 if n <= 40 else 10
    font = max(7, min(12, cell - 6))
    label = max(len(show_token(t)) for t in tokens[:n]) * font * 0.62 + 8 if n else 0
    size = label + n * cell
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 10:.0f}" height="{size + 10:.0f}" '
             f'font-family="ui-monospace, monospace" font-size="{font}" role="img" aria-label="{esc(title)}">']
    for i, tok in enumerate(tokens[:n]):
        y = label + i * cell + cell * 0.7
        parts.append(f'<text x="{label - 4:.0f}" y="{y:.1f}" text-anchor="end">{esc(show_token(tok))}</text>')
        x = label + i * cell + cell * 0.7
        parts.append(f'<text transform="translate({x:.1f},{label - 4:.0f}) rotate(-90)">{esc(show_token(tok))}</text>')
    for i in range(n):
        for j in range(n):
            v = float(matrix[i][j])
            parts.append(f'<rect x="{label + j * cell:.0f}" y="{label + i * cell:.0f}" width="{cell}" '
                         f'height="{cell}" fill="{heat(v ** 0.5)}"><title>{esc(tokens[i])} → {esc(tokens[j])}: '
                         f"{v:.3f}</title></rect>")
    parts.append("</svg>")
    note = f"<div class='ce-kv'>First {n} of {len(tokens)} tokens shown.</div>" if n < len(tokens) else ""
    head = f"<h4>{esc(title)}</h4>" if title else ""
    return (f"{head}<div style='overflow:auto'>{''.join(parts)}</div>{note}"
            "<div class='ce-kv'>Rows: the token that attends (query). Columns: the token attended to (key). "
            f"Colour ∝ √weight (white 0, dark blue 1; largest here {top:.3f}); hover a cell for its value.</div>")


def attention_overview_html(attentions, layer_limit: int = 48, head_limit: int = 64) -> str:
    """All heads of all layers as thumbnails: `attentions` is (layers, heads, n, n) array-like."""
    import numpy as np

    att = np.asarray(attentions, dtype=np.float32)[:layer_limit, :head_limit]
    layers, heads = att.shape[:2]
    cols = f"3.5em repeat({heads}, minmax(18px, 64px))"
    cells = ["<span></span>"] + [f"<span style='text-align:center'>h{h}</span>" for h in range(heads)]
    for layer in range(layers):
        cells.append(f"<span>layer {layer}</span>")
        cells += [f'<img alt="layer {layer} head {h}" title="layer {layer}, head {h}" '
                  f'src="data:image/png;base64,{_png(att[layer, h])}">' for h in range(heads)]
    return (f"<h4>All heads (rows: layers, columns: heads; colour ∝ √weight as in the map above)</h4>"
            f'<div class="ce-overview" style="grid-template-columns:{cols}">{"".join(cells)}</div>')


def _png(matrix) -> str:
    """A (n, n) probability matrix as a base64 PNG in the `heat` colours."""
    import numpy as np
    from PIL import Image

    v = np.sqrt(np.clip(np.asarray(matrix, dtype=np.float32), 0.0, 1.0))[..., None]  # same √ scale as the map
    rgb = (np.array([255, 255, 255]) - v * np.array([226, 177, 39])).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


# --------------------------------------------------------------------------------------------- model facts
def loading_report_html(report: dict[str, Any] | None, class_name: str) -> str:
    """The loading report in plain words; red when some weights are random (an untrained head)."""
    if not report:
        return ""
    items = [f"{report.get('loaded', 0)} tensors loaded from {', '.join(report.get('weight_files') or [])} "
             f"({report.get('format', '')}) as {report.get('dtype', '')}."]
    items += list(report.get("warnings") or [])
    if report.get("tied"):
        items.append("Tied weights (one tensor shared): " + ", ".join(f"{t} = {s}" for t, s in report["tied"].items()))
    if report.get("ignored_keys"):
        items.append(f"{len(report['ignored_keys'])} checkpoint tensor(s) dropped on purpose (e.g. "
                     f"{next(iter(report['ignored_keys']))}: {next(iter(report['ignored_keys'].values()))}).")
    new = report.get("newly_initialised") or []
    if new:
        head = (f"⚠ Untrained head: {len(new)} weight(s) of {class_name} are not in the checkpoint and were "
                "initialised at random, so its outputs are random until it is fine-tuned.")
        cls = "ce-report untrained"
    elif report.get("unexpected_keys"):
        head, cls = f"✓ Every weight of {class_name} came from the checkpoint; some checkpoint weights were unused.", \
            "ce-report notice"
    else:
        head, cls = f"✓ Every weight of {class_name} came from the checkpoint.", "ce-report"
    lis = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f'<h3>Loading report</h3><div class="{cls}"><b>{esc(head)}</b><ul>{lis}</ul></div>'


def module_tree_html(module, name: str = "model", depth: int = 0, max_depth: int = 6, repeats: int = 1) -> str:
    """The module tree as nested <details> (any torch Module), each line with its parameter count.

    A run of identical children (layer.0 … layer.11) is shown once, marked ×N.
    """
    count = sum(p.numel() for p in module.parameters())
    children = list(module.named_children())
    each = f" each, ×{repeats}" if repeats > 1 else ""
    line = f"<b>{esc(name)}</b> <span class='cls'>{esc(type(module).__name__)}</span> · {fmt_count(count)} params{each}"
    if not children or depth >= max_depth:
        return f"<div class='ce-tree'><summary style='list-style:none'>{line}</summary></div>"
    inner = "".join(_children_html(children, depth + 1, max_depth))
    opened = " open" if depth == 0 else ""
    return f"<div class='ce-tree'><details{opened}><summary>{line}</summary>{inner}</details></div>"


def _children_html(children: list, depth: int, max_depth: int) -> list[str]:
    out, i = [], 0
    while i < len(children):
        name, child = children[i]
        j = i + 1
        while j < len(children) and children[j][0].isdigit() and _same_shape(children[j][1], child):
            j += 1
        label = f"{name}–{children[j - 1][0]}" if j - i > 1 else name
        out.append(module_tree_html(child, label, depth, max_depth, repeats=j - i))
        i = j
    return out


def _same_shape(a, b) -> bool:
    return type(a) is type(b) and [tuple(p.shape) for p in a.parameters()] == [tuple(p.shape) for p in b.parameters()]
