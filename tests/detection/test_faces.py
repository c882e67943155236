"""Face boxes, crops, single-person tracking, and detection on real photos."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from deepfake_web.detection.faces import (
    Box,
    FaceConfig,
    FaceDetector,
    crop,
    face_locations,
)
from tests.factories.media import shared


def test_box_geometry() -> None:
    a = Box(top=10, right=50, bottom=50, left=10)
    assert (a.width, a.height, a.area, a.center) == (40, 40, 1600, (30.0, 30.0))
    assert a.iou(a) == 1.0
    assert a.iou(Box(100, 150, 150, 100)) == 0.0
    assert a.iou(Box(10, 70, 50, 30)) == pytest.approx(800 / 2400)
    assert a.to_list() == [10, 10, 50, 50]


def test_expanded_box_is_clamped_to_the_image() -> None:
    b = Box(top=5, right=95, bottom=60, left=20)
    grown = b.expanded(0.5, width=100, height=80)
    assert grown == Box(top=0, right=100, bottom=80, left=0)
    assert b.expanded(0.0, 100, 80) == b
    inner = Box(40, 60, 60, 40).expanded(0.25, 100, 100)
    assert inner == Box(35, 65, 65, 35)


def test_crop_uses_margin_and_copies() -> None:
    img = np.arange(100 * 100 * 3, dtype=np.uint8).reshape(100, 100, 3)
    c = crop(img, Box(40, 60, 60, 40), margin=0.25)
    assert c.shape == (30, 30, 3)
    assert np.array_equal(c, img[35:65, 35:65])
    c[:] = 0
    assert img[50, 50].any()  # the frame is untouched


@pytest.mark.media
def test_detector_finds_the_face_on_a_downscaled_copy_and_maps_it_back() -> None:
    import face_recognition

    img = cv2.imread(str(shared("images", "unlabeled", "facerec_obama-720p.jpg")))
    boxes = FaceDetector(FaceConfig(detect_max_side=320)).detect(img)
    assert len(boxes) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        top, right, bottom, left = face_recognition.face_locations(img[:, :, ::-1].copy())[0]
    full = Box(top, right, bottom, left)
    assert boxes[0].iou(full) > 0.6  # same face, found at a quarter of the pixels


@pytest.mark.media
def test_detector_counts_several_faces() -> None:
    img = cv2.imread(str(shared("images", "unlabeled", "facerec_two_people.jpg")))
    boxes = FaceDetector().detect(img)
    assert len(boxes) == 2
    assert all(0 <= b.left < b.right <= img.shape[1] for b in boxes)


def test_no_face_in_noise() -> None:
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (320, 240))
    assert FaceDetector().detect(img) == []


@pytest.mark.media
@pytest.mark.parametrize(
    ("name", "upsample"),
    [
        ("facerec_two_people.jpg", 0),
        ("facerec_two_people.jpg", 1),
        ("facenetpt_multiface.jpg", 1),
        ("debian_opencvdoc_messi5.jpg", 1),
    ],
)
def test_thread_safe_face_locations_equal_face_recognition(name: str, upsample: int) -> None:
    import face_recognition

    img = cv2.imread(str(shared("images", "unlabeled", name)))
    img = cv2.resize(img, None, fx=0.5, fy=0.5) if max(img.shape) > 1000 else img
    expected = face_recognition.face_locations(img, number_of_times_to_upsample=upsample)
    assert face_locations(img, upsample) == expected
    assert expected  # the comparison is not vacuous


@pytest.mark.media
def test_face_locations_from_many_threads_agree() -> None:
    from concurrent.futures import ThreadPoolExecutor

    img = cv2.imread(str(shared("images", "unlabeled", "facerec_two_people.jpg")))
    img = np.ascontiguousarray(cv2.resize(img, None, fx=0.5, fy=0.5)[:, :, ::-1])
    single = face_locations(img, 0)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: face_locations(img, 0), range(16)))
    assert all(r == single for r in results)
