"""The ResNeXt50 backbone's weights: torchvision's ImageNet weights, random, or a local file.

Whatever the source, the weights are identified by a hash of their values
(:func:`state_sha256`), so caches keyed by it can never mix two backbones.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from .errors import TrainingError

log = logging.getLogger(__name__)

IMAGENET = {
    "imagenet": "IMAGENET1K_V1",
    "imagenet-v1": "IMAGENET1K_V1",
    "imagenet-v2": "IMAGENET1K_V2",
}
"""``imagenet`` is torchvision's ``ResNeXt50_32X4D_Weights.IMAGENET1K_V1`` (the weights the
published ResNeXt-LSTM project started from); ``imagenet-v2`` the newer recipe."""


@dataclass(frozen=True)
class Backbone:
    """A backbone ready to use: the module, a description, and the hash of its weights."""

    module: object  # torch.nn.Sequential (the ResNeXt children without avgpool and fc)
    description: str
    sha256: str
    source: dict


def state_sha256(state: dict) -> str:
    """SHA-256 of a state_dict's names, dtypes, shapes and values (order-independent)."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _from_resnext_state(state: dict, what: str):
    """A backbone Sequential from a torchvision resnext50_32x4d state_dict."""
    from torch import nn
    from torchvision.models import resnext50_32x4d

    net = resnext50_32x4d(weights=None)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise TrainingError(
            f"{what} is not a ResNeXt50-32x4d state_dict: missing {missing[:4]}, "
            f"unexpected {unexpected[:4]}."
        )
    return nn.Sequential(*list(net.children())[:-2])


def _from_prefixed(state: dict, prefix: str, what: str):
    """A backbone from ``model.*`` keys (published and deepfake-web checkpoints)."""
    from deepfake_web.detection.network import build_backbone

    backbone = build_backbone()
    sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        backbone.load_state_dict(sub, strict=True)
    except RuntimeError as exc:
        raise TrainingError(f"{what}: its {prefix}* weights do not fit ResNeXt50: {exc}") from exc
    return backbone


def _imagenet_state(variant: str) -> dict:
    import torch
    from torchvision.models import ResNeXt50_32X4D_Weights

    weights = ResNeXt50_32X4D_Weights[variant]
    filename = weights.url.rsplit("/", 1)[-1]
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    try:
        return weights.get_state_dict(progress=True, check_hash=True)
    except Exception as exc:  # urllib, SSL, hash mismatch: one message for all
        raise TrainingError(
            f"Could not get torchvision's ImageNet weights {variant} ({exc}). Without "
            f"internet, download {weights.url} elsewhere and place it as {cache / filename} "
            "(torch.hub's cache; set TORCH_HOME to move it), or pass --backbone-weights "
            "with a local file."
        ) from exc


def load_backbone(spec: str, seed: int = 0) -> Backbone:
    """Build the backbone for ``spec``: ``imagenet``, ``imagenet-v2``, ``none`` or a file.

    ``none`` is a random initialisation from ``seed``. A file may be a torchvision
    resnext50_32x4d state_dict, a published ResNeXt-LSTM checkpoint, or a deepfake-web
    checkpoint (their ``model.*`` weights are used).
    """
    import torch

    from deepfake_web.detection.network import build_backbone

    if spec in IMAGENET:
        variant = IMAGENET[spec]
        module = _from_resnext_state(_imagenet_state(variant), variant)
        desc = f"imagenet: torchvision ResNeXt50_32X4D_Weights.{variant}"
        source = {"kind": "imagenet", "variant": variant}
    elif spec == "none":
        torch.manual_seed(seed)
        module = build_backbone()
        desc = f"none: random initialisation (seed {seed})"
        source = {"kind": "none", "seed": seed}
    else:
        p = Path(spec)
        if not p.is_file():
            raise TrainingError(
                f"--backbone-weights {spec!r}: not imagenet, imagenet-v2, none, or an existing "
                "file."
            )
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise TrainingError(f"{p.name} could not be loaded: {exc}") from exc
        if isinstance(obj, dict) and obj.get("format") == "deepfake-web":
            module = _from_prefixed(obj["state_dict"], "model.", p.name)
        elif isinstance(obj, dict) and "model.0.weight" in obj:
            module = _from_prefixed(obj, "model.", p.name)
        elif isinstance(obj, dict) and "conv1.weight" in obj:
            module = _from_resnext_state(obj, p.name)
        else:
            raise TrainingError(
                f"{p.name}: not a resnext50_32x4d state_dict, a published checkpoint or a "
                "deepfake-web checkpoint."
            )
        desc = f"file: {p.name}"
        source = {"kind": "file", "path": str(p.resolve()), "file": p.name}
    sha = state_sha256(module.state_dict())
    log.info("backbone %s (weights sha256 %s)", desc, sha[:16])
    return Backbone(module.eval(), desc, sha, source)


def backbone_from_net(net, description: str) -> Backbone:
    """The backbone of a loaded network (its ``model`` part) as a :class:`Backbone`."""
    return Backbone(
        net.model, description, state_sha256(net.model.state_dict()), {"kind": "checkpoint"}
    )
