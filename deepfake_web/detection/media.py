"""Video and image input: metadata probing, limits, and streaming frame sampling.

Frames are returned as ``numpy.ndarray`` of shape ``(H, W, 3)``, dtype ``uint8``, in
**BGR** channel order (OpenCV's native order). Only the sampled frames are ever kept in
memory: the video is streamed with ``grab()`` and only the wanted frames are decoded to
images with ``retrieve()``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import EmptyMediaError, MediaError, MediaLimitError, UnsupportedMediaError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp"})
SUPPORTED_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS

Sampling = Literal["even", "first"]
T = TypeVar("T")
SEEK_MIN_STRIDE = 250
"""Seek instead of streaming when sampled frames are this many frames apart (or more):
beyond a typical keyframe interval, decoding every frame costs more than seeking."""


@dataclass(frozen=True)
class MediaLimits:
    """Largest media the engine accepts; checked on metadata, before any decoding."""

    max_width: int = 3840
    max_height: int = 2160
    max_duration_s: float = 600.0
    max_frames: int = 36_000


@dataclass(frozen=True)
class MediaInfo:
    """What the container says about a file (``frames`` may be an estimate for video)."""

    path: str
    kind: Literal["video", "image"]
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    codec: str

    def to_dict(self) -> dict:
        """Return the facts as a JSON-serialisable dict (without the path)."""
        d = asdict(self)
        d.pop("path")
        return d


@dataclass
class Frame:
    """One decoded frame: its index in the stream, its time, and the BGR image."""

    index: int
    time_s: float
    image: np.ndarray


@dataclass
class FrameSample(Generic[T]):
    """The sampled frames of a file (or what ``process`` made of each), with its facts."""

    info: MediaInfo
    frames: list[T]
    frames_requested: int
    note: str | None = None


def media_kind(path: str | os.PathLike) -> Literal["video", "image"]:
    """Classify a path by extension, raising UnsupportedMediaError for anything else."""
    ext = Path(path).suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    allowed = ", ".join(sorted(e.lstrip(".") for e in SUPPORTED_EXTENSIONS))
    raise UnsupportedMediaError(f"Unsupported file type '{ext or '(none)'}'; allowed: {allowed}.")


def _check_not_empty(path: Path) -> None:
    if not path.is_file():
        raise MediaError(f"File not found: {path.name}")
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"{path.name} is empty (0 bytes).")


def _fourcc_name(value: float) -> str:
    code = int(value)
    if code <= 0:
        return "unknown"
    text = code.to_bytes(4, "little").decode("ascii", errors="replace").strip("\x00 ")
    return text.lower() if text.isprintable() and text else "unknown"


def _open_video(path: Path) -> cv2.VideoCapture:
    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    except cv2.error as exc:
        raise UnsupportedMediaError(f"{path.name} could not be opened as a video.") from exc
    if not cap.isOpened():
        cap.release()
        raise UnsupportedMediaError(
            f"{path.name} could not be opened as a video (not a video, or a damaged/truncated"
            " file)."
        )
    return cap


def probe(path: str | os.PathLike) -> MediaInfo:
    """Read width, height, fps, frame count, duration and codec without decoding frames."""
    p = Path(path)
    kind = media_kind(p)
    _check_not_empty(p)
    if kind == "image":
        try:
            with Image.open(p) as im:
                width, height = im.size
                fmt = (im.format or "unknown").lower()
        except Image.DecompressionBombError as exc:  # header claims a gigantic image
            raise MediaLimitError(
                f"{p.name} declares an image too large to decode safely (a decompression bomb)."
            ) from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the machine's trouble (a full disk, a vanished file), not the file's
            raise UnsupportedMediaError(f"{p.name} is not a readable image.") from exc
        return MediaInfo(str(p), "image", width, height, 0.0, 1, 0.0, fmt)

    cap = _open_video(p)
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        codec = _fourcc_name(cap.get(cv2.CAP_PROP_FOURCC))
    finally:
        cap.release()
    if width <= 0 or height <= 0:
        raise UnsupportedMediaError(f"{p.name} has no video stream.")
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        fps = 0.0
    frames = max(frames, 0)
    duration = frames / fps if fps > 0 else 0.0
    return MediaInfo(str(p), "video", width, height, fps, frames, duration, codec)


def check_limits(info: MediaInfo, limits: MediaLimits) -> None:
    """Raise MediaLimitError when the media's metadata exceeds ``limits``."""
    long_side, short_side = max(info.width, info.height), min(info.width, info.height)
    if long_side > limits.max_width or short_side > limits.max_height:
        raise MediaLimitError(
            f"Resolution {info.width}×{info.height} exceeds the limit of "
            f"{limits.max_width}×{limits.max_height}."
        )
    if info.kind == "video":
        if info.frames > limits.max_frames:
            raise MediaLimitError(
                f"The video has {info.frames} frames; the limit is {limits.max_frames}."
            )
        if info.duration_s > limits.max_duration_s:
            raise MediaLimitError(
                f"The video lasts {info.duration_s:.0f} s; the limit is "
                f"{limits.max_duration_s:.0f} s."
            )


