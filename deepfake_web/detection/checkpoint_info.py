"""What a checkpoint file is, read from its name and header without torch and without weights.

Two formats:

* **published**: a bare ``state_dict`` of :class:`~.network.PublishedNet` (322 tensors),
  named ``model_<acc>_acc_<frames>_frames_<data>_data.pt``; everything else about it (BGR
  112×112 tight face crops, ImageNet normalisation, 0 = FAKE) is fixed by that project.
* **deepfake-web**: a dict ``{"format", "format_version", "architecture", "state_dict",
  "metadata"}`` written by :func:`save_checkpoint`; it carries its own preprocessing, labels,
  decision threshold and metrics.

:func:`inspect_checkpoint` reads what a file is without importing torch (the web process
lists checkpoints but never loads them); :mod:`.checkpoints` loads and saves them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .preprocess import Preprocessing

log = logging.getLogger(__name__)

PUBLISHED = "published"
OWN = "deepfake-web"
FORMAT_VERSION = 1
PUBLISHED_KEY_COUNT = 322
LABELS = ("FAKE", "REAL")
CHECKPOINT_SUFFIXES = (".pt", ".pth")
NAME_RE = re.compile(
    r"^model_(?P<acc>\d+(?:\.\d+)?)_acc_(?P<frames>\d+)_frames_(?P<data>.+?)_data\.pth?$"
)
_MAX_HEADER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint file is, read from its name and header (no weights loaded)."""

    path: str
    name: str
    format: str | None
    sequence_length: int | None
    accuracy: float | None
    data: str | None
    size: int
    mtime: float
    metadata: dict = field(default_factory=dict)
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """True when the file can be chosen for analyses."""
        return self.problem is None

    @property
    def demo(self) -> bool:
        """True for random-weight demo checkpoints (their verdicts mean nothing)."""
        return bool(self.metadata.get("demo"))

    @property
    def warning(self) -> str | None:
        """A text to show next to every verdict of this checkpoint, if any."""
        if self.demo:
            return self.metadata.get("warning") or (
                "Demo checkpoint with random weights: its verdicts mean nothing."
            )
        return self.metadata.get("warning")

    @property
    def threshold(self) -> float:
        """Decision threshold on p_fake."""
        return float(self.metadata.get("decision", {}).get("threshold", 0.5))

    @property
    def uncertain_margin(self) -> float:
        """Half-width of the UNCERTAIN band around the threshold."""
        return float(self.metadata.get("decision", {}).get("uncertain_margin", 0.0))

    @property
    def preprocessing(self) -> Preprocessing:
        """How this checkpoint expects its face crops."""
        return Preprocessing.from_dict(self.metadata.get("preprocessing", {}))

    def to_dict(self) -> dict:
        """Return a JSON-serialisable summary."""
        return {
            "name": self.name,
            "path": self.path,
            "format": self.format,
            "sequence_length": self.sequence_length,
            "accuracy": self.accuracy,
            "data": self.data,
            "size": self.size,
            "demo": self.demo,
            "warning": self.warning,
            "threshold": self.threshold,
            "uncertain_margin": self.uncertain_margin,
            "usable": self.usable,
            "problem": self.problem,
        }


def parse_name(name: str) -> tuple[float, int, str] | None:
    """Parse ``model_<acc>_acc_<frames>_frames_<data>_data.pt`` into (accuracy, frames, data)."""
    m = NAME_RE.match(name)
    if not m:
        return None
    return float(m["acc"]), int(m["frames"]), m["data"]


# --- reading a checkpoint's structure without torch -------------------------------------


class _Tensor:
    """Stands for a tensor while reading a checkpoint's pickle without torch."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.shape = tuple(int(s) for s in shape)


def _rebuild_tensor(storage: Any, offset: Any, size: Any = (), *_: Any, **__: Any) -> _Tensor:
    return _Tensor(size if isinstance(size, tuple) else ())


def _rebuild_parameter(data: Any, *_: Any, **__: Any) -> Any:
    return data


def _opaque(*_: Any, **__: Any) -> _Tensor:
    return _Tensor()


class _HeaderUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint's structure, turning tensors into shapes; runs no code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" or module.startswith("torch."):
            return _opaque
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in checkpoint")

    def persistent_load(self, pid: Any) -> Any:
        return _Tensor()


def read_structure(path: str | os.PathLike) -> Any:
    """Return a checkpoint's top-level object with tensors replaced by shape placeholders."""
    p = Path(path)
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            names = sorted((n for n in zf.namelist() if n.endswith("data.pkl")), key=len)
            if not names:
                raise CheckpointError(f"{p.name}: a zip file, but not a torch checkpoint.")
            if zf.getinfo(names[0]).file_size > _MAX_HEADER_BYTES:
                raise CheckpointError(f"{p.name}: checkpoint header is implausibly large.")
            with zf.open(names[0]) as fh:
                return _HeaderUnpickler(fh).load()
    with p.open("rb") as fh:  # legacy torch.save format: magic, protocol, sys info, object
        try:
            magic = _HeaderUnpickler(fh).load()
            if magic != 0x1950A86A20F9469CFC6C:
                raise CheckpointError(f"{p.name}: not a torch checkpoint.")
            _HeaderUnpickler(fh).load()
            _HeaderUnpickler(fh).load()
            return _HeaderUnpickler(fh).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{p.name}: not a readable torch checkpoint ({exc}).") from exc


