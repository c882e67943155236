"""The dataset manifest: one row per video with its label, method, identities and split.

A manifest is a CSV (``path,label,method,identities,split``; identities separated by
``;``) or a JSON file (``{"videos": [{...}, ...]}``), chosen by the file's extension.
Relative paths are relative to the folder that holds the manifest file.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from deepfake_web.files import replacing

from .errors import TrainingError

REAL, FAKE = "REAL", "FAKE"
SPLITS = ("train", "val", "test")
COLUMNS = ("path", "label", "method", "identities", "split")
SYNTHETIC_MARKER = "SYNTHETIC.json"


@dataclass(frozen=True)
class VideoEntry:
    """One video of a dataset."""

    path: str
    label: str
    method: str = "unknown"
    identities: tuple[str, ...] = ()
    split: str = ""

    @property
    def is_fake(self) -> bool:
        """True for FAKE videos."""
        return self.label == FAKE

    def to_row(self) -> dict[str, str]:
        """The CSV row of this entry."""
        return {
            "path": self.path,
            "label": self.label,
            "method": self.method,
            "identities": ";".join(self.identities),
            "split": self.split,
        }


@dataclass
class Manifest:
    """The videos of a dataset and where its relative paths start."""

    entries: list[VideoEntry]
    base: Path
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    def resolve(self, entry: VideoEntry) -> Path:
        """Absolute path of an entry's video."""
        p = Path(entry.path)
        return p if p.is_absolute() else (self.base / p)

    def split(self, name: str | None) -> list[VideoEntry]:
        """The entries of one split (all of them for None or ``all``)."""
        if name in (None, "all"):
            return list(self.entries)
        return [e for e in self.entries if e.split == name]

    @property
    def name(self) -> str:
        """A short name for the dataset (used in checkpoint names): its folder's name."""
        if self.extra.get("name"):
            return safe_name(str(self.extra["name"]))
        if self.path is not None and self.path.stem not in ("manifest", "index", "videos"):
            return safe_name(self.path.stem)
        return safe_name(self.base.resolve().name or "dataset")

    def is_synthetic(self) -> bool:
        """True when a video's folder or its parent holds a SYNTHETIC.json marker."""
        seen: dict[Path, bool] = {}
        for entry in self.entries:
            folder = self.resolve(entry).parent
            for d in (folder, folder.parent):
                if d not in seen:
                    seen[d] = (d / SYNTHETIC_MARKER).is_file()
                if seen[d]:
                    return True
        return False

    def counts(self) -> dict[str, dict[str, int]]:
        """Videos per split and label, and per split and method."""
        out: dict[str, dict[str, int]] = {}
        for split in (*SPLITS, ""):
            rows = [e for e in self.entries if e.split == split]
            if not rows and split == "":
                continue
            c = Counter(e.label for e in rows)
            out[split or "unassigned"] = {
                "videos": len(rows),
                REAL: c.get(REAL, 0),
                FAKE: c.get(FAKE, 0),
                **{f"method:{m}": n for m, n in sorted(Counter(e.method for e in rows).items())},
            }
        return out


def safe_name(text: str) -> str:
    """Letters, digits and hyphens only (for file names such as ``..._<data>_data.pt``)."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")
    return cleaned or "dataset"


def normalise_label(value: str) -> str:
    """``REAL``/``FAKE`` from any case, or ``0``/``1`` as in the engine (0 = FAKE, 1 = REAL)."""
    v = str(value).strip().upper()
    if v in (REAL, FAKE):
        return v
    if v in ("0", "1"):
        return FAKE if v == "0" else REAL
    raise TrainingError(f"Unknown label {value!r}; use REAL or FAKE.")


def _entry(raw: dict, where: str) -> VideoEntry:
    if not raw.get("path"):
        raise TrainingError(f"{where}: a row has no path.")
    ids = raw.get("identities") or ()
    if isinstance(ids, str):
        ids = [i for i in ids.split(";") if i.strip()]
    split = str(raw.get("split") or "").strip()
    if split and split not in SPLITS:
        raise TrainingError(f"{where}: unknown split {split!r} (use train, val or test).")
    return VideoEntry(
        path=str(raw["path"]),
        label=normalise_label(raw.get("label", "")),
        method=str(raw.get("method") or "unknown"),
        identities=tuple(str(i).strip() for i in ids),
        split=split,
    )


def read_manifest(path: str | os.PathLike) -> Manifest:
    """Read a CSV or JSON manifest."""
    p = Path(path)
    if not p.is_file():
        raise TrainingError(f"Manifest not found: {p}")
    extra: dict = {}
    if p.suffix.lower() == ".json":
        data = json.loads(p.read_text())
        rows = data.get("videos", []) if isinstance(data, dict) else data
        if isinstance(data, dict):
            extra = {k: v for k, v in data.items() if k != "videos"}
    else:
        with p.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "label"} - set(reader.fieldnames or ())
            if missing:
                raise TrainingError(f"{p.name}: missing column(s) {', '.join(sorted(missing))}.")
            rows = list(reader)
    entries = [_entry(r, f"{p.name} row {i + 1}") for i, r in enumerate(rows)]
    if not entries:
        raise TrainingError(f"{p.name} lists no video.")
    return Manifest(entries, p.resolve().parent, p.resolve(), extra)


def write_manifest(
    path: str | os.PathLike, entries: list[VideoEntry], extra: dict | None = None
) -> Path:
    """Write a manifest (CSV or JSON by extension) atomically and return its path."""
    p = Path(path)
    with replacing(p) as tmp:
        if p.suffix.lower() == ".json":
            data = {
                **(extra or {}),
                "videos": [e.to_row() | {"identities": list(e.identities)} for e in entries],
            }
            tmp.write_text(json.dumps(data, indent=1) + "\n")
        else:
            with tmp.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(e.to_row() for e in entries)
    return p


def relative_to(video: Path, base: Path) -> str:
    """``video`` relative to ``base`` when it lies below it, else its absolute path."""
    try:
        return video.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(video.resolve())
