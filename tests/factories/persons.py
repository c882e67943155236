"""Engine results with several persons, made without the network (for the web, CLI and jobs tests).

The worker is given a detector that returns these results (``engine_returning``), so that the
web side of per-person scoring is tested apart from the engine that computes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepfake_web.detection.result import (
    AnalysisResult,
    CheckpointUsed,
    FrameScore,
    PersonBox,
    PersonScore,
    Preview,
    Timings,
    person_colour,
)

CHECKPOINT = "model_90_acc_20_frames_test_data.pt"  # the app fixture's checkpoint


def jpeg(colour: tuple[int, int, int], w: int = 64, h: int = 64) -> bytes:
    """A small JPEG of one colour (BGR)."""
    ok, buf = cv2.imencode(".jpg", np.full((h, w, 3), colour, np.uint8))
    assert ok
    return buf.tobytes()


def _person(pid: int, p_fake: float, verdict: str, frames: list[int], scores: list[float]):
    boxes = [
        PersonBox(index=i, box=[40 + 200 * (pid - 1), 30, 140 + 200 * (pid - 1), 150], p_fake=s)
        for i, s in zip(frames, scores, strict=True)
    ]
    return PersonScore(
        id=pid,
        frames_seen=len(frames),
        p_fake=p_fake,
        verdict=verdict,
        confidence=abs(p_fake - 0.5) * 2,
        boxes=boxes,
        thumbnail_jpeg=jpeg(person_colour(pid)),
    )


def persons_result(path: Path | str, people: int = 2, frames: int = 6) -> AnalysisResult:
    """A standard-mode result of ``frames`` sampled frames with ``people`` persons (1 or 2).

    Person 1 looks real (p_fake 0.2) in every frame; person 2, when there, looks fake (0.9) and
    is missing from the last frame. The video's numbers are those of the most suspicious one.
    """
    indices = [i * 10 for i in range(frames)]
    p1 = _person(1, 0.2, "REAL", indices, [0.15 + 0.02 * k for k in range(frames)])
    persons = [p1]
    if people > 1:
        p2 = _person(2, 0.9, "FAKE", indices[:-1], [0.85 + 0.02 * k for k in range(frames - 1)])
        persons.append(p2)
    top = persons[-1]
    by_index = {b.index: b for b in top.boxes}
    scores = [
        FrameScore(
            index=i,
            time_s=i / 25.0,
            p_fake=by_index[i].p_fake if i in by_index else None,
            faces=sum(any(b.index == i for b in p.boxes) for p in persons),
            box=by_index[i].box if i in by_index else None,
        )
        for i in indices
    ]
    previews = [
        Preview(
            index=s.index,
            time_s=s.time_s,
            frame_jpeg=jpeg((90, 90, 90), 320, 180),
            face_jpeg=jpeg(person_colour(top.id)) if s.box else None,
        )
        for s in scores
    ]
    used = [s for s in scores if s.p_fake is not None]
    return AnalysisResult(
        file=str(path),
        verdict=top.verdict,
        p_fake=top.p_fake,
        p_real=1 - top.p_fake,
        confidence=top.confidence,
        frames_requested=20,
        frames_sampled=frames,
        frames_used=len(used),
        frames_without_face=0,
        frame_scores=scores,
        checkpoint=CheckpointUsed(
            name=CHECKPOINT,
            sha256="0" * 64,
            format="published",
            sequence_length=20,
            requested_sequence_length=20,
        ),
        mode="standard",
        media={"kind": "video", "width": 640, "height": 360, "fps": 25.0, "frames": 60},
        timings=Timings(total_s=1.0),
        previews=previews,
        persons=persons,
    )


def engine_returning(result_for: Callable[[Path], AnalysisResult]):
    """A stand-in for ``worker.detector_for``: its detector returns ``result_for(path)``."""

    def detector_for(_app):
        def detect(path, **_kwargs):
            return result_for(path)

        return detect

    return detector_for
