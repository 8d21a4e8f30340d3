"""The Model tab: load a checkpoint with an AutoModel class and see what its task head outputs.

Two views: "Run a model" (summary, loading report, head outputs, attention maps, trace) and the
"Weights inspector" (tensors from safetensors headers, any architecture, nothing downloaded).
Handlers are thin: `loaders.tasks` computes, `model_views` renders, `friendly` turns errors into
messages. API endpoints: `/run_model` and `/inspect_weights` (JSON).
"""

from __future__ import annotations

import gradio as gr

from loaders import DEFAULT_TEXT_CHECKPOINT, LoaderError, inspect_weights, tasks

from . import model_views as views
from .common import checkpoint_box, friendly, trace_html

CSS = views.CSS + """
.ce-model-out h3 { margin: 0.6em 0 0.3em 0; }
"""
DEFAULT_TEXT = "Paris is the [MASK] of France."
DEFAULT_QUESTION = "What is Paris?"


def devices() -> list[str]:
    """cpu, plus cuda when torch sees a GPU (torch is imported lazily, only here)."""
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


# --------------------------------------------------------------------------------------------- handlers
def on_checkpoint(checkpoint: str):
    """Task choices for a checkpoint: what the family supports; the default follows config.architectures.

    Quiet on errors (a half-typed path is normal): the note says what is wrong, and Run reports it.
    """
    try:
        kinds, default, archs = tasks.task_options(checkpoint)
    except LoaderError as e:
        return gr.update(), f"⚠ {e}"
    choices = [(f"{tasks.TASK_LABELS[k]} ({k})" + (" ← trained as" if k == default and archs else ""), k)
               for k in kinds]
    note = f"config.json architectures: **{archs}**" if archs else "config.json names no architectures."
    return gr.update(choices=choices, value=default), note


@friendly
def on_run(checkpoint, task, dtype, device, text, question, top_k, max_new_tokens, do_sample, temperature, seed):
    """Run the model and render every view; returns the page pieces and the attention state."""
    run = tasks.run_model(checkpoint, task, dtype, text, question, top_k=top_k, max_new_tokens=max_new_tokens,
                          do_sample=do_sample, temperature=temperature, seed=seed, device=device or "cpu")
    d = run.data
    layers, heads = (run.attentions.shape[:2] if run.attentions is not None else (0, 0))
    state = {"tokens": run.tokens, "attentions": run.attentions}
    return (render_summary(d["summary"], run.model),
            views.loading_report_html(d["loading_report"], d["class"]),
            render_output(d),
            gr.update(maximum=max(layers - 1, 1), value=0, interactive=layers > 1),
            gr.update(maximum=max(heads - 1, 1), value=0, interactive=heads > 1),
            render_attention(state, 0, 0),
            render_overview(state),
            trace_html(*run.traces),
            state)


def on_attention(state, layer, head):
    return render_attention(state, layer, head)


@friendly
def on_inspect(checkpoint: str):
    report = inspect_weights(checkpoint)
    return render_weights(report.to_dict()), trace_html(report.trace)


# --------------------------------------------------------------------------------------------- API
@friendly
def run_model_api(checkpoint: str, task: str = "AutoModel", dtype: str = "float32", text: str = DEFAULT_TEXT,
                  question: str = "", top_k: int = 5, max_new_tokens: int = 20) -> dict:
    """Load `checkpoint` with the Auto class `task`, run it on `text`; returns the summary, loading report,
    tokens, the head's outputs and the resolution trace as JSON."""
    return tasks.run_model(checkpoint, task, dtype, text, question, top_k=top_k, max_new_tokens=max_new_tokens).data


@friendly
def inspect_weights_api(checkpoint: str) -> dict:
    """List every tensor (name, shape, dtype) of a checkpoint from its safetensors headers, grouped by layer,
    with bytes per dtype and estimated inference memory; no weights are downloaded."""
    return inspect_weights(checkpoint).to_dict()


