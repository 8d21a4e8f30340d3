"""The Model tab's pure rendering helpers: numbers in, HTML out."""

from __future__ import annotations

import re

import numpy as np
import pytest
from torch import nn

from components import model_views as v


def test_formatting():
    assert v.fmt_count(22_713_728) == "22.7M" and v.fmt_count(70_553_706_496) == "70.6B" and v.fmt_count(12) == "12"
    assert v.fmt_bytes(90_856_960) == "86.6 MiB" and v.fmt_bytes(512) == "512 B"
    assert v.pct(0.5) == "50.0%" and v.pct(0.00012) == "0.012%"


def test_bar_chart_widths_and_top():
    html = v.bar_chart_html([("a", 0.75), ("b", 0.25)], "title", scale=1.0)
    assert re.findall(r"width:([\d.]+)%", html) == ["75.0", "25.0"]
    assert html.count("ce-bar top") == 1 and "<h4>title</h4>" in html
    relative = v.bar_chart_html([("a", 0.02), ("b", 0.01)])
    assert re.findall(r"width:([\d.]+)%", relative) == ["100.0", "50.0"]


def test_escaping_everywhere():
    evil = "<script>x</script>"
    assert "<script>" not in v.bar_chart_html([(evil, 1.0)])
    assert "<script>" not in v.table_html([evil], [[evil]])
    assert "<script>" not in v.tokens_by_label_html([evil], ["B-PER"], [0.9], ["O", "B-PER"])
    assert "<script>" not in v.attention_svg([evil, "b"], [[0.5, 0.5], [1, 0]])
    assert "<script>" not in v.highlight_span_html(evil, 0, 3)


def test_attention_svg_cells_and_truncation():
    tokens = [f"t{i}" for i in range(5)]
    html = v.attention_svg(tokens, np.eye(5), "Layer 0, head 0")
    assert html.count("<rect") == 25 and "Layer 0, head 0" in html
    assert html.count(f'fill="{v.heat(1.0)}"') == 5  # the diagonal
    many = [f"t{i}" for i in range(v.MAX_MAP_TOKENS + 10)]
    big = v.attention_svg(many, np.full((len(many), len(many)), 0.01))
    assert big.count("<rect") == v.MAX_MAP_TOKENS ** 2 and f"First {v.MAX_MAP_TOKENS} of {len(many)}" in big


def test_overview_grid_has_one_thumbnail_per_head():
    att = np.random.default_rng(0).dirichlet(np.ones(7), size=(3, 4, 7))
    html = v.attention_overview_html(att)
    assert html.count("<img") == 12 and "layer 2 head 3" in html and "data:image/png;base64," in html


def test_tokens_by_label():
    html = v.tokens_by_label_html(["ada", "lives"], ["B-PER", "O"], [0.9, 0.8], ["O", "B-PER"])
    assert "<sub" in html and html.count("<sub") == 1  # the O token is not tinted
    assert "90.0%" in html


def test_highlight_span_and_continuation():
    html = v.highlight_span_html("Ada wrote it", 0, 3)
    assert '<span class="ce-answer">Ada</span> wrote it' in html
    cont = v.continuation_html("Once", [(" upon", 0.9), (" a", 0.05)])
    assert "90.0%" in cont and "5.0%" in cont and "·upon" in cont  # leading space made visible


def test_vector_strip_stats():
    html = v.vector_strip_html([3.0, -4.0], "emb")
    assert "L2 norm 5" in html and html.count("<span title=") == 2


@pytest.mark.parametrize("report, cls, words", [
    ({"loaded": 3, "weight_files": ["model.safetensors"], "newly_initialised": ["classifier.weight"]},
     "ce-report untrained", "random"),
    ({"loaded": 3, "weight_files": ["model.safetensors"], "unexpected_keys": {"cls.x": "head"}}, "ce-report notice",
     "unused"),
    ({"loaded": 3, "weight_files": ["model.safetensors"]}, "ce-report\"", "Every weight"),
])
def test_loading_report_levels(report, cls, words):
    html = v.loading_report_html(report, "BertModel")
    assert cls in html and words in html


def test_module_tree_collapses_repeated_layers():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

    model = nn.Module()
    model.emb = nn.Embedding(10, 4)
    model.layer = nn.ModuleList([Block() for _ in range(3)])
    html = v.module_tree_html(model)
    assert "0–2" in html and "×3" in html and "20 params each" in html
    assert html.count("<details") == 3  # model, layer, one collapsed block
