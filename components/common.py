"""Shared UI pieces: error handling, the resolution-trace view, the checkpoint box.

Handlers stay thin: they call `loaders` and turn our exceptions into `gr.Error`. A user never sees
a traceback; unexpected exceptions are logged server-side and shown as one readable line.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable

import gradio as gr

from loaders import DEFAULT_TEXT_CHECKPOINT, LoaderError, Trace

log = logging.getLogger("checkpoint_explorer")

CSS = """
.ce-trace ol { margin: 0; padding-left: 1.6em; font-family: ui-monospace, monospace; font-size: 0.85em; }
.ce-trace li { margin: 0.15em 0; }
.ce-trace li.warn { color: #b45309; }
.ce-trace .src { color: #2563eb; }
.ce-trace h4 { margin: 0.4em 0 0.2em 0; }
"""


def friendly(fn: Callable) -> Callable:
    """Wrap a handler: our errors become `gr.Error(message)`; anything else is logged and summarised."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except LoaderError as e:
            raise gr.Error(str(e), title=_title(e), print_exception=False) from e
        except Exception as e:  # noqa: BLE001 — the page must keep working whatever happens
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Unexpected {type(e).__name__}: {e}. The app keeps working; please report this.",
                           title="Internal error", print_exception=False) from e

    return wrapper


def _title(e: Exception) -> str:
    # "CheckpointNotFound" -> "Checkpoint not found"
    name = type(e).__name__
    words = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    return words[:1].upper() + words[1:]


def trace_html(*traces: Trace) -> str:
    """Render one or more resolution traces as numbered lists; warnings stand out."""
    parts = ['<div class="ce-trace">']
    for trace in traces:
        if trace is None:
            continue
        parts.append(f"<h4>{html.escape(trace.title)}</h4><ol>")
        for step in trace:
            fact = f'<span class="src">{html.escape(step.source)}</span>'
            if step.key is not None:
                fact += html.escape(f": {step.key} = ") + f"<code>{html.escape(_short(step.value))}</code>"
            mark = "⚠ " if step.level == "warn" else ""
            parts.append(f'<li class="{step.level}">{mark}{fact} → {html.escape(step.decision)}</li>')
        parts.append("</ol>")
    parts.append("</div>")
    return "".join(parts)


def _short(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def checkpoint_box(value: str = DEFAULT_TEXT_CHECKPOINT, label: str = "Checkpoint", **kwargs) -> gr.Textbox:
    """A textbox for a Hub repo id or a local folder."""
    return gr.Textbox(value=value, label=label, placeholder="org/name, org/name@revision, or a local folder",
                      max_lines=1, **kwargs)


def planned(title: str, body: str) -> None:
    """Content of a tab whose issue has not landed: says plainly what it will do."""
    gr.Markdown(f"### {title}\n\n{body}")
