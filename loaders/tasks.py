"""Task runs, like transformers' pipelines: load (cached), tokenize, run, and turn each task head's
output into plain data (label probabilities, top-k candidates, answer spans, continuations).

`run_model(...)` returns a `Run` whose `.data` is JSON-ready (the Model tab's `/run_model` API
answer) and whose attentions and model feed the tab's views. Used by the UI; no gradio here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cache import LRUCache
from .errors import InputError, UnsupportedModelType
from .hub import Checkpoint
from .registry import MODEL_KINDS
from .trace import Trace

MAX_MAP_TOKENS = 64  # attention maps keep the first tokens only (labels get unreadable beyond)
MAX_TOKENS = 256  # inputs are truncated here: attention maps of every head are kept for the page
MODELS = LRUCache(3)  # (checkpoint, task, dtype, device) → model; shared by every user, so bounded
TOKENIZERS = LRUCache(4)
DTYPES = ("float32", "bfloat16", "float16")
TASK_LABELS = {
    "AutoModel": "base model",
    "AutoModelForMaskedLM": "masked LM",
    "AutoModelForCausalLM": "causal LM",
    "AutoModelForSequenceClassification": "sequence classification",
    "AutoModelForTokenClassification": "token classification",
    "AutoModelForQuestionAnswering": "question answering",
}


@dataclass
class Run:
    """One run: `data` for the API and the views; `attentions` (layers, heads, n, n) numpy or None."""

    data: dict[str, Any]
    tokens: list[str]
    attentions: Any = None
    model: Any = None
    traces: list[Trace] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- tasks
def task_options(checkpoint: str) -> tuple[list[str], str, str | None]:
    """(tasks the family supports, the default task, config.json's architectures as text) for a checkpoint."""
    from loaders.modeling.auto import default_task, supported_tasks

    ckpt = Checkpoint.open(checkpoint, trace=Trace("task options"))
    raw = ckpt.read_json("config.json", required=True, purpose="choosing the model class") or {}
    tasks = supported_tasks(raw.get("model_type"))
    if not tasks:
        raise UnsupportedModelType(f"model_type {raw.get('model_type')!r} has no model implementation yet; the "
                                   "weights inspector still lists its tensors.")
    archs = raw.get("architectures") if isinstance(raw.get("architectures"), list) else None
    return tasks, default_task(raw), ", ".join(archs) if archs else None


# --------------------------------------------------------------------------------------------- loading
def load_model(checkpoint: str, task: str, dtype: str, device: str = "cpu"):
    """The cached model for (checkpoint, task, dtype, device)."""
    import loaders

    if task not in MODEL_KINDS:
        raise InputError(f"Unknown task {task!r}; choose one of {', '.join(MODEL_KINDS)}.")
    if dtype not in DTYPES:
        raise InputError(f"dtype {dtype!r} is not offered; choose one of {', '.join(DTYPES)}.")
    check_device(device)
    auto = getattr(loaders, task)
    return MODELS.get_or_create((checkpoint.strip(), task, dtype, device),
                                lambda: auto.from_pretrained(checkpoint.strip(), dtype=dtype, device=device))


def check_device(device: str) -> None:
    """cpu always; cuda only when torch sees a GPU."""
    import torch

    if device == "cpu" or (device == "cuda" and torch.cuda.is_available()):
        return
    raise InputError(f"Device {device!r} is not available here; choose cpu"
                     + (" or cuda." if torch.cuda.is_available() else " (no CUDA GPU on this server)."))


def default_checkpoint_tasks(checkpoint: str) -> tuple[list[str], str]:
    """Tasks for the packaged default checkpoint, read offline at build time; all tasks if it is not installed."""
    from loaders.hub import packaged_folder

    folder = packaged_folder(checkpoint)
    if folder is None:
        return list(MODEL_KINDS), "AutoModel"
    kinds, default, _ = task_options(str(folder))
    return kinds, default


def load_tokenizer(checkpoint: str):
    from loaders import AutoTokenizer

    return TOKENIZERS.get_or_create(checkpoint.strip(), lambda: AutoTokenizer.from_pretrained(checkpoint.strip()))


# --------------------------------------------------------------------------------------------- running
def run_model(checkpoint: str, task: str, dtype: str, text: str, question: str = "", *, top_k: int = 5,
              max_new_tokens: int = 20, do_sample: bool = False, temperature: float = 1.0, seed: int = 0,
              device: str = "cpu") -> Run:
    """Load, tokenize `text` (QA: `question` + `text` as context), run the head, and describe the result."""
    import torch

    check_device(device)
    if not text or not text.strip():
        raise InputError("The input text is empty; type a sentence to run the model on.")
    if task == "AutoModelForQuestionAnswering" and not (question or "").strip():
        raise InputError("Question answering needs a question as well as the context text.")
    tok = load_tokenizer(checkpoint)
    model = load_model(checkpoint, task, dtype, device)
    enc = _encode(tok, text, question if task == "AutoModelForQuestionAnswering" else None)
    inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.inference_mode():
        out = model(**inputs, output_attentions=True, output_hidden_states=True)
    tokens = display_tokens(enc.tokens(0))
    data = {"checkpoint": checkpoint.strip(), "task": task, "class": type(model).__name__, "dtype": dtype,
            "device": device, "tokens": tokens, "input_ids": enc["input_ids"][0].tolist(),
            "truncated": len(tokens) >= MAX_TOKENS,
            "summary": summarize(model), "loading_report": _report(model)}
    ctx = {"tok": tok, "model": model, "enc": enc, "inputs": inputs, "text": text, "top_k": int(top_k),
           "gen": {"max_new_tokens": int(max_new_tokens), "do_sample": bool(do_sample),
                   "temperature": float(temperature), "seed": int(seed)}}
    data["output"] = HANDLERS[task](out, ctx)
    traces = [t for t in (getattr(tok, "trace", None), getattr(model, "trace", None)) if t is not None]
    data["trace"] = [{"title": t.title, "steps": t.to_list()} for t in traces]
    return Run(data, tokens, _stack_attentions(out), model, traces)


def _encode(tok, text: str, question: str | None):
    kwargs = {"return_tensors": "pt", "truncation": True, "max_length": MAX_TOKENS}
    if question is not None:
        return tok(question, text, **kwargs)
    return tok(text, **kwargs)


def display_tokens(tokens: list[str]) -> list[str]:
    """Byte-level (Ġ, Ċ) and SentencePiece (▁) markers shown as the spaces and newlines they stand for."""
    return [t.replace("Ġ", " ").replace("Ċ", "\n").replace("▁", " ") for t in tokens]


def _report(model) -> dict | None:
    report = getattr(model, "loading_report", None)
    return report.to_dict() if report is not None else None


def _stack_attentions(out):
    """(layers, heads, n, n) float16 numpy of the first row, or None when the model returned none.

    Only the first MAX_MAP_TOKENS tokens are kept (the maps show no more), so a 32-layer × 32-head
    model holds 8 MB per page, not hundreds.
    """
    import torch

    atts = out.get("attentions") if hasattr(out, "get") else None
    if not atts:
        return None
    n = MAX_MAP_TOKENS
    return torch.stack([a[0, :, :n, :n].to(torch.float16) for a in atts]).cpu().numpy()


# --------------------------------------------------------------------------------------------- summary
_LAYERS = ("num_hidden_layers", "n_layer", "n_layers")
_HEADS = ("num_attention_heads", "n_head", "n_heads")
_HIDDEN = ("hidden_size", "n_embd", "dim", "d_model")


def _first(config, keys: tuple[str, ...]):
    return next((config.get(k) for k in keys if config.get(k) is not None), None)


def summarize(model) -> dict[str, Any]:
    """Family, class, sizes, parameters (total and per top-level module), dtype and memory."""
    config = model.config
    params = list(model.parameters())
    memory = sum(p.numel() * p.element_size() for p in params) + sum(b.numel() * b.element_size()
                                                                     for b in model.buffers())
    return {"family": config.model_type, "class": type(model).__name__, "architectures": config.architectures,
            "layers": _first(config, _LAYERS), "heads": _first(config, _HEADS),
            "kv_heads": config.get("num_key_value_heads"), "hidden_size": _first(config, _HIDDEN),
            "vocab_size": config.get("vocab_size"), "parameters": sum(p.numel() for p in params),
            "per_module": per_module_params(model), "dtype": str(params[0].dtype).removeprefix("torch."),
            "device": str(params[0].device), "memory_bytes": memory}


def per_module_params(model) -> dict[str, int]:
    """Parameters per top-level module, the base model (e.g. `bert`) opened one level further.

    Each tensor counts once, under the first module that holds it (a tied decoder counts as embeddings).
    """
    prefix = getattr(model, "base_model_prefix", "")
    out: dict[str, int] = {}
    for name, p in model.named_parameters():  # duplicates (tied weights) are skipped by torch
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == prefix and len(parts) > 2 else parts[0]
        out[key] = out.get(key, 0) + p.numel()
    return out


# --------------------------------------------------------------------------------------------- heads
def _softmax(t):
    return t.float().softmax(-1)


def base_output(out, ctx) -> dict:
    """Pooled embedding (the pooler, else the mean over real tokens) and per-layer hidden-state norms."""
    hidden = out.last_hidden_state[0].float()
    pooled = out.get("pooler_output")
    if pooled is not None:
        vec, how = pooled[0].float(), "pooler_output (the model's pooler on the first token)"
    else:
        mask = ctx["inputs"].get("attention_mask")
        weights = mask[0].float().unsqueeze(-1) if mask is not None else hidden.new_ones(hidden.shape[0], 1)
        vec, how = (hidden * weights).sum(0) / weights.sum(), "mean of last_hidden_state over the tokens"
    norms = [float(h[0].float().norm(dim=-1).mean()) for h in out.get("hidden_states") or ()]
    return {"kind": "base", "shape": list(out.last_hidden_state.shape), "pooled_from": how,
            "embedding": [round(float(x), 6) for x in vec.cpu()], "layer_norms": norms}


def seq_cls_output(out, ctx) -> dict:
    config = ctx["model"].config
    logits = out.logits[0].float()
    multi = config.get("problem_type") == "multi_label_classification"
    probs = logits.sigmoid() if multi else _softmax(logits)
    labels = [config.id2label.get(i, f"LABEL_{i}") for i in range(len(probs))]
    return {"kind": "sequence_classification", "activation": "sigmoid" if multi else "softmax",
            "labels": labels, "probabilities": [float(p) for p in probs.cpu()], "logits": logits.tolist()}


def token_cls_output(out, ctx) -> dict:
    config, enc = ctx["model"].config, ctx["enc"]
    probs = _softmax(out.logits[0]).cpu()
    seq_ids = enc.sequence_ids(0)
    rows = []
    for i, tok in enumerate(display_tokens(enc.tokens(0))):
        if seq_ids[i] is None:  # special tokens carry no prediction worth showing
            continue
        p, j = probs[i].max(-1)
        rows.append({"index": i, "token": tok, "label": config.id2label.get(int(j), f"LABEL_{int(j)}"),
                     "probability": float(p)})
    return {"kind": "token_classification", "labels": [config.id2label[i] for i in sorted(config.id2label)],
            "tokens": rows}


def masked_lm_output(out, ctx) -> dict:
    tok, ids = ctx["tok"], ctx["inputs"]["input_ids"][0]
    mask_id = getattr(tok, "mask_token_id", None)
    positions = [] if mask_id is None else (ids == mask_id).nonzero().flatten().tolist()
    masks = []
    for pos in positions:
        p, idx = _softmax(out.logits[0, pos]).topk(ctx["top_k"])
        masks.append({"position": pos, "candidates": [
            {"token": tok.decode([int(i)]).strip() or tok.convert_ids_to_tokens(int(i)), "id": int(i),
             "probability": float(q)} for q, i in zip(p.cpu(), idx.cpu(), strict=True)]})
    note = None if masks else (f"No {getattr(tok, 'mask_token', None) or 'mask token'} in the text: write it where "
                               "a word should be predicted.")
    return {"kind": "masked_lm", "mask_token": getattr(tok, "mask_token", None), "masks": masks, "note": note}


def causal_lm_output(out, ctx) -> dict:
    tok = ctx["tok"]
    p, idx = _softmax(out.logits[0, -1]).topk(ctx["top_k"])
    nxt = [{"token": tok.decode([int(i)]), "id": int(i), "probability": float(q)}
           for q, i in zip(p.cpu(), idx.cpu(), strict=True)]
    return {"kind": "causal_lm", "prompt": ctx["text"], "next_token": nxt, **continuation(ctx)}


def continuation(ctx) -> dict:
    """Generate N tokens with our `generate` and the probability each chosen token had."""
    model, tok, gen = ctx["model"], ctx["tok"], ctx["gen"]
    ids = ctx["inputs"]["input_ids"]
    res = model.generate(ids, max_new_tokens=gen["max_new_tokens"], do_sample=gen["do_sample"],
                         temperature=gen["temperature"], seed=gen["seed"], output_scores=True,
                         return_dict_in_generate=True, attention_mask=ctx["inputs"].get("attention_mask"))
    new = res.sequences[0, ids.shape[1]:].tolist()
    steps = [{"token": tok.decode([t]), "id": t, "probability": float(_softmax(s[0])[t])}
             for t, s in zip(new, res.scores, strict=False)]
    return {"generated_text": tok.decode(new), "steps": steps,
            "settings": dict(gen, strategy="sampling" if gen["do_sample"] else "greedy")}


def qa_output(out, ctx) -> dict:
    """Best span inside the context (start ≤ end, ≤ 30 tokens) by start + end logit, and both distributions."""
    enc = ctx["enc"]
    context = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 1]
    if not context:
        raise InputError("The context was truncated away; shorten the question or the context.")
    start, end = out.start_logits[0].float().cpu(), out.end_logits[0].float().cpu()
    best = max(((s, e) for s in context for e in context if s <= e < s + 30), key=lambda se: start[se[0]] + end[se[1]])
    offsets, tokens = enc.offsets(0), display_tokens(enc.tokens(0))
    ps, pe = _softmax(start[context]), _softmax(end[context])
    char_start, char_end = offsets[best[0]][0], offsets[best[1]][1]
    return {"kind": "question_answering", "context": ctx["text"], "answer": ctx["text"][char_start:char_end],
            "char_span": [char_start, char_end],
            "token_span": list(best), "score": float(ps[context.index(best[0])] * pe[context.index(best[1])]),
            "start_top": _top_positions(context, tokens, ps, ctx["top_k"]),
            "end_top": _top_positions(context, tokens, pe, ctx["top_k"])}


def _top_positions(context: list[int], tokens: list[str], probs, k: int) -> list[dict]:
    p, idx = probs.topk(min(k, len(context)))
    return [{"index": context[int(i)], "token": tokens[context[int(i)]], "probability": float(q)}
            for q, i in zip(p, idx, strict=True)]


HANDLERS = {
    "AutoModel": base_output,
    "AutoModelForSequenceClassification": seq_cls_output,
    "AutoModelForTokenClassification": token_cls_output,
    "AutoModelForMaskedLM": masked_lm_output,
    "AutoModelForCausalLM": causal_lm_output,
    "AutoModelForQuestionAnswering": qa_output,
}