def _published_light_problems(state: Mapping) -> list[str]:
    """Cheap structural checks of a published state_dict (shapes of the distinctive tensors)."""
    problems = []
    if len(state) != PUBLISHED_KEY_COUNT:
        problems.append(f"{len(state)} tensors instead of {PUBLISHED_KEY_COUNT}")
    if any(str(k).startswith("module.") for k in state):
        problems.append("keys carry a 'module.' prefix (saved from DataParallel)")
    expected = {
        "model.0.weight": (64, 3, 7, 7),
        "lstm.weight_ih_l0": (8192, 2048),
        "lstm.weight_hh_l0": (8192, 2048),
        "linear1.weight": (2, 2048),
        "linear1.bias": (2,),
    }
    for key, shape in expected.items():
        t = state.get(key)
        if t is None:
            problems.append(f"missing {key}")
        elif isinstance(t, _Tensor) and t.shape != shape:
            problems.append(f"{key} has shape {t.shape}, expected {shape}")
    if "lstm.bias_ih_l0" in state:
        problems.append("has LSTM biases (the published network has none)")
    return problems


_INFO_CACHE: dict[tuple[str, int, int], CheckpointInfo] = {}
_INFO_LOCK = threading.Lock()


def inspect_checkpoint(path: str | os.PathLike) -> CheckpointInfo:
    """Describe a checkpoint file from its name and header, without torch and without weights."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _INFO_LOCK:
        if key in _INFO_CACHE:
            return _INFO_CACHE[key]
    info = _inspect(p, st.st_size, st.st_mtime)
    with _INFO_LOCK:
        _INFO_CACHE[key] = info
    return info


def _inspect(p: Path, size: int, mtime: float) -> CheckpointInfo:
    parsed = parse_name(p.name)
    base = dict(path=str(p), name=p.name, size=size, mtime=mtime)
    try:
        obj = read_structure(p)
    except (CheckpointError, OSError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        problem = str(exc) if isinstance(exc, CheckpointError) else f"unreadable: {exc}"
        return CheckpointInfo(**base, format=None, sequence_length=None, accuracy=None,
                              data=None, problem=problem)  # fmt: skip
    if isinstance(obj, Mapping) and obj.get("format") == OWN:
        meta = dict(obj.get("metadata") or {})
        metrics = meta.get("metrics") or {}
        acc = metrics.get("accuracy")
        problem = None
        if int(obj.get("format_version", 0)) > FORMAT_VERSION:
            problem = (
                f"format version {obj.get('format_version')} is newer than this program "
                f"understands ({FORMAT_VERSION}); upgrade deepfake-web"
            )
        elif not meta.get("sequence_length"):
            problem = "metadata has no sequence_length"
        return CheckpointInfo(
            **base,
            format=OWN,
            sequence_length=int(meta["sequence_length"]) if meta.get("sequence_length") else None,
            accuracy=round(float(acc) * 100, 2) if acc is not None else None,
            data=meta.get("training_data_name") or (parsed[2] if parsed else None),
            metadata=meta,
            problem=problem,
        )
    if (
        isinstance(obj, Mapping)
        and obj
        and all(isinstance(k, str) and isinstance(v, _Tensor) for k, v in obj.items())
    ):
        problems = _published_light_problems(obj)
        if not problems and parsed is None:
            problems.append(
                "the name does not follow model_<acc>_acc_<frames>_frames_<data>_data.pt, so "
                "its sequence length and accuracy are unknown; rename it"
            )
        acc, frames, data = parsed if parsed else (None, None, None)
        return CheckpointInfo(
            **base,
            format=PUBLISHED,
            sequence_length=frames,
            accuracy=acc,
            data=data,
            problem="; ".join(problems) or None,
        )
    return CheckpointInfo(
        **base,
        format=None,
        sequence_length=None,
        accuracy=None,
        data=None,
        problem="neither a published ResNeXt-LSTM state_dict nor a deepfake-web checkpoint",
    )


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) for the life of the process."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]
