"""The offline face engine: OpenCV's YuNet face detector, then dlib's 5-point
landmarks and ResNet face descriptor, run inside the service (no cloud call).

How one verification runs (docs/offline-engine.md has the reasoning and the
measurements behind every constant below):

1. Each image is decoded by Pillow once (large JPEGs with DCT scaling to no
   less than DECODE_MIN_SIDE pixels on the long side), EXIF orientation
   applied, converted to RGB.
2. Faces are found by YuNet on a copy scaled to at most DETECT_SIDE; its box
   is turned into the box dlib's HOG detector would draw, because dlib's
   landmark model was trained on those. Only when YuNet finds nothing does
   the HOG detector search (the engine's detector before issue 8).
3. The document's largest face is used; other faces on a document (the faded
   "ghost" copy of the portrait, spurious detections) are ignored. A selfie
   face counts as another person when it is at least MULTI_FACE_RATIO as wide
   as the largest one and the detector is sure of it.
4. Landmarks and the 150x150 aligned face chip come from the decoded image at
   full detail; the chip gives a sharpness score (blur gate) and the 128-d
   descriptor.
5. similarity = 100 / (1 + exp((distance - 0.60) / SCALE)), a logistic curve
   with 50 at dlib's usual 0.60 boundary and 80 at DISTANCE_AT_80, the
   security operating point.
6. Second opinion: when that distance is ambiguous (SECOND_LOOK band), SFace
   (OpenCV Zoo) describes both faces too, and the two scores are fused.

dlib objects are not safe to share between threads (a shared model computes
silently wrong descriptors), and loading them per request costs ~100 ms. So
all model work runs on a small pool of long-lived worker threads owned by
this module, each with its own models (threading.local), loaded on first use.
The document and the selfie are analysed on two workers at once: the
detectors release the GIL, so their detections overlap.

dlib and OpenCV are imported when a worker loads its models: importing this
module loads neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage

from chalicelib.config.settings import EngineOptions
from chalicelib.core import errors
from chalicelib.faces.base import Comparison, Embedding, Face
from chalicelib.faces.local.align import sface_crop
from chalicelib.faces.local.calibration import MODEL_VERSION, similarity_from_distance
from chalicelib.faces.local.describe import (
    DEFAULT_MIN_SHARPNESS,
    FaceResult,
    api_face,
    chip,
    decode,
    descriptor,
    sharpness,
)
from chalicelib.faces.local.detect import MAX_SELFIE_CANDIDATES, Detection, find_faces, select_faces
from chalicelib.faces.local.fuse import second_look
from chalicelib.faces.local.runtime import Models, executor, models, raise_first_error, results
from chalicelib.imaging.checks import DECODE_ERRORS
from chalicelib.imaging.image import Image


@dataclass(frozen=True)
class Analysis:
    faces: list[FaceResult]  # compared faces, largest first (documents: one)
    counted: int  # faces counted (selfie multi-face rule)


# --- analysis of one image, step by step ------------------------------------------


def _decoded(image: Image) -> tuple[PILImage.Image, int]:
    try:
        return decode(image.data)
    except (*DECODE_ERRORS, PILImage.DecompressionBombError):
        # A valid header over truncated or corrupt data fails only here, at the
        # full decode: 400 INVALID_IMAGE, as Rekognition answers.
        raise errors.invalid_image(image.field) from None


def _candidates(
    models: Models,
    img: PILImage.Image,
    counted: list[Detection],
    role: str,
    options: EngineOptions,
) -> list[Detection]:
    """The faces to describe: the document's largest; the selfie's largest, or
    (allow_multiple_faces) up to MAX_SELFIE_CANDIDATES; MULTIPLE_FACES otherwise,
    unless every other face is a bystander (chalicelib/faces/bystanders.py)."""
    if role != "selfie":
        return counted[:1]
    if options.allow_multiple_faces:
        return counted[:MAX_SELFIE_CANDIDATES]
    if len(counted) > 1 and len(_presenting(models, img, counted)) > 1:
        raise errors.too_many_faces(len(counted))
    return counted[:1]


def _presenting(models: Models, img: PILImage.Image, counted: list[Detection]) -> list[int]:
    """Which counted faces are people presenting (the main face and every
    face that is not a bystander)."""
    from chalicelib.faces.bystanders import SeenFace, cut_by_frame, presenting

    arr = np.asarray(img)
    seen = [
        SeenFace(
            d.width,
            sharpness(chip(models, arr, d)),
            cut_by_frame(d.left, d.top, d.right, d.bottom, img.width, img.height),
        )
        for d in counted
    ]
    return presenting(seen)


def _described(
    models: Models,
    arr: np.ndarray,
    det: Detection,
    factor: int,
    image_size: tuple[int, int],
    min_face_px: float,
    min_sharpness: float,
) -> tuple[FaceResult | None, str | None]:
    """(the described face, None) or (None, the gate it failed)."""
    size_px = max(det.width, det.height) * factor
    if size_px < min_face_px:
        return None, "small"
    aligned = chip(models, arr, det)
    sharp = sharpness(aligned)
    if sharp < min_sharpness:
        return None, "blurry"
    described = descriptor(models, aligned)
    crop = None if det.landmarks is None else sface_crop(arr, det.landmarks)
    return FaceResult(api_face(det, *image_size), size_px, sharp, described, crop), None


def analyse(image: Image, role: str, options: EngineOptions, detector: str = "yunet") -> Analysis:
    """Decode, detect, check quality and describe the face(s) of one image.
    role: "document" or "selfie". Raises ApiError for unusable images."""
    worker_models = models()
    img, factor = _decoded(image)
    counted = select_faces(find_faces(worker_models, img, role, detector))
    if not counted:
        raise errors.no_face(image.field)
    candidates = _candidates(worker_models, img, counted, role, options)
    min_sharpness = (
        DEFAULT_MIN_SHARPNESS if options.min_sharpness is None else options.min_sharpness
    )
    arr = np.asarray(img)
    results: list[FaceResult] = []
    for i, det in enumerate(candidates):
        face, failed = _described(
            worker_models, arr, det, factor, img.size, options.min_face_px, min_sharpness
        )
        if face is not None:
            results.append(face)
        elif i == 0:  # the largest face decides; smaller candidates are skipped
            if failed == "small":
                raise errors.face_too_small(image.field)
            raise errors.face_too_blurry(image.field)
    return Analysis(results, len(counted) if role == "selfie" else 1)


_GATES_OFF = EngineOptions(min_face_px=0, min_sharpness=0.0)


def measure(image: Image, role: str) -> FaceResult:
    """The compared face of one image with both quality gates off (for the
    degradation sweep, which applies the gates afterwards). Runs on the pool."""
    return executor().submit(analyse, image, role, _GATES_OFF).result().faces[0]


def face_box(image: Image) -> tuple[float, float, float, float]:
    """The document face's box (left, top, right, bottom) in the image's
    pixels, as the engine finds it (for scripts that build test images)."""
    face = measure(image, "document").face
    return (
        face.left * image.width,
        face.top * image.height,
        (face.left + face.width) * image.width,
        (face.top + face.height) * image.height,
    )


# --- the engine ------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """How the engine works; the default is the service's. The benchmark also
    runs BEFORE_ISSUE_8 (HOG detector, no second look) in the same run."""

    detector: str = "yunet"  # "yunet" (HOG as fallback) or "hog"
    second_look: bool = True


BEFORE_ISSUE_8 = Pipeline(detector="hog", second_look=False)


class LocalEngine:
    """The offline engine (see the module docstring)."""

    name = "local"

    def __init__(self, options: EngineOptions, pipeline: Pipeline | None = None) -> None:
        self.options = options
        self.pipeline = pipeline or Pipeline()

    def embed(self, selfie: Image) -> Embedding:
        _, vector = describe(self, selfie)
        return Embedding(MODEL_VERSION, vector)

    def compare(self, document: Image, selfie: Image) -> Comparison:
        pool = executor()
        detector = self.pipeline.detector
        outcomes = results(
            [
                pool.submit(analyse, document, "document", self.options, detector),
                pool.submit(analyse, selfie, "selfie", self.options, detector),
            ]
        )
        # Both waited for, then the document's problem first: the error
        # returned never depends on which worker finished first.
        raise_first_error(outcomes)
        doc, sel = outcomes
        distance, face = _closest(doc.faces[0], sel.faces)
        if self.pipeline.second_look:
            distance = second_look(distance, doc.faces[0], face)
        return Comparison(
            similarity=similarity_from_distance(distance),
            document_face=doc.faces[0].face,
            selfie_face=face.face,
            faces_in_selfie=sel.counted,
            selfie_embedding=Embedding(MODEL_VERSION, _as_tuple(face.descriptor)),
        )


def _closest(doc: FaceResult, candidates: Sequence[FaceResult]) -> tuple[float, FaceResult]:
    """The selfie face closest to the document's, and its distance."""
    scored = [(float(np.linalg.norm(doc.descriptor - c.descriptor)), c) for c in candidates]
    return min(scored, key=lambda pair: pair[0])


def _as_tuple(descriptor: np.ndarray) -> tuple[float, ...]:
    return tuple(float(x) for x in descriptor)


def describe(engine: LocalEngine, selfie: Image) -> tuple[Face, tuple[float, ...]]:
    """The selfie's face and its 128-d descriptor (POST /search), with the
    same detection and quality rules as a verification's selfie."""
    outcome = results(
        [executor().submit(analyse, selfie, "selfie", engine.options, engine.pipeline.detector)]
    )[0]
    raise_first_error([outcome])
    face: FaceResult = outcome.faces[0]
    return face.face, _as_tuple(face.descriptor)
