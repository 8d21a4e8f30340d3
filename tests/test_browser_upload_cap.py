"""A too-large upload is refused with a readable message, and the page keeps working."""

from __future__ import annotations

import pytest
from conftest import ROOT, screenshot, start_app, stop_app

SAMPLES = ROOT / "assets" / "samples"


@pytest.fixture(scope="module")
def capped_app_url():
    """The real app started with a 20 kB upload cap (CE_MAX_FILE_SIZE)."""
    proc, url = start_app("app_capped", CE_MAX_FILE_SIZE="20kb")
    yield url
    stop_app(proc)


def test_oversized_upload_shows_a_message_then_a_small_one_works(browser, capped_app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(capped_app_url)
    page.get_by_role("tab", name="Feature Extractor").click()
    audio_input, image_input = page.locator("input[type=file]").nth(0), page.locator("input[type=file]").nth(1)
    assert (SAMPLES / "speech_44k_stereo.flac").stat().st_size > 20_000
    audio_input.set_input_files(str(SAMPLES / "speech_44k_stereo.flac"))
    page.get_by_text("exceed the maximum allowed size").first.wait_for()
    assert "speech_44k_stereo.flac" in page.locator("body").inner_text()
    screenshot(page, "upload_cap_refused")
    # The app still works: a small image (3 kB) under the cap goes through on a vision checkpoint.
    page.reload()
    page.get_by_role("tab", name="Feature Extractor").click()
    page.get_by_label("Checkpoint (shipped offline copies, a Hub repo id or a local folder)").fill(
        str(ROOT / "assets" / "checkpoints" / "clip-vit-base-patch32"))
    image_input = page.locator("input[type=file]").nth(1)
    image_input.set_input_files(str(SAMPLES / "shapes_480x300.png"))
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Extract features").click()
    page.get_by_text("(1, 3, 224, 224)").first.wait_for()
    screenshot(page, "upload_cap_small_ok")
    context.close()
