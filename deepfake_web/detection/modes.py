"""The analysis modes: how frames are sampled and how a video's score is formed."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """``standard`` (this project's method) or ``reference`` (the original app's number)."""

    STANDARD = "standard"
    REFERENCE = "reference"

    @property
    def description(self) -> str:
        """One line for menus and help texts."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Mode.STANDARD: "Standard: frames spread over the clip, mean of per-frame logits",
    Mode.REFERENCE: "Reference: the original app's exact number (first N frames, last-frame "
    "logits; published checkpoints)",
}
