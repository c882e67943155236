"""Accounts in a real browser: log in, upload, see only your own history, log out; at
desktop width (alice, a video) and at phone width (bob, a photo).

Screenshots land in test-artifacts/screenshots/ (accounts-*.png) for a person to look at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.media import ROOT, shared
from tests.web.test_browser import CHROMIUM, SHOTS, _drop_file, _free_port, browser

__all__ = ["browser"]  # the Chromium fixture, shared with test_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.media,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]
PASSWORD = "lab-password-1"


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`deepfake-web serve` with DEEPFAKE_AUTH=accounts, members alice and bob."""
    from deepfake_web.detection.demo import write_demo_checkpoint

    base = tmp_path_factory.mktemp("lab")
    models = base / "models"
    write_demo_checkpoint(models, 20)
    port = _free_port()
    env = dict(
        os.environ,
        DEEPFAKE_INSTANCE_PATH=str(base / "instance"),
        DEEPFAKE_MODELS_DIR=str(models),
        DEEPFAKE_HEARTBEAT_INTERVAL_S="2",
        DEEPFAKE_AUTH="accounts",
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
            urllib.request.urlopen(url + "/login", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((base / "serve.log").read_text()) from None
            time.sleep(0.5)
    else:
        raise RuntimeError("the server did not start in 120 s")
    for name, role in (("alice", []), ("bob", []), ("root", ["--admin"])):
        subprocess.run(
            [sys.executable, "-m", "deepfake_web", "users", "add", name, *role],
            input=f"{PASSWORD}\n{PASSWORD}\n",
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    yield url
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, (base / "serve.log").read_text()[-3000:]


def _log_in(page, lab_server: str, name: str) -> None:
    page.goto(lab_server + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lab_server + "/")


def _session(browser, lab_server: str, name: str, width: int, height: int, media: Path, mime: str,
             other: str) -> None:  # fmt: skip
    """One person's visit: log in, upload, wait for the verdict, history, log out."""
    tag = f"accounts-{name}-{width}"
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(lab_server + "/history")
    page.wait_for_url("**/login?next=/history")
    assert page.get_by_role("heading", name="Log in").is_visible()
    page.screenshot(path=SHOTS / f"{tag}-1-login.png", full_page=True)
    page.fill("#name", name)
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Log in").click()
    assert "Wrong name or password" in page.locator("#login-error").inner_text()
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/history")
    assert page.locator("#account-link").inner_text() == name

    page.goto(lab_server + "/")
    assert page.locator("#share-choice").is_visible()
    assert page.locator("#single-user").count() == 0
    _drop_file(page, "#dropzone", media, mime)
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/analyses/*", timeout=60_000)
    page.locator("#verdict").wait_for(timeout=180_000)
    assert "private" in page.locator("p.muted").first.inner_text()
    page.screenshot(path=SHOTS / f"{tag}-2-result.png", full_page=True)

    page.get_by_role("link", name="History", exact=True).first.click()
    page.wait_for_url("**/history")
    table = page.locator("table.history tbody").inner_text()
    assert media.name in table and other not in table  # only this person's analyses
    assert page.locator("table.history tbody tr").count() == 1
    width_now = page.evaluate("document.documentElement.scrollWidth")
    assert width_now <= width, f"the history scrolls sideways ({width_now}px)"
    page.screenshot(path=SHOTS / f"{tag}-3-history.png", full_page=True)
    page.goto(lab_server + "/account")
    page.screenshot(path=SHOTS / f"{tag}-4-account.png", full_page=True)
    page.locator("#log-out").click()
    page.wait_for_url("**/login")
    page.goto(lab_server + "/history")
    page.wait_for_url("**/login?next=/history")
    page.close()


def test_log_in_upload_see_only_your_own_history_log_out(lab_server: str, browser) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    video = shared("videos", "real", "polimi_ffpp_c23_orig_004.mp4")
    photo = shared("images", "unlabeled", "facerec_obama-720p.jpg")
    _session(browser, lab_server, "bob", 390, 844, photo, "image/jpeg", video.name)
    _session(browser, lab_server, "alice", 1280, 900, video, "video/mp4", photo.name)


def test_an_administrator_sees_everything_and_the_audit_log(lab_server: str, browser) -> None:
    """Runs after the members' visits: both uploads are in root's history and audit log."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page = browser.new_page(viewport={"width": width, "height": height})
        _log_in(page, lab_server, "root")
        page.goto(lab_server + "/history")
        owners = page.locator("table.history td.owner").all_inner_texts()
        assert sorted(o.split()[0] for o in owners) == ["alice", "bob"]
        page.goto(lab_server + "/admin/audit")
        uploads = page.locator("tr.event-upload").all_inner_texts()
        assert len(uploads) == 2 and any("alice" in u for u in uploads)
        assert page.locator("tr.event-login_failed").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=SHOTS / f"accounts-root-{width}-audit.png", full_page=True)
        page.goto(lab_server + "/admin/users")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=SHOTS / f"accounts-root-{width}-users.png", full_page=True)
        page.close()
