"""Every person of a clip, shown everywhere: database, result page, chart, history, API, report.

The engine is stood in for by results with two persons (``tests/factories/persons.py``): what
is tested here is how the app stores and shows them, not how the engine finds them.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from deepfake_web.detection.faces import FaceConfig
from deepfake_web.detection.result import person_colour_hex
from deepfake_web.jobs import worker
from deepfake_web.web.config import engine_config, person_min_share
from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis, Person, Status
from deepfake_web.web.results.chart import build_chart
from tests.factories.persons import engine_returning, persons_result
from tests.factories.web import post_api, run_job

GREEN, BLUE = person_colour_hex(1), person_colour_hex(2)


def _analyse(app, client, monkeypatch, data: bytes, people: int = 2) -> Analysis:
    monkeypatch.setattr(
        worker, "detector_for", engine_returning(lambda path: persons_result(path, people))
    )
    return run_job(app, post_api(client, data).json["id"])


def _persons(app, analysis_id: str) -> list[Person]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Person).where(Person.analysis_id == analysis_id).order_by(Person.number)
            )
        )


def test_two_persons_are_stored_with_their_thumbnails(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    assert a.status == "done" and a.verdict == "FAKE" and a.p_fake == pytest.approx(0.9)
    persons = _persons(app, a.id)
    assert [(p.number, p.verdict, p.frames_seen) for p in persons] == [
        (1, "REAL", 6),
        (2, "FAKE", 5),
    ]
    assert persons[0].p_fake == pytest.approx(0.2) and persons[1].thumbnail
    assert persons[1].boxes[0] == {"index": 0, "box": [240, 30, 340, 150], "p_fake": 0.85}
    folder = Path(app.config["PREVIEW_DIR"]) / a.id
    assert sorted(p.name for p in folder.glob("person_*.jpg")) == [
        "person_0001.jpg",
        "person_0002.jpg",
    ]
    assert a.result["summary"] == "2 people; 1 looks fake"
    with app.app_context():
        assert db.session.get(Analysis, a.id).person_count == 2


def test_result_page_has_a_row_and_a_chart_line_per_person(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert "2 people; 1 looks fake" in page
    rows = re.findall(r'<tr id="person-(\d)">(.*?)</tr>', page, re.S)
    assert [n for n, _ in rows] == ["1", "2"]
    assert 'v-real">REAL<' in rows[0][1] and 'v-fake">FAKE<' in rows[1][1]
    assert f'fill="{GREEN}"' in rows[0][1] and f'fill="{BLUE}"' in rows[1][1]
    assert "20.0 %" in rows[0][1] and "90.0 %" in rows[1][1] and "5 of 6" in rows[1][1]
    assert f"/analyses/{a.id}/previews/person_0002.jpg" in rows[1][1]
    lines = re.findall(r'<polyline class="person-line" stroke="(#[0-9a-f]{6})"', page)
    assert lines == [GREEN, BLUE]
    assert '<polyline class="series"' not in page  # the video's line is person 2's: not twice
    assert page.count('<circle class="person-point"') == 6 + 5
    assert 'class="missing"' not in page  # person 1 is in the frame person 2 left
    assert "style=" not in page  # the CSP allows no inline styles
    last = page.split("frame 50 · 2.00 s", 1)[1].split("</li>", 1)[0]
    assert "person 1: 0.250" in last and "person 2" not in last  # who is in the frame


def test_history_shows_the_number_of_people(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    page = client.get("/history").get_data(as_text=True)
    assert ">People" in page
    assert re.search(r'<td class="people">2</td>', page)
    assert client.get("/history?sort=people").status_code == 200
    header, row = csv.reader(client.get("/history.csv").get_data(as_text=True).splitlines())
    assert row[header.index("people")] == "2"
    listed = client.get("/api/analyses").json["items"]
    assert [(i["id"], i["person_count"]) for i in listed] == [(a.id, 2)]


def test_api_lists_persons_with_thumbnail_urls(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    body = client.get(f"/api/analyses/{a.id}").json
    assert body["summary"] == "2 people; 1 looks fake"
    assert [(p["id"], p["verdict"], p["colour"]) for p in body["persons"]] == [
        (1, "REAL", GREEN),
        (2, "FAKE", BLUE),
    ]
    assert body["persons"][1]["boxes"][-1]["index"] == 40
    for p in body["persons"]:
        res = client.get(p["thumbnail"])
        assert res.status_code == 200 and res.mimetype == "image/jpeg"
        assert res.data[:2] == b"\xff\xd8"


def test_a_person_without_a_thumbnail_has_none(app, client, video_bytes, monkeypatch):
    def no_thumbnail(path):
        result = persons_result(path)
        result.persons[0].thumbnail_jpeg = None
        return result

    monkeypatch.setattr(worker, "detector_for", engine_returning(no_thumbnail))
    a = run_job(app, post_api(client, video_bytes).json["id"])
    body = client.get(f"/api/analyses/{a.id}").json
    assert body["persons"][0]["thumbnail"] is None and body["persons"][1]["thumbnail"]
    assert "no image" in client.get(f"/analyses/{a.id}").get_data(as_text=True)


def test_a_second_attempt_replaces_the_persons(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    with app.app_context():  # recovery gave the analysis to this worker again
        db.session.execute(
            update(Analysis)
            .where(Analysis.id == a.id)
            .values(status=Status.RUNNING, worker=worker.worker_name())
        )
        db.session.commit()
        worker._finish(a.id, a.attempts, persons_result("clip.mp4", people=1))
    assert [p.number for p in _persons(app, a.id)] == [1]
    folder = Path(app.config["PREVIEW_DIR"]) / a.id
    assert [p.name for p in folder.glob("person_*.jpg")] == ["person_0001.jpg"]


def test_deleting_removes_person_rows_and_files(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    assert client.post(f"/analyses/{a.id}/delete").status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Person)).all() == []
    assert not (Path(app.config["PREVIEW_DIR"]) / a.id).exists()
    assert client.get(f"/analyses/{a.id}/previews/person_0001.jpg").status_code == 404


def test_one_person_renders_as_before(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes, people=1)
    assert [p.number for p in _persons(app, a.id)] == [1]
    page = client.get(f"/analyses/{a.id}").get_data(as_text=True)
    assert 'id="persons-h"' not in page and "person-line" not in page
    assert page.count('<polyline class="series"') == 1
    assert page.count('<circle class="point"') == 6
    assert "green: the face followed and scored" in page
    assert re.search(r'<td class="people">1</td>', client.get("/history").get_data(as_text=True))
    body = client.get(f"/api/analyses/{a.id}").json
    assert len(body["persons"]) == 1 and body["summary"] == "1 person; looks real"


def test_no_person_shows_a_dash_in_the_history(app, client, video_bytes):
    a = run_job(app, post_api(client, video_bytes).json["id"])  # the real engine: no face
    assert a.verdict == "NO_FACE"
    assert re.search(r'<td class="people">–</td>', client.get("/history").get_data(as_text=True))
    assert client.get(f"/api/analyses/{a.id}").json["persons"] == []


def test_report_lists_the_verdict_of_each_person(app, client, video_bytes, monkeypatch):
    a = _analyse(app, client, monkeypatch, video_bytes)
    record = client.get(f"/api/analyses/{a.id}/report.json").json
    assert record["summary"] == "2 people; 1 looks fake"
    assert [(p["id"], p["verdict"]) for p in record["persons"]] == [(1, "REAL"), (2, "FAKE")]
    res = client.get(f"/analyses/{a.id}/report.pdf")
    assert res.status_code == 200 and res.data[:5] == b"%PDF-"
    if not shutil.which("pdftotext"):
        pytest.skip("needs poppler-utils (pdftotext) to read the PDF: setup --dev")
    proc = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=res.data, check=True, capture_output=True
    )
    text = proc.stdout.decode()
    assert "Per person: 2 people; 1 looks fake" in text
    assert re.search(r"person 1: REAL\s+p\(fake\) 0\.2000", text)
    assert re.search(r"person 2: FAKE\s+p\(fake\) 0\.9000", text)


def test_chart_draws_one_line_per_person_only_when_several() -> None:
    two = persons_result("x.mp4").to_dict()
    chart = build_chart(two["frame_scores"], 2.0, persons=two["persons"])
    assert [s.colour for s in chart.persons] == [GREEN, BLUE] and chart.lines == []
    assert [len(s.points) for s in chart.persons] == [6, 5]
    one = persons_result("x.mp4", people=1).to_dict()
    chart = build_chart(one["frame_scores"], 2.0, persons=one["persons"])
    assert chart.persons == [] and len(chart.lines) == 1 and len(chart.points) == 6


def test_person_min_share_reaches_the_engine(app, monkeypatch) -> None:
    assert engine_config(app.config).faces.person_min_share == 0.2
    config = dict(app.config, PERSON_MIN_SHARE=0.35)
    assert engine_config(config).faces == replace(FaceConfig(), person_min_share=0.35)
    with pytest.raises(ValueError, match="PERSON_MIN_SHARE"):
        person_min_share({"PERSON_MIN_SHARE": 1.5})
    monkeypatch.setenv("DEEPFAKE_PERSON_MIN_SHARE", "0.5")
    from deepfake_web import create_app

    monkeypatch.setenv("DEEPFAKE_INSTANCE_PATH", app.instance_path)
    assert engine_config(create_app().config).faces.person_min_share == 0.5
