"""Training the temporal head on cached features (backbone frozen) or end to end.

During training the LSTM sees the features standardised per dimension, ``x' = (x - μ) / σ``
with the training frames' mean and standard deviation (without it, the tiny, highly
correlated features of a random backbone barely train). Afterwards ``μ`` and ``σ`` are
folded into the first LSTM layer (``W' x' + b' = (W' / σ) x + (b' - (W' / σ) μ)``), so the
saved :class:`~deepfake_web.detection.network.TemporalNet` takes raw backbone features
exactly as the engine feeds it. The first layer's input weights start Glorot-uniform:
PyTorch's ``U(±1/√hidden)`` ignores the 2048 inputs and saturates the gates of small heads.
Selection keeps the epoch with the best validation AUC.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from deepfake_web.detection.network import Architecture

from .errors import TrainingError
from .sequences import CachedVideo, scoring_rows, training_rows

log = logging.getLogger(__name__)

Balance = Literal["weight", "oversample", "none"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a training run."""

    frames: int = 20
    hidden_size: int = 512
    num_layers: int = 1
    bidirectional: bool = False
    pooling: Literal["mean", "last"] = "mean"
    dropout: float = 0.4
    lr: float = 1e-3
    weight_decay: float = 1e-2
    epochs: int = 30
    batch_size: int = 32
    patience: int = 8
    seed: int = 0
    device: str = "auto"
    balance: Balance = "weight"
    finetune: bool = False
    backbone_lr: float = 1e-5
    feature_norm: Literal["standard", "none"] = "standard"

    def architecture(self) -> Architecture:
        """The head's :class:`Architecture`."""
        return Architecture(
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            pooling=self.pooling,
            dropout=self.dropout,
        )

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass
class EpochLog:
    """One epoch's numbers."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    val_auc: float | None
    seconds: float


@dataclass
class TrainResult:
    """The selected model and how training went."""

    net: object  # TemporalNet (standardisation folded in), on CPU, eval mode
    history: list[EpochLog]
    best_epoch: int
    val_accuracy: float
    val_auc: float | None
    val_loss: float
    stopped_early: bool
    seconds: float
    val_scores: list[float] = field(default_factory=list)


@dataclass
class InputMap:
    """The training-time input transform ``x' = (x - mean) * scale`` (per dimension)."""

    mean: np.ndarray
    scale: np.ndarray


def input_map(frames: np.ndarray, kind: str = "standard") -> InputMap:
    """Standardisation fitted on the training frames' features ``(n, 2048)``, or identity.

    Dimensions that are constant (to float precision) keep a scale of 1.
    """
    dims = frames.shape[1]
    if kind == "none":
        return InputMap(np.zeros(dims, np.float32), np.ones(dims, np.float32))
    if kind != "standard":
        raise ValueError(f"unknown feature normalisation {kind!r}")
    x = frames.astype(np.float64)
    mean, std = x.mean(0), x.std(0)
    rel = std / np.maximum(np.abs(mean), 1e-12)
    std = np.where((std > 1e-12) & (rel > 1e-6), std, 1.0)
    return InputMap(mean.astype(np.float32), (1.0 / std).astype(np.float32))


def fold_input_map(head, imap: InputMap) -> None:
    """Fold ``imap`` into ``head``'s first LSTM layer in place, in both directions.

    Afterwards ``head`` on raw features computes what it computed on ``(x - mean) * scale``.
    """
    import torch

    scale = torch.from_numpy(imap.scale).double()
    mean = torch.from_numpy(imap.mean).double()
    with torch.no_grad():
        for suffix in ("", "_reverse"):
            w = getattr(head.lstm, f"weight_ih_l0{suffix}", None)
            if w is None:
                continue
            b = getattr(head.lstm, f"bias_ih_l0{suffix}")
            folded = w.double() * scale[None, :]
            b.copy_((b.double() - folded @ mean).to(b.dtype))
            w.copy_(folded.to(w.dtype))


def _init_input_weights(head) -> None:
    """Glorot-uniform input weights for the first LSTM layer (PyTorch's default saturates)."""
    from torch import nn

    for suffix in ("", "_reverse"):
        w = getattr(head.lstm, f"weight_ih_l0{suffix}", None)
        if w is not None:
            for gate in w.data.chunk(4, 0):
                nn.init.xavier_uniform_(gate)


