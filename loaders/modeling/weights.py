"""Weight files: which ones a checkpoint has, and their tensors without copying them.

Order (transformers'): `model.safetensors`, `model.safetensors.index.json` (sharded),
`pytorch_model.bin`, `pytorch_model.bin.index.json`. Safetensors files are memory-mapped
copy-on-write and every tensor is a zero-copy view of the map, so loading reads no data up front
and never holds a second copy. `.bin` files go only through `torch.load(weights_only=True,
mmap=True)`: a pickle that tries to run code is refused by torch's restricted unpickler and
surfaces here as WeightLoadingError.

`read_safetensors_header(path)` is public: the weights inspector lists names, shapes and dtypes
from the header alone.
"""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import MalformedFile, MissingFile, WeightLoadingError
from ..hub import Checkpoint
from ..trace import Trace

SAFE_FILE, SAFE_INDEX = "model.safetensors", "model.safetensors.index.json"
BIN_FILE, BIN_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"
WEIGHT_FILES = (SAFE_FILE, SAFE_INDEX, BIN_FILE, BIN_INDEX)

# safetensors dtype codes → torch dtypes (the format's spec, https://github.com/huggingface/safetensors).
SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}
MAX_HEADER_BYTES = 100_000_000  # the format's own limit; a bigger length means a corrupt file


@dataclass
class WeightSource:
    """The weight files chosen for a checkpoint: `format` is "safetensors" or "bin"."""

    format: str
    chosen: str  # the file name that decided (e.g. "model.safetensors.index.json")
    files: list[Path] = field(default_factory=list)


def find_weights(ckpt: Checkpoint, trace: Trace) -> WeightSource:
    """The first weight layout the checkpoint has, in transformers' order; none raises MissingFile."""
    for name in WEIGHT_FILES:
        if not ckpt.has(name):
            continue
        fmt = "safetensors" if name.startswith("model.safetensors") else "bin"
        if name.endswith(".index.json"):
            index = ckpt.read_json(name, required=True, purpose="loading sharded weights")
            shards = _shard_names(index, name)
            files = [ckpt.require(s, f"the shard list in {name}") for s in shards]
            trace.add(name, f"sharded {fmt} weights: {len(files)} shard(s)", "weight_map files", shards)
        else:
            files = [ckpt.require(name, "loading the weights")]
            trace.add(name, f"{fmt} weights" + (" (memory-mapped, zero-copy)" if fmt == "safetensors"
                                               else " (torch.load with weights_only=True)"), "file", name)
        return WeightSource(fmt, name, files)
    raise MissingFile(f"{ckpt.where} has no weights (looked for {', '.join(WEIGHT_FILES)}); "
                      "this checkpoint may hold only a tokenizer or another framework's weights.")


def _shard_names(index: dict, name: str) -> list[str]:
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise MalformedFile(f"{name} has no 'weight_map'; re-download the checkpoint.")
    return sorted(set(weight_map.values()))


