"""The offline engine's calibration: descriptor distance <-> similarity
(0-100), the review band, the model version stored with every descriptor.
The measurements behind each constant are in docs/offline-engine.md."""

from __future__ import annotations

import math

# --- similarity -----------------------------------------------------------
# Similarity is a logistic function of the descriptor distance, 50 at
# DISTANCE_AT_50 (dlib's customary "same person" boundary) and 80 -- the
# default threshold -- at DISTANCE_AT_80, the security operating point.
DISTANCE_AT_50 = 0.60
DISTANCE_AT_80 = 0.50
SIMILARITY_SCALE = (DISTANCE_AT_50 - DISTANCE_AT_80) / math.log(4.0)
# The review band: distances from DISTANCE_AT_80 up to REVIEW_DISTANCE are
# ambiguous (decision "review" rather than "no match"). The core reads the
# band's lower edge, as a similarity, from the stage's IPS_REVIEW_FLOOR.
REVIEW_DISTANCE = 0.56


def similarity_from_distance(distance: float) -> float:
    """The one distance -> similarity (0-100) mapping; strictly decreasing."""
    z = (distance - DISTANCE_AT_50) / SIMILARITY_SCALE
    if z > 700:  # exp overflow; similarity is 0 to any precision
        return 0.0
    return 100.0 / (1.0 + math.exp(z))


def distance_from_similarity(similarity: float) -> float:
    """Inverse of similarity_from_distance (0 < similarity < 100)."""
    return DISTANCE_AT_50 + SIMILARITY_SCALE * math.log(100.0 / similarity - 1.0)


REVIEW_FLOOR = similarity_from_distance(REVIEW_DISTANCE)

# --- enrolment hooks (chalicelib/enrolment/, docs/enrolment.md) ---------------
# The enrolment store keeps descriptors tagged with MODEL_VERSION and never
# compares descriptors of another version. Change it whenever anything that
# moves a descriptor changes: the model files, the landmarks (and so the box
# they start from: YuNet's, made HOG-shaped, since issue 8), the chip size or
# padding, the decoding.
MODEL_VERSION = "dlib-resnet-v1/5pt-yunet-box/chip150-0.25"
