"""From a probability to a verdict: threshold, uncertain band, confidence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """What an analysis concludes."""

    REAL = "REAL"
    FAKE = "FAKE"
    UNCERTAIN = "UNCERTAIN"
    NO_FACE = "NO_FACE"


@dataclass(frozen=True)
class DecisionRule:
    """FAKE when ``p_fake >= threshold``; UNCERTAIN within ``uncertain_margin`` of it."""

    threshold: float = 0.5
    uncertain_margin: float = 0.0

    def decide(self, p_fake: float) -> tuple[Verdict, float]:
        """Return the verdict for ``p_fake`` and the probability of the verdict's side."""
        side_fake = p_fake >= self.threshold
        confidence = p_fake if side_fake else 1.0 - p_fake
        if self.uncertain_margin > 0 and abs(p_fake - self.threshold) < self.uncertain_margin:
            return Verdict.UNCERTAIN, confidence
        return (Verdict.FAKE if side_fake else Verdict.REAL), confidence
