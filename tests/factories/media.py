"""Small media and checkpoints made by the tests themselves."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED_MEDIA = ROOT.parent / "shared" / "media"
NO_MEDIA_REASON = (
    f"real test media not found at {SHARED_MEDIA} (../shared/media beside the project)"
)


def shared(*parts: str) -> Path:
    """Path inside ../shared/media."""
    return SHARED_MEDIA.joinpath(*parts)


def labelled_videos() -> list[Path]:
    """Every labelled real/fake video in ../shared/media/videos."""
    return sorted((SHARED_MEDIA / "videos").glob("[rf][ea][ak]*/*.mp4"))


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: float = 25.0,
    fourcc: str = "mp4v",
) -> Path:
    """Write BGR frames with cv2.VideoWriter and return the path."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"cannot write {path}"
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def noise_frames(n: int, w: int = 160, h: int = 120, seed: int = 0) -> list[np.ndarray]:
    """Frames of smooth random colour fields (no faces), each with its index drawn in."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        small = rng.integers(0, 255, size=(6, 8, 3), dtype=np.uint8)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        cv2.putText(img, str(i), (5, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        out.append(img)
    return out


def face_frames(image: Path, n: int, size: tuple[int, int] = (640, 360)) -> list[np.ndarray]:
    """Frames showing a real face photo drifting slowly across a plain background."""
    face = cv2.imread(str(image))
    w, h = size
    scale = 0.8 * h / face.shape[0]
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fh, fw = face.shape[:2]
    out = []
    for i in range(n):
        canvas = np.full((h, w, 3), 90, np.uint8)
        x = min(w - fw, int(i * (w - fw) / max(1, n - 1)))
        canvas[(h - fh) // 2 : (h - fh) // 2 + fh, x : x + fw] = face
        out.append(canvas)
    return out


def _published_shapes() -> OrderedDict:
    import torch

    from deepfake_web.detection.network import PublishedNet

    with torch.device("meta"):
        net = PublishedNet()
    return OrderedDict((k, (tuple(v.shape), v.dtype)) for k, v in net.state_dict().items())


def write_tiny_published(path: Path) -> Path:
    """A published-format file with the right 322 keys and shapes but one stored value each.

    Every tensor is a broadcast view of a single number, so the file is a few kB: enough for
    the registry (names, headers), not for meaningful inference.
    """
    import torch

    state = OrderedDict(
        (k, torch.zeros((), dtype=dtype).expand(shape))
        for k, (shape, dtype) in _published_shapes().items()
    )
    torch.save(state, path)
    return path


def plain_frames(n: int, w: int = 320, h: int = 240) -> list[np.ndarray]:
    """Frames with no face-like structure: a colour gradient and a moving white square."""
    ramp = np.linspace(40, 200, w, dtype=np.uint8)
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, :, 0], img[:, :, 1], img[:, :, 2] = ramp, ramp[::-1], 120
        x = (i * 7) % max(1, w - 40)
        img[20:60, x : x + 40] = 255
        out.append(img)
    return out


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width``×``height`` that compresses to kilobytes (a pixel bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + one bit per pixel
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