def verify(path: str | os.PathLike, limits: MediaLimits | None = None) -> MediaInfo:
    """Check that a file really is a supported, decodable video or image within ``limits``.

    Reads the metadata, checks the limits, then decodes one frame (the whole image for
    images), so a renamed text or HTML file is refused. Raises the typed media errors.
    """
    info = probe(path)
    check_limits(info, limits or MediaLimits())
    if info.kind == "image":
        read_image(path)
        return info
    cap = _open_video(Path(path))
    try:
        ok, image = cap.read()
    finally:
        cap.release()
    if not ok or image is None or not image.size:
        raise EmptyMediaError(f"{Path(path).name} contains no decodable video frame.")
    return info


def sample_indices(total: int, n: int, sampling: Sampling = "even") -> list[int]:
    """Pick ``min(n, total)`` distinct frame indices: spread evenly over the clip, or the first."""
    if total <= 0 or n <= 0:
        return []
    k = min(n, total)
    if sampling == "first" or k == total:
        return list(range(k))
    # Centre of each of k equal segments: symmetric and never hits the unreliable last frame.
    positions = (np.arange(k) + 0.5) * total / k
    return sorted({min(total - 1, int(p)) for p in positions})


def _iter_video(cap: cv2.VideoCapture, targets: list[int], fps: float) -> Iterator[Frame]:
    """Stream ``cap`` with grab() and decode only the frames whose index is in ``targets``."""
    wanted = iter(targets)
    nxt = next(wanted, None)
    index = 0
    while nxt is not None:
        if not cap.grab():
            return
        if index == nxt:
            ok, image = cap.retrieve()
            if ok and image is not None and image.size:
                yield Frame(index, index / fps if fps > 0 else 0.0, image)
            nxt = next(wanted, None)
        index += 1


