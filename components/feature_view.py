"""Markup of the Feature Extractor tab: the summary line, the steps table, the statistics table.

Pure functions from plain data (dicts, lists) to HTML strings; no gradio, no loaders.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

CSS = """
.ce-fx-table { border-collapse: collapse; font-size: 0.88em; margin: 0.3em 0 0.8em 0; width: 100%; }
.ce-fx-table th, .ce-fx-table td { border-bottom: 1px solid var(--border-color-primary); padding: 3px 8px;
  text-align: left; vertical-align: top; }
.ce-fx-table th { font-weight: 600; background: var(--background-fill-secondary); }
.ce-fx-table td.num { text-align: right; font-family: ui-monospace, monospace; }
.ce-fx-table code, .ce-fx-summary code { font-size: 0.95em; }
.ce-fx-summary { font-size: 0.95em; line-height: 1.5; }
.ce-fx-summary .shape { font-family: ui-monospace, monospace; font-weight: 700; color: #1d4ed8; }
.ce-fx-summary .note { color: #b45309; }
.ce-fx-empty { color: var(--body-text-color-subdued); font-style: italic; }
.ce-fx-note { font-size: 0.88em; margin: 0.2em 0 0.6em 0; }
"""


def empty(message: str) -> str:
    return f'<p class="ce-fx-empty">{html.escape(message)}</p>'


def note(message: str) -> str:
    return f'<p class="ce-fx-note">{html.escape(message)}</p>'


def summary(title: str, facts: dict[str, str], outputs: dict[str, dict], notes: Iterable[str]) -> str:
    """Class and key settings, each output's shape and dtype, and the input conversions (stated)."""
    parts = [f'<div class="ce-fx-summary"><b>{html.escape(title)}</b>']
    if facts:
        parts.append(" · " + " · ".join(f"{html.escape(k)} <code>{html.escape(v)}</code>" for k, v in facts.items()))
    rows = [f"<li><code>{html.escape(name)}</code>: <span class=\"shape\">{html.escape(shape_text(o['shape']))}"
            f"</span> {html.escape(o['dtype'])}</li>" for name, o in outputs.items()]
    parts.append("<ul>" + "".join(rows) + "</ul>")
    for note in notes:
        parts.append(f'<div class="note">⚠ {html.escape(note)}</div>')
    parts.append("</div>")
    return "".join(parts)


def shape_text(shape) -> str:
    """(1, 80, 3000) — tuple notation, also for one-element shapes: (5,)."""
    return str(tuple(int(s) for s in shape))


def steps_table(steps: list[dict]) -> str:
    """Each step with the preprocessor_config.json key(s) behind it; `steps` items: name, keys, detail[, shape]."""
    with_shape = any("shape" in s for s in steps)
    head = ["#", "step", "config key(s)", "what it did"] + (["shape after"] if with_shape else [])
    body = []
    for i, step in enumerate(steps, 1):
        keys = ", ".join(f"<code>{html.escape(k)}</code>" for k in step.get("keys") or []) or "—"
        cells = [str(i), f"<b>{html.escape(step['name'])}</b>", keys, html.escape(step.get("detail", ""))]
        if with_shape:
            cells.append(html.escape(shape_text(step["shape"])) if step.get("shape") is not None else "")
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return _table(head, body)


def stats_table(stats: dict[str, dict]) -> str:
    """mean / std / min / max / shape per named array."""
    head = ["array", "shape", "mean", "std", "min", "max"]
    body = []
    for name, s in stats.items():
        nums = "".join(f'<td class="num">{_num(s.get(k))}</td>' for k in ("mean", "std", "min", "max"))
        shape = html.escape(shape_text(s["shape"])) if s.get("shape") is not None else ""
        body.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{shape}</td>{nums}</tr>")
    return _table(head, body)


def _table(head: list[str], body: list[str]) -> str:
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table class="ce-fx-table"><thead><tr>{header}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _num(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
