"""Upgrading a database made by the previous release: every analysis is kept and owned."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask_migrate import upgrade

from deepfake_web import create_app
from deepfake_web.paths import PROJECT_ROOT

ACCOUNTS_MIGRATION = PROJECT_ROOT / "migrations" / "versions" / "c7a3e19d4b02_lab_accounts.py"


def _previous_head() -> str:
    """The revision the accounts migration follows: the previous release's schema."""
    for line in ACCOUNTS_MIGRATION.read_text().splitlines():
        if line.startswith("down_revision"):
            return line.split("=", 1)[1].strip().strip("'\"")
    raise AssertionError("no down_revision in the accounts migration")


def test_upgrade_keeps_every_analysis_and_gives_them_to_the_first_admin(tmp_path: Path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "INSTANCE_PATH": tmp_path / "instance",
            "MODELS_DIR": str(tmp_path),
            "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        }
    )
    database = Path(app.instance_path) / "deepfake.db"
    with app.app_context():
        upgrade(revision=_previous_head())  # the database as the previous release left it
    con = sqlite3.connect(database)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "analysis" in tables and "user_account" not in tables
    ids = [f"old-{i}" for i in range(5)]
    for i, aid in enumerate(ids):
        con.execute(
            "INSERT INTO analysis (id, original_name, stored_name, sha256, size_bytes, media_kind,"
            " sequence_length, mode, status, progress, attempts, preview_count, checkpoint_demo,"
            " verdict, p_fake, created_at) VALUES (?, ?, ?, ?, 10, 'video', 20, 'standard',"
            " 'done', 1.0, 1, 0, 0, 'REAL', 0.1, ?)",
            (aid, f"clip{i}.mp4", f"{aid}.mp4", "ab" * 32, f"2026-11-0{i + 1} 10:00:00"),
        )
    con.commit()
    con.close()

    with app.app_context():
        upgrade()
    con = sqlite3.connect(database)
    admins = con.execute(
        "SELECT id, name, password_hash FROM user_account WHERE role = 'admin'"
    ).fetchall()
    assert len(admins) == 1 and admins[0][1] == "admin" and admins[0][2] is None
    rows = con.execute(
        "SELECT id, original_name, verdict, owner_id, shared FROM analysis ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ids
    assert all(r[3] == admins[0][0] and r[4] == 0 and r[2] == "REAL" for r in rows)
    con.close()

    client = app.test_client()  # single-user mode: all of them are on the history page
    page = client.get("/history").get_data(as_text=True)
    assert all(f"clip{i}.mp4" in page for i in range(5))