def read_safetensors_header(path: str | Path) -> tuple[dict, int]:
    """(header, data_start): the JSON header (tensor name → dtype/shape/data_offsets) and where data begins."""
    path = Path(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise WeightLoadingError(f"{path.name} is too short to be a safetensors file; re-download it.")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES:
            raise WeightLoadingError(f"{path.name} has an impossible header size ({length} bytes); re-download it.")
        text = f.read(length)
    try:
        header = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightLoadingError(f"{path.name} has a corrupt safetensors header ({e}); re-download it.") from e
    if not isinstance(header, dict):
        raise WeightLoadingError(f"{path.name} has a corrupt safetensors header; re-download it.")
    return header, 8 + length


class TensorStore(Mapping):
    """Checkpoint tensors by name, read lazily: `store[name]` is a CPU tensor in the file's dtype.

    Safetensors tensors are views of a private (copy-on-write) memory map: nothing is read until
    used, writes never reach the file, and the map lives as long as any view does.
    """

    def __init__(self, source: WeightSource):
        self.source = source
        self._safe: dict[str, tuple[mmap.mmap, int, dict]] = {}  # name → (map, data_start, header entry)
        self._loaded: dict[str, torch.Tensor] = {}  # .bin tensors (already mmap-backed by torch.load)
        self.metadata: dict[str, str] = {}
        for path in source.files:
            if source.format == "safetensors":
                self._open_safetensors(path)
            else:
                self._loaded.update(_torch_load(path))

    def _open_safetensors(self, path: Path) -> None:
        header, start = read_safetensors_header(path)
        self.metadata.update(header.pop("__metadata__", None) or {})
        size = path.stat().st_size
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if size > start else None
        for name, entry in header.items():
            begin, end = entry.get("data_offsets", (0, 0))
            if entry.get("dtype") not in SAFETENSORS_DTYPES:
                raise WeightLoadingError(f"{path.name}: tensor {name!r} has dtype {entry.get('dtype')!r}, "
                                         "which torch cannot hold.")
            if start + end > size:
                raise WeightLoadingError(f"{path.name} is truncated (tensor {name!r} ends past the file); "
                                         "re-download it.")
            self._safe[name] = (mm, start, entry)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name in self._loaded:
            return self._loaded[name]
        mm, start, entry = self._safe[name]
        dtype, shape = SAFETENSORS_DTYPES[entry["dtype"]], tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = (end - begin) // dtype.itemsize
        if count == 0:
            return torch.empty(shape, dtype=dtype)
        offset = start + begin
        if offset % dtype.itemsize:  # unaligned in the file: copy rather than view
            return torch.frombuffer(bytearray(mm[offset:start + end]), dtype=dtype).view(shape)
        return torch.frombuffer(mm, dtype=dtype, count=count, offset=offset).view(shape)

    def shape(self, name: str) -> tuple[int, ...]:
        """The tensor's shape without reading it."""
        if name in self._loaded:
            return tuple(self._loaded[name].shape)
        return tuple(self._safe[name][2]["shape"])

    def dtype(self, name: str) -> torch.dtype:
        """The tensor's stored dtype without reading it."""
        if name in self._loaded:
            return self._loaded[name].dtype
        return SAFETENSORS_DTYPES[self._safe[name][2]["dtype"]]

    def __iter__(self) -> Iterator[str]:
        yield from self._safe
        yield from self._loaded

    def __len__(self) -> int:
        return len(self._safe) + len(self._loaded)

    def __contains__(self, name: object) -> bool:
        return name in self._safe or name in self._loaded


def _torch_load(path: Path) -> dict[str, torch.Tensor]:
    """A `.bin` state dict through torch's restricted unpickler; anything else is refused."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as e:
        if "mmap" not in str(e):  # legacy (non-zip) torch.save files cannot be mapped
            raise WeightLoadingError(f"{path.name} could not be read ({_first_line(e)}); re-download it.") from e
        data = _torch_load_unmapped(path)
    except Exception as e:  # noqa: BLE001 — UnpicklingError (code in the pickle), EOFError, zip errors, ...
        raise WeightLoadingError(f"{path.name} was refused: it is not a plain tensor file "
                                 f"({_first_line(e)}); use a safetensors checkpoint instead.") from e
    return _check_state_dict(data, path)


def _torch_load_unmapped(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — same refusal as above
        raise WeightLoadingError(f"{path.name} was refused: it is not a plain tensor file "
                                 f"({_first_line(e)}); use a safetensors checkpoint instead.") from e


def _check_state_dict(data, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(data, dict) and "state_dict" in data and isinstance(data["state_dict"], dict):
        data = data["state_dict"]  # some training scripts wrap the weights
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightLoadingError(f"{path.name} does not hold a dict of tensors; it is not a model state dict.")
    return data


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160]}" if text else type(e).__name__
