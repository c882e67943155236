"""Reproducing an analysis: the same file, checkpoint (by SHA-256) and settings, in fp32."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, AuditEvent, Status, utcnow
from deepfake_web.web.retention import purge_expired
from tests.factories.media import face_frames, shared, write_tiny_published, write_video
from tests.factories.web import make_app, post_api, rows, run_job

CHECKPOINT = "model_90_acc_20_frames_test_data.pt"


def _page(client, aid: str) -> str:
    return html.unescape(client.get(f"/analyses/{aid}").get_data(as_text=True))


def _done(app, client, data: bytes) -> Analysis:
    a = run_job(app, post_api(client, data).json["id"])
    assert a.status == Status.DONE and a.checkpoint_sha256
    return a


def _other_published(path: Path) -> Path:
    """A published-format file whose bytes (hence SHA-256) differ from the tiny fixture's."""
    import torch

    from tests.factories.media import _published_shapes

    state = {
        k: torch.ones((), dtype=dtype).expand(shape)
        for k, (shape, dtype) in _published_shapes().items()
    }
    torch.save(state, path)
    return path


@pytest.mark.media
def test_a_reproduction_matches_the_original_to_1e4_and_the_pages_say_so(
    tmp_path: Path, published_checkpoint: Path
) -> None:
    if not shared("images").is_dir():
        pytest.skip("needs ../shared/media for a real face")
    app = make_app(tmp_path)
    models = Path(app.config["MODELS_DIR"])
    (models / published_checkpoint.name).symlink_to(published_checkpoint)
    client = app.test_client()
    frames = face_frames(shared("images", "unlabeled", "facerec_obama-720p.jpg"), 40)
    data = write_video(tmp_path / "face.mp4", frames).read_bytes()
    a = run_job(app, post_api(client, data, name="face.mp4").json["id"])
    assert a.status == Status.DONE and a.p_fake is not None and 0.0 < a.p_fake < 1.0
    frame_p = [s["p_fake"] for s in a.frame_scores if s["p_fake"] is not None]
    assert (
        len(frame_p) >= 10 and max(frame_p) - min(frame_p) > 0.01
    )  # a comparison that means something
    # a "better" checkpoint of the same length: a re-run would take it, a reproduction must not
    write_tiny_published(models / "model_99_acc_20_frames_better_data.pt")

    res = client.post(f"/analyses/{a.id}/reproduce")
    assert res.status_code == 303
    rid = res.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        r = db.session.get(Analysis, rid)
        assert r.reproduces == a.id and r.status == Status.QUEUED
        assert r.checkpoint_name == published_checkpoint.name
        assert r.checkpoint_sha256 == a.checkpoint_sha256
        assert (r.sequence_length, r.mode, r.sha256) == (a.sequence_length, a.mode, a.sha256)
    queued = _page(client, rid)
    assert 'id="reproduction-of"' in queued and "pinned by its SHA-256" in queued

    r = run_job(app, rid)
    assert r.status == Status.DONE, r.error
    assert r.checkpoint_sha256 == a.checkpoint_sha256 and r.result["runtime"] == "torch-fp32"
    diff = abs(r.p_fake - a.p_fake)
    assert diff <= 1e-4
    again = [s["p_fake"] for s in r.frame_scores if s["p_fake"] is not None]
    assert len(again) == len(frame_p)
    assert max(abs(x - y) for x, y in zip(frame_p, again, strict=True)) <= 1e-4
    line = f"Reproduced: p(fake) {a.p_fake:.4f} vs {r.p_fake:.4f} (|Δ| = "
    for page in (_page(client, rid), _page(client, a.id)):
        assert line in page and "matches to 1e-4)" in page
        assert a.checkpoint_sha256 in page
        assert "original: torch-fp32; reproduction: torch-fp32" in page
    assert f'id="reproduction-{rid}"' in _page(client, a.id)

    record = client.get(f"/api/analyses/{rid}/report.json").json
    assert record["reproduces"]["analysis_id"] == a.id
    comparison = record["reproduces"]["comparison"]
    assert comparison["matches"] is True and comparison["abs_diff"] == pytest.approx(diff)
    assert comparison["original_p_fake"] == a.p_fake and comparison["reproduced_p_fake"] == r.p_fake
    assert comparison["frames_max_abs_diff"] <= 1e-4
    assert comparison["checkpoint_sha256"] == a.checkpoint_sha256
    assert (
        record["checkpoint"]["sha256"] == a.checkpoint_sha256 and record["runtime"] == "torch-fp32"
    )
    assert record["notes"][0].startswith(f"Reproduction of analysis {a.id}: {line}")
    assert client.get(f"/api/analyses/{rid}").json["reproduction"]["comparison"]["matches"]
    assert client.get(f"/analyses/{rid}/report.pdf").status_code == 200

    with app.app_context():
        events = list(db.session.scalars(db.select(AuditEvent).filter_by(action="reproduce")))
    assert [e.subject for e in events] == [rid]
    assert a.id in events[0].detail and a.checkpoint_sha256 in events[0].detail

    api = client.post(f"/api/analyses/{a.id}/reproduce")
    assert api.status_code == 202 and api.json["reproduces"] == a.id