# --------------------------------------------------------------------------------------------- rendering
def render_summary(s: dict, model) -> str:
    kv = [("Family (model_type)", s["family"]), ("Class", s["class"]),
          ("Trained as (config.architectures)", ", ".join(s["architectures"] or []) or "not stated"),
          ("Layers", s["layers"]), ("Attention heads", s["heads"] if not s.get("kv_heads") or
                                    s["kv_heads"] == s["heads"] else f"{s['heads']} (key/value: {s['kv_heads']})"),
          ("Hidden size", s["hidden_size"]), ("Vocabulary", s["vocab_size"]),
          ("Parameters", f"{views.fmt_count(s['parameters'])} ({s['parameters']:,})"),
          ("dtype · device", f"{s['dtype']} · {s['device']}"), ("Memory (weights + buffers)", views.fmt_bytes(s["memory_bytes"]))]
    rows = [(name, f"{n:,}", views.pct(n / s["parameters"]) if s["parameters"] else "") for name, n in
            s["per_module"].items()]
    tree = views.module_tree_html(model, type(model).__name__)
    table = views.table_html(["module", "parameters", "share"], rows, numeric=(1, 2))
    return ("<h3>Summary</h3><div style='display:flex;gap:3em;flex-wrap:wrap'>" + views.kv_html(kv)
            + f"<div><b>Parameters per module</b> (tied weights counted once){table}</div></div>"
            + f"<details><summary><b>Module tree</b> (click to open)</summary>{tree}</details>")


def render_output(d: dict) -> str:
    out = d["output"]
    body = RENDERERS[out["kind"]](out, d)
    note = (f"<div class='ce-kv'>Input truncated to {tasks.MAX_TOKENS} tokens.</div>" if d.get("truncated") else "")
    return f'<div class="ce-model-out">{body}{note}</div>'


def _render_base(out: dict, d: dict) -> str:
    norms = [(("embeddings" if i == 0 else f"layer {i}"), v) for i, v in enumerate(out["layer_norms"])]
    return (f"<div class='ce-kv'>last_hidden_state shape {out['shape']} (batch, tokens, hidden)</div>"
            + views.vector_strip_html(out["embedding"], f"Sentence embedding — {out['pooled_from']}")
            + views.bar_chart_html(norms, "Mean L2 norm of the hidden state per layer", fmt=lambda v: f"{v:.2f}"))


def _render_seq_cls(out: dict, d: dict) -> str:
    items = sorted(zip(out["labels"], out["probabilities"], strict=True), key=lambda x: -x[1])
    return views.bar_chart_html(items, f"Label probabilities ({out['activation']} of the logits; names from "
                                "config.id2label)", scale=1.0)


def _render_token_cls(out: dict, d: dict) -> str:
    rows = out["tokens"]
    return ("<h4>Predicted label per token</h4>" + views.tokens_by_label_html(
        [r["token"] for r in rows], [r["label"] for r in rows], [r["probability"] for r in rows], out["labels"])
        + views.table_html(["#", "token", "label", "probability"],
                           [(r["index"], r["token"], r["label"], views.pct(r["probability"])) for r in rows], (0, 3)))


def _render_masked(out: dict, d: dict) -> str:
    if not out["masks"]:
        return f"<div class='ce-report notice'>{views.esc(out['note'])}</div>"
    return "".join(views.bar_chart_html([(c["token"], c["probability"]) for c in m["candidates"]],
                                        f"{out['mask_token']} at token {m['position']}: top candidates "
                                        "(bars relative to the first)")
                   for m in out["masks"])


def _render_causal(out: dict, d: dict) -> str:
    nxt = views.bar_chart_html([(views.show_token(c["token"]), c["probability"]) for c in out["next_token"]],
                               "Next-token distribution (top-k; bars relative to the first)")
    s = out["settings"]
    how = f"{s['strategy']}, {s['max_new_tokens']} new tokens" + (
        f", temperature {s['temperature']}, seed {s['seed']}" if s["do_sample"] else "")
    steps = [(st["token"], st["probability"]) for st in out["steps"]]
    return (nxt + f"<h4>Continuation ({views.esc(how)}); each token with the probability it had</h4>"
            + views.continuation_html(out["prompt"], steps))


