"""Following faces through a clip and deciding who is a person (no model, no media)."""

from __future__ import annotations

import numpy as np

from deepfake_web.detection.boxes import Box
from deepfake_web.detection.persons import (
    choose_persons,
    join_by_encoding,
    same_face_score,
    spread,
    tracks_by_position,
)


def _box(x: int, y: int, size: int = 100) -> Box:
    return Box(top=y, right=x + size, bottom=y + size, left=x)


def test_same_face_score_prefers_overlap_then_nearby_faces_of_a_similar_size() -> None:
    a = _box(100, 100)
    assert same_face_score(a, _box(120, 100)) > 1  # overlapping
    assert 0 < same_face_score(a, _box(205, 110, 75)) < 1  # just beside it, a bit smaller
    assert same_face_score(a, _box(600, 100)) == 0  # far away
    assert same_face_score(a, _box(205, 100, 30)) == 0  # near but a quarter of the size


def test_two_people_side_by_side_make_two_tracks_across_a_missed_frame() -> None:
    left, right = (
        [_box(100 + 5 * t, 100) for t in range(6)],
        [_box(900 - 5 * t, 120) for t in range(6)],
    )
    frames = [[left[t], right[t]] if t != 3 else [right[t]] for t in range(6)]
    frames[4] = frames[4][::-1]  # the order of the boxes in a frame does not matter
    tracks = tracks_by_position(frames)
    assert len(tracks) == 2
    by_first_box = {frames[min(t)][t[min(t)]].left < 500: t for t in tracks}
    assert sorted(by_first_box[True]) == [0, 1, 2, 4, 5]  # left person, missing in frame 3
    assert sorted(by_first_box[False]) == list(range(6))
    assert all(frames[t][i].left < 500 for t, i in by_first_box[True].items())


def test_a_long_gap_starts_a_new_track_and_encodings_join_it_again() -> None:
    frames = [
        [_box(100, 100)],
        [_box(104, 100)],
        [],
        [],
        [],
        [],
        [_box(700, 100)],
        [_box(704, 100)],
    ]
    tracks = tracks_by_position(frames)
    assert len(tracks) == 2  # gone for four frames and back elsewhere: positions cannot tell

    same = {(0, 0): np.zeros(128), (1, 0): np.zeros(128), (6, 0): np.full(128, 0.01)}
    joined = join_by_encoding(tracks, lambda t, i: same.get((t, i), np.full(128, 0.01)))
    assert [sorted(t) for t in joined] == [[0, 1, 6, 7]]

    other = join_by_encoding(tracks, lambda t, i: np.full(128, 0.1 if t >= 6 else 0.0))
    assert len(other) == 2  # distance 1.13 > 0.6: two people


def test_tracks_in_the_same_frame_are_never_joined() -> None:
    frames = [[_box(100, 100), _box(700, 100)]] * 3
    tracks = tracks_by_position(frames)
    assert len(join_by_encoding(tracks, lambda t, i: np.zeros(128))) == 2  # twins stay two


def test_persons_need_a_share_of_the_frames_else_the_longest_track_is_kept() -> None:
    tracks = [{0: 0, 1: 0, 2: 0, 3: 0}, {5: 0}, {6: 1, 7: 0, 8: 1}]
    persons, dropped = choose_persons(tracks, 10, 0.3)
    assert persons == [tracks[0], tracks[2]] and dropped == 1
    persons, dropped = choose_persons(tracks, 100, 0.2)
    assert persons == [tracks[0]] and dropped == 2
    assert choose_persons([], 10, 0.2) == ([], 0)


def test_spread_picks_distinct_items_from_first_to_last() -> None:
    assert spread(list(range(10))) == [0, 4, 9]  # round(4.5) is 4
    assert spread([7]) == [7]
    assert spread([1, 2]) == [1, 2]
    assert spread([]) == []
