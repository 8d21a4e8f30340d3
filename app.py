"""Checkpoint Explorer: see what AutoTokenizer, AutoFeatureExtractor, AutoProcessor and AutoModel
do with a checkpoint. This file only assembles the tabs, parses flags and launches.

    python app.py [--host 127.0.0.1] [--port 7860]
"""

from __future__ import annotations

import argparse
import os

import gradio as gr

from components import common, feature_tab, model_tab, processor_tab, tokenizer_tab

TABS = [
    ("Tokenizer", "tokenizer", tokenizer_tab),
    ("Feature Extractor", "features", feature_tab),
    ("Processor", "processor", processor_tab),
    ("Model", "model", model_tab),
]

INTRO = (
    "# Checkpoint Explorer\n"
    "Type a checkpoint — a Hub repo id or a local folder — and see which tokenizer, preprocessor "
    "and model class the Auto classes choose, **why** (the resolution trace), and what they do to your input."
)


def build_app() -> gr.Blocks:
    """The whole app as a Blocks object (tests launch it in-process)."""
    with gr.Blocks(title="Checkpoint Explorer") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for title, tab_id, module in TABS:
                with gr.Tab(title, id=tab_id):
                    module.build()
    return demo


def css() -> str:
    return "\n".join([common.CSS] + [module.CSS for _, _, module in TABS])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are what Hugging Face Spaces sets.
    parser.add_argument("--host", default=os.environ.get("CE_HOST") or os.environ.get("GRADIO_SERVER_NAME")
                        or "127.0.0.1", help="interface to bind (default 127.0.0.1; env CE_HOST)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CE_PORT") or
                        os.environ.get("GRADIO_SERVER_PORT") or 7860), help="port (default 7860; env CE_PORT)")
    # Uploads above this are refused by gradio before any handler runs (audio is also capped by
    # duration, images by Pillow's decompression-bomb limit, in loaders.media).
    parser.add_argument("--max-file-size", default=os.environ.get("CE_MAX_FILE_SIZE") or "100mb",
                        help="largest accepted upload, e.g. 100mb (env CE_MAX_FILE_SIZE)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    demo = build_app()
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.launch(server_name=args.host, server_port=args.port, css=css(), footer_links=["api"],
                max_file_size=args.max_file_size)


if __name__ == "__main__":
    main()
