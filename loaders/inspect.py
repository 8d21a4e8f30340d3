"""The weights inspector: what a checkpoint's tensors are, read from headers without loading weights.

A safetensors file starts with an 8-byte little-endian header length and a JSON header naming every
tensor's dtype, shape and byte range; reading that is enough to list a 70B checkpoint in
milliseconds. Local files: we read the header ourselves. Hub repos: huggingface_hub's
`get_safetensors_metadata` fetches the same headers with HTTP range requests (no weight download).
`.bin` checkpoints (pickles) have no such header: locally we use `torch.load(weights_only=True,
mmap=True)`, which maps the storages without reading them; on the Hub we refuse (it would download
the whole file).
"""

from __future__ import annotations

import json
import re
import struct
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import (
    GatedRepo,
    HubUnreachable,
    LoaderError,
    MalformedFile,
    MissingFile,
    RepoNotFound,
    WeightLoadingError,
)
from .hub import Checkpoint
from .trace import Trace

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN = "pytorch_model.bin"
BIN_INDEX = "pytorch_model.bin.index.json"
MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header (bytes)

# Bytes per element of each safetensors dtype (sub-byte types as fractions).
DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
    "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "F4": 0.5, "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
}
# What inference in each precision costs per parameter (weights only).
INFERENCE_BYTES = {"float32": 4, "bfloat16": 2, "int8": 1, "int4": 0.5}
_TORCH_TO_ST = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
                "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}
_INDEX = re.compile(r"^\d+$")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # safetensors spelling: "F32", "BF16", ...
    file: str
    nbytes: int

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class Group:
    """Tensors under one prefix; repeated blocks (`encoder.layer.{i}`) are collapsed into one entry."""

    name: str
    repeats: int  # number of distinct indices for `{i}` groups, else 1
    params: int
    nbytes: int
    # One row per distinct (name inside the group, shape, dtype): how many tensors share it.
    template: list[tuple[str, tuple[int, ...], str, int]] = field(default_factory=list)


