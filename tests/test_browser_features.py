"""The Feature Extractor tab in a real browser: examples and uploads run, plots and shapes appear,
a bad upload gives a readable message and the page keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import screenshot

pytestmark = pytest.mark.browser

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def _open_tab(page):
    page.get_by_role("tab", name="Feature Extractor").click()
    page.locator("#ce-fx-ckpt").wait_for()


def _choose_checkpoint(page, name: str):
    page.locator("#ce-fx-ckpt input").click()
    page.get_by_role("option", name=name).first.click()


def test_whisper_example_shows_spectrogram_and_shape(page):
    _open_tab(page)
    page.locator('[data-testid="dataset-cell-0-1"]').click()  # whisper-tiny + speech_16k_mono.wav
    head = page.locator("#ce-fx-head")
    head.get_by_text("(1, 80, 3000)").wait_for()
    assert "WhisperFeatureExtractor" in head.inner_text()
    spec = page.locator("#ce-fx-spec img")
    spec.wait_for()
    assert spec.evaluate("img => img.naturalWidth") >= 1000  # a rendered figure, not a broken image
    assert page.locator("#ce-fx-waves img").is_visible()
    details = page.locator("#ce-fx-details").inner_text()
    assert "chunk_length" in details and "mean" in details
    assert "preprocessor_config.json" in page.locator("#ce-fx-trace").inner_text()
    screenshot(page, "features_whisper")


def test_stereo_upload_with_wav2vec2(page):
    _open_tab(page)
    _choose_checkpoint(page, "wav2vec2-base")
    page.locator("#ce-fx-audio input[type=file]").set_input_files(str(SAMPLES / "speech_44k_stereo.flac"))
    page.locator("#ce-fx-run").click()
    head = page.locator("#ce-fx-head")
    head.get_by_text("input_values").wait_for()
    text = head.inner_text()
    assert "averaged to mono" in text and "44100 Hz → 16000 Hz" in text
    assert not page.locator("#ce-fx-spec img").is_visible()  # Wav2Vec2's input is the waveform itself
    screenshot(page, "features_wav2vec2_stereo")


def test_photo_example_with_clip_then_bad_upload_then_upload(page, tmp_path):
    _open_tab(page)
    page.locator('[data-testid="dataset-cell-4-2"]').click()  # clip-vit-base-patch32 + grace_hopper.jpg
    head = page.locator("#ce-fx-head")
    head.get_by_text("(1, 3, 224, 224)").wait_for()
    assert "CLIPImageProcessor" in head.inner_text()
    page.locator("#ce-fx-grid img").wait_for()
    page.locator("#ce-fx-channels img").wait_for()
    assert "center_crop" in page.locator("#ce-fx-details").inner_text()
    screenshot(page, "features_clip_photo")

    # After an example filled the image input, a non-image upload must still reach our decoder.
    fake = tmp_path / "not_a_picture.png"
    fake.write_text("plain text pretending to be a PNG")
    page.locator("#ce-fx-image button[aria-label='Remove Image']").click()
    page.locator("#ce-fx-image input[type=file]").set_input_files(str(fake))
    page.locator("#ce-fx-run").click()
    page.get_by_text("'not_a_picture.png' is not an image Pillow can read").first.wait_for()
    page.screenshot(path=str(screenshot(page, "features_bad_image")))  # viewport: the message is a toast

    page.locator("#ce-fx-image button[aria-label='Remove Image']").click()
    page.locator("#ce-fx-image input[type=file]").set_input_files(str(SAMPLES / "shapes_480x300.png"))
    page.locator("#ce-fx-run").click()
    head.get_by_text("480×300 PNG image").wait_for()  # the page keeps working
    screenshot(page, "features_clip_drawing")


def test_extract_features_api_endpoint(app_url):
    from gradio_client import Client, handle_file

    client = Client(app_url, verbose=False)
    root = SAMPLES.parent / "checkpoints"
    outputs = client.predict(str(root / "whisper-tiny"), handle_file(str(SAMPLES / "speech_44k_stereo.flac")), None,
                             api_name="/extract_features")
    result = outputs[-1]
    assert result["outputs"]["input_features"] == {"shape": [1, 80, 3000], "dtype": "float32"}
    assert result["input"]["original_rate"] == 44100 and result["input"]["channels"] == 2
    outputs = client.predict(str(root / "vit-base-patch16-224"), None, handle_file(str(SAMPLES / "grace_hopper.jpg")),
                             api_name="/extract_features")
    assert outputs[-1]["outputs"]["pixel_values"]["shape"] == [1, 3, 224, 224]
    assert [s["name"] for s in outputs[-1]["steps"]][:2] == ["input", "resize"]


@pytest.fixture
def device_page(browser, app_url):
    """A page in a second Chromium with fake camera and microphone (a test pattern and a beep), permissions granted.

    Launched through the session's Playwright (a second sync_playwright() cannot start inside the first).
    """
    from conftest import CHROMIUM_ARGS

    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    devices = browser.browser_type.launch(executable_path="/usr/bin/chromium", args=args, headless=True)
    context = devices.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera", "microphone"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    _open_tab(page)
    yield page
    devices.close()


def test_microphone_recording(device_page):
    page = device_page
    page.locator("#ce-fx-audio button[aria-label='Record audio']").click()
    page.locator("#ce-fx-audio button", has_text="Record").first.click()
    page.wait_for_timeout(2000)
    with page.expect_response(lambda r: "/upload" in r.url and r.ok):  # the recording reaches the server
        page.locator("#ce-fx-audio button", has_text="Stop").first.click()
    page.wait_for_timeout(500)  # the component's change event settles the value
    page.locator("#ce-fx-run").click()
    head = page.locator("#ce-fx-head")
    head.get_by_text("(1, 80, 3000)").wait_for()
    assert "s of audio" in head.inner_text()
    screenshot(page, "features_microphone")


def test_webcam_capture(device_page):
    page = device_page
    _choose_checkpoint(page, "vit-base-patch16-224")
    page.locator("#ce-fx-image button[aria-label='Capture from camera']").click()
    page.locator("#ce-fx-image button", has_text="Click to Access Webcam").click()
    # Capture only once the stream shows frames; a click before that captures nothing.
    page.wait_for_function("() => { const v = document.querySelector('#ce-fx-image video');"
                           " return v && v.readyState >= 2 && v.videoWidth > 0; }")
    with page.expect_response(lambda r: "/upload" in r.url and r.ok):
        page.locator("#ce-fx-image button[aria-label='capture photo']").click()
    page.wait_for_timeout(500)
    page.locator("#ce-fx-run").click()
    head = page.locator("#ce-fx-head")
    head.get_by_text("(1, 3, 224, 224)").wait_for()
    assert "ViTImageProcessor" in head.inner_text()
    screenshot(page, "features_webcam")
