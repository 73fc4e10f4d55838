"""Enrolment stores: the faces of enrolled subjects, searched for duplicates.

One interface (``base.EnrolmentStore``), two implementations picked per stage
by the stage's engine:

- ``sqlite``: the offline engine's descriptors in SQLite (the local stage);
- ``rekognition``: the stage's Amazon Rekognition collection (cloud stages).

``store_for(settings)`` returns the stage's store. Each implementation is
imported only when its stage uses it: the cloud stages never load numpy or
sqlite3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.enrolment.base import EnrolmentStore, StoreOptions
from chalicelib.once import PerProcess

if TYPE_CHECKING:  # chalicelib.settings imports enrolment.base
    from chalicelib.settings import Settings

_local_stores: PerProcess[EnrolmentStore] = PerProcess()


def store_for(settings: Settings) -> EnrolmentStore:
    """The stage's store. The local one is opened (and its matrix loaded)
    once per process; one that cannot open raises ApiError (503) and is
    tried again on the next request."""
    if settings.engine == "local":
        return _local_store(settings.enrolment)
    from chalicelib import aws
    from chalicelib.enrolment.rekognition import RekognitionStore

    # Cheap to build: the client it wraps is the process's one (chalicelib.aws).
    return RekognitionStore(
        settings.enrolment,
        client=aws.client("rekognition"),
        index_client=aws.client("rekognition-index"),
    )


def _local_store(options: StoreOptions) -> EnrolmentStore:
    def build() -> EnrolmentStore:
        try:
            from chalicelib.engines import local as engine
            from chalicelib.enrolment.sqlite import SqliteStore
        except ImportError:
            raise errors.engine_unavailable() from None
        from chalicelib.core import crypto

        keys = crypto.local_keys(
            {
                "IPS_DATA_KEY": options.data_key,
                "IPS_DATA_KEYS_OLD": options.data_keys_old,
                "IPS_DATA_KEY_FILE": options.key_file,
            }
        )
        return SqliteStore(
            options.db_path,
            engine.MODEL_VERSION,
            engine.similarity_from_distance,
            engine.distance_from_similarity,
            sealer=crypto.Sealer(keys),
        )

    return _local_stores.get(options, build)