def padded_forward(head, x, lengths):
    """:class:`TemporalHead`'s forward for a padded batch ``(B, T, D)`` of true ``lengths``.

    Packs the sequences so that padding never enters the LSTM (in either direction), then
    pools like the head: mean over the valid steps, or the last valid step. Returns frame
    logits ``(B, T, 2)`` (padding rows are meaningless) and clip logits ``(B, 2)``; for each
    row they equal ``head(x[i:i+1, :lengths[i]])``.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = head.lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    out = head.dropout(out)
    lengths = lengths.to(out.device)
    if head.arch.pooling == "last":
        pooled = out[torch.arange(out.shape[0], device=out.device), lengths - 1]
    else:
        mask = (torch.arange(out.shape[1], device=out.device)[None, :] < lengths[:, None]).float()
        pooled = (out * mask[..., None]).sum(1) / lengths[:, None].float()
    return head.head(out), head.head(pooled)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels.tolist())) < 2:
        return None
    return float(roc_auc_score(labels, scores))


class _Batcher:
    """Padded, mapped batches from cached features (or from crops when fine-tuning)."""

    def __init__(self, imap: InputMap, device, embed=None, faces=None, prep=None) -> None:
        import torch

        self.mean = torch.from_numpy(imap.mean).to(device)
        self.scale = torch.from_numpy(imap.scale).to(device)
        self.device, self.embed, self.faces, self.prep = device, embed, faces, prep

    def _rows(self, video: CachedVideo, rows: np.ndarray, flip: bool):
        import torch

        if self.embed is None:
            return torch.from_numpy(video.features[rows]).to(self.device)
        from deepfake_web.detection.tensors import to_tensor

        crops = self.faces.load(video.vid).faces[rows]
        if flip:
            crops = crops[:, :, ::-1]
        x = to_tensor(list(crops), self.prep).to(self.device)
        return self.embed(x.contiguous(memory_format=torch.channels_last))

    def __call__(self, videos, rows, flips=None):
        """Return ``x' (B, T, 2048)`` (zeros past each length) and the lengths."""
        import torch

        seqs = [
            self._rows(v, r, bool(flips[i]) if flips is not None else False)
            for i, (v, r) in enumerate(zip(videos, rows, strict=True))
        ]
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        x = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        x = (x - self.mean) * self.scale
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None].to(x.device)
        return x * mask[..., None], lengths


def _training_frames(train, cfg, backbone, faces, prep, dev) -> np.ndarray:
    """The frames the input map is fitted on: cached features, or embedded crops (≤ 4000)."""
    if not cfg.finetune:
        return np.concatenate([v.features for v in train])
    from .features import embed_batches

    crops = []
    for v in train:
        crops.extend(faces.load(v.vid).faces)
        if len(crops) >= 4000:
            break
    return embed_batches(backbone.module.to(dev).eval(), crops[:4000], prep, dev, 32)


