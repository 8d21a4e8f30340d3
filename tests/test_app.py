"""The app shell: flags, environment, tabs, error wrapper."""

from __future__ import annotations

import gradio as gr
import pytest

import app
from components.common import friendly, trace_html
from loaders import Trace
from loaders.errors import CheckpointNotFound


def test_defaults_bind_loopback(monkeypatch):
    for var in ("CE_HOST", "CE_PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(var, raising=False)
    args = app.parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 7860)


def test_flags_and_env(monkeypatch):
    monkeypatch.setenv("CE_HOST", "0.0.0.0")
    monkeypatch.setenv("CE_PORT", "9000")
    assert (app.parse_args([]).host, app.parse_args([]).port) == ("0.0.0.0", 9000)
    assert app.parse_args(["--host", "::1", "--port", "1234"]).port == 1234


def test_all_tabs_build_with_named_endpoints():
    demo = app.build_app()
    assert isinstance(demo, gr.Blocks)
    api_names = {dep.api_name for dep in demo.fns.values() if dep.api_name}
    assert "tokenize" in api_names


def test_friendly_turns_our_errors_into_messages():
    @friendly
    def handler():
        raise CheckpointNotFound("Folder 'x' does not exist; check the path.")

    with pytest.raises(gr.Error) as info:
        handler()
    assert info.value.message == "Folder 'x' does not exist; check the path."
    assert info.value.title == "Checkpoint not found"


def test_friendly_hides_tracebacks_of_bugs():
    @friendly
    def handler():
        return {}["missing"]

    with pytest.raises(gr.Error, match="Unexpected KeyError"):
        handler()


def test_trace_html_escapes_and_marks_warnings():
    t = Trace("AutoTokenizer")
    t.add("tokenizer_config.json", "WordPiece", "tokenizer_class", "<b>Bert</b>")
    t.warn("tokenizer.json", "padding ignored", "padding", {"Fixed": 128})
    out = trace_html(t)
    assert "&lt;b&gt;Bert&lt;/b&gt;" in out and 'class="warn"' in out and "<h4>AutoTokenizer</h4>" in out


def test_upload_size_cap_flag(monkeypatch):
    monkeypatch.delenv("CE_MAX_FILE_SIZE", raising=False)
    assert app.parse_args([]).max_file_size == "100mb"
    assert app.parse_args(["--max-file-size", "5mb"]).max_file_size == "5mb"