def _count_frames(path: Path, limit: int) -> int:
    """Count decodable frames by grabbing, stopping after ``limit`` + 1."""
    cap = _open_video(path)
    try:
        n = 0
        while n <= limit and cap.grab():
            n += 1
        return n
    finally:
        cap.release()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to a BGR ``uint8`` array of shape ``(H, W, 3)``."""
    p = Path(path)
    data = np.fromfile(p, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise UnsupportedMediaError(f"{p.name} is not a readable image.")
    return image


def read_frames(
    path: str | os.PathLike,
    n: int,
    sampling: Sampling = "even",
    limits: MediaLimits | None = None,
    info: MediaInfo | None = None,
    process: Callable[[Frame], Any] | None = None,
) -> FrameSample:
    """Probe, check limits, then decode ``n`` sampled frames (all of them if the clip is shorter).

    ``sampling="even"`` spreads the frames over the whole clip; ``"first"`` takes the first
    ``n`` consecutive frames (what the original ResNeXt-LSTM app did). ``process`` is called
    on each decoded frame as soon as it is decoded and its return value is kept instead of
    the full-resolution frame, so memory stays bounded by what the caller keeps. Frame-count
    metadata is not trusted: when the stream ends early, the sample is planned again over the
    frames that really exist.
    """
    p = Path(path)
    info = info or probe(p)
    limits = limits or MediaLimits()
    check_limits(info, limits)
    keep = process or (lambda frame: frame)
    if info.kind == "image":
        frame = Frame(0, 0.0, read_image(p))
        return FrameSample(info, [keep(frame)], n, _short_note(1, n))

    total = info.frames
    if total <= 0:  # unknown frame count (some webm/mkv): count it, bounded by the limit
        total = _count_frames(p, limits.max_frames)
        if total > limits.max_frames:
            raise MediaLimitError(f"The video has more than {limits.max_frames} frames.")
        info = _with_frames(info, total)

    targets = sample_indices(total, n, sampling)
    frames = decode_frames(p, targets, info.fps, keep)
    if len(frames) < len(targets):
        # Fewer frames than planned: either the stream ends before the metadata said (then
        # count what really exists and sample again over that range) or some frames do not
        # decode (then keep the ones that did).
        real_total = _count_frames(p, limits.max_frames)
        if real_total < total:
            log.info("%s: metadata said %d frames, the stream has %d", p.name, total, real_total)
            info = _with_frames(info, real_total)
            frames = decode_frames(p, sample_indices(real_total, n, sampling), info.fps, keep)
    if not frames:
        raise EmptyMediaError(f"{p.name} contains no decodable video frame.")
    return FrameSample(info, frames, n, _short_note(len(frames), n))


def decode_frames(
    path: str | os.PathLike,
    targets: list[int],
    fps: float,
    keep: Callable[[Frame], Any],
    seek_min_stride: int = SEEK_MIN_STRIDE,
) -> list:
    """Decode the frames at ``targets`` (sorted indices) and return ``keep(frame)`` for each.

    Frames far apart (``seek_min_stride`` or more on average) are reached by seeking, each
    seek checked against the decoder's position; otherwise, or when a seek lands elsewhere,
    the stream is read through with grab() and only the targets are decoded to images.
    """
    if Path(path).suffix.lower() in IMAGE_EXTENSIONS:
        return [keep(Frame(0, 0.0, read_image(path)))] if 0 in targets else []
    if len(targets) > 1 and (targets[-1] - targets[0]) / (len(targets) - 1) >= seek_min_stride:
        seeked = _seek_frames(Path(path), targets, fps)
        if seeked is not None:
            return [keep(frame) for frame in seeked]
    cap = _open_video(Path(path))
    try:
        return [keep(frame) for frame in _iter_video(cap, targets, fps)]
    finally:
        cap.release()


def _seek_frames(path: Path, targets: list[int], fps: float) -> Iterator[Frame] | None:
    """Frames at ``targets`` by seeking, or None when the container does not seek exactly."""
    cap = _open_video(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, targets[0])
        if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) != targets[0]:
            return None
    except cv2.error:
        cap.release()
        return None

    def frames() -> Iterator[Frame]:
        try:
            for index in targets:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                ok, image = cap.read()
                if not ok or image is None:
                    return  # past the real end: the caller plans again
                if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) != index + 1:
                    log.warning("%s: inexact seek to frame %d", path.name, index)
                yield Frame(index, index / fps if fps > 0 else 0.0, image)
        finally:
            cap.release()

    return frames()


def _with_frames(info: MediaInfo, frames: int) -> MediaInfo:
    duration = frames / info.fps if info.fps > 0 else 0.0
    return MediaInfo(
        info.path, info.kind, info.width, info.height, info.fps, frames, duration, info.codec
    )


def _short_note(got: int, wanted: int) -> str | None:
    if got >= wanted:
        return None
    unit = "frame" if got == 1 else "frames"
    return f"The input has only {got} {unit}; {wanted} were requested, {got} used."