def fit(
    train: list[CachedVideo],
    val: list[CachedVideo],
    cfg: TrainConfig,
    backbone=None,
    faces=None,
    prep=None,
    init_net=None,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Train a :class:`TemporalNet`'s head (and, with ``cfg.finetune``, its backbone).

    ``backbone`` is the :class:`~.backbone.Backbone` whose features were cached (its weights
    go into the returned network). Fine-tuning reads crops from ``faces`` with ``prep``.
    ``init_net`` (a loaded TemporalNet) starts from an earlier model: its head is trained
    further on raw features (no new input map) and its backbone is used.
    """
    import torch
    from torch import nn

    from deepfake_web.detection.checkpoints import resolve_device
    from deepfake_web.detection.network import TemporalHead, TemporalNet

    if not train:
        raise TrainingError("No training video with cached faces and features.")
    if not val:
        raise TrainingError(
            "No validation video with cached faces and features: early stopping and the "
            "checkpoint's metrics need a val split (index with --val > 0)."
        )
    labels = np.array([v.label for v in train])
    n_fake = int(labels.sum())
    n_real = len(labels) - n_fake
    if min(n_fake, n_real) == 0:
        raise TrainingError(f"The training split has {n_real} REAL and {n_fake} FAKE videos.")
    t_start = time.perf_counter()
    dev = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    arch = init_net.temporal.arch if init_net is not None else cfg.architecture()
    if init_net is not None:
        imap = input_map(np.zeros((2, 2048), np.float32), "none")
        head = copy.deepcopy(init_net.temporal)
    else:
        imap = input_map(_training_frames(train, cfg, backbone, faces, prep, dev), cfg.feature_norm)
        head = TemporalHead(arch)
        _init_input_weights(head)
    head.to(dev)
    module = backbone.module.to(dev) if backbone is not None else None
    params = [{"params": list(head.parameters()), "lr": cfg.lr}]
    embed = None
    if cfg.finetune:
        if module is None or faces is None or prep is None:
            raise TrainingError("Fine-tuning needs the backbone, the face cache and preprocessing.")
        for p in module.parameters():
            p.requires_grad_(True)
        params.append({"params": list(module.parameters()), "lr": cfg.backbone_lr})

        def embed(x):
            return torch.flatten(nn.functional.adaptive_avg_pool2d(module(x), 1), 1)

    trainable = [p for group in params for p in group["params"]]
    batcher = _Batcher(imap, dev, embed, faces, prep)
    optimiser = torch.optim.AdamW(params, weight_decay=cfg.weight_decay)
    weights = None
    if cfg.balance == "weight":  # class index 0 = FAKE, 1 = REAL
        weights = torch.tensor(
            [len(labels) / (2 * n_fake), len(labels) / (2 * n_real)], dtype=torch.float32
        ).to(dev)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    val_labels = np.array([v.label for v in val])
    val_rows = [scoring_rows(v, cfg.frames) for v in val]
    history: list[EpochLog] = []
    best = None
    bad_epochs = 0
    stopped = False

    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        head.train()
        if module is not None:
            module.eval()  # BatchNorm statistics stay frozen (fine-tuning still updates weights)
        if cfg.balance == "oversample":
            p = np.where(labels == 1, 0.5 / n_fake, 0.5 / n_real)
            order = rng.choice(len(train), size=len(train), replace=True, p=p / p.sum())
        else:
            order = rng.permutation(len(train))
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            vids = [train[i] for i in idx]
            rows = [training_rows(v, cfg.frames, rng) for v in vids]
            flips = rng.random(len(vids)) < 0.5 if cfg.finetune else None
            x, lengths = batcher(vids, rows, flips)
            _, logits = padded_forward(head, x, lengths)
            target = torch.from_numpy(1 - labels[idx]).to(dev)  # class 0 = FAKE, 1 = REAL
            loss = loss_fn(logits, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(trainable, 5.0)
            optimiser.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == target).sum())
        val_loss, val_acc, val_auc, scores = _validate(
            head, batcher, val, val_rows, val_labels, loss_fn, dev
        )
        entry = EpochLog(
            epoch,
            loss_sum / len(order),
            correct / len(order),
            val_loss,
            val_acc,
            val_auc,
            time.perf_counter() - t0,
        )
        history.append(entry)
        log.info(
            "epoch %d: loss %.4f acc %.3f | val loss %.4f acc %.3f auc %s",
            epoch,
            entry.train_loss,
            entry.train_accuracy,
            val_loss,
            val_acc,
            "n/a" if val_auc is None else f"{val_auc:.4f}",
        )
        if on_epoch:
            on_epoch(entry)
        key = (val_auc if val_auc is not None else val_acc, -val_loss)
        if best is None or key > best[0]:
            backbone_state = copy.deepcopy(module.state_dict()) if cfg.finetune else None
            best = (key, epoch, copy.deepcopy(head.state_dict()), backbone_state, entry, scores)
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= cfg.patience:
                stopped = True
                log.info("early stop: no better val AUC for %d epochs", cfg.patience)
                break

    _, best_epoch, head_state, backbone_state, best_entry, best_scores = best
    head.load_state_dict(head_state)
    head.cpu().eval()
    fold_input_map(head, imap)
    with torch.device("meta"):
        net = TemporalNet(arch)
    net.temporal = head
    if module is not None:
        if backbone_state is not None:
            module.load_state_dict(backbone_state)
        for p in module.parameters():
            p.requires_grad_(False)
        net.model = module.cpu().eval()
    elif init_net is not None:
        net.model = init_net.model.cpu().eval()
    net.eval()
    return TrainResult(
        net=net,
        history=history,
        best_epoch=best_epoch,
        val_accuracy=best_entry.val_accuracy,
        val_auc=best_entry.val_auc,
        val_loss=best_entry.val_loss,
        stopped_early=stopped,
        seconds=time.perf_counter() - t_start,
        val_scores=best_scores,
    )


def _validate(head, batcher, val, val_rows, val_labels, loss_fn, dev):
    import torch

    head.eval()
    probs, loss_sum = [], 0.0
    with torch.inference_mode():
        for start in range(0, len(val), 64):
            vids = val[start : start + 64]
            x, lengths = batcher(vids, val_rows[start : start + 64])
            _, logits = padded_forward(head, x, lengths)
            target = torch.from_numpy(1 - val_labels[start : start + 64]).to(dev)
            loss_sum += float(loss_fn(logits, target)) * len(vids)
            probs.extend(torch.softmax(logits, 1)[:, 0].cpu().tolist())
    p = np.array(probs)
    acc = float(((p >= 0.5).astype(int) == val_labels).mean())
    loss = loss_sum / len(val)
    if not math.isfinite(loss):
        raise TrainingError("The validation loss is not finite; lower --lr.")
    return loss, acc, _auc(val_labels, p), p.tolist()
