"""Picks the stage's enrolment store, once per process and settings: SQLite
next to the offline engine (local stage), a Rekognition collection next to
Rekognition (cloud stages). Each store module is imported only when its stage
uses it: the cloud stages never load numpy."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Dict, Tuple

from chalicelib import errors
from chalicelib.enrolment.base import EnrolmentStore, StoreOptions

if TYPE_CHECKING:  # settings imports this package's base module
    from chalicelib.settings import Settings

_stores: Dict[Tuple[str, StoreOptions], EnrolmentStore] = {}
_lock = threading.Lock()


def _create(engine: str, options: StoreOptions) -> EnrolmentStore:
    if engine == "local":
        try:
            from chalicelib import local_engine
            from chalicelib.enrolment.sqlite import SqliteStore
        except ImportError:
            raise errors.ApiError(503, "ENGINE_UNAVAILABLE",
                                  "The offline face engine is not installed on this server."
                                  ) from None
        return SqliteStore(options.db_path, local_engine.MODEL_VERSION,
                           local_engine.similarity_from_distance,
                           local_engine.distance_from_similarity)
    from chalicelib.enrolment.rekognition import RekognitionStore

    return RekognitionStore(options)


def store_for(settings: "Settings") -> EnrolmentStore:
    """The store for the stage's engine. A store that cannot open raises
    ApiError (503) and is tried again on the next request."""
    engine, options = settings.engine, settings.enrolment
    key = (engine, options)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = _create(engine, options)
    return store
