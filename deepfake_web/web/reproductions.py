"""Reproductions: an analysis run again with the same checkpoint (by SHA-256) and settings,
in PyTorch fp32, and whether its score matches the original's.

They are queued by :func:`.analyses.reproduce`; this module finds them and compares.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from sqlalchemy import select

from deepfake_web.detection.runtimes import TORCH_FP32

from .extensions import db
from .models import Analysis, Status
from .visibility import visible_analyses

TOLERANCE = 1e-4
"""How close a reproduction's p(fake) must be to the original's (both fp32) to match."""

_RUNTIME_NOTE = re.compile(r"^Backbone computed with (\S+)")


def runtime_of(analysis: Analysis) -> str:
    """Which runtime computed the backbone of a finished analysis.

    Recorded in the result since runtimes were chosen per machine; for older results, the
    note the engine added when it was not PyTorch fp32, else PyTorch fp32.
    """
    result = analysis.result or {}
    if result.get("runtime"):
        return str(result["runtime"])
    for note in result.get("notes") or []:
        found = _RUNTIME_NOTE.match(note)
        if found:
            return found.group(1)
    return TORCH_FP32


def _short(x: float) -> str:
    """A small difference in few characters: ``3e-6``, ``0``."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


@dataclass(frozen=True)
class Comparison:
    """A finished reproduction next to its original."""

    original_id: str
    reproduction_id: str
    original_p_fake: float | None
    reproduced_p_fake: float | None
    original_verdict: str | None
    reproduced_verdict: str | None
    abs_diff: float | None
    frames_max_abs_diff: float | None  # the largest difference of one frame's score
    tolerance: float
    matches: bool
    checkpoint_name: str | None
    checkpoint_sha256: str | None
    original_runtime: str
    reproduction_runtime: str

    @property
    def sentence(self) -> str:
        """E.g. ``Reproduced: p(fake) 0.8312 vs 0.8312 (|Δ| = 3e-6, matches to 1e-4)``."""
        tol = _short(self.tolerance)
        a, b = self.original_p_fake, self.reproduced_p_fake
        if a is None or b is None:
            if self.matches:
                return f"Reproduced: {self.reproduced_verdict} again (no score in either run)"
            return (
                f"Does not match: the original said {self.original_verdict} "
                f"({'no score' if a is None else f'p(fake) {a:.4f}'}), the reproduction "
                f"{self.reproduced_verdict} ({'no score' if b is None else f'p(fake) {b:.4f}'})"
            )
        diff = _short(self.abs_diff or 0.0)
        if self.matches:
            return f"Reproduced: p(fake) {a:.4f} vs {b:.4f} (|Δ| = {diff}, matches to {tol})"
        verdicts = (
            f"; verdict {self.original_verdict} vs {self.reproduced_verdict}"
            if self.original_verdict != self.reproduced_verdict
            else ""
        )
        return (
            f"Does not match: p(fake) {a:.6f} (original) vs {b:.6f} (reproduction) "
            f"(|Δ| = {diff}, more than {tol}{verdicts})"
        )

    def to_dict(self) -> dict:
        """The JSON form, with the sentence."""
        return asdict(self) | {"sentence": self.sentence}


def compare(original: Analysis, reproduction: Analysis) -> Comparison | None:
    """The comparison of a finished reproduction with its original (None until it is done)."""
    if reproduction.status != Status.DONE or original.status != Status.DONE:
        return None
    a, b = original.p_fake, reproduction.p_fake
    diff = abs(a - b) if a is not None and b is not None else None
    if diff is not None:
        matches = math.isfinite(diff) and diff <= TOLERANCE
    else:
        matches = a is None and b is None and original.verdict == reproduction.verdict
    return Comparison(
        original_id=original.id,
        reproduction_id=reproduction.id,
        original_p_fake=a,
        reproduced_p_fake=b,
        original_verdict=original.verdict,
        reproduced_verdict=reproduction.verdict,
        abs_diff=diff,
        frames_max_abs_diff=_frames_diff(original, reproduction),
        tolerance=TOLERANCE,
        matches=matches,
        checkpoint_name=reproduction.checkpoint_name,
        checkpoint_sha256=reproduction.checkpoint_sha256,
        original_runtime=runtime_of(original),
        reproduction_runtime=runtime_of(reproduction),
    )


def _frames_diff(original: Analysis, reproduction: Analysis) -> float | None:
    """The largest |Δ| between the two runs' per-frame scores (None when none compare)."""
    before = {s["index"]: s.get("p_fake") for s in original.frame_scores or []}
    diffs = [
        abs(s["p_fake"] - before[s["index"]])
        for s in reproduction.frame_scores or []
        if s.get("p_fake") is not None and before.get(s["index"]) is not None
    ]
    return max(diffs) if diffs else None


def original_of(reproduction: Analysis) -> Analysis | None:
    """The analysis a reproduction re-ran, if it still exists and the current user may see it."""
    if not reproduction.reproduces:
        return None
    stmt = visible_analyses().where(Analysis.id == reproduction.reproduces)
    return db.session.scalars(stmt).first()


def reproductions_of(original: Analysis) -> list[Analysis]:
    """The reproductions of an analysis the current user may see, newest first."""
    stmt = visible_analyses(select(Analysis)).where(Analysis.reproduces == original.id)
    return list(db.session.scalars(stmt.order_by(Analysis.created_at.desc())))


def record(reproduction: Analysis) -> dict:
    """What the report of a reproduction says about what it reproduces."""
    original = original_of(reproduction)
    out: dict = {"analysis_id": reproduction.reproduces, "available": original is not None}
    if original is not None:
        comparison = compare(original, reproduction)
        out["comparison"] = comparison.to_dict() if comparison else None
    return out
