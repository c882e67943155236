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
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from .backbones import Backbone, backbone_for
from .checkpoint_info import PUBLISHED, inspect_checkpoint
from .checkpoints import LoadedModel, load_cached, resolve_device
from .config import DEFAULT_SEQUENCE_LENGTH, DetectorConfig
from .decision import DecisionRule, Verdict
from .errors import CheckpointError, DetectionError
from .extract import FaceFrame, FaceTrack, extract_faces
from .faces import prepare_detectors
from .media import check_limits, probe
from .models_folder import CheckpointChoice, ModelsFolder
from .modes import Mode
from .result import (
    AnalysisResult,
    CheckpointUsed,
    FrameScore,
    PersonBox,
    PersonScore,
    Preview,
    Timings,
    library_versions,
    person_colour,
)
from .runtime_choice import chooser
from .runtimes import TORCH_FP32, Choice
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
        self.embedder = None  # a SharedEmbedder when concurrent analyses share the backbone
        self._runtime: Choice | None = None
        self._runtime_lock = threading.Lock()

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

    def runtime(self) -> Choice:
        """The backbone's runtime for standard mode on this machine, and why (resolved once)."""
        with self._runtime_lock:
            if self._runtime is None:
                device = resolve_device(self.config.device).type
                self._runtime = chooser().resolve(self.config.precision, device)
            return self._runtime

    def warm_up(self, sequence_length: int | None = None) -> LoadedModel:
        """Load the model for ``sequence_length``, its runtime and the face detectors, and run
        the backbone once, ahead of the first call."""
        choice = self.choose(sequence_length)
        model, backbone = self._prepare(choice)
        prepare_detectors(self.config.faces.model, self.config.face_workers)
        size = model.preprocessing.image_size
        import torch

        backbone(torch.zeros(2, 3, size, size))
        return model

    def _prepare(self, choice: CheckpointChoice) -> tuple[LoadedModel, Backbone]:
        """Load ``choice``'s network (once per process) and build its standard-mode runtime."""
        model = load_cached(choice.info.path, self.config.device, self.config.max_cached_models)
        runtime = self.runtime()
        try:
            return model, backbone_for(model, runtime.runtime)
        except Exception as exc:
            if runtime.runtime == TORCH_FP32:
                raise
            log.exception("%s failed to build; using torch-fp32 instead", runtime.runtime)
            with self._runtime_lock:
                self._runtime = replace(
                    runtime, runtime=TORCH_FP32, reason=f"{runtime.runtime} failed: {exc}"
                )
            return model, backbone_for(model, TORCH_FP32)

    def _prepare_in_background(self, choice: CheckpointChoice, mode: Mode) -> Future:
        """Start loading the model (and, in standard mode, its runtime) on another thread."""
        done: Future = Future()

        def work() -> None:
            try:
                if mode is Mode.STANDARD:
                    done.set_result(self._prepare(choice))
                else:
                    model = load_cached(
                        choice.info.path, self.config.device, self.config.max_cached_models
                    )
                    done.set_result((model, None))
            except BaseException as exc:
                done.set_exception(exc)

        threading.Thread(target=work, name="prepare-model", daemon=True).start()
        return done

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
        if mode is Mode.REFERENCE and choice.info.format != PUBLISHED:
            raise DetectionError(
                "Reference mode reproduces the original ResNeXt-LSTM app and needs a "
                f"published-format checkpoint; {choice.info.name} is a {choice.info.format} one."
            )
        # The network and its runtime load while the video is read and faces are searched.
        pending = self._prepare_in_background(choice, mode)
        prepare_detectors(self.config.faces.model, self.config.face_workers)  # ~0.5 s each, once
        n = sequence_length or choice.info.sequence_length or DEFAULT_SEQUENCE_LENGTH
        timings = Timings(load_s=time.perf_counter() - t_start)
        prep = choice.info.preprocessing

        report(Stage.READING_VIDEO, 0.02)
        track = extract_faces(
            path,
            n,
            image_size=prep.image_size,
            faces=replace(self.config.faces, margin=prep.crop_margin),
            mode=mode,
            limits=self.config.limits,
            info=info,
            workers=self.config.face_workers,
            preview_max_side=self.config.preview_max_side,
            progress=lambda fraction: report(Stage.FINDING_FACES, 0.05 + 0.75 * fraction),
        )
        timings.decode_s, timings.faces_s = track.decode_s, track.faces_s
        t_wait = time.perf_counter()
        model, backbone = pending.result()
        timings.load_s += time.perf_counter() - t_wait  # what loading added after the faces
        runtime = self.runtime().runtime if mode is Mode.STANDARD else TORCH_FP32
        notes = [n for n in (choice.note, track.note, *track.notes) if n]
        if runtime != TORCH_FP32:
            notes.append(
                f"Backbone computed with {runtime} (the runtime chosen for this machine; "
                "`deepfake-web doctor` says why); reference mode is PyTorch fp32."
            )
        rule = DecisionRule(model.info.threshold, model.info.uncertain_margin)
        frame_p: dict[int, float] = {}
        p_fake = None
        persons: list[PersonScore] = []
        if mode is Mode.REFERENCE:
            # Reference mode scores every frame (the whole frame when it has no face).
            scored = track.frames
            report(Stage.RUNNING_MODEL, 0.8)
            t0 = time.perf_counter()
            inputs = [f.face if f.face is not None else f.crops[0] for f in scored]
            feats = self._embed(model, backbone, inputs, mode)
            frame_probs, p_fake = self._head(model, feats, mode)
            frame_p = {f.index: p for f, p in zip(scored, frame_probs, strict=True)}
            timings.model_s = time.perf_counter() - t0
            faces_found = len(track.with_face)
            frames_used = len(scored)
        elif track.persons:
            report(Stage.RUNNING_MODEL, 0.8)
            t0 = time.perf_counter()
            persons = self._score_persons(model, backbone, track, rule)
            timings.model_s = time.perf_counter() - t0
            primary = max(persons, key=lambda p: (p.p_fake, p.frames_seen, -p.id))
            p_fake = primary.p_fake
            frame_p = {b.index: b.p_fake for b in primary.boxes}
            for f in track.frames:
                f.chosen = f.face_of(primary.id)
            faces_found = sum(1 for f in track.frames if any(p is not None for p in f.persons))
            frames_used = primary.frames_seen
            if len(persons) > 1:
                notes.append(
                    f"{len(persons)} people were scored one by one; the verdict is that of the "
                    f"most suspicious one (person {primary.id}), and the per-frame scores follow "
                    "that person."
                )
        else:
            faces_found = frames_used = 0

        frames = track.frames
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
            frames_used=frames_used if p_fake is not None else 0,
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
            persons=persons,
            runtime=runtime,
        )
        timings.total_s = time.perf_counter() - t_start
        report(Stage.DONE, 1.0)
        return result

    # -- stages ------------------------------------------------------------------------

    def _embed(
        self, model: LoadedModel, backbone: Backbone | None, inputs: list[np.ndarray], mode: Mode
    ):
        """Backbone features ``(N, F)`` of BGR face crops, in batches.

        Standard mode uses the runtime chosen for this machine (``backbone``; through the
        shared embedder when concurrent analyses share it); reference mode keeps the original
        contiguous layout in PyTorch fp32.
        """
        import torch

        feats = []
        with torch.inference_mode():
            for start in range(0, len(inputs), self.config.batch_size):
                x = to_tensor(inputs[start : start + self.config.batch_size], model.preprocessing)
                if mode is Mode.REFERENCE or backbone is None:
                    feats.append(model.net.embed(x.to(model.device)).float())
                elif self.embedder is not None:
                    feats.append(self.embedder.embed(backbone, x).to(model.device))
                else:
                    feats.append(backbone(x).to(model.device))
            return torch.cat(feats)

    def _head(self, model: LoadedModel, features, mode: Mode) -> tuple[list[float], float]:
        """The temporal head on one sequence of features: per-frame p_fake and the sequence's."""
        import torch

        fake = 0  # both formats put FAKE at index 0 (checked when saving own checkpoints)
        with torch.inference_mode():
            pooling = "last" if mode is Mode.REFERENCE else None
            frame_logits, video_logits = model.net.score(features, pooling)
            frame_p = torch.softmax(frame_logits, dim=1)[:, fake].cpu().tolist()
            video_p = float(torch.softmax(video_logits, dim=0)[fake])
        return frame_p, video_p

    def _score_persons(
        self, model: LoadedModel, backbone: Backbone, track: FaceTrack, rule: DecisionRule
    ) -> list[PersonScore]:
        """Score each person on their own crops (one backbone pass over everyone's crops)."""
        faces = {p: track.person_faces(p) for p in track.persons}
        inputs = [f.crops[i] for p in track.persons for f, i in faces[p]]
        features = self._embed(model, backbone, inputs, Mode.STANDARD)
        scores, start = [], 0
        for p in track.persons:
            seen = faces[p]
            frame_probs, p_fake = self._head(
                model, features[start : start + len(seen)], Mode.STANDARD
            )
            start += len(seen)
            verdict, confidence = rule.decide(p_fake)
            scores.append(
                PersonScore(
                    id=p,
                    frames_seen=len(seen),
                    p_fake=p_fake,
                    verdict=str(verdict),
                    confidence=confidence,
                    boxes=[
                        PersonBox(f.index, f.boxes[i].to_list(), fp)
                        for (f, i), fp in zip(seen, frame_probs, strict=True)
                    ],
                    thumbnail_jpeg=self._thumbnail(p, seen),
                )
            )
        return scores

    # -- previews ----------------------------------------------------------------------

    def _jpeg(self, image: np.ndarray) -> bytes:
        """``image`` (BGR) as JPEG bytes at the configured quality."""
        params = [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        return cv2.imencode(".jpg", image, params)[1].tobytes()

    def _thumbnail(self, person: int, seen: list[tuple[FaceFrame, int]]) -> bytes | None:
        """The person's largest face with some context, framed in their colour."""
        if not seen:
            return None
        f, i = max(seen, key=lambda fi: fi[0].boxes[fi[1]].area)
        patch = f.patches[i].copy() if f.patches else f.crops[i].copy()
        h, w = patch.shape[:2]
        cv2.rectangle(patch, (0, 0), (w - 1, h - 1), person_colour(person), 6)
        return self._jpeg(patch)

    def _previews(self, frames: list[FaceFrame]) -> list[Preview]:
        """JPEGs of each frame (each person's face boxed in their colour and numbered, other
        faces in thin grey) and of the followed person's face crop."""
        out = []
        for f in frames:
            img = f.preview.copy()
            for j, b in enumerate(f.boxes):
                person = f.persons[j] if j < len(f.persons) else (1 if j == f.chosen else None)
                p1 = (round(b.left * f.preview_scale), round(b.top * f.preview_scale))
                p2 = (round(b.right * f.preview_scale), round(b.bottom * f.preview_scale))
                if person is None:
                    cv2.rectangle(img, p1, p2, (160, 160, 160), 1)
                    continue
                colour = person_colour(person)
                cv2.rectangle(img, p1, p2, colour, 2)
                label = (p1[0], max(12, p1[1] - 4))
                cv2.putText(img, str(person), label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 2)
            face = f.face
            if face is None:
                face = next((f.crops[j] for j, p in enumerate(f.persons) if p is not None), None)
            face_jpeg = self._jpeg(face) if face is not None else None
            out.append(Preview(f.index, round(f.time_s, 4), self._jpeg(img), face_jpeg))
        return out


def _with_device(config: DetectorConfig | None, device: str | None) -> DetectorConfig:
    """``config`` (or the defaults) with ``device`` when one is given."""
    config = config or DetectorConfig()
    return config if device is None else replace(config, device=device)
