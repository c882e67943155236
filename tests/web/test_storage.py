"""One storage root (``STORAGE_PATH``) for uploads and previews, apart from the instance folder."""

from __future__ import annotations

from pathlib import Path

from tests.factories.media import write_tiny_published
from tests.factories.web import dispose, make_app, post_api, run_job


def test_uploads_and_previews_live_under_the_storage_root(
    tmp_path: Path, backend_config: dict[str, str], video_bytes: bytes
) -> None:
    shared = tmp_path / "mnt" / "deepfake"
    app = make_app(tmp_path, STORAGE_PATH=str(shared), **backend_config)
    try:
        write_tiny_published(Path(app.config["MODELS_DIR"]) / "model_90_acc_20_frames_test_data.pt")
        assert app.config["UPLOAD_DIR"] == str(shared / "uploads")
        assert app.config["PREVIEW_DIR"] == str(shared / "previews")
        client = app.test_client()
        a = run_job(app, post_api(client, video_bytes).json["id"])
        assert a.status == "done", a.error
        assert (shared / "uploads" / a.stored_name).is_file()
        previews = sorted((shared / "previews" / a.id).iterdir())
        assert previews and a.preview_count == len([p for p in previews if "frame" in p.name])
        instance = Path(app.instance_path)
        assert not (instance / "uploads").exists() and not (instance / "previews").exists()
        res = client.get(f"/analyses/{a.id}/previews/{previews[0].name}")  # the web serves it
        assert res.status_code == 200 and res.data == previews[0].read_bytes()
        assert client.post(f"/analyses/{a.id}/delete").status_code == 303
        assert not (shared / "uploads" / a.stored_name).exists()
        assert not (shared / "previews" / a.id).exists()
    finally:
        dispose(app)


def test_without_a_storage_root_files_stay_in_the_instance_folder(app) -> None:
    instance = Path(app.instance_path)
    assert app.config["UPLOAD_DIR"] == str(instance / "uploads")
    assert app.config["PREVIEW_DIR"] == str(instance / "previews")
