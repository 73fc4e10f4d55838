"""SFace's alignment: YuNet's five points onto the ArcFace template."""

from __future__ import annotations

import numpy as np

SFACE_SIZE = 112
# Where SFace's alignment puts the five points in its 112x112 crop (the
# ArcFace template OpenCV's FaceRecognizerSF.alignCrop uses).
SFACE_TEMPLATE = (
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
)


def sface_crop(arr: np.ndarray, landmarks: tuple[float, ...]) -> np.ndarray:
    """The 112x112 crop SFace expects: the similarity transform (least squares,
    Umeyama) taking YuNet's five points onto SFACE_TEMPLATE."""
    import cv2

    src = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    dst = np.asarray(SFACE_TEMPLATE, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, sv, vt = np.linalg.svd(dst_c.T @ src_c / 5)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sv) @ d)) / float((src_c**2).sum() / 5)
    matrix = np.hstack([scale * rotation, (dst_mean - scale * rotation @ src_mean)[:, None]])
    crop: np.ndarray = cv2.warpAffine(arr, matrix, (SFACE_SIZE, SFACE_SIZE))
    return crop
