"""Loading and saving checkpoints with torch (both formats; see :mod:`.checkpoint_info`)."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepfake_web.files import replacing

from .checkpoint_info import (
    FORMAT_VERSION,
    LABELS,
    OWN,
    CheckpointInfo,
    file_sha256,
    inspect_checkpoint,
)
from .errors import CheckpointError
from .preprocess import Preprocessing

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A network ready for inference, with the facts about the file it came from.

    ``runtimes`` holds the backbone's runtimes built for it (see :mod:`.backbones`).
    """

    net: Any
    info: CheckpointInfo
    sha256: str
    preprocessing: Preprocessing
    device: Any
    runtimes: dict[str, Any] = field(default_factory=dict, repr=False)


def _strict_problems(expected: Mapping, given: Mapping, limit: int = 5) -> list[str]:
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [
        f"{k}: {tuple(given[k].shape)} instead of {tuple(expected[k].shape)}"
        for k in expected
        if k in given and hasattr(given[k], "shape") and given[k].shape != expected[k].shape
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            problems.append(f"{label} {len(items)}: {', '.join(items[:limit])}{more}")
    return problems


def _load_strict(net: Any, state: Mapping, name: str) -> None:
    problems = _strict_problems(net.state_dict(), state)
    if problems:
        raise CheckpointError(f"{name} does not match the expected network: {'; '.join(problems)}")
    net.load_state_dict(state, strict=True, assign=True)


def resolve_device(device: str = "auto") -> Any:
    """Turn ``auto|cpu|cuda[:N]`` into a torch.device, refusing CUDA when there is none."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CheckpointError("CUDA was requested but no CUDA device is available.")
    return dev


def load_checkpoint(path: str | os.PathLike, device: str = "auto") -> LoadedModel:
    """Load a checkpoint of either format strictly and return the network in eval mode.

    The file is memory-mapped: the tensors are read from the page cache as the network
    uses them, not copied into memory first (a second process shares the pages).
    """
    import torch

    from .network import Architecture, PublishedNet, TemporalNet

    info = inspect_checkpoint(path)
    if info.format is None:
        raise CheckpointError(f"{info.name}: {info.problem}")
    dev = resolve_device(device)
    try:
        try:
            obj = torch.load(info.path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # files in torch's legacy (pre-zip) format cannot be mapped
            obj = torch.load(info.path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise CheckpointError(f"{info.name} could not be loaded: {exc}") from exc
    if info.format == OWN:
        try:
            arch = Architecture.from_dict(obj["architecture"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{info.name}: bad architecture: {exc}") from exc
        with torch.device("meta"):
            net = TemporalNet(arch)
        _load_strict(net, obj["state_dict"], info.name)
        prep = info.preprocessing
    else:  # the strict comparison below names every difference (info.problem is a summary)
        with torch.device("meta"):
            net = PublishedNet()
        _load_strict(net, obj, info.name)
        prep = Preprocessing()
    net.eval().to(dev)
    log.info("loaded %s (%s) on %s", info.name, info.format, dev)
    return LoadedModel(net, info, file_sha256(info.path), prep, dev)


_MODEL_CACHE: OrderedDict[tuple, LoadedModel] = OrderedDict()
_MODEL_LOCK = threading.Lock()


def load_cached(path: str | os.PathLike, device: str = "auto", max_models: int = 3) -> LoadedModel:
    """Like :func:`load_checkpoint`, but each file is loaded once per process (LRU of models)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, str(resolve_device(device)))
    with _MODEL_LOCK:
        if key in _MODEL_CACHE:
            _MODEL_CACHE.move_to_end(key)
            return _MODEL_CACHE[key]
        model = load_checkpoint(p, device)
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > max(1, max_models):
            _MODEL_CACHE.popitem(last=False)
        return model


def save_checkpoint(
    path: str | os.PathLike, net: Any, metadata: Mapping[str, Any], architecture: Any
) -> Path:
    """Write a deepfake-web checkpoint atomically.

    ``metadata`` must hold ``sequence_length``; ``metadata["metrics"]["accuracy"]``, when
    present, is a fraction in [0, 1] (listed as a percentage, like the published names).
    """
    import torch

    if not metadata.get("sequence_length"):
        raise ValueError("metadata needs a sequence_length")
    meta = dict(metadata)
    meta.setdefault("labels", list(LABELS))
    if list(meta["labels"]) != list(LABELS):
        raise ValueError(f"labels must be {list(LABELS)} (index 0 = FAKE), as in every format")
    meta.setdefault("preprocessing", Preprocessing().to_dict())
    meta.setdefault("decision", {"threshold": 0.5, "uncertain_margin": 0.0})
    obj = {
        "format": OWN,
        "format_version": FORMAT_VERSION,
        "architecture": architecture.to_dict(),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
        "metadata": meta,
    }
    with replacing(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def update_metadata(path: str | os.PathLike, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into a deepfake-web checkpoint's metadata, rewriting it atomically."""
    import torch

    p = Path(path)
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != OWN:
        raise CheckpointError(f"{p.name} is not a deepfake-web checkpoint; it has no metadata.")
    obj["metadata"] = {**obj["metadata"], **changes}
    with replacing(p) as tmp:
        torch.save(obj, tmp)