def test_a_changed_or_removed_checkpoint_is_refused_with_the_reason(
    app, client, video_bytes
) -> None:
    a = _done(app, client, video_bytes)
    path = Path(app.config["MODELS_DIR"]) / CHECKPOINT
    original_bytes = path.read_bytes()
    _other_published(path)  # same name, other bytes
    res = client.post(f"/analyses/{a.id}/reproduce")
    assert res.status_code == 303 and res.headers["Location"].endswith(f"/analyses/{a.id}")
    page = _page(client, a.id)
    assert "Cannot reproduce: the checkpoint" in page and "has changed" in page
    assert a.checkpoint_sha256 in page
    api = client.post(f"/api/analyses/{a.id}/reproduce")
    assert api.status_code == 409 and "has changed" in api.json["error"]["message"]

    path.unlink()  # gone altogether
    api = client.post(f"/api/analyses/{a.id}/reproduce")
    assert api.status_code == 409
    message = api.json["error"]["message"]
    assert "no longer installed" in message and a.checkpoint_sha256 in message
    assert len(rows(app)) == 1  # nothing was queued

    # the same bytes under another name are the same checkpoint: found by SHA-256
    (path.parent / "model_90_acc_20_frames_renamed_data.pt").write_bytes(original_bytes)
    api = client.post(f"/api/analyses/{a.id}/reproduce")
    assert (
        api.status_code == 202
        and api.json["checkpoint"] == "model_90_acc_20_frames_renamed_data.pt"
    )


def test_a_checkpoint_changed_after_queueing_fails_the_reproduction(
    app, client, video_bytes
) -> None:
    a = _done(app, client, video_bytes)
    rid = client.post(f"/api/analyses/{a.id}/reproduce").json["id"]
    _other_published(Path(app.config["MODELS_DIR"]) / CHECKPOINT)
    r = run_job(app, rid)
    assert r.status == Status.FAILED
    assert "Cannot reproduce" in r.error and a.checkpoint_sha256 in r.error


def test_a_reproduction_after_retention_removed_the_file_is_refused(
    app, client, video_bytes
) -> None:
    app.config["RETENTION_DAYS"] = 30
    a = _done(app, client, video_bytes)
    with app.app_context():
        db.session.get(Analysis, a.id).created_at = utcnow() - timedelta(days=31)
        db.session.commit()
        assert [x.id for x in purge_expired()] == [a.id]
    res = client.post(f"/api/analyses/{a.id}/reproduce")
    assert res.status_code == 410
    assert "no longer stored" in res.json["error"]["message"]
    assert "retention" in res.json["error"]["message"]
    page = _page(client, a.id)
    assert 'id="reproduce" disabled title="The uploaded file was removed"' in page
    form = client.post(f"/analyses/{a.id}/reproduce")
    assert form.status_code == 303 and "retention" in _page(client, a.id)
    assert len(rows(app)) == 1


def test_an_unfinished_analysis_cannot_be_reproduced(app, client, video_bytes) -> None:
    aid = post_api(client, video_bytes).json["id"]
    res = client.post(f"/api/analyses/{aid}/reproduce")
    assert res.status_code == 409 and "finished" in res.json["error"]["message"]
    assert 'id="reproduce"' not in _page(client, aid)


def test_the_comparison_says_does_not_match_with_both_numbers_and_the_runtimes() -> None:
    from deepfake_web.web.reproductions import compare

    def row(aid: str, p: float, verdict: str, result: dict) -> Analysis:
        scores = [{"index": 0, "p_fake": p}]
        return Analysis(
            id=aid, status=Status.DONE, p_fake=p, verdict=verdict, result=result,
            frame_scores=scores, checkpoint_name="m.pt", checkpoint_sha256="ab" * 32,
        )  # fmt: skip

    original = row("o", 0.8312, "FAKE", {"notes": ["Backbone computed with openvino-bf16 (…)"]})
    again = row("r", 0.4, "REAL", {"runtime": "torch-fp32"})
    c = compare(original, again)
    assert not c.matches and c.abs_diff == pytest.approx(0.4312)
    assert c.sentence == (
        "Does not match: p(fake) 0.831200 (original) vs 0.400000 (reproduction) "
        "(|Δ| = 4e-1, more than 1e-4; verdict FAKE vs REAL)"
    )
    assert (c.original_runtime, c.reproduction_runtime) == ("openvino-bf16", "torch-fp32")
    close = compare(original, row("r2", 0.83123, "FAKE", {"runtime": "torch-fp32"}))
    assert close.matches and close.sentence.endswith("(|Δ| = 3e-5, matches to 1e-4)")
    assert close.frames_max_abs_diff == pytest.approx(3e-5)
