"""The second opinion: SFace describes both faces when dlib's distance is
ambiguous, and the two scores are fused into one dlib-equivalent distance."""

from __future__ import annotations

import numpy as np

from chalicelib.faces.local.align import SFACE_SIZE
from chalicelib.faces.local.calibration import DISTANCE_AT_80
from chalicelib.faces.local.describe import FaceResult
from chalicelib.faces.local.runtime import executor, models, raise_first_error, results

# Fusion, for a first distance in the SECOND_LOOK band only: both scores as
# standard scores of their impostor distributions on the labelled set (1,060
# impostor pairs; scripts/hard_pairs.py measures them), averaged with equal
# weights and turned back into a dlib-equivalent distance, so the same
# similarity curve, threshold and review floor apply. The average is not
# rescaled: its impostors spread only 0.75 as wide as either score's, so the
# threshold sits further out in their tail than dlib's alone (a lower FMR).
DLIB_IMPOSTOR_MEAN = 0.8761
DLIB_IMPOSTOR_STD = 0.0883
SFACE_IMPOSTOR_MEAN = 0.1240
SFACE_IMPOSTOR_STD = 0.0854

# Second look: a first distance in (SECOND_LOOK_FROM, SECOND_LOOK_TO] is
# decided by fusing it with SFace's opinion of the same two faces (see the
# SFace constants). Clear matches and clear non-matches never pay for it.
SECOND_LOOK_FROM = DISTANCE_AT_80
SECOND_LOOK_TO = 0.62


def sface_feature(crop: np.ndarray) -> np.ndarray:
    import cv2

    net = models().sface
    net.setInput(cv2.dnn.blobFromImage(crop, 1.0, (SFACE_SIZE, SFACE_SIZE), (0, 0, 0)))
    feature: np.ndarray = net.forward().flatten()
    return feature / float(np.linalg.norm(feature))


def fused_distance(distance: float, cosine: float) -> float:
    """dlib's distance and SFace's cosine similarity as one dlib-equivalent
    distance (see the SFace constants)."""
    z_dlib = (DLIB_IMPOSTOR_MEAN - distance) / DLIB_IMPOSTOR_STD
    z_sface = (cosine - SFACE_IMPOSTOR_MEAN) / SFACE_IMPOSTOR_STD
    return DLIB_IMPOSTOR_MEAN - DLIB_IMPOSTOR_STD * (z_dlib + z_sface) / 2


def second_look(distance: float, doc: FaceResult, selfie: FaceResult) -> float:
    """The distance that decides: the first one, or, when it falls in the
    SECOND_LOOK band, that one fused with SFace's opinion of the two faces
    (both SFace passes at once, on two workers: OpenCV releases the GIL)."""
    if not SECOND_LOOK_FROM < distance <= SECOND_LOOK_TO:
        return distance
    if doc.sface_crop is None or selfie.sface_crop is None:
        return distance  # a HOG detection: no landmarks for SFace's alignment
    pool = executor()
    outcomes = results(
        [
            pool.submit(sface_feature, doc.sface_crop),
            pool.submit(sface_feature, selfie.sface_crop),
        ]
    )
    raise_first_error(outcomes)
    return fused_distance(distance, float(np.dot(outcomes[0], outcomes[1])))
