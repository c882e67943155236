"""A command run beside the server (``users add``, ``purge``) must not lose the server's writes.

The database file check used to open and close the file before each transaction; closing
any descriptor of a file drops every POSIX lock the process holds on it, SQLite's too, so
another process closing its last connection deleted the WAL the server was writing to.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.factories.web import make_app, post_api, rows


def _other_process(database: Path, sql: str) -> str:
    """Run ``sql`` in another process (its own connection, opened and closed)."""
    code = (
        "import sqlite3, sys; con = sqlite3.connect(sys.argv[1]);"
        "out = con.execute(sys.argv[2]).fetchall(); con.commit(); con.close(); print(out)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(database), sql], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_writes_survive_another_process_closing_its_connection(tmp_path: Path, video_bytes) -> None:
    from deepfake_web.detection.demo import write_demo_checkpoint

    app = make_app(tmp_path)
    write_demo_checkpoint(app.config["MODELS_DIR"], 20)
    database = Path(app.instance_path) / "deepfake.db"
    client = app.test_client()
    assert post_api(client, video_bytes, name="first.mp4").status_code == 202
    # another process comes and goes (as `deepfake-web users add` does) ...
    _other_process(database, "SELECT count(*) FROM analysis")
    # ... and the app goes on writing, then the other process comes again
    assert post_api(client, video_bytes + b"\0", name="second.mp4").status_code == 202
    assert client.get("/history").status_code == 200  # a read, and the file check, in between
    _other_process(database, "SELECT count(*) FROM user_account")
    assert post_api(client, video_bytes + b"\0\0", name="third.mp4").status_code == 202
    assert len(rows(app)) == 3
    seen = _other_process(database, "SELECT original_name FROM analysis ORDER BY original_name")
    assert seen == str([("first.mp4",), ("second.mp4",), ("third.mp4",)])
    con = sqlite3.connect(database)
    assert con.execute("SELECT count(*) FROM analysis").fetchone()[0] == 3
    con.close()