@dataclass
class WeightsReport:
    """Every tensor of a checkpoint (from headers), grouped and summed; `.to_dict()` for JSON."""

    source: str
    format: str  # "safetensors" or "pytorch"
    files: list[str]
    tensors: list[TensorInfo]
    metadata: dict[str, Any]
    trace: Trace
    model_type: str | None = None
    architectures: list[str] | None = None

    @property
    def total_params(self) -> int:
        return sum(t.numel for t in self.tensors)

    @property
    def total_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    def by_dtype(self) -> dict[str, dict[str, int]]:
        """dtype → {"tensors", "params", "bytes"}."""
        out: dict[str, dict[str, int]] = {}
        for t in self.tensors:
            row = out.setdefault(t.dtype, {"tensors": 0, "params": 0, "bytes": 0})
            row["tensors"] += 1
            row["params"] += t.numel
            row["bytes"] += t.nbytes
        return out

    def memory(self) -> dict[str, int]:
        """Estimated weight memory for inference in each precision (activations and KV cache not included)."""
        params = self.total_params
        return {name: int(params * size) for name, size in INFERENCE_BYTES.items()}

    def groups(self) -> list[Group]:
        return group_tensors(self.tensors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole report."""
        return {
            "source": self.source, "format": self.format, "files": self.files, "metadata": self.metadata,
            "model_type": self.model_type, "architectures": self.architectures,
            "total_params": self.total_params, "total_bytes": self.total_bytes,
            "by_dtype": self.by_dtype(), "memory": self.memory(),
            "groups": [{"name": g.name, "repeats": g.repeats, "params": g.params, "bytes": g.nbytes,
                        "template": [{"name": n, "shape": list(s), "dtype": d, "count": c} for n, s, d, c in g.template]}
                       for g in self.groups()],
            "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "file": t.file, "bytes": t.nbytes}
                        for t in self.tensors],
            "trace": self.trace.to_list(),
        }


# --------------------------------------------------------------------------------------------- entry point
def inspect_weights(checkpoint: str | Checkpoint, *, revision: str | None = None, token: str | None = None,
                    trace: Trace | None = None) -> WeightsReport:
    """List a checkpoint's tensors (names, shapes, dtypes) from file headers, never reading weight bytes."""
    trace = trace if trace is not None else Trace("inspect_weights")
    ckpt = Checkpoint.open(checkpoint, revision=revision, token=token, trace=trace)
    if ckpt.kind == "hub":
        report = _from_hub(ckpt, trace)
        if report is not None:
            return report
    return _from_folder(ckpt, trace)


def _from_folder(ckpt: Checkpoint, trace: Trace) -> WeightsReport:
    folder = ckpt.folder
    assert folder is not None, "a local, packaged or cached checkpoint has a folder"
    meta = _config_facts(ckpt, trace)
    if (folder / SAFETENSORS).is_file():
        trace.add("weights", "single safetensors file: its header is read", "file", SAFETENSORS)
        tensors, md = read_safetensors_header(folder / SAFETENSORS, SAFETENSORS)
        return WeightsReport(ckpt.where, "safetensors", [SAFETENSORS], tensors, md, trace, *meta)
    if (folder / SAFETENSORS_INDEX).is_file():
        return _sharded_local(ckpt, trace, meta)
    others = sorted(p.name for p in folder.glob("*.safetensors"))
    if others:
        trace.warn("weights", "no model.safetensors or index; reading every .safetensors file in the folder",
                   "files", others)
        tensors = [t for name in others for t in read_safetensors_header(folder / name, name)[0]]
        return WeightsReport(ckpt.where, "safetensors", others, tensors, {}, trace, *meta)
    if (folder / BIN).is_file() or (folder / BIN_INDEX).is_file():
        return _from_bin(ckpt, trace, meta)
    raise MissingFile(f"{ckpt.where} has no weights (no model.safetensors, sharded index or pytorch_model.bin); "
                      "give a checkpoint folder that holds model weights.")


def _sharded_local(ckpt: Checkpoint, trace: Trace, meta: tuple) -> WeightsReport:
    index = ckpt.read_json(SAFETENSORS_INDEX, required=True, purpose="the weights inspector")
    weight_map = _weight_map(index, SAFETENSORS_INDEX)
    shards = sorted(set(weight_map.values()))
    trace.add(SAFETENSORS_INDEX, f"sharded: {len(weight_map)} tensors in {len(shards)} files; each header is read",
              "shards", len(shards))
    tensors: list[TensorInfo] = []
    for shard in shards:
        path = ckpt.require(shard, f"{SAFETENSORS_INDEX} (weight_map)")
        found, _ = read_safetensors_header(path, shard)
        tensors += _check_shard(found, weight_map, shard, trace)
    _check_all_found(weight_map, tensors)
    return WeightsReport(ckpt.where, "safetensors", shards, tensors, index.get("metadata") or {}, trace, *meta)


def _weight_map(index: dict, label: str) -> dict[str, str]:
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise MalformedFile(f"{label} has no 'weight_map' object of tensor name → file; re-download the index.")
    return weight_map


def _check_shard(found: list[TensorInfo], weight_map: dict[str, str], shard: str, trace: Trace) -> list[TensorInfo]:
    """Keep the tensors the index assigns to this shard; extra ones are reported, not counted."""
    kept = [t for t in found if weight_map.get(t.name) == shard]
    if len(kept) < len(found):
        trace.warn(shard, "holds tensors the index does not list here; they are ignored (as transformers does)",
                   "extra", len(found) - len(kept))
    return kept


def _check_all_found(weight_map: dict[str, str], tensors: list[TensorInfo]) -> None:
    missing = set(weight_map) - {t.name for t in tensors}
    if missing:
        name = sorted(missing)[0]
        raise MalformedFile(f"the index puts {len(missing)} tensor(s) (e.g. {name!r}) in {weight_map[name]}, "
                            "whose header lacks them; re-download the checkpoint.")


# --------------------------------------------------------------------------------------------- safetensors header
def read_safetensors_header(path: Path, label: str) -> tuple[list[TensorInfo], dict[str, str]]:
    """Read only the JSON header of a .safetensors file: its tensors and its `__metadata__`."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise MalformedFile(f"{label} is {size} bytes, too short for a safetensors header; re-download it.")
        (n,) = struct.unpack("<Q", head)  # header length, little-endian u64
        if n > MAX_HEADER or n > size - 8:
            raise MalformedFile(f"{label} declares a {n}-byte header but the file has {size} bytes; "
                                "it is not a safetensors file or it is truncated.")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MalformedFile(f"{label}: the safetensors header is not valid JSON ({e}); re-download the file.") from e
    return parse_header(header, label, data_size=size - 8 - n)


def parse_header(header: Any, label: str, data_size: int | None = None) -> tuple[list[TensorInfo], dict[str, str]]:
    """Validate a decoded safetensors header; `data_size` (bytes after the header) checks truncation."""
    if not isinstance(header, dict):
        raise MalformedFile(f"{label}: the safetensors header should be a JSON object; re-download the file.")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise MalformedFile(f"{label}: '__metadata__' should be an object of strings.")
    tensors = [_tensor(name, entry, label) for name, entry in header.items() if name != "__metadata__"]
    end = max((t.nbytes + _begin(header[t.name]) for t in tensors), default=0)
    if data_size is not None and end > data_size:
        raise MalformedFile(f"{label} is truncated: its header needs {end} bytes of data but only {data_size} "
                            "follow; re-download the file.")
    return tensors, metadata


def _tensor(name: str, entry: Any, label: str) -> TensorInfo:
    bad = MalformedFile(f"{label}: header entry {name!r} needs 'dtype', 'shape' (list of ints) and "
                        f"'data_offsets' ([begin, end]); got {str(entry)[:80]}")
    if not isinstance(entry, dict):
        raise bad
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(offsets, list | tuple):
        raise bad
    if not all(isinstance(d, int) and d >= 0 for d in shape) or len(offsets) != 2:
        raise bad
    begin, end = offsets
    if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end):
        raise bad
    info = TensorInfo(name, tuple(shape), dtype, label, end - begin)
    size = DTYPE_BYTES.get(dtype)
    if size is not None and info.numel * size != info.nbytes:
        raise MalformedFile(f"{label}: {name!r} is {dtype} {list(shape)} = {int(info.numel * size)} bytes, "
                            f"but its data_offsets span {info.nbytes}; the file is corrupt.")
    return info


def _begin(entry: dict) -> int:
    return entry["data_offsets"][0]


# --------------------------------------------------------------------------------------------- Hub
def _from_hub(ckpt: Checkpoint, trace: Trace) -> WeightsReport | None:
    """Headers via HTTP range requests; None when the Hub is unreachable but a local copy exists."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf

    try:
        meta = HfApi().get_safetensors_metadata(ckpt.repo_id, revision=ckpt.revision, token=ckpt.token)
    except hf.GatedRepoError as e:
        raise GatedRepo(f"{ckpt.repo_id} is gated; accept its licence on huggingface.co and set HF_TOKEN.") from e
    except hf.RepositoryNotFoundError as e:  # also RevisionNotFoundError
        raise RepoNotFound(f"{ckpt.where} was not found on the Hub (or is private: set HF_TOKEN); "
                           "check the spelling and revision.") from e
    except hf.NotASafetensorsRepoError as e:
        _raise_if_not_on_hub(ckpt)
        raise MissingFile(f"{ckpt.where} has no model.safetensors (or index): the inspector reads only safetensors "
                          "headers from the Hub, since a .bin must be downloaded whole; download it and give the "
                          "local folder instead.") from e
    except hf.SafetensorsParsingError as e:
        raise MalformedFile(f"{ckpt.where}: a safetensors header could not be parsed ({e}).") from e
    except Exception as e:  # noqa: BLE001 — transport failure (offline, DNS, TLS): try a local copy
        return _hub_fallback(ckpt, trace, e)
    return hub_report(ckpt, meta, trace)


def _raise_if_not_on_hub(ckpt: Checkpoint) -> None:
    # get_safetensors_metadata reports an unknown repo or revision as "not a safetensors repo" (its file_exists
    # probes swallow the 404s); listing the repo raises RepoNotFound for those. Unreachable: the caller decides.
    try:
        ckpt.files()
    except HubUnreachable:
        pass


def _hub_fallback(ckpt: Checkpoint, trace: Trace, cause: Exception) -> None:
    ckpt.files()  # switches to the packaged copy or the HF cache when the Hub is unreachable
    if ckpt.folder is None:
        raise HubUnreachable(f"Reading safetensors headers of {ckpt.where} failed ({type(cause).__name__}); "
                             "check the network and try again.") from cause
    return None


def hub_report(ckpt: Checkpoint, meta: Any, trace: Trace) -> WeightsReport:
    """Turn huggingface_hub's `SafetensorsRepoMetadata` into a WeightsReport."""
    files = sorted(meta.files_metadata)
    trace.add("hub", "safetensors headers read with HTTP range requests (no weights downloaded)"
              + (", sharded" if meta.sharded else ""), "files", len(files))
    tensors = []
    for name, weight_file in meta.weight_map.items():
        info = meta.files_metadata[weight_file].tensors[name]
        begin, end = info.data_offsets
        tensors.append(TensorInfo(name, tuple(info.shape), info.dtype, weight_file, end - begin))
    return WeightsReport(ckpt.where, "safetensors", files, tensors, dict(meta.metadata or {}), trace,
                         *_config_facts(ckpt, trace))


def _config_facts(ckpt: Checkpoint, trace: Trace) -> tuple[str | None, list[str] | None]:
    """model_type and architectures from config.json when there is one; inspection never needs it."""
    try:
        config = ckpt.read_json("config.json")
    except LoaderError as e:
        trace.warn("config.json", f"not used: {e}")
        return None, None
    if config is None:
        trace.add("config.json", "absent; tensors are listed without an architecture")
        return None, None
    model_type, arch = config.get("model_type"), config.get("architectures")
    trace.add("config.json", "architecture as declared (need not be one we implement)", "model_type", model_type)
    return model_type, arch if isinstance(arch, list) else None


# --------------------------------------------------------------------------------------------- .bin
def _from_bin(ckpt: Checkpoint, trace: Trace, meta: tuple) -> WeightsReport:
    """Pickled weights: torch.load(weights_only=True, mmap=True) maps the storages without reading them."""
    if (ckpt.folder / BIN).is_file():
        files = [BIN]
    else:
        files = sorted(set(_weight_map(ckpt.read_json(BIN_INDEX, required=True), BIN_INDEX).values()))
    trace.warn("weights", "no safetensors header: .bin read with torch.load(weights_only=True, mmap=True) — "
               "storages are memory-mapped, not read", "files", files)
    tensors = [t for name in files for t in _bin_tensors(ckpt.require(name, "the weights inspector"), name)]
    return WeightsReport(ckpt.where, "pytorch", files, tensors, {}, trace, *meta)


def _bin_tensors(path: Path, label: str) -> list[TensorInfo]:
    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy (non-zip) format: no mmap
    except Exception as e:  # noqa: BLE001 — unpickling errors of every kind, including refused code
        first = str(e).splitlines()[0] if str(e) else ""
        raise WeightLoadingError(f"{label} could not be read safely with weights_only=True ({type(e).__name__}: "
                                 f"{first[:120]}); it may hold code, not only tensors — convert it to safetensors.") from e
    if not isinstance(state, dict):
        raise MalformedFile(f"{label} holds a {type(state).__name__}, not a dict of tensors.")
    return [TensorInfo(k, tuple(v.shape), _TORCH_TO_ST.get(str(v.dtype).removeprefix("torch."), str(v.dtype)),
                       label, v.numel() * v.element_size()) for k, v in state.items() if isinstance(v, torch.Tensor)]


# --------------------------------------------------------------------------------------------- grouping
def group_tensors(tensors: list[TensorInfo]) -> list[Group]:
    """Group by prefix: up to the first numeric part (`model.layers.{i}`), else by top-level module."""
    base = _base_prefixes(tensors)
    groups: dict[str, dict] = {}
    for t in tensors:
        key, index, inner = _split(t.name, base)
        g = groups.setdefault(key, {"indices": set(), "params": 0, "bytes": 0, "rows": defaultdict(int)})
        if index is not None:
            g["indices"].add(index)
        g["params"] += t.numel
        g["bytes"] += t.nbytes
        g["rows"][(_collapse(inner), t.shape, t.dtype)] += 1
    return [Group(k, max(1, len(g["indices"])), g["params"], g["bytes"],
                  [(n, s, d, c) for (n, s, d), c in g["rows"].items()]) for k, g in groups.items()]


def _base_prefixes(tensors: list[TensorInfo]) -> set[str]:
    """First components that hold most tensors under several children (`bert`, `model`, `transformer`)."""
    children: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for t in tensors:
        parts = t.name.split(".")
        if len(parts) > 2:
            children[parts[0]].add(parts[1])
            counts[parts[0]] += 1
    return {p for p, kids in children.items() if len(kids) > 1 and counts[p] * 2 > len(tensors)}


def _split(name: str, base: set[str]) -> tuple[str, str | None, str]:
    """'bert.encoder.layer.3.output.dense.weight' → ('bert.encoder.layer.{i}', '3', 'output.dense.weight')."""
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if _INDEX.match(part):
            return ".".join(parts[:i] + ["{i}"]), part, ".".join(parts[i + 1:])
    depth = 2 if parts[0] in base and len(parts) > 2 else 1
    depth = min(depth, len(parts) - 1) or 1
    return ".".join(parts[:depth]), None, ".".join(parts[depth:]) or parts[-1]


def _collapse(inner: str) -> str:
    """Further indices inside a block (MoE experts) become `{j}`."""
    return ".".join("{j}" if _INDEX.match(p) else p for p in inner.split("."))
