"""Picks the stage's face engine, once per process. Each engine module is
imported only when its stage uses it: the cloud stages never load numpy or
dlib, and the local stage needs no AWS credentials."""
from __future__ import annotations

import threading
from typing import Dict, Tuple

from chalicelib.engine import EngineOptions, FaceEngine
from chalicelib.errors import ApiError

_engines: Dict[Tuple[str, EngineOptions], FaceEngine] = {}
_lock = threading.Lock()


def _create(name: str, options: EngineOptions) -> FaceEngine:
    if name == "local":
        try:
            from chalicelib.local_engine import LocalEngine
        except ImportError:
            # A deployment without requirements-local.txt: say so, don't crash.
            raise ApiError(503, "ENGINE_UNAVAILABLE",
                           "The offline face engine is not installed on this server.") from None
        return LocalEngine(options)
    from chalicelib.rekognition_engine import RekognitionEngine
    return RekognitionEngine(options)


def engine_for(name: str, options: EngineOptions) -> FaceEngine:
    key = (name, options)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                engine = _engines[key] = _create(name, options)
    return engine