def _render_qa(out: dict, d: dict) -> str:
    start, end = out["char_span"]
    span = views.highlight_span_html(out["context"], start, end)
    return (f"<h4>Answer: “{views.esc(out['answer'])}” (score {views.pct(out['score'])})</h4>{span}"
            + views.bar_chart_html([(f"{r['token']} #{r['index']}", r["probability"]) for r in out["start_top"]],
                                   "Start position (softmax over context tokens)", scale=1.0)
            + views.bar_chart_html([(f"{r['token']} #{r['index']}", r["probability"]) for r in out["end_top"]],
                                   "End position", scale=1.0))


RENDERERS = {"base": _render_base, "sequence_classification": _render_seq_cls, "token_classification": _render_token_cls,
             "masked_lm": _render_masked, "causal_lm": _render_causal, "question_answering": _render_qa}


def render_attention(state, layer, head) -> str:
    if not state or state.get("attentions") is None:
        return "<div class='ce-kv'>This model returned no attention probabilities.</div>"
    att = state["attentions"]
    layer = int(min(max(layer or 0, 0), att.shape[0] - 1))
    head = int(min(max(head or 0, 0), att.shape[1] - 1))
    return views.attention_svg(state["tokens"], att[layer, head], f"Layer {layer}, head {head}")


def render_overview(state) -> str:
    if not state or state.get("attentions") is None:
        return ""
    return views.attention_overview_html(state["attentions"])


def render_weights(r: dict) -> str:
    kv = [("Source", r["source"]), ("Format", r["format"]), ("Files", ", ".join(r["files"])),
          ("model_type", r["model_type"] or "not stated"), ("Architectures", ", ".join(r["architectures"] or []) or "—"),
          ("Tensors", len(r["tensors"])), ("Parameters", f"{views.fmt_count(r['total_params'])} ({r['total_params']:,})"),
          ("Stored size", views.fmt_bytes(r["total_bytes"]))]
    memory = views.table_html(["precision", "weights in memory"], [(k, views.fmt_bytes(v)) for k, v in r["memory"].items()],
                              numeric=(1,))
    dtypes = views.table_html(["dtype", "tensors", "parameters", "bytes"],
                              [(k, v["tensors"], f"{v['params']:,}", views.fmt_bytes(v["bytes"]))
                               for k, v in r["by_dtype"].items()], numeric=(1, 2, 3))
    return (views.kv_html(kv) + "<h4>Estimated inference memory (weights only; activations and KV cache extra)</h4>"
            + memory + "<h4>By dtype (as stored)</h4>" + dtypes + "<h4>Groups (repeated blocks collapsed)</h4>"
            + _groups_html(r["groups"]) + _tensor_list_html(r["tensors"]))


def _groups_html(groups: list[dict]) -> str:
    """One collapsible line per group; the first repeated block (a transformer layer) starts open."""
    parts, opened = [], False
    total = sum(g["params"] for g in groups) or 1
    for g in groups:
        title = f"{g['name']}" + (f" × {g['repeats']}" if g["repeats"] > 1 else "")
        is_open = g["repeats"] > 1 and not opened
        opened = opened or is_open
        rows = [(t["name"], "×".join(map(str, t["shape"])) or "scalar", t["dtype"], t["count"]) for t in g["template"]]
        parts.append(f"<details{' open' if is_open else ''}><summary><code>{views.esc(title)}</code> · "
                     f"{views.fmt_count(g['params'])} params ({views.pct(g['params'] / total)}) · "
                     f"{views.fmt_bytes(g['bytes'])}" + (" — one block shown:" if is_open else "") + "</summary>"
                     + views.table_html(["tensor", "shape", "dtype", "count"], rows, numeric=(3,)) + "</details>")
    return "".join(parts)


def _tensor_list_html(tensors: list[dict], limit: int = 2000) -> str:
    rows = [(t["name"], "×".join(map(str, t["shape"])) or "scalar", t["dtype"], views.fmt_bytes(t["bytes"]), t["file"])
            for t in tensors[:limit]]
    more = f" (first {limit} of {len(tensors)})" if len(tensors) > limit else ""
    return (f"<details><summary><b>Every tensor{more}</b></summary>"
            + views.table_html(["name", "shape", "dtype", "bytes", "file"], rows, numeric=(3,)) + "</details>")


