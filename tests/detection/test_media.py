"""Video and image input: probing, limits, sampling, and broken files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_web.detection import media
from deepfake_web.detection.errors import (
    EmptyMediaError,
    MediaLimitError,
    UnsupportedMediaError,
)
from deepfake_web.detection.media import MediaLimits, probe, read_frames, sample_indices
from tests.factories.media import noise_frames, write_video


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", noise_frames(50), fps=25)


def test_sample_indices_spread_evenly_and_distinct() -> None:
    idx = sample_indices(300, 60)
    assert len(idx) == 60 == len(set(idx))
    assert idx == sorted(idx)
    assert idx[0] < 5 and idx[-1] > 294  # covers the whole clip
    gaps = np.diff(idx)
    assert gaps.min() >= 4 and gaps.max() <= 6


def test_sample_indices_edge_cases() -> None:
    assert sample_indices(10, 60) == list(range(10))
    assert sample_indices(100, 10, "first") == list(range(10))
    assert sample_indices(0, 5) == []
    assert sample_indices(1, 5) == [0]


def test_probe_reads_metadata(clip: Path) -> None:
    info = probe(clip)
    assert (info.kind, info.width, info.height, info.frames) == ("video", 160, 120, 50)
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(2.0)
    assert info.codec in {"fmp4", "mp4v"}  # FFmpeg names MPEG-4 part 2 "FMP4"


def test_even_sampling_decodes_the_right_frames(clip: Path) -> None:
    sample = read_frames(clip, 5)
    assert [f.index for f in sample.frames] == sample_indices(50, 5)
    assert sample.note is None
    # The decoded image is frame k of the clip: compare with a plain sequential read.
    cap = cv2.VideoCapture(str(clip))
    sequential = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        sequential.append(img)
    for f in sample.frames:
        assert np.array_equal(f.image, sequential[f.index])
        assert f.time_s == pytest.approx(f.index / 25)


def test_process_callback_replaces_frames(clip: Path) -> None:
    sample = read_frames(clip, 4, process=lambda f: (f.index, f.image.shape))
    assert sample.frames == [(i, (120, 160, 3)) for i in sample_indices(50, 4)]


def test_fewer_frames_than_requested_uses_all_and_says_so(tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.mp4", noise_frames(7))
    sample = read_frames(path, 20)
    assert [f.index for f in sample.frames] == list(range(7))
    assert "only 7 frames" in sample.note


def test_one_frame_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "one.mp4", noise_frames(1))
    sample = read_frames(path, 10)
    assert len(sample.frames) == 1
    assert "only 1 frame" in sample.note


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
def test_images_are_one_frame_inputs(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"still{ext}"
    assert cv2.imwrite(str(path), noise_frames(1, 200, 100)[0])
    info = probe(path)
    assert (info.kind, info.width, info.height, info.frames) == ("image", 200, 100, 1)
    sample = read_frames(path, 20)
    assert len(sample.frames) == 1 and sample.frames[0].image.shape == (100, 200, 3)


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(EmptyMediaError, match="empty"):
        probe(path)


def test_text_named_mp4_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "page.mp4"
    path.write_text("<html><body>not a video</body></html>" * 20)
    with pytest.raises(UnsupportedMediaError, match="could not be opened as a video"):
        read_frames(path, 10)


def test_text_named_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "page.jpg"
    path.write_text("hello")
    with pytest.raises(UnsupportedMediaError, match="not a readable image"):
        probe(path)


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(UnsupportedMediaError, match="Unsupported file type"):
        probe(path)


def test_over_limit_dimensions_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_video(tmp_path / "wide.mp4", noise_frames(3, 400, 300))

    def no_decoding(*args, **kwargs):
        raise AssertionError("frames were decoded before the limits were checked")

    monkeypatch.setattr(media, "decode_frames", no_decoding)
    monkeypatch.setattr(media, "_count_frames", no_decoding)
    with pytest.raises(MediaLimitError, match="400×300 exceeds"):
        read_frames(path, 10, limits=MediaLimits(max_width=320, max_height=240))


def test_portrait_video_within_landscape_limits_is_accepted(tmp_path: Path) -> None:
    path = write_video(tmp_path / "portrait.mp4", noise_frames(2, 120, 160))
    assert len(read_frames(path, 2, limits=MediaLimits(max_width=160, max_height=120)).frames) == 2


def test_duration_and_frame_limits(clip: Path) -> None:
    with pytest.raises(MediaLimitError, match="lasts 2 s"):
        read_frames(clip, 5, limits=MediaLimits(max_duration_s=1.0))
    with pytest.raises(MediaLimitError, match="50 frames"):
        read_frames(clip, 5, limits=MediaLimits(max_frames=40))


def test_truncated_file_whose_metadata_lies_is_sampled_over_what_exists(tmp_path: Path) -> None:
    # An MJPG AVI stores its frame count in the header; cutting the file keeps the header.
    path = write_video(tmp_path / "cut.avi", noise_frames(60, 320, 240), fourcc="MJPG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    info = probe(path)
    assert info.frames == 60  # the header still claims 60 frames
    sample = read_frames(path, 10)
    indices = [f.index for f in sample.frames]
    assert len(indices) == 10 == len(set(indices))
    real_total = sample.info.frames
    assert 20 < real_total < 40
    assert indices == sample_indices(real_total, 10)


def test_unknown_frame_count_is_counted(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = probe(clip)
    unknown = media.MediaInfo(real.path, "video", 160, 120, 25.0, 0, 0.0, "mp4v")
    sample = read_frames(clip, 5, info=unknown)
    assert sample.info.frames == 50
    assert [f.index for f in sample.frames] == sample_indices(50, 5)


def test_media_without_any_decodable_frame(tmp_path: Path) -> None:
    path = write_video(tmp_path / "x.avi", noise_frames(5, 320, 240), fourcc="MJPG")
    data = path.read_bytes()
    header_only = data[:4096]  # keeps the AVI header, drops every frame
    path.write_bytes(header_only)
    with pytest.raises((EmptyMediaError, UnsupportedMediaError)):
        read_frames(path, 5)


def test_verify_accepts_real_media_and_refuses_impostors(tmp_path: Path, clip: Path) -> None:
    assert media.verify(clip).frames == 50
    fake_png = tmp_path / "x.png"
    fake_png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # a PNG signature, no image
    with pytest.raises(UnsupportedMediaError):
        media.verify(fake_png)
    html = tmp_path / "page.webm"
    html.write_text("<!doctype html><title>x</title>")
    with pytest.raises(UnsupportedMediaError):
        media.verify(html)
    with pytest.raises(MediaLimitError):
        media.verify(clip, MediaLimits(max_frames=10))


def test_seeking_far_apart_frames_gives_the_streamed_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", noise_frames(90))
    targets = [3, 30, 57, 84]
    streamed = media.decode_frames(path, targets, 25.0, lambda f: f, seek_min_stride=10_000)
    seeked = media.decode_frames(path, targets, 25.0, lambda f: f, seek_min_stride=10)
    assert [f.index for f in seeked] == targets == [f.index for f in streamed]
    for a, b in zip(seeked, streamed, strict=True):
        assert np.array_equal(a.image, b.image)


def test_seeking_past_the_real_end_stops_cleanly(tmp_path: Path) -> None:
    path = write_video(tmp_path / "short.mp4", noise_frames(20))
    got = media.decode_frames(path, [0, 10, 500, 900], 25.0, lambda f: f.index, seek_min_stride=5)
    assert got == [0, 10]
