"""The detector: one object built from a checkpoint (or a models folder), called on a file.

Usage, in the manner of detectron2's ``DefaultPredictor``::

    detector = Detector.from_models_dir("models/")
    result = detector("clip.mp4", sequence_length=60)
    print(result.verdict, result.p_fake)

Input files are videos (mp4, mov, avi, mkv, webm) or images (jpg, png, webp; one frame).
Frames are read as BGR ``uint8`` ``(H, W, 3)``; the face crop of each frame is resized to the
checkpoint's size (112×112 for the published ones) and fed to the network as a
``(N, 3, S, S)`` float tensor in the checkpoint's channel order.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from .checkpoint_info import PUBLISHED, inspect_checkpoint
from .checkpoints import LoadedModel, load_cached
from .config import DEFAULT_SEQUENCE_LENGTH, DetectorConfig
from .decision import DecisionRule, Verdict
from .errors import CheckpointError, DetectionError
from .extract import FaceFrame, extract_faces
from .faces import prepare_detectors
from .media import check_limits, probe
from .models_folder import CheckpointChoice, ModelsFolder
from .modes import Mode
from .result import AnalysisResult, CheckpointUsed, FrameScore, Preview, Timings, library_versions
from .stages import ProgressCallback, Stage
from .tensors import to_tensor

log = logging.getLogger(__name__)


class Detector:
    """Deepfake detector for one video or image at a time (thread-safe for reading)."""

    def __init__(
        self,
        models: ModelsFolder | None = None,
        checkpoint: str | os.PathLike | None = None,
        config: DetectorConfig | None = None,
    ) -> None:
        """Use a fixed ``checkpoint`` file, or choose per request from the ``models`` folder."""
        if (models is None) == (checkpoint is None):
            raise ValueError("give exactly one of models or checkpoint")
        self.models = models
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.config = config or DetectorConfig()

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike,
        config: DetectorConfig | None = None,
        device: str | None = None,
    ) -> Detector:
        """A detector that always uses the checkpoint at ``path`` (loaded on first call).

        ``device``, when given, overrides ``config.device``.
        """
        if not Path(path).is_file():
            raise CheckpointError(f"Checkpoint not found: {path}")
        return cls(checkpoint=path, config=_with_device(config, device))

    @classmethod
    def from_models_dir(
        cls,
        models_dir: str | os.PathLike,
        config: DetectorConfig | None = None,
        device: str | None = None,
    ) -> Detector:
        """A detector that picks the best checkpoint of ``models_dir`` for each request.

        ``device``, when given, overrides ``config.device``.
        """
        return cls(models=ModelsFolder(models_dir), config=_with_device(config, device))

    def choose(self, sequence_length: int | None) -> CheckpointChoice:
        """Which checkpoint a request for ``sequence_length`` frames would use."""
        if self.models is not None:
            return self.models.choose(sequence_length)
        info = inspect_checkpoint(self.checkpoint)
        if not info.usable and info.format is None:
            raise CheckpointError(f"{info.name}: {info.problem}")
        note = None
        if sequence_length and info.sequence_length and sequence_length != info.sequence_length:
            note = (
                f"{info.name} was made for {info.sequence_length} frames; "
                f"{sequence_length} were analysed as requested."
            )
        return CheckpointChoice(info, sequence_length, note)

    def warm_up(self, sequence_length: int | None = None) -> LoadedModel:
        """Load the model for ``sequence_length`` and the face detectors ahead of the first call."""
        choice = self.choose(sequence_length)
        model = load_cached(choice.info.path, self.config.device, self.config.max_cached_models)
        prepare_detectors(self.config.faces.model, self.config.face_workers)
        return model

    def __call__(
        self,
        path: str | os.PathLike,
        sequence_length: int | None = None,
        mode: Mode | str = Mode.STANDARD,
        progress: ProgressCallback | None = None,
    ) -> AnalysisResult:
        """Analyse one file and return its :class:`AnalysisResult`.

        ``sequence_length`` is the number of frames to analyse (default: the checkpoint's
        own, else 60). ``mode="standard"`` samples frames evenly over the clip and scores the
        mean of per-frame logits; ``mode="reference"`` reproduces the original app's number
        (published checkpoints only). Raises :class:`~.errors.DetectionError` subclasses for
        unreadable or over-limit media and for checkpoint problems.
        """
        report = progress or (lambda stage, fraction: None)
        t_start = time.perf_counter()
        mode = Mode(mode)  # ValueError for an unknown mode
        info = probe(path)  # bad or over-limit media fail here, before any model is loaded
        check_limits(info, self.config.limits)
        report(Stage.LOADING_MODEL, 0.0)
        choice = self.choose(sequence_length)
        model = load_cached(choice.info.path, self.config.device, self.config.max_cached_models)
        prepare_detectors(self.config.faces.model, self.config.face_workers)  # ~0.5 s each, once
        n = sequence_length or choice.info.sequence_length or DEFAULT_SEQUENCE_LENGTH
        timings = Timings(load_s=time.perf_counter() - t_start)
        if mode is Mode.REFERENCE and model.info.format != PUBLISHED:
            raise DetectionError(
                "Reference mode reproduces the original ResNeXt-LSTM app and needs a "
                f"published-format checkpoint; {model.info.name} is a {model.info.format} one."
            )

        report(Stage.READING_VIDEO, 0.02)
        track = extract_faces(
            path,
            n,
            image_size=model.preprocessing.image_size,
            faces=replace(self.config.faces, margin=model.preprocessing.crop_margin),
            mode=mode,
            limits=self.config.limits,
            info=info,
            workers=self.config.face_workers,
            preview_max_side=self.config.preview_max_side,
            progress=lambda fraction: report(Stage.FINDING_FACES, 0.05 + 0.75 * fraction),
        )
        timings.decode_s, timings.faces_s = track.decode_s, track.faces_s
        notes = [n for n in (choice.note, track.note, *track.notes) if n]
        if self.config.precision == "bf16" and mode is Mode.STANDARD:
            notes.append("Computed in bfloat16 (standard mode option); reference mode is fp32.")
        # Reference mode scores every frame (the whole frame when it has no face).
        scored = track.frames if mode is Mode.REFERENCE else track.with_face
        frame_p: dict[int, float] = {}
        p_fake = None
        if scored:
            report(Stage.RUNNING_MODEL, 0.8)
            t0 = time.perf_counter()
            inputs = [f.face if f.face is not None else f.crops[0] for f in scored]
            frame_probs, p_fake = self._score(model, inputs, mode)
            frame_p = {f.index: p for f, p in zip(scored, frame_probs, strict=True)}
            timings.model_s = time.perf_counter() - t0

        faces_found = len(track.with_face)
        frames = track.frames
        rule = DecisionRule(model.info.threshold, model.info.uncertain_margin)
        reason = None
        if faces_found == 0:
            verdict, confidence = Verdict.NO_FACE, None
            reason = f"No face was found in any of the {len(frames)} analysed frames" + (
                "; reference mode scored the whole frames, as the original app did."
                if mode is Mode.REFERENCE
                else "; nothing was scored."
            )
            if mode is not Mode.REFERENCE:
                p_fake = None
        else:
            verdict, confidence = rule.decide(p_fake)

        result = AnalysisResult(
            file=str(path),
            verdict=str(verdict),
            p_fake=p_fake,
            p_real=None if p_fake is None else 1.0 - p_fake,
            confidence=confidence,
            frames_requested=n,
            frames_sampled=len(frames),
            frames_used=len(scored) if p_fake is not None else 0,
            frames_without_face=len(frames) - faces_found,
            frame_scores=[
                FrameScore(
                    index=f.index,
                    time_s=round(f.time_s, 4),
                    p_fake=frame_p.get(f.index),
                    faces=len(f.boxes),
                    box=f.box.to_list() if f.box else None,
                )
                for f in frames
            ],
            checkpoint=CheckpointUsed(
                name=model.info.name,
                sha256=model.sha256,
                format=model.info.format,
                sequence_length=model.info.sequence_length,
                requested_sequence_length=sequence_length,
                note=choice.note,
                accuracy=model.info.accuracy,
                demo=model.info.demo,
                warning=model.info.warning,
                threshold=rule.threshold,
                uncertain_margin=rule.uncertain_margin,
            ),
            mode=str(mode),
            media=track.info.to_dict(),
            timings=timings,
            reason=reason,
            notes=notes,
            versions=library_versions(),
            previews=self._previews(frames),
        )
        timings.total_s = time.perf_counter() - t_start
        report(Stage.DONE, 1.0)
        return result

    # -- stages ------------------------------------------------------------------------

    def _score(self, model: LoadedModel, inputs: list[np.ndarray], mode: Mode):
        """Run backbone and temporal head; return per-frame p_fake and the video's p_fake."""
        import torch

        fake = 0  # both formats put FAKE at index 0 (checked when saving own checkpoints)
        standard = mode is Mode.STANDARD
        bf16 = self.config.precision == "bf16" and standard
        # Standard mode feeds channels-last tensors (faster convolutions on CPU, same maths up
        # to float rounding); reference mode keeps the original contiguous layout and fp32.
        layout = torch.channels_last if standard else torch.contiguous_format
        feats = []
        with torch.inference_mode():
            for start in range(0, len(inputs), self.config.batch_size):
                x = to_tensor(inputs[start : start + self.config.batch_size], model.preprocessing)
                x = x.to(model.device).contiguous(memory_format=layout)
                with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bf16):
                    feats.append(model.net.embed(x).float())
            features = torch.cat(feats)
            pooling = "last" if mode is Mode.REFERENCE else None
            frame_logits, video_logits = model.net.score(features, pooling)
            frame_p = torch.softmax(frame_logits, dim=1)[:, fake].cpu().tolist()
            video_p = float(torch.softmax(video_logits, dim=0)[fake])
        return frame_p, video_p

    # -- previews ----------------------------------------------------------------------

    def _previews(self, frames: list[FaceFrame]) -> list[Preview]:
        """JPEGs of each frame (faces boxed, the followed one in green) and of its face crop."""
        params = [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        out = []
        for f in frames:
            img = f.preview.copy()
            for j, b in enumerate(f.boxes):
                colour = (80, 200, 80) if j == f.chosen else (160, 160, 160)
                p1 = (round(b.left * f.preview_scale), round(b.top * f.preview_scale))
                p2 = (round(b.right * f.preview_scale), round(b.bottom * f.preview_scale))
                cv2.rectangle(img, p1, p2, colour, 2 if j == f.chosen else 1)
            frame_jpeg = cv2.imencode(".jpg", img, params)[1].tobytes()
            face_jpeg = None
            if f.face is not None:
                face_jpeg = cv2.imencode(".jpg", f.face, params)[1].tobytes()
            out.append(Preview(f.index, round(f.time_s, 4), frame_jpeg, face_jpeg))
        return out


def _with_device(config: DetectorConfig | None, device: str | None) -> DetectorConfig:
    """``config`` (or the defaults) with ``device`` when one is given."""
    config = config or DetectorConfig()
    return config if device is None else replace(config, device=device)
