"""Face crops cached on disk, one ``.npz`` per video, under a folder named by their settings.

The crops come from the engine's :func:`~deepfake_web.detection.extract.extract_faces` (the
same sampling, face search, tracking, margin and resizing as inference). The cache folder
``<cache>/faces/<key>/`` holds ``settings.json`` and, per video, ``<id>.npz`` or, for a
video that could not be read, ``<id>.failed.json``. ``<id>`` is a fingerprint of the
file's size and first and last 64 KiB (the source path is stored inside the entry), so
moving or renaming videos keeps their cache valid and a changed file is extracted again.
Files are written to a temporary name and renamed, so a killed run leaves only whole
entries; a new run skips every finished one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from deepfake_web.detection.faces import FaceConfig
from deepfake_web.files import replacing, temporary_owner, write_text

from .errors import TrainingError

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
_FINGERPRINT_BYTES = 64 * 1024
_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class FaceSettings:
    """What decides a face crop: frames sampled, crop size, and the engine's face settings."""

    frames: int = 20
    image_size: int = 112
    faces: FaceConfig = field(default_factory=FaceConfig)

    def to_dict(self) -> dict:
        """JSON form (also what the cache key hashes)."""
        return {
            "cache_format": CACHE_FORMAT,
            "method": "standard",
            "frames": self.frames,
            "image_size": self.image_size,
            "faces": asdict(self.faces),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FaceSettings:
        """Build from ``to_dict``'s output (or a checkpoint's ``face_detection``)."""
        known = FaceConfig.__dataclass_fields__
        faces = FaceConfig(**{k: v for k, v in (data.get("faces") or {}).items() if k in known})
        return cls(int(data.get("frames", 20)), int(data.get("image_size", 112)), faces)

    @property
    def key(self) -> str:
        """Folder name: readable settings and a hash of all of them."""
        digest = hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()
        f = self.faces
        return (
            f"n{self.frames}-s{self.image_size}-m{f.margin:g}-{f.model}{f.detect_max_side}"
            f"-{digest[:10]}"
        )


@dataclass
class FaceEntry:
    """The cached faces of one video."""

    faces: np.ndarray  # (K, S, S, 3) uint8 BGR crops of the frames with a face
    face_positions: np.ndarray  # (K,) positions of those frames among the sampled ones
    indices: np.ndarray  # (N,) frame numbers sampled
    times: np.ndarray  # (N,) seconds
    boxes: np.ndarray  # (N, 4) left, top, right, bottom of the followed face (-1: none)
    face_counts: np.ndarray  # (N,) faces found per sampled frame
    info: dict

    @property
    def sampled(self) -> int:
        """Number of frames sampled (less than requested for very short videos)."""
        return len(self.indices)


def fingerprint(path: str | os.PathLike) -> str:
    """A short id of a file's content: sha256 of its size, first and last 64 KiB.

    Remembered per (path, size, modification time) for the life of the process.
    """
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FINGERPRINTS:
        h = hashlib.sha256(str(st.st_size).encode())
        with p.open("rb") as fh:
            h.update(fh.read(_FINGERPRINT_BYTES))
            if st.st_size > 2 * _FINGERPRINT_BYTES:
                fh.seek(st.st_size - _FINGERPRINT_BYTES)
            h.update(fh.read(_FINGERPRINT_BYTES))
        _FINGERPRINTS[key] = h.hexdigest()[:24]
    return _FINGERPRINTS[key]


class FaceCache:
    """The face cache folder for one set of :class:`FaceSettings`."""

    def __init__(self, root: str | os.PathLike, settings: FaceSettings) -> None:
        """Use ``<root>/faces/<settings.key>/`` (created on first write)."""
        self.root = Path(root)
        self.settings = settings
        self.folder = self.root / "faces" / settings.key

    def ensure(self) -> None:
        """Create the folder and its ``settings.json``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        settings = self.folder / "settings.json"
        if not settings.exists():
            write_text(settings, json.dumps(self.settings.to_dict(), indent=1) + "\n")

    def npz(self, vid: str) -> Path:
        """Path of a video's entry."""
        return self.folder / f"{vid}.npz"

    def failed_marker(self, vid: str) -> Path:
        """Path of a video's failure record."""
        return self.folder / f"{vid}.failed.json"

    def has(self, vid: str) -> bool:
        """True when the video's faces are cached."""
        return self.npz(vid).is_file()

    def failure(self, vid: str) -> dict | None:
        """The recorded failure of a video, if any."""
        p = self.failed_marker(vid)
        return json.loads(p.read_text()) if p.is_file() else None

    def load(self, vid: str) -> FaceEntry:
        """Read a cached entry."""
        with np.load(self.npz(vid), allow_pickle=False) as z:
            return FaceEntry(
                faces=z["faces"],
                face_positions=z["face_positions"],
                indices=z["indices"],
                times=z["times"],
                boxes=z["boxes"],
                face_counts=z["face_counts"],
                info=json.loads(str(z["info"])),
            )

    def existing(self) -> list[FaceCache]:
        """Other face caches under the same root (for helpful error messages)."""
        base = self.root / "faces"
        if not base.is_dir():
            return []
        out = []
        for d in sorted(base.iterdir()):
            s = d / "settings.json"
            if s.is_file():
                out.append(FaceCache(self.root, FaceSettings.from_dict(json.loads(s.read_text()))))
        return out

    def describe(self) -> str:
        """One line: folder and settings."""
        s, f = self.settings, self.settings.faces
        return (
            f"{self.folder} ({s.frames} frames, {s.image_size}px, margin {f.margin:g}, "
            f"{f.model} at {f.detect_max_side}px)"
        )


def extract_entry(video: str, settings: dict, out: str, failed: str) -> dict:
    """Extract one video's faces into ``out`` (or record why not in ``failed``); a worker task.

    Returns ``{"status": "ok"|"no_face"|"failed", "faces", "sampled", "seconds", "error"}``.
    Runs in worker processes: it imports only the engine's video and face code.
    """
    from deepfake_web.detection.errors import DetectionError
    from deepfake_web.detection.extract import extract_faces

    s = FaceSettings.from_dict(settings)
    t0 = time.perf_counter()
    try:
        track = extract_faces(
            video,
            s.frames,
            image_size=s.image_size,
            faces=s.faces,
            mode="standard",
            workers=1,
            preview_max_side=None,
        )
    except (DetectionError, OSError, ValueError) as exc:
        record = {
            "video": video,
            "error": str(exc),
            "error_type": type(exc).__name__,
            "time": time.time(),
        }
        write_text(Path(failed), json.dumps(record) + "\n")
        return {
            "status": "failed",
            "faces": 0,
            "sampled": 0,
            "error": str(exc),
            "seconds": time.perf_counter() - t0,
        }
    with_face = [(i, f) for i, f in enumerate(track.frames) if f.face is not None]
    size = s.image_size
    faces = (
        np.stack([f.face for _, f in with_face])
        if with_face
        else np.zeros((0, size, size, 3), np.uint8)
    )
    boxes = np.array(
        [f.box.to_list() if f.box else [-1, -1, -1, -1] for f in track.frames], np.int32
    ).reshape(-1, 4)
    with replacing(out) as tmp, tmp.open("wb") as fh:
        np.savez_compressed(
            fh,
            faces=faces,
            face_positions=np.array([i for i, _ in with_face], np.int32),
            indices=np.array([f.index for f in track.frames], np.int64),
            times=np.array([f.time_s for f in track.frames], np.float64),
            boxes=boxes,
            face_counts=np.array([len(f.boxes) for f in track.frames], np.int32),
            info=np.array(
                json.dumps(
                    {
                        **track.info.to_dict(),
                        "source": video,
                        "notes": [n for n in (track.note, *track.notes) if n],
                    }
                )
            ),
        )
    Path(failed).unlink(missing_ok=True)
    return {
        "status": "ok" if with_face else "no_face",
        "faces": len(with_face),
        "sampled": len(track.frames),
        "error": None,
        "seconds": time.perf_counter() - t0,
    }


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


@dataclass
class ExtractionSummary:
    """What one extraction run did."""

    total: int = 0
    cached_before: int = 0
    extracted: int = 0
    no_face: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped_failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


def _clean_stale_tmp(folder: Path) -> None:
    for tmp in folder.glob(".*.tmp"):
        pid = temporary_owner(tmp)
        if pid is not None and not _alive(pid):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def extract_missing(
    cache: FaceCache,
    videos: Sequence[Path],
    *,
    workers: int = 2,
    retry_failed: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ExtractionSummary:
    """Extract the faces of every video not yet cached; return what was done.

    ``workers`` processes each handle one video at a time (``0``: in this process).
    Videos recorded as failed are skipped unless ``retry_failed``. ``progress(done, total,
    name)`` is called after each video (cached ones count as done at the start).
    """
    t0 = time.perf_counter()
    cache.ensure()
    _clean_stale_tmp(cache.folder)
    report = progress or (lambda done, total, name: None)
    summary = ExtractionSummary(total=len(videos))
    todo: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for video in videos:
        if not video.is_file():
            summary.failed[str(video)] = "file not found"
            continue
        vid = fingerprint(video)
        if vid in seen:
            summary.cached_before += 1  # the same file listed twice
            continue
        seen.add(vid)
        if cache.has(vid):
            summary.cached_before += 1
            if len(cache.load(vid).face_positions) == 0:
                summary.no_face.append(str(video))
        elif (fail := cache.failure(vid)) and not retry_failed:
            summary.skipped_failed[str(video)] = fail.get("error", "failed")
        else:
            todo.append((video, vid))
    done = len(videos) - len(todo)
    report(done, len(videos), "")
    settings = cache.settings.to_dict()

    def record(video: Path, result: dict) -> None:
        nonlocal done
        done += 1
        if result["status"] == "failed":
            summary.failed[str(video)] = result["error"]
        else:
            summary.extracted += 1
            if result["status"] == "no_face":
                summary.no_face.append(str(video))
        report(done, len(videos), video.name)

    def args(video: Path, vid: str) -> tuple:
        return (str(video), settings, str(cache.npz(vid)), str(cache.failed_marker(vid)))

    try:
        if workers <= 0 or len(todo) <= 1:
            for video, vid in todo:
                record(video, extract_entry(*args(video, vid)))
        else:
            _run_pool(todo, args, record, workers)
    except KeyboardInterrupt:
        summary.interrupted = True
        log.warning("interrupted: finished entries are kept; run again to continue")
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_pool(todo, args, record, workers: int) -> None:
    """Run extract_entry over ``todo`` in ``workers`` spawned processes, at most 2× queued."""
    ctx = multiprocessing.get_context("spawn")
    pending: dict[Future, Path] = {}
    queue = iter(todo)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
    try:
        while True:
            while len(pending) < 2 * workers:
                nxt = next(queue, None)
                if nxt is None:
                    break
                pending[pool.submit(extract_entry, *args(*nxt))] = nxt[0]
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                video = pending.pop(fut)
                record(video, fut.result())
    except BrokenProcessPool as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise TrainingError(
            "A face extraction worker process died (out of memory, or killed). Finished "
            "videos are kept: run the command again to continue (fewer --workers if memory "
            "is short)."
        ) from exc
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def require_faces(cache: FaceCache) -> None:
    """Raise a helpful error when the face cache does not exist."""
    if cache.folder.is_dir():
        return
    others = "\n".join(f"  {c.describe()}" for c in cache.existing())
    raise TrainingError(
        f"No face cache {cache.describe()}. Run `deepfake-web faces` with the same "
        "--frames, --margin and --image-size first"
        + (f"; caches that exist:\n{others}" if others else ".")
    )
