"""PreTrainedModel: the one loading mechanism every model family shares.

Contract for a family (see loaders/models/bert.py for a complete example)
---------------------------------------------------------------------------
A family file defines a config dataclass (subclass of `loaders.configuration.PretrainedConfig`,
fields = config.json keys) and model classes subclassing `PreTrainedModel`:

    class BertPreTrainedModel(PreTrainedModel):
        config_class = BertConfig
        base_model_prefix = "bert"            # attribute name of the base model inside head classes
        key_renames = [(r"^old\\.name", "new.name")]      # regex → replacement, applied to checkpoint keys
        ignored_keys = {r"position_ids$": "an old buffer, recomputed"}   # checkpoint keys dropped on purpose
        unexpected_reasons = {r"^cls\\.seq_relationship\\.": "the pre-training next-sentence head"}  # explain, still report
        tied_weights = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"}

    class BertModel(BertPreTrainedModel):
        def __init__(self, config): super().__init__(config); ...build modules...
        def forward(self, input_ids, attention_mask=None, ..., **unused) -> ModelOutput: ...

Rules the loader relies on:
- `__init__(self, config)` only builds modules; `from_pretrained` runs it under
  `torch.device("meta")`, so it must not read or fill tensor data (no init there: missing
  parameters are initialised afterwards by `_init_weights`).
- Module attribute names follow the checkpoint keys (after `key_renames`); head classes hold the
  base model as `self.<base_model_prefix>`, base classes do not. The prefix is then added or
  stripped per key, as transformers v5 does, so heads load base checkpoints and vice versa.
- Buffers are not loaded from checkpoints. Prefer computing constants in `forward`
  (position ids, masks); a family that keeps a buffer rebuilds it in `_init_buffers()`, which
  runs after loading (the buffer is on the meta device until then).
- `_init_weights(module)` initialises one module's parameters (default: normal(0,
  initializer_range) for Linear/Embedding, zero bias and padding row, LayerNorm 1/0). Families
  override it for other modules (RMSNorm: ones). It is only ever applied to missing parameters.
- `ignored_keys` are dropped silently (not reported as unexpected, as transformers'
  `_keys_to_ignore_on_load_unexpected`); `unexpected_reasons` only explain keys that stay
  unexpected (reported like transformers does) in plain words for the UI.
- `tied_weights` target → source: when `config.tie_word_embeddings` (default true) the target
  parameter becomes the source parameter (one tensor), so a checkpoint without it is not "missing".
- The legacy names `.gamma`/`.beta` → `.weight`/`.bias` are renamed for every family.

What loading gives
------------------
`Model.from_pretrained(checkpoint, dtype="auto", device=None, output_loading_info=False,
ignore_mismatched_sizes=False, revision=None, token=None, trust_remote_code=False, config=None,
trace=None, **config_overrides)` → the model in eval mode (or `(model, info)` with transformers'
four keys as sets/lists). The model carries `.config`, `.trace` (every decision) and
`.loading_report` (a `LoadingReport`, report.py; `.to_dict()` is JSON-ready for the UI, `.warnings` are
plain-words sentences). `Model.from_config(config)` builds a randomly initialised model.

Memory: weights are memory-mapped views (see weights.py) assigned straight into the meta-built
model (`load_state_dict(assign=True)`): no random-initialised copy, no second copy. A dtype change
converts each tensor once.
"""

from __future__ import annotations

import re
from typing import ClassVar

import torch
from torch import nn

from ..configuration import PretrainedConfig, refuse_remote_code, refuse_trust_remote_code
from ..errors import ConfigError, LoaderError, WeightLoadingError
from ..hub import Checkpoint
from ..registry import get_family
from ..trace import Trace
from .report import LoadingReport, explain
from .weights import TensorStore, find_weights

