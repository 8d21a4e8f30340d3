"""Input components that hand uploads to `loaders.media` untouched.

gr.Image(type="filepath") opens every upload with Pillow before the handler runs, so a non-image or
a decompression bomb fails inside gradio with no readable message. `ImageUpload` passes the uploaded
file's path straight through; `loaders.media.load_image` then decodes it, or refuses it clearly.
It has to be a subclass: gradio rebuilds a component from its class whenever an event updates it
(an example click does), so an instance-level override would be lost. Defining a component class
makes gradio write a `.pyi` stub beside this file; `components/*.pyi` is git-ignored.
"""

from __future__ import annotations

import gradio as gr


class ImageUpload(gr.Image):
    """gr.Image whose value reaches the handler as the uploaded file's path, undecoded."""

    is_template = True  # the browser side is the ordinary Image component

    def preprocess(self, payload):
        if payload is None or not payload.path:
            return super().preprocess(payload)  # webcam frames may arrive as data URLs
        return str(payload.path)
