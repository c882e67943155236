"""The history overview and the CSV export, checked against counts made in the database."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis


@pytest.fixture
def mixed(app):
    """Forty analyses over twelve days: every status and verdict, three checkpoints, times."""
    base = datetime(2026, 5, 1, 9, tzinfo=UTC)
    verdicts = ["REAL", "FAKE", "FAKE", "UNCERTAIN", "NO_FACE"]
    with app.app_context():
        for i in range(40):
            status = "done"
            if i % 11 == 0:
                status = "failed"
            elif i in (38, 39):
                status = "queued" if i == 38 else "running"
            done = status == "done"
            created = base + timedelta(days=(i * 7) % 12, minutes=i)
            db.session.add(
                Analysis(
                    original_name=f"=cmd_{i:02d}.mp4" if i == 5 else f"clip_{i:02d}.mp4",
                    stored_name=f"s{i}.mp4",
                    sha256=f"{i:064x}",
                    size_bytes=1000 + i,
                    media_kind="video",
                    sequence_length=20,
                    checkpoint_name=("a.pt", "b.pt", "c.pt")[i % 3],
                    status=status,
                    verdict=verdicts[i % 5] if done else None,
                    p_fake=(i % 10) / 10 if done else None,
                    created_at=created,
                    started_at=created + timedelta(seconds=1) if status != "queued" else None,
                    finished_at=created + timedelta(seconds=2 + i) if done else None,
                )
            )
        db.session.commit()
    uploads, previews = Path(app.config["UPLOAD_DIR"]), Path(app.config["PREVIEW_DIR"]) / "x"
    for folder, size in ((uploads, 12345), (previews, 678)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "f.bin").write_bytes(b"\0" * size)
    return app


# The counts below are made with SQLite's own SQL, independently of the app's queries: those
# tests run on the sqlite back end (the app's queries are the same SQLAlchemy on both).
def database(app) -> sqlite3.Connection:
    return sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def count(con: sqlite3.Connection, where: str, *args) -> int:
    return con.execute(f"SELECT count(*) FROM analysis WHERE {where}", args).fetchone()[0]


def figures(page: str, list_id: str, attr: str) -> dict[str, int]:
    block = re.search(rf'<ul class="counts" id="{list_id}">(.*?)</ul>', page, re.S)[1]
    return {
        k: int(n)
        for k, n in re.findall(rf'data-{attr}="([^"]+)">.*?<span class="n">(\d+)</span>', block)
    }


@pytest.mark.sqlite_only
@pytest.mark.parametrize("query", ["", "?checkpoint=b.pt", "?from=2026-05-03&to=2026-05-08"])
def test_dashboard_figures_match_the_database(mixed, client, query: str) -> None:
    page = client.get(f"/history{query}").get_data(as_text=True)
    con = database(mixed)
    where, args = "1=1", []
    if "checkpoint" in query:
        where, args = "checkpoint_name = ?", ["b.pt"]
    elif "from" in query:
        where, args = "date(created_at) BETWEEN ? AND ?", ["2026-05-03", "2026-05-08"]
    per_verdict = {
        v: n
        for v, n in con.execute(
            f"SELECT verdict, count(*) FROM analysis WHERE {where} AND verdict IS NOT NULL "
            "GROUP BY verdict",
            args,
        )
    }
    per_verdict["FAILED"] = count(con, f"{where} AND status = 'failed'", *args)
    active = count(con, f"{where} AND status IN ('queued', 'running')", *args)
    if active:
        per_verdict["ACTIVE"] = active
    assert figures(page, "per-verdict", "verdict") == {k: v for k, v in per_verdict.items() if v}
    per_checkpoint = dict(
        con.execute(
            f"SELECT checkpoint_name, count(*) FROM analysis WHERE {where} GROUP BY 1", args
        )
    )
    assert figures(page, "per-checkpoint", "checkpoint") == per_checkpoint
    per_day = dict(
        con.execute(
            f"SELECT date(created_at), count(*) FROM analysis WHERE {where} GROUP BY 1", args
        )
    )
    bars = {d: int(n) for d, n in re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', page)}
    assert {d: n for d, n in bars.items() if n} == per_day
    assert (
        len(bars)
        == (datetime.fromisoformat(max(per_day)) - datetime.fromisoformat(min(per_day))).days + 1
    )  # a slot for every day in between, empty ones too
    total = count(con, where, *args)
    assert re.search(rf'id="tile-total">.*?<p class="tile-value">{total}</p>', page, re.S)
    spans = [
        (datetime.fromisoformat(f) - datetime.fromisoformat(s)).total_seconds()
        for s, f in con.execute(
            f"SELECT started_at, finished_at FROM analysis WHERE {where} AND status = 'done'",
            args,
        )
    ]
    median = statistics.median(spans)
    shown = re.search(r'id="tile-median">.*?data-seconds="([^"]+)"', page, re.S)[1]
    assert float(shown) == pytest.approx(median, abs=1e-6)
    assert re.search(r'id="waiting">1<', page) and re.search(r'id="running">1<', page)
    assert 'id="disk-uploads" data-bytes="12345"' in page
    assert 'id="disk-previews" data-bytes="678"' in page


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "query",
    ["", "?verdict=FAKE", "?checkpoint=a.pt&sort=p_fake&order=asc", "?q=clip_1", "?verdict=FAILED"],
)
def test_csv_holds_exactly_the_filtered_rows(mixed, client, query: str) -> None:
    res = client.get(f"/history.csv{query}")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    con = database(mixed)
    where, args = {
        "": ("1=1", []),
        "?verdict=FAKE": ("verdict = 'FAKE'", []),
        "?checkpoint=a.pt&sort=p_fake&order=asc": ("checkpoint_name = 'a.pt'", []),
        "?q=clip_1": ("original_name LIKE ?", ["%clip\\_1%"]),
        "?verdict=FAILED": ("status = 'failed'", []),
    }[query]
    if "LIKE" in where:
        where += " ESCAPE '\\'"
    expected = {r[0] for r in con.execute(f"SELECT id FROM analysis WHERE {where}", args)}
    assert {r["id"] for r in table} == expected and len(table) == len(expected)
    # the same order as the page shows (first page)
    page = client.get(f"/history{query}").get_data(as_text=True)
    ids = re.findall(r'href="/analyses/([^"/]+)">', page)
    assert [r["id"] for r in table][: len(ids)] == ids
    for r in table:
        assert not r["file_name"].startswith("=")  # no spreadsheet formulas
        assert r["owner"] == ""  # single-user mode: no owner names
    if query == "":
        assert any(r["file_name"] == "'=cmd_05.mp4" for r in table)
