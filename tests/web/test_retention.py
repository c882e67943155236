"""Retention: uploaded files older than RETENTION_DAYS are removed, results stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from deepfake_web.cli.main import cli
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Status, utcnow
from deepfake_web.web.retention import purge_expired
from tests.factories.web import make_app, post_api, run_job


def _age(app, analysis_id: str, days: float) -> None:
    with app.app_context():
        db.session.get(Analysis, analysis_id).created_at = utcnow() - timedelta(days=days)
        db.session.commit()


def _upload(app, client, data: bytes, name: str, done: bool = True) -> str:
    aid = post_api(client, data, name=name).json["id"]
    if done:
        assert run_job(app, aid).status == Status.DONE
    return aid


def _stored(app, aid: str) -> Path:
    with app.app_context():
        return Path(app.config["UPLOAD_DIR"]) / db.session.get(Analysis, aid).stored_name


def test_retention_removes_exactly_the_expired_files(app, client, video_bytes) -> None:
    app.config["RETENTION_DAYS"] = 30
    old = _upload(app, client, video_bytes, "old.mp4")
    edge = _upload(app, client, video_bytes + b"\0", "edge.mp4")
    young = _upload(app, client, video_bytes + b"\0\0", "young.mp4")
    waiting = _upload(app, client, video_bytes + b"\0\0\0", "waiting.mp4", done=False)
    _age(app, old, 31)
    _age(app, edge, 29.9)
    _age(app, young, 1)
    _age(app, waiting, 40)  # still queued: its file is needed
    previews_before = sorted(Path(app.config["PREVIEW_DIR"]).rglob("*.jpg"))
    with app.app_context():
        removed = [a.id for a in purge_expired()]
    assert removed == [old]
    assert not _stored(app, old).exists()
    assert all(_stored(app, a).exists() for a in (edge, young, waiting))
    assert sorted(Path(app.config["PREVIEW_DIR"]).rglob("*.jpg")) == previews_before
    with app.app_context():
        row = db.session.get(Analysis, old)
        assert row.file_removed_at is not None and row.verdict is not None  # the result stays
        assert purge_expired() == []  # nothing twice

    page = client.get(f"/analyses/{old}").get_data(as_text=True)
    assert 'id="file-removed"' in page and "was removed on" in page
    assert 'disabled title="The uploaded file was removed"' in page
    assert client.get(f"/api/analyses/{old}/report.json").status_code == 200
    res = client.post(f"/api/analyses/{old}/rerun")
    assert res.status_code == 410
    assert "no longer stored" in res.json["error"]["message"]
    assert "retention" in res.json["error"]["message"]
    page = client.get(f"/analyses/{young}").get_data(as_text=True)
    assert 'id="file-removal"' in page and "will be removed on" in page
    assert "disabled" not in page.split('class="actions"', 1)[1]


def test_without_retention_nothing_is_removed(app, client, video_bytes) -> None:
    aid = _upload(app, client, video_bytes, "kept.mp4")
    _age(app, aid, 3650)
    with app.app_context():
        assert purge_expired() == []
    assert _stored(app, aid).exists()
    assert "will be removed" not in client.get(f"/analyses/{aid}").get_data(as_text=True)


def test_purge_command(tmp_path: Path, video_bytes) -> None:
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    client = app.test_client()
    old = _upload(app, client, video_bytes, "old.mp4")
    young = _upload(app, client, video_bytes + b"\0", "young.mp4")
    _age(app, old, 8)
    env = {
        "DEEPFAKE_INSTANCE_PATH": app.instance_path,
        "DEEPFAKE_MODELS_DIR": app.config["MODELS_DIR"],
        "DEEPFAKE_QUEUE_URL": app.config["QUEUE_URL"],
    }
    runner = CliRunner()
    res = runner.invoke(cli, ["purge"], env=env)
    assert res.exit_code == 0 and "nothing to do" in res.output
    env["DEEPFAKE_RETENTION_DAYS"] = "7"
    res = runner.invoke(cli, ["purge", "--dry-run"], env=env)
    assert res.exit_code == 0 and "would remove 1" in res.output and _stored(app, old).exists()
    res = runner.invoke(cli, ["purge"], env=env)
    assert res.exit_code == 0 and "removed 1 uploaded file" in res.output and old in res.output
    assert not _stored(app, old).exists() and _stored(app, young).exists()


def test_the_workers_periodic_task_purges(app, client, video_bytes) -> None:
    from deepfake_web.jobs import consumer

    app.config["RETENTION_DAYS"] = 2
    old = _upload(app, client, video_bytes, "old.mp4")
    young = _upload(app, client, video_bytes + b"\0", "young.mp4")
    _age(app, old, 3)
    consumer.bind(app)
    consumer.purge_periodically.call_local()
    assert not _stored(app, old).exists() and _stored(app, young).exists()
