"""The report of an analysis: a PDF that renders and says what the JSON record says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.factories.media import face_frames, shared, write_video
from tests.factories.web import make_app, post_api, run_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory, published_checkpoint: Path):
    """A finished analysis of a clip with a real face, by a (random) published checkpoint."""
    if not shared("images").is_dir():
        pytest.skip("needs ../shared/media for a real face")
    tmp = tmp_path_factory.mktemp("report")
    app = make_app(tmp)
    Path(app.config["MODELS_DIR"], published_checkpoint.name).symlink_to(published_checkpoint)
    client = app.test_client()
    frames = face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 40)
    data = write_video(tmp / "face.mp4", frames).read_bytes()
    a = run_job(app, post_api(client, data, name="face.mp4").json["id"])
    assert a.status == "done"
    return app, client, a


@pytest.mark.media
@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler-utils: setup --dev")
def test_pdf_report_renders_and_says_what_the_json_record_says(done, tmp_path: Path) -> None:
    _app, client, a = done
    res = client.get(f"/analyses/{a.id}/report.pdf")
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    assert "attachment" in res.headers["Content-Disposition"]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(res.data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(ARTIFACTS / "page")],
        check=True,
    )
    pages = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 10_000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    record = client.get(f"/api/analyses/{a.id}/report.json").json
    assert record["verdict"] == a.verdict and f"Verdict: {a.verdict}" in text
    assert record["input"]["sha256"] == a.sha256 and a.sha256 in text
    assert record["checkpoint"]["sha256"] == a.checkpoint_sha256 and a.checkpoint_sha256 in text
    assert record["p_fake"] == pytest.approx(a.p_fake) and f"{a.p_fake:.4f}" in text
    assert record["input"]["codec"] == a.codec and record["input"]["width"] == 640
    assert record["settings"]["sequence_length"] == 20 and record["settings"]["mode"] == "standard"
    assert record["checkpoint_card"]["sha256"] == a.checkpoint_sha256
    assert record["versions"]["torch"] and record["app"]["version"] in text
    assert len(record["frame_scores"]) == 20 and record["timings"]["total_s"] > 0
    assert json.loads(json.dumps(record)) == record


def test_report_of_an_unfinished_analysis_is_refused(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    assert client.get(f"/api/analyses/{aid}/report.json").status_code == 409
    assert client.get(f"/analyses/{aid}/report.pdf").status_code == 409
    assert client.get("/api/analyses/nope/report.json").status_code == 404
