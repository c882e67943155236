"""What a hostile or careless client sends: corrupt files, resource bombs, names, URLs.

Everything is generated here (nothing is downloaded or kept in the repository).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.factories.media import bomb_png, noise_frames, write_video


def clip(folder: Path, seed: int, frames: int = 10, size: tuple[int, int] = (96, 72)) -> bytes:
    """A small, valid, face-free MP4 whose bytes differ by ``seed``."""
    w, h = size
    path = folder / f"clip_{seed}_{w}x{h}.mp4"
    if not path.exists():
        write_video(path, noise_frames(frames, w, h, seed=seed))
    return path.read_bytes()


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``width``×``height``."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", crc)


def corrupt_corpus(folder: Path) -> list[tuple[str, bytes]]:
    """At least 33 (name, bytes) uploads that are damaged, disguised or bombs."""
    rng = np.random.default_rng(8)
    good = clip(folder, 1000, frames=30, size=(160, 120))
    tiny_png = _png(np.full((8, 8, 3), 128, np.uint8))
    long_video = folder / "long.mp4"
    if not long_video.exists():  # 700 frames at 1 fps: 11 minutes, over the 10-minute limit
        write_video(long_video, noise_frames(700, 16, 16), fps=1.0)
    wide_video = folder / "wide.mp4"
    if not wide_video.exists():  # wider than 3840
        write_video(wide_video, [np.zeros((16, 4096, 3), np.uint8)] * 2)
    corrupt_middle = bytearray(good)
    corrupt_middle[len(good) // 3 : len(good) // 3 + 2000] = rng.bytes(2000)
    return [
        ("empty.mp4", b""),
        ("one_byte.mp4", b"\x00"),
        ("random_small.mp4", rng.bytes(512)),
        ("random_large.mp4", rng.bytes(3_000_000)),
        ("random.mov", rng.bytes(40_000)),
        ("random.avi", rng.bytes(40_000)),
        ("random.mkv", rng.bytes(40_000)),
        ("random.webm", rng.bytes(40_000)),
        ("truncated_10.mp4", good[: len(good) // 10]),
        ("truncated_50.mp4", good[: len(good) // 2]),
        ("truncated_90.mp4", good[: len(good) * 9 // 10]),
        ("header_only.mp4", good[:64]),
        ("corrupt_middle.mp4", bytes(corrupt_middle)),
        ("html.mp4", b"<html><script>alert(1)</script></html>" * 50),
        ("html.png", b"<html><body>not an image</body></html>" * 20),
        ("text.jpg", b"just some text, not a JPEG\n" * 40),
        ("zip.mkv", b"PK\x03\x04" + rng.bytes(5000)),
        ("elf.mov", b"\x7fELF\x02\x01\x01" + rng.bytes(4000)),
        ("svg.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("gif.png", b"GIF89a" + struct.pack("<HH", 10, 10) + b"\x00\x00\x00" + b"\x3b"),
        ("bomb_14000.png", bomb_png(14000, 14000)),
        ("bomb_30000.png", bomb_png(30000, 30000)),
        ("png_header_60000.png", _png_header_only(60000, 60000)),
        ("png_header_5000.png", _png_header_only(5000, 4000)),
        ("png_bad_crc.png", tiny_png[:-5] + b"\x00\x00\x00\x00\x00"),
        ("jpeg_claims_65000.jpg", _jpeg_claiming(65000, 65000)),
        ("jpeg_claims_5000.jpg", _jpeg_claiming(5000, 5000)),
        ("jpeg_truncated.jpg", _jpeg_claiming(16, 16)[:100]),
        ("webp_garbage.webp", b"RIFF\x00\x01\x00\x00WEBPVP8 " + rng.bytes(2000)),
        ("too_long.mp4", long_video.read_bytes()),
        ("too_wide.mp4", wide_video.read_bytes()),
        ("png_as_mp4.mp4", tiny_png),
        ("mp4_as_png.png", good),
        ("polyglot.png", tiny_png + b"<html><script>alert(1)</script></html>"),
        ("tiny_valid.png", tiny_png),
    ]


HOSTILE_NAMES: list[bytes] = [
    b"../../../../etc/passwd.mp4",
    b"..\\..\\..\\windows\\system32\\drivers.mp4",
    b"/etc/cron.d/evil.mp4",
    b"%2e%2e%2f%2e%2e%2fsecret_key.mp4",
    b"<script>alert('x')</script>.mp4",
    b'"><img src=x onerror=alert(1)>.mp4',
    b"{{7*7}}{% raw %}.mp4",
    b"a" * 300 + b".mp4",
    b"\xe2\x80\xaegnp.mp4",  # right-to-left override
    b"clip\x00.mp4",
    b"line\r\nX-Injected: 1.mp4",
    b"tab\tname.mp4",
    b".mp4",
    b"   .mp4",
    b"con.mp4",
    b"clip.mp4.exe",
    b"clip.MP4",
    b"clip.mp4.",
    b"\xff\xfe\xfd.mp4",
    b"\xf0\x9f\x98\x80 emoji.mp4",
    b"semi;colon&amp;$(id).mp4",
    b'quote\\".mp4',
    b"deep/" * 60 + b"name.mp4",
    b"noextension",
]

TRAVERSAL_URLS: list[str] = [
    "/../instance/secret_key",
    "/static/../instance/secret_key",
    "/static/..%2f..%2finstance%2fsecret_key",
    "/static/%2e%2e/%2e%2e/instance/secret_key",
    "/static/%252e%252e/instance/secret_key",
    "/static/..\\..\\instance\\secret_key",
    "/static/....//....//instance/secret_key",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/css/../../instance/deepfake.db",
    "/static/css/%2e%2e/%2e%2e/wsgi.py",
    "//etc/passwd",
    "/analyses/..%2f..%2finstance%2fsecret_key",
    "/analyses/x/previews/..%2F..%2Fsecret_key",
    "/analyses/x/previews/%2e%2e%2fdeepfake.db",
    "/analyses/x/previews/frame_0001.jpg%00.py",
    "/analyses/%00/previews/frame_0001.jpg",
    "/analyses/" + "a" * 5000,
    "/api/analyses/../../instance/secret_key",
    "/api/analyses/..%2f..%2fsecret_key",
    "/api/analyses/%2e%2e",
    "/api/analyses/%ff%fe",
    "/api/analyses/%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "/api/analyses?page=-1&per_page=0",
    "/api/analyses?page=99999999999999999999&per_page=-5",
    "/api/analyses?sort=__class__&order=%27;DROP%20TABLE%20analysis;--",
    "/api/analyses?from=9999-99-99&to=0000-00-00&q=%00",
    "/api/analyses?from=0001-01-01&to=9999-12-31",
    "/history?to=9999-12-31&page=99999999999999999999",
    "/history?page=0&sort=../../etc&q=%27%22%3C",
    "/history?page=abc&verdict=%00",
    "/api/models?sha256=1&../../=x",
    "/uploads/../secret_key",
    "/instance/secret_key",
]
