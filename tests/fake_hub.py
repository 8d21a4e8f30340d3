"""A Hub-compatible HTTP server on loopback, so tests can drive the real huggingface_hub client offline.

It speaks the subset of the Hub protocol that `HfApi.model_info`, `hf_hub_download` and
`HfApi.get_safetensors_metadata` use (huggingface_hub 2.4):

- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` → `{"id", "sha", "siblings": [...]}`;
  sizes only with `?blobs=True`, as on the Hub.
- `HEAD`/`GET /{repo}/resolve/{rev}/{file}` → the file, with `X-Repo-Commit`, `ETag`, `Content-Length`.
  Weight files (LFS on the Hub) answer 302 to a "CDN" on another origin (`localhost` instead of
  `127.0.0.1`, same port) with `X-Linked-Etag`/`X-Linked-Size`, so the client must not forward the token.
- `Range: bytes=a-b` → 206 (what `get_safetensors_metadata` sends).
- Errors carry `X-Error-Code` (RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound), which
  `hf_raise_for_status` turns into the matching exception; a wrong token gets the Hub's plain 401
  "Invalid credentials in Authorization header" on every route.

Every request is logged (`hub.log`), so tests can assert which files were fetched and with what headers.
Bounded: loopback only, per-connection socket timeout, daemon threads, capped log; `stop()` (or leaving
the `with` block) shuts it down.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".h5", ".msgpack", ".onnx")
_RESOLVE = re.compile(r"^/(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_CDN = re.compile(r"^/cdn/(?P<sha>[0-9a-f]{64})$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")


@dataclass
class Revision:
    sha: str  # 40-hex commit id
    folder: Path


@dataclass
class Repo:
    repo_id: str
    revisions: dict[str, Revision] = field(default_factory=dict)  # branch/tag name → revision
    gated: bool = False  # listing is public, files need a token (as on the Hub)
    private: bool = False  # everything needs a token; without one the Hub says "not found"

    def revision(self, rev: str) -> Revision | None:
        """A branch/tag name or a commit id."""
        return self.revisions.get(rev) or next((r for r in self.revisions.values() if r.sha == rev), None)


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None
    range: str | None
    repo: str | None  # repo named by a /resolve or /cdn request
    file: str | None  # repo file named by a /resolve or /cdn request
    status: int = 0  # filled in when the answer is sent
    sent: int = 0  # body bytes sent


class FakeHub:
    """Serve folders as Hub repos: `add_repo("org/name", folder)`, then point HF_ENDPOINT at `hub.url`."""

    def __init__(self, token: str = "hf_fake_token"):
        self.token = token  # the only token gated/private repos accept
        self.outage: int | None = None  # set to e.g. 503: every request gets that status (the Hub is down)
        self.repos: dict[str, Repo] = {}
        self.log: deque[Request] = deque(maxlen=10_000)
        self._blobs: dict[str, tuple[Path, str, str]] = {}  # sha256 → (path, repo id, file name), for the CDN
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ repos
    def add_repo(self, repo_id: str, folder: Path, *, gated: bool = False, private: bool = False) -> Repo:
        """Serve `folder` as branch `main` of `repo_id`."""
        repo = Repo(repo_id, gated=gated, private=private)
        self.repos[repo_id] = repo
        self.add_revision(repo_id, "main", folder)
        return repo

    def add_revision(self, repo_id: str, name: str, folder: Path) -> str:
        """Serve `folder` as branch/tag `name`; returns its commit id."""
        sha = hashlib.sha1(f"{repo_id}@{name}:{folder}".encode()).hexdigest()
        self.repos[repo_id].revisions[name] = Revision(sha, Path(folder))
        return sha

    # ------------------------------------------------------------ what happened
    def fetched(self, repo_id: str | None = None) -> list[str]:
        """Repo files sent whole (200 on /resolve or the CDN), in order; HEADs and range reads not included."""
        return [r.file for r in self.log if r.method == "GET" and r.status == 200 and r.file is not None
                and repo_id in (None, r.repo)]

    def bytes_sent(self, repo_id: str, name: str) -> int:
        """Body bytes sent for one repo file, whole or in ranges."""
        return sum(r.sent for r in self.log if r.repo == repo_id and r.file == name)

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the hub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ protocol
    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def blob(self, path: Path, repo_id: str, name: str) -> str:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        self._blobs[sha] = (path, repo_id, name)
        return sha

    def cdn(self, sha: str) -> tuple[Path, str, str] | None:
        return self._blobs.get(sha)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.hub = hub
    return Handler


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    record: Request | None = None  # this request's log entry
    timeout = 10  # a stuck client cannot hold a thread for long
    protocol_version = "HTTP/1.0"  # one request per connection: shutdown never waits on keep-alive

    def log_message(self, format, *args) -> None:  # noqa: A002 — BaseHTTPRequestHandler's signature
        pass  # the request log replaces stderr noise

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._route(body=True)

    # ------------------------------------------------------------ routing
    def _route(self, body: bool) -> None:
        url = urlsplit(self.path)
        resolve, cdn = _RESOLVE.match(url.path), _CDN.match(url.path)
        blob = self.hub.cdn(cdn["sha"]) if cdn else None
        repo, name = blob[1:] if blob else (None, None)
        if resolve:
            repo, name = unquote(resolve["repo"]), unquote(resolve["file"])
        self.record = Request(self.command, url.path, self.headers.get("Authorization"), self.headers.get("Range"),
                              repo, name)
        self.hub.log.append(self.record)
        if self.hub.outage is not None:
            return self._error(self.hub.outage, "", "Service unavailable", body)
        auth = self.headers.get("Authorization")
        if auth is not None and not self.hub.authorized(self.headers) and not url.path.startswith("/cdn/"):
            # The Hub refuses a bad token on every route, public repos included.
            return self._error(401, "", "Invalid credentials in Authorization header", body)
        if url.path.startswith("/api/models/"):
            return self._model_info(url.path.removeprefix("/api/models/"), parse_qs(url.query), body)
        if resolve:
            return self._resolve(repo, unquote(resolve["rev"]), name, body)
        if blob:
            return self._send_file(blob[0], {}, body)
        self._error(404, "EntryNotFound", "no such route", body)

    def _repo(self, repo_id: str, *, listing: bool, body: bool) -> Repo | None:
        """The repo if this request may see it; otherwise the Hub's error is sent and None returned."""
        repo = self.hub.repos.get(repo_id)
        authorized = self.hub.authorized(self.headers)
        if repo is None or (repo.private and not authorized):
            self._error(401, "RepoNotFound", "Repository not found", body)
            return None
        if repo.gated and not listing and not authorized:
            self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access to it "
                        "and be authenticated to access it. Please log in.", body)
            return None
        return repo

    def _model_info(self, rest: str, query: dict, body: bool) -> None:
        repo_id, _, rev = rest.partition("/revision/")
        repo = self._repo(unquote(repo_id), listing=True, body=body)
        if repo is None:
            return
        revision = repo.revision(unquote(rev) if rev else "main")
        if revision is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(rev)}", body)
        with_sizes = query.get("blobs", [""])[0].lower() == "true"
        files = sorted(p for p in revision.folder.rglob("*") if p.is_file())
        siblings = [{"rfilename": p.relative_to(revision.folder).as_posix(),
                     **({"size": p.stat().st_size} if with_sizes else {})} for p in files]
        info = {"id": repo.repo_id, "modelId": repo.repo_id, "sha": revision.sha, "private": repo.private,
                "gated": "auto" if repo.gated else False, "siblings": siblings}
        self._send_bytes(json.dumps(info).encode(), {"Content-Type": "application/json"}, body)

    def _resolve(self, repo_id: str, rev: str, name: str, body: bool) -> None:
        repo = self._repo(repo_id, listing=False, body=body)
        if repo is None:
            return
        revision = repo.revision(rev)
        if revision is None:
            return self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", body)
        path = revision.folder / name
        commit = {"X-Repo-Commit": revision.sha}
        if ".." in Path(name).parts or not path.is_file():
            return self._error(404, "EntryNotFound", f"{name} does not exist on {rev}", body, commit)
        if name.endswith(LFS_SUFFIXES):  # LFS: 302 to a CDN on another origin, metadata on the redirect
            sha = self.hub.blob(path, repo_id, name)
            port = self.server.server_address[1]
            headers = {**commit, "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(path.stat().st_size),
                       "Location": f"http://localhost:{port}/cdn/{sha}", "Content-Length": "0"}
            self.send_response(302)
            return self._headers(headers)
        etag = hashlib.sha1(path.read_bytes()).hexdigest()
        self._send_file(path, {**commit, "ETag": f'"{etag}"'}, body)

    # ------------------------------------------------------------ responses
    def _send_file(self, path: Path, headers: dict, body: bool) -> None:
        data = path.read_bytes()
        match = _RANGE.match(self.headers.get("Range") or "")
        if match is None:
            return self._send_bytes(data, headers, body)
        start = int(match["start"])
        end = min(int(match["end"]) if match["end"] else len(data) - 1, len(data) - 1)
        if start >= len(data):
            return self._send_bytes(b"", {**headers, "Content-Range": f"bytes */{len(data)}"}, body, status=416)
        self._send_bytes(data[start:end + 1], {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"},
                         body, status=206)

    def _send_bytes(self, data: bytes, headers: dict, body: bool, status: int = 200) -> None:
        self.send_response(status)
        self._headers({"Content-Length": str(len(data)), "Accept-Ranges": "bytes", **headers})
        if body:
            self.wfile.write(data)
            self.record.sent = len(data)

    def _error(self, status: int, code: str, message: str, body: bool, extra: dict | None = None) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data)), "X-Error-Message": message}
        self._headers({**headers, **({"X-Error-Code": code} if code else {}), **(extra or {})})
        if body:
            self.wfile.write(data)

    def send_response(self, code: int, message: str | None = None) -> None:
        if self.record is not None:  # None for requests http.server rejects before routing
            self.record.status = code
        super().send_response(code, message)

    def _headers(self, headers: dict) -> None:
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
