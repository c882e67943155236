"""Indexing dataset folders: plain ``real/`` + ``fake/``, DFDC, and FaceForensics++.

Each indexer returns :class:`~.manifest.VideoEntry` rows with labels, manipulation methods
and the identities (people) each video shows; :mod:`.splits` then assigns splits so that
no identity appears in two of them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from deepfake_web.detection.media import VIDEO_EXTENSIONS

from .errors import TrainingError
from .manifest import FAKE, REAL, VideoEntry, relative_to

log = logging.getLogger(__name__)

Layout = Literal["auto", "folders", "dfdc", "ffpp"]
FFPP_METHODS = (
    "Deepfakes",
    "Face2Face",
    "FaceSwap",
    "NeuralTextures",
    "FaceShifter",
    "DeepFakeDetection",
)
DEFAULT_IDENTITY_PATTERN = r"(?:^|_)(\d{3,})(?:_(\d{3,}))?$"
"""FaceForensics++ naming: ``183.mp4`` shows person 183, ``183_253.mp4`` persons 183 and 253
(searched at the end of the file's stem, so ``ffpp_c23_Deepfakes_183_253`` works too)."""


def _videos(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
    )


def identities_from_name(stem: str, own_id: str, pattern: str | None) -> tuple[str, ...]:
    """Identities from a file stem with ``pattern``'s groups, else the video's own id."""
    if pattern:
        m = re.search(pattern, stem)
        if m:
            found = tuple(g for g in m.groups() if g) or (m.group(0),)
            return tuple(dict.fromkeys(found))
    return (own_id,)


def _method_from_name(stem: str) -> str | None:
    low = stem.lower()
    return next((m for m in FFPP_METHODS if m.lower() in low), None)


def _child(folder: Path, *names: str) -> Path | None:
    """The sub-folder of ``folder`` named one of ``names`` (case-insensitive), if any."""
    if not folder.is_dir():
        return None
    wanted = {n.lower() for n in names}
    return next(
        (c for c in sorted(folder.iterdir()) if c.is_dir() and c.name.lower() in wanted), None
    )


def index_folders(
    root: Path, base: Path, identity_pattern: str | None = DEFAULT_IDENTITY_PATTERN
) -> list[VideoEntry]:
    """Index ``root/real/**`` and ``root/fake/**``.

    A fake's method is its sub-folder under ``fake/`` (``fake/<method>/x.mp4``), else a
    FaceForensics++ method named in its file name, else ``unknown``; real videos have
    method ``original``. Identities follow ``identity_pattern`` (FaceForensics++ numbers by
    default); a video whose name does not match is its own identity.
    """
    real, fake = _child(root, "real", "original"), _child(root, "fake", "fakes", "manipulated")
    if real is None or fake is None:
        raise TrainingError(f"{root} needs both a real/ and a fake/ folder.")
    entries = []
    for label, folder in ((REAL, real), (FAKE, fake)):
        for video in _videos(folder):
            rel = video.relative_to(folder)
            if label == REAL:
                method = "original"
            elif len(rel.parts) > 1:
                method = rel.parts[0]
            else:
                method = _method_from_name(video.stem) or "unknown"
            own = f"{folder.name}/{rel.with_suffix('').as_posix()}"
            ids = identities_from_name(video.stem, own, identity_pattern)
            entries.append(VideoEntry(relative_to(video, base), label, method, ids))
    if not entries:
        raise TrainingError(f"No video under {real} or {fake}.")
    return entries


def _metadata_files(root: Path) -> list[Path]:
    direct = root / "metadata.json"
    if direct.is_file():
        return [direct]
    return sorted(root.glob("*/metadata.json"))


def index_dfdc(root: Path, base: Path, folder_groups: bool = False) -> list[VideoEntry]:
    """Index a DFDC folder (``metadata.json`` in it or in each ``dfdc_train_part_*``).

    DFDC names no actors: a real video is its own identity and a fake shares the identity
    of its ``original``. With ``folder_groups`` every video of a part folder also shares
    that folder's identity (so whole parts go to one split).
    """
    files = _metadata_files(root)
    if not files:
        raise TrainingError(f"No metadata.json in {root} or its sub-folders.")
    entries = []
    for meta in files:
        try:
            data = json.loads(meta.read_text())
        except json.JSONDecodeError as exc:
            raise TrainingError(f"{meta} is not valid JSON: {exc}") from exc
        for name, item in sorted(data.items()):
            video = meta.parent / name
            if not video.is_file():
                log.warning("%s lists %s, which does not exist; skipped", meta, name)
                continue
            label = str(item.get("label", "")).upper()
            if label not in (REAL, FAKE):
                raise TrainingError(f"{meta}: {name} has label {item.get('label')!r}.")
            source = item.get("original") if label == FAKE else None
            ids = [f"dfdc:{Path(source or name).stem}"]
            if folder_groups:
                ids.append(f"folder:{relative_to(meta.parent, root)}")
            method = "original" if label == REAL else "dfdc"
            entries.append(VideoEntry(relative_to(video, base), label, method, tuple(ids)))
    if not entries:
        raise TrainingError(f"The metadata.json files in {root} list no existing video.")
    return entries


def _ffpp_ids(method: str, stem: str) -> tuple[str, ...]:
    if method == "DeepFakeDetection":  # 01_02__meeting_serious__YVGY8LOK: actors 01 and 02
        m = re.match(r"^(\d+)_(\d+)__", stem)
        return (f"actor:{m[1]}", f"actor:{m[2]}") if m else (f"dfd:{stem}",)
    m = re.match(r"^(\d+)_(\d+)$", stem)
    return (f"yt:{m[1]}", f"yt:{m[2]}") if m else (f"ffpp:{method}/{stem}",)


def index_faceforensics(
    root: Path, base: Path, compression: str = "c23", methods: Iterable[str] | None = None
) -> list[VideoEntry]:
    """Index a FaceForensics++ download (``original_sequences``, ``manipulated_sequences``).

    Originals ``youtube/<c>/videos/183.mp4`` show person ``yt:183``, actor originals
    ``actors/<c>/videos/01__kitchen_pan.mp4`` actor ``actor:01``; a fake ``183_253.mp4``
    shows ``yt:183`` and ``yt:253`` (DeepFakeDetection ``01_02__...``: actors 01 and 02).
    ``compression`` is ``raw``, ``c23``, ``c40`` or ``all``.
    """
    wanted = set(methods) if methods else None
    entries = []
    originals = root / "original_sequences"
    for kind in ("youtube", "actors"):
        for video in _ffpp_videos(originals / kind, compression):
            if kind == "youtube":
                ids: tuple[str, ...] = (f"yt:{video.stem}",)
            else:
                m = re.match(r"^(\d+)__", video.stem)
                ids = (f"actor:{m[1]}",) if m else (f"actorvideo:{video.stem}",)
            entries.append(VideoEntry(relative_to(video, base), REAL, "original", ids))
    manipulated = root / "manipulated_sequences"
    if manipulated.is_dir():
        for method_dir in sorted(p for p in manipulated.iterdir() if p.is_dir()):
            method = method_dir.name
            if wanted and method not in wanted:
                continue
            for video in _ffpp_videos(method_dir, compression):
                ids = _ffpp_ids(method, video.stem)
                entries.append(VideoEntry(relative_to(video, base), FAKE, method, ids))
    if not entries:
        raise TrainingError(
            f"No FaceForensics++ video for compression {compression!r} under {root} "
            "(expected original_sequences/youtube/<c>/videos/*.mp4 and "
            "manipulated_sequences/<method>/<c>/videos/*.mp4)."
        )
    return entries


def _ffpp_videos(folder: Path, compression: str) -> list[Path]:
    if not folder.is_dir():
        return []
    levels = [p for p in sorted(folder.iterdir()) if p.is_dir()]
    if compression != "all":
        levels = [p for p in levels if p.name == compression]
    return [v for level in levels for v in _videos(level / "videos")]


def detect_layout(root: Path) -> str:
    """Guess a dataset folder's layout: ``ffpp``, ``dfdc`` or ``folders``."""
    if (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir():
        return "ffpp"
    if _metadata_files(root):
        return "dfdc"
    if _child(root, "real", "original") and _child(root, "fake", "fakes", "manipulated"):
        return "folders"
    raise TrainingError(
        f"Cannot tell the layout of {root}: expected real/ and fake/ folders, a DFDC "
        "metadata.json, or FaceForensics++'s original_sequences/ and manipulated_sequences/."
    )


def read_official_splits(folder: Path) -> dict[str, str]:
    """FaceForensics++'s ``train.json``/``val.json``/``test.json`` (lists of id pairs) → split."""
    splits = {}
    for split in ("train", "val", "test"):
        f = folder / f"{split}.json"
        if not f.is_file():
            raise TrainingError(f"{f} not found (FaceForensics++ splits: dataset/splits/).")
        for pair in json.loads(f.read_text()):
            for vid in pair:
                splits[f"yt:{vid}"] = split
    return splits