_INIT_FUNCTIONS = ("normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                   "xavier_normal_", "orthogonal_", "constant_", "ones_", "zeros_")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
LEGACY_RENAMES = [(r"\.gamma$", ".weight"), (r"\.beta$", ".bias")]  # old TF-era LayerNorm names


class PreTrainedModel(nn.Module):
    """Base of our model classes: config, family init, and `from_pretrained` / `from_config`."""

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    key_renames: ClassVar[list[tuple[str, str]]] = []
    ignored_keys: ClassVar[dict[str, str]] = {}
    unexpected_reasons: ClassVar[dict[str, str]] = {}
    tied_weights: ClassVar[dict[str, str]] = {}

    def __init__(self, config: PretrainedConfig):
        super().__init__()
        self.config = config
        self.trace: Trace | None = None
        self.loading_report: LoadingReport | None = None

    # ------------------------------------------------------------------ family hooks
    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """transformers' default init: normal(0, initializer_range); biases and padding row 0; norms 1/0."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.normal_(0.0, std)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(0.0, std)
            if module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            if module.weight is not None:
                module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.zero_()

    def _init_buffers(self) -> None:
        """Rebuild non-checkpoint buffers after loading; families that keep buffers override this."""

    # ------------------------------------------------------------------ conveniences
    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def num_parameters(self) -> int:
        """Distinct parameters (a tied weight counts once)."""
        return sum(p.numel() for p in self.parameters())

    def tie_weights(self) -> dict[str, str]:
        """Point each `tied_weights` target at its source parameter; returns the ties made."""
        if not getattr(self.config, "tie_word_embeddings", True):
            return {}
        names = dict(self.named_parameters(remove_duplicate=False))
        done = {}
        for target, source in self.tied_weights.items():
            if target in names and source in names:
                _set_parameter(self, target, self.get_parameter(source))
                done[target] = source
        return done

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config: PretrainedConfig, *, dtype: str | torch.dtype | None = None,
                    trace: Trace | None = None) -> PreTrainedModel:
        """A model with freshly initialised (random) weights for `config`."""
        torch_dtype = _as_dtype(dtype or "float32")
        model = _build_on_meta(cls, config)
        model.to_empty(device="cpu")
        model.to(torch_dtype)
        model.apply(model._init_weights)
        model._init_buffers()
        model.tie_weights()
        model.trace = trace if trace is not None else Trace(f"{cls.__name__}.from_config")
        model.trace.warn("call", "built from a config: every weight is random", "class", cls.__name__)
        return model.eval()

    @classmethod
    def from_pretrained(cls, checkpoint, *, dtype: str | torch.dtype | None = "auto", device=None,
                        output_loading_info: bool = False, ignore_mismatched_sizes: bool = False,
                        revision: str | None = None, token: str | None = None, trust_remote_code: bool = False,
                        config: PretrainedConfig | None = None, trace: Trace | None = None, **config_overrides):
        """Load `checkpoint` (folder, Hub id, or open Checkpoint) into this class; see the module docstring."""
        refuse_trust_remote_code(trust_remote_code)
        trace = trace if trace is not None else Trace(f"{cls.__name__}.from_pretrained")
        if "torch_dtype" in config_overrides:  # the pre-v5 name of `dtype`, still common in tutorials
            legacy = config_overrides.pop("torch_dtype")
            dtype = legacy if dtype == "auto" else dtype
            trace.add("call", "torch_dtype is the legacy name of dtype", "torch_dtype", str(legacy))
        ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
        if config is None:
            config = cls._read_config(ckpt, trace, config_overrides)
        elif config_overrides:  # a caller's config plus overrides (num_labels=…): rebuild it with them
            config = type(config).from_dict(config.to_dict(), trace, **config_overrides)
            trace.add("call", "override the given config", "overrides", config_overrides)
        _note_architectures(cls, config, trace)
        store = TensorStore(find_weights(ckpt, trace))
        torch_dtype = _resolve_dtype(dtype, config, store, trace)
        model = _build_on_meta(cls, config)
        report = model._load(store, torch_dtype, ignore_mismatched_sizes, trace)
        if device is not None and torch.device(device) != torch.device("cpu"):
            model.to(device)
            trace.add("call", f"moved to {device}", "device", str(device))
        model.trace, model.loading_report = trace, report
        model.eval()
        return (model, report.info()) if output_loading_info else model

    @classmethod
    def _read_config(cls, ckpt: Checkpoint, trace: Trace, overrides: dict) -> PretrainedConfig:
        raw = ckpt.read_json("config.json", required=True, purpose=f"{cls.__name__}.from_pretrained")
        refuse_remote_code(raw, "config.json")
        config = cls.config_class.from_dict(raw, trace, **overrides)
        if overrides:
            trace.add("call", "override config.json", "overrides", overrides)
        trace.add("config.json", f"config class {cls.config_class.__name__}", "model_type", raw.get("model_type"))
        return config

    # ------------------------------------------------------------------ loading
    def _load(self, store: TensorStore, dtype: torch.dtype, ignore_mismatched: bool, trace: Trace) -> LoadingReport:
        report = LoadingReport(weight_files=[p.name for p in store.source.files], format=store.source.format,
                               dtype=str(dtype).removeprefix("torch."))
        expected = {k: tuple(v.shape) for k, v in self.state_dict(keep_vars=True).items()}
        tied = {t: s for t, s in self.tied_weights.items() if t in expected and s in expected} \
            if getattr(self.config, "tie_word_embeddings", True) else {}
        mapping = self._map_keys(store, expected, report)
        self._check_shapes(store, mapping, expected, ignore_mismatched, report)
        tensors = {model_key: _convert(store[ckpt_key], dtype) for model_key, ckpt_key in mapping.items()}
        self.load_state_dict(tensors, strict=False, assign=True)
        report.loaded = sorted(tensors)
        report.missing_keys = sorted(k for k in expected if k not in tensors and k not in tied
                                     and k not in {m[0] for m in report.mismatched_keys})
        report.newly_initialised = sorted(report.missing_keys + [m[0] for m in report.mismatched_keys])
        self._materialise(set(report.newly_initialised) - set(tied), dtype)
        report.tied = self.tie_weights()
        self._init_buffers()
        _refuse_meta(self)
        explain(type(self).__name__, report, trace)
        return report

    def _map_keys(self, store: TensorStore, expected: dict, report: LoadingReport) -> dict[str, str]:
        """model key → checkpoint key; fills renamed / ignored / unexpected in the report."""
        renames = LEGACY_RENAMES + list(self.key_renames)
        ignored = [(re.compile(p), why) for p, why in self.ignored_keys.items()]
        mapping: dict[str, str] = {}
        for ckpt_key in store:
            key = ckpt_key
            for pattern, repl in renames:
                key = re.sub(pattern, repl, key)
            key = self._fix_prefix(key, expected)
            if key != ckpt_key:
                report.renamed[ckpt_key] = key
            why = next((why for rx, why in ignored if rx.search(key)), None)
            if why is not None:
                report.ignored_keys[ckpt_key] = why
            elif key in expected:
                if key in mapping:
                    report.warnings.append(f"Both {mapping[key]} and {ckpt_key} load {key}; the latter was used.")
                mapping[key] = ckpt_key
            else:
                report.unexpected_keys[key] = self._why_unexpected(key)
        return mapping

    def _fix_prefix(self, key: str, expected: dict) -> str:
        """transformers v5: strip the base prefix if that names a model key, else add it if that does."""
        prefix = self.base_model_prefix
        if not prefix:
            return key
        if key.startswith(prefix + ".") and key[len(prefix) + 1:] in expected:
            return key[len(prefix) + 1:]
        if f"{prefix}.{key}" in expected:
            return f"{prefix}.{key}"
        return key

    def _why_unexpected(self, key: str) -> str:
        reason = next((why for p, why in self.unexpected_reasons.items() if re.search(p, key)), None)
        if reason is not None:
            return reason
        prefix = self.base_model_prefix
        if prefix and not hasattr(self, prefix) and not key.startswith(prefix + "."):
            return f"belongs to a task head; {type(self).__name__} is the bare model without one"
        return f"{type(self).__name__} has no parameter of this name (another head or architecture)"

    def _check_shapes(self, store, mapping: dict, expected: dict, ignore: bool, report: LoadingReport) -> None:
        for model_key, ckpt_key in list(mapping.items()):
            shape = store.shape(ckpt_key)
            if shape != expected[model_key]:
                report.mismatched_keys.append((model_key, shape, expected[model_key]))
                del mapping[model_key]
        if report.mismatched_keys and not ignore:
            first = ", ".join(f"{k} {list(a)} vs model {list(b)}" for k, a, b in report.mismatched_keys[:3])
            raise WeightLoadingError(f"{len(report.mismatched_keys)} weight(s) have the wrong shape for "
                                     f"{type(self).__name__} ({first}); pass ignore_mismatched_sizes=True to "
                                     "re-initialise them (e.g. a classifier with another number of labels).")

    def _materialise(self, keys: set[str], dtype: torch.dtype) -> None:
        """Give missing parameters real storage and the family's init, without touching loaded ones.

        `_init_weights` runs on each missing parameter's module and then its ancestors (children
        first, like `nn.Module.apply`), since a parent's init may set a child's weight (DistilBERT's
        sinusoidal table); loaded parameters are swapped for scratch tensors meanwhile."""
        for key in keys:
            module_name, _, name = key.rpartition(".")
            owner = self.get_submodule(module_name)
            old = owner._parameters.get(name, owner._buffers.get(name))
            _assign(owner, name, torch.empty(old.shape, dtype=dtype if old.is_floating_point() else old.dtype), old)
        for module_name in _owners_and_ancestors(keys):
            _init_only(self, module_name, keys)


def _owners_and_ancestors(keys: set[str]) -> list[str]:
    """Module names holding `keys` and their parents, deepest first; the root only if it holds a key."""
    names = set()
    for key in keys:
        parts = key.split(".")[:-1]
        names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    ordered = sorted(names, key=lambda n: (-n.count("."), n))
    return ordered + [""] if any("." not in k for k in keys) else ordered  # "" = the model itself


def _skip_meta_init() -> None:
    """Make torch.nn.init a no-op on meta tensors (it is one anyway, but `normal_` on meta goes through
    torch's Python reference kernels, whose first use imports torch._dynamo: seconds per process).
    Real tensors are initialised exactly as before. Installed once, idempotent."""
    import torch.nn.init as init

    for name in _INIT_FUNCTIONS:
        original = getattr(init, name)
        if getattr(original, "_skips_meta", False):
            continue

        def wrapper(tensor, *args, _original=original, **kwargs):
            return tensor if tensor.is_meta else _original(tensor, *args, **kwargs)

        wrapper._skips_meta = True
        setattr(init, name, wrapper)


def _build_on_meta(cls: type[PreTrainedModel], config: PretrainedConfig) -> PreTrainedModel:
    """The model's modules with parameters on the meta device: shapes only, no memory, no init."""
    _skip_meta_init()
    with torch.device("meta"):
        return cls(config)


def _init_only(model: PreTrainedModel, module_name: str, missing: set[str]) -> None:
    """Run `_init_weights` on one module so that only the `missing` parameters keep its result."""
    module = model.get_submodule(module_name)
    kept = []
    for sub_name, sub in module.named_modules(prefix=module_name):
        for name, tensor in list(sub._parameters.items()):
            if tensor is not None and (f"{sub_name}.{name}" if sub_name else name) not in missing:
                kept.append((sub, name, tensor))  # loaded (or tied later): a scratch tensor takes its place
                sub._parameters[name] = nn.Parameter(torch.empty(tensor.shape, dtype=tensor.dtype),
                                                     requires_grad=False)
    try:
        model._init_weights(module)
    finally:
        for sub, name, tensor in kept:
            sub._parameters[name] = tensor


def _assign(module: nn.Module, name: str, data: torch.Tensor, like: torch.Tensor) -> None:
    if name in module._parameters:
        module._parameters[name] = nn.Parameter(data, requires_grad=like.requires_grad) \
            if not isinstance(data, nn.Parameter) else data
    else:
        module._buffers[name] = data


def _set_parameter(model: nn.Module, key: str, param: nn.Parameter) -> None:
    module_name, _, name = key.rpartition(".")
    model.get_submodule(module_name)._parameters[name] = param


def _convert(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Floating tensors to the load dtype (a copy only when the dtype differs); others as stored."""
    return tensor.to(dtype) if tensor.is_floating_point() and tensor.dtype != dtype else tensor


def _refuse_meta(model: nn.Module) -> None:
    left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if left:
        raise WeightLoadingError(f"{type(model).__name__} left {len(left)} tensor(s) uninitialised ({left[:3]}); "
                                 "this is a bug in the family's _init_buffers.")


def _as_dtype(value: str | torch.dtype) -> torch.dtype:
    if isinstance(value, torch.dtype):
        return value
    name = str(value).removeprefix("torch.")
    if name not in DTYPES:
        raise ConfigError(f"dtype {value!r} is not supported; choose one of {', '.join(DTYPES)} or 'auto'.")
    return DTYPES[name]


def _resolve_dtype(requested, config: PretrainedConfig, store: TensorStore, trace: Trace) -> torch.dtype:
    """v5 default "auto": config.json's dtype, else the checkpoint's first floating tensor, else float32."""
    if requested is None:
        trace.add("call", "dtype=None → float32 (torch's default)", "dtype", "float32")
        return torch.float32
    if requested != "auto":
        chosen = _as_dtype(requested)
        trace.add("call", f"load as {chosen}".replace("torch.", ""), "dtype", str(requested))
        return chosen
    if config.dtype:
        chosen = _as_dtype(config.dtype)
        trace.add("config.json", "dtype='auto' → the config's dtype", "dtype", config.dtype)
        return chosen
    stored = next((store.dtype(k) for k in store if store.dtype(k).is_floating_point), torch.float32)
    trace.add("weights", "dtype='auto', config has none → the checkpoint's dtype", "dtype",
              str(stored).removeprefix("torch."))
    return stored


def _note_architectures(cls: type, config: PretrainedConfig, trace: Trace) -> None:
    archs = config.architectures
    if archs:
        name = _transformers_name(cls, config.model_type)
        same = name in archs
        trace.add("config.json", f"trained as {', '.join(archs)}; shown only — the head is {name}, "
                  "the class asked for" + ("" if not same else " (the same)"), "architectures", archs)


def _transformers_name(cls: type, model_type: str) -> str:
    # One of our classes can serve several model_types (LlamaForCausalLM for mistral): use the
    # registry's transformers name for this model_type, so "MistralForCausalLM" reads as the same.
    try:
        family = get_family(model_type)
    except LoaderError:
        return cls.__name__
    path = f"{cls.__module__}:{cls.__name__}"
    kind = next((k for k, p in family.models.items() if p == path), None)
    return family.names.get(kind, cls.__name__) if kind else cls.__name__
