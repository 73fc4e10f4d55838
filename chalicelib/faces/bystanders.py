"""Bystanders: a second face in a selfie that is much smaller than the main
one and clearly out of focus, or cut by the frame, is someone behind the
person presenting, not a second person presenting. The main face is
verified and every face is still reported (`faces_in_selfie`); two faces of
comparable size still refuse the selfie (MULTIPLE_FACES).

Calibrated on ../shared/faces by `python -m scripts.eval.calibrate_bystanders`
(docs/offline-engine.md, "Bystanders"):
- size: every second face of its group photos (couple, two_people,
  kit_with_rose, obama_and_biden, selfie-many-people) that is whole is at
  least 0.81 as wide as the main face (margin 0.11 over SMALL_RATIO 0.7), so
  each of those photos is still refused;
- focus: faces pasted out of focus (Gaussian radius 1/20 of their width)
  measure at most 0.04 x the main face's sharpness, whole sharp ones at
  least 0.21 (BLUR_RATIO 0.1: a factor 2.5 and 2.1 either side);
- cut: the detector boxes only the visible part, so a face the frame cuts
  reaches the edge; no whole face of the group photos does.
The rule only ever removes a face from the count: the face compared is the
main (largest) one either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A bystander is at most this wide, as a share of the main face's width.
SMALL_RATIO = 0.7
# ... and its sharpness is at most this share of the main face's ...
BLUR_RATIO = 0.1
# ... or its box reaches the frame: within this share of its width of an edge
# (the detector boxes only the visible part of a face the frame cuts).
CUT_MARGIN = 0.02


@dataclass(frozen=True)
class SeenFace:
    """What the rule needs of one detected face."""

    width: float  # box width, pixels
    sharpness: float  # the engine's blur measure of its aligned chip
    cut: bool  # the frame cuts it (cut_by_frame)


def cut_by_frame(
    left: float, top: float, right: float, bottom: float, width: int, height: int
) -> bool:
    """A face box that reaches an edge of a width x height photo."""
    margin = CUT_MARGIN * max(right - left, 1.0)
    return min(left, top, width - right, height - bottom) <= margin


def is_bystander(main: SeenFace, other: SeenFace) -> bool:
    """Much smaller than the main face, and out of focus or cut by the frame."""
    if other.width > SMALL_RATIO * main.width:
        return False
    blurred = other.sharpness <= BLUR_RATIO * main.sharpness
    return blurred or other.cut


def presenting(faces: Sequence[SeenFace]) -> list[int]:
    """Indices of the faces that count as people presenting: the first (the
    main face, largest) and every other that is not a bystander."""
    if not faces:
        return []
    main = faces[0]
    return [0] + [i for i, face in enumerate(faces[1:], 1) if not is_bystander(main, face)]
