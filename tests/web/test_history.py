"""The history page: pagination, filters, search, sorting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from deepfake_web.web.extensions import db
from deepfake_web.web.models import Analysis

# --- history ------------------------------------------------------------------------


@pytest.fixture
def filled(app):
    """Thirty analyses with known names, verdicts, checkpoints and dates."""
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    verdicts = ["REAL", "FAKE", "UNCERTAIN", "NO_FACE", None]
    with app.app_context():
        for i in range(30):
            v = verdicts[i % 5]
            db.session.add(
                Analysis(
                    original_name=f"{'interview' if i % 3 == 0 else 'clip'}_{i:02d}.mp4",
                    stored_name=f"x{i}.mp4",
                    sha256=f"{i:064d}",
                    size_bytes=1,
                    media_kind="video",
                    sequence_length=20,
                    checkpoint_name="a.pt" if i < 20 else "b.pt",
                    status="done" if v else "failed",
                    verdict=v,
                    p_fake=None if v in (None, "NO_FACE") else i / 30,
                    created_at=base + timedelta(days=i),
                )
            )
        db.session.commit()
    return app


def names(page: str) -> list[str]:
    return re.findall(r'<td class="file"><a href="[^"]+">([^<]+)</a>', page)


def test_history_paginates_newest_first(filled, client) -> None:
    first = client.get("/history").get_data(as_text=True)
    assert "30 analyses" in first
    assert names(first)[:2] == ["clip_29.mp4", "clip_28.mp4"] and len(names(first)) == 25
    second = client.get("/history?page=2").get_data(as_text=True)
    assert names(second) == [
        "clip_04.mp4",
        "interview_03.mp4",
        "clip_02.mp4",
        "clip_01.mp4",
        "interview_00.mp4",
    ]


def test_history_filters_and_search(filled, client) -> None:
    get = lambda q: names(client.get(f"/history?{q}").get_data(as_text=True))  # noqa: E731
    assert get("verdict=FAKE") == [
        f"{'interview' if i % 3 == 0 else 'clip'}_{i:02d}.mp4" for i in (26, 21, 16, 11, 6, 1)
    ]
    assert (
        all(n.startswith("interview") for n in get("q=INTERVIEW")) and len(get("q=interview")) == 10
    )
    assert len(get("checkpoint=b.pt")) == 10
    dated = get("from=2026-03-05&to=2026-03-06")
    assert dated == ["clip_05.mp4", "clip_04.mp4"]
    assert len(get("verdict=FAILED")) == 6
    assert get("q=%25") == []  # the % is searched literally, not as a wildcard


def test_history_sorts_by_column(filled, client) -> None:
    by_name = names(client.get("/history?sort=name&order=asc").get_data(as_text=True))
    assert by_name == sorted(by_name) and by_name[0] == "clip_01.mp4"
    by_p = names(client.get("/history?sort=p_fake&order=desc").get_data(as_text=True))
    assert by_p[0] == "interview_27.mp4"  # highest p_fake; rows without one come last
    page = client.get("/history?sort=p_fake&order=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in page


def test_history_links_keep_filters_across_pages(filled, client) -> None:
    page = client.get("/history?q=clip&sort=name&order=asc").get_data(as_text=True)
    assert "page=2" not in page  # 20 clips fit on one page
    full = client.get("/history?sort=name&order=asc").get_data(as_text=True)
    assert re.search(r'href="/history\?page=2&amp;sort=name&amp;order=asc"', full)


def test_extreme_pages_and_dates_are_not_errors(client) -> None:
    """Found by the reliability suite: a huge page number or the last date were 500s."""
    for query in (
        "page=99999999999999999999&per_page=-5",
        "page=-1&per_page=0",
        "from=0001-01-01&to=9999-12-31",
    ):
        res = client.get(f"/api/analyses?{query}")
        assert res.status_code == 200, (query, res.json)
        assert client.get(f"/history?{query}").status_code == 200
