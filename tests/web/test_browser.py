"""A real browser (Debian's Chromium, driven by Playwright) against `deepfake-web serve`.

Screenshots land in test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.media import ROOT, shared

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.media,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`deepfake-web serve` (gunicorn + worker) on a free port with a demo checkpoint."""
    from deepfake_web.detection.demo import write_demo_checkpoint

    base = tmp_path_factory.mktemp("live")
    models = base / "models"
    write_demo_checkpoint(models, 20)
    port = _free_port()
    env = dict(
        os.environ,
        DEEPFAKE_INSTANCE_PATH=str(base / "instance"),
        DEEPFAKE_MODELS_DIR=str(models),
        DEEPFAKE_HEARTBEAT_INTERVAL_S="2",
    )
    log = (base / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepfake_web", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((base / "serve.log").read_text()) from None
            time.sleep(0.5)
    else:
        raise RuntimeError("the server did not start in 120 s")
    yield url
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, (base / "serve.log").read_text()[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _drop_file(page, selector: str, path: Path, mime: str) -> None:
    """Drag a file from 'the desktop' onto an element, as a person does."""
    data = base64.b64encode(path.read_bytes()).decode()
    handle = page.evaluate_handle(
        """([data, name, mime]) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: mime }));
            return dt;
        }""",
        [data, path.name, mime],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": handle})


def test_drop_a_video_watch_progress_see_result_and_history(server: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "/")
    assert page.get_by_role("heading", name="Is this video a deepfake?").is_visible()
    assert page.locator("#sequence_length").input_value() == "20"
    page.screenshot(path=SHOTS / "1-upload.png", full_page=True)

    video = shared("videos", "real", "polimi_ffpp_c23_orig_004.mp4")
    _drop_file(page, "#dropzone", video, "video/mp4")
    assert video.name in page.locator("#chosen").inner_text()
    page.get_by_role("button", name="Analyse").click()

    page.wait_for_url("**/analyses/*", timeout=60_000)
    if page.locator("#analysis-live").count():
        page.wait_for_function(  # a function, not a string: the CSP forbids eval
            "() => { const p = document.querySelector('#analysis-progress');"
            " return p === null || p.value > 0; }",
            timeout=60_000,
        )
        page.screenshot(path=SHOTS / "2-progress.png", full_page=True)
    page.locator("#verdict").wait_for(timeout=180_000)  # the page reloads itself when done
    verdict = page.locator("#verdict").inner_text()
    assert verdict in {"REAL", "FAKE", "UNCERTAIN", "NO FACE"}
    assert page.locator(".banner.demo").is_visible()  # random weights: said plainly
    assert page.locator("svg.chart circle.point").count() >= 18
    assert page.locator("ol.previews img.frame").count() == 20
    page.locator("ol.previews img.face").first.scroll_into_view_if_needed()
    assert page.locator("ol.previews img.face").first.evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=SHOTS / "3-result.png", full_page=True)
    result_url = page.url

    page.get_by_role("link", name="History", exact=True).first.click()
    row = page.locator("table.history tbody tr").first
    assert video.name in row.inner_text()
    page.screenshot(path=SHOTS / "4-history.png", full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    for url in (result_url, server + "/history"):  # with a result and a history row in them
        phone.goto(url)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{url} scrolls sideways at phone width ({width}px)"
    phone.screenshot(path=SHOTS / "4-history-phone.png", full_page=True)
    phone.close()

    row.get_by_role("link", name=f"Delete the analysis of {video.name}").click()
    page.screenshot(path=SHOTS / "5-confirm-delete.png", full_page=True)
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url("**/history")
    assert "Deleted the analysis" in page.locator(".notice").first.inner_text()
    assert page.locator("table.history").count() == 0
    page.close()


def test_phone_width_and_upload_errors(server: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(server + "/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    bogus = ROOT / "test-artifacts" / "not-a-video.mp4"
    bogus.parent.mkdir(parents=True, exist_ok=True)
    bogus.write_text("<html>this is not a video</html>")
    page.set_input_files("#file", str(bogus))
    page.get_by_role("button", name="Analyse").click()
    error = page.locator("#upload-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "is not a readable video" in error.inner_text()
    page.screenshot(path=SHOTS / "6-phone-upload-error.png", full_page=True)
    page.goto(server + "/history")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.close()