# --------------------------------------------------------------------------------------------- layout
def build() -> None:
    """Layout of the tab: 'Run a model' and 'Weights inspector' views."""
    with gr.Tabs():
        with gr.Tab("Run a model", id="model-run"):
            _build_run()
        with gr.Tab("Weights inspector", id="model-weights"):
            _build_inspector()
    gr.api(run_model_api, api_name="run_model")
    gr.api(inspect_weights_api, api_name="inspect_weights")


def _build_run() -> None:
    with gr.Row():
        ckpt = checkpoint_box(DEFAULT_TEXT_CHECKPOINT, elem_id="model-checkpoint", scale=3)
        kinds, default = tasks.default_checkpoint_tasks(DEFAULT_TEXT_CHECKPOINT)
        task = gr.Dropdown(choices=[(f"{tasks.TASK_LABELS[k]} ({k})", k) for k in kinds], value=default,
                           label="Task (Auto class)", elem_id="model-task", scale=3)
        dtype = gr.Dropdown(list(tasks.DTYPES), value="float32", label="dtype", scale=1)
        avail = devices()
        device = gr.Dropdown(avail, value="cpu", label="Device", visible=len(avail) > 1, scale=1)
    archs = gr.Markdown()
    text = gr.Textbox(DEFAULT_TEXT, label="Input text (question answering: the context)", lines=2, elem_id="model-text")
    question = gr.Textbox(DEFAULT_QUESTION, label="Question (question answering only)", visible=False, max_lines=1,
                          elem_id="model-question")
    with gr.Accordion("Output settings", open=False):
        with gr.Row():
            top_k = gr.Slider(1, 20, value=5, step=1, label="top-k shown")
            max_new = gr.Slider(1, 64, value=20, step=1, label="Causal LM: tokens to generate")
            sample = gr.Checkbox(False, label="Causal LM: sample (else greedy)")
            temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
            seed = gr.Number(0, precision=0, label="Seed")
    run = gr.Button("Run model", variant="primary", elem_id="model-run-button")
    summary = gr.HTML(elem_id="model-summary")
    report = gr.HTML(elem_id="model-report")
    gr.Markdown("### Task-head output")
    output = gr.HTML(elem_id="model-output")
    gr.Markdown("### Attention map")
    with gr.Row():
        layer = gr.Slider(0, 1, value=0, step=1, label="Layer", elem_id="model-layer", interactive=False)
        head = gr.Slider(0, 1, value=0, step=1, label="Head", elem_id="model-head", interactive=False)
    attention = gr.HTML(elem_id="model-attention")
    with gr.Accordion("All heads overview", open=False):
        overview = gr.HTML(elem_id="model-overview")
    with gr.Accordion("Resolution trace", open=False):
        trace = gr.HTML(elem_id="model-trace")
    state = gr.State()

    for event in (ckpt.submit, ckpt.blur):
        event(on_checkpoint, ckpt, [task, archs], show_progress="hidden")
    task.change(lambda t: gr.update(visible=t == "AutoModelForQuestionAnswering"), task, question)
    inputs = [ckpt, task, dtype, device, text, question, top_k, max_new, sample, temperature, seed]
    run.click(on_run, inputs, [summary, report, output, layer, head, attention, overview, trace, state],
              show_progress_on=[summary], api_visibility="private")
    for slider in (layer, head):
        slider.change(on_attention, [state, layer, head], attention, show_progress="hidden", trigger_mode="always_last",
                      api_visibility="private")


def _build_inspector() -> None:
    gr.Markdown("Lists every tensor from the **safetensors headers** only — works for any architecture and any size "
                "(a 70B checkpoint too): on the Hub via HTTP range requests, no weights downloaded.")
    with gr.Row():
        ckpt = checkpoint_box(DEFAULT_TEXT_CHECKPOINT, elem_id="weights-checkpoint", scale=4)
        go = gr.Button("Inspect weights", variant="primary", elem_id="weights-button", scale=1)
    out = gr.HTML(elem_id="weights-report")
    with gr.Accordion("Resolution trace", open=False):
        trace = gr.HTML()
    go.click(on_inspect, ckpt, [out, trace], api_visibility="private")
    ckpt.submit(on_inspect, ckpt, [out, trace], api_visibility="private")
