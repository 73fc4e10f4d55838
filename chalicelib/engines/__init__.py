"""Face engines: compare the document's face with the selfie's.

One interface (``base.FaceEngine``), two implementations picked per stage:

- ``rekognition``: Amazon Rekognition CompareFaces (cloud stages);
- ``local``: dlib's ResNet descriptor, offline (the local stage).

``engine_for(name, options)`` returns the stage's engine. Each implementation
is imported only when its stage uses it: the cloud stages never load numpy or
dlib, and the local stage needs no AWS credentials."""

from __future__ import annotations

from chalicelib import errors
from chalicelib.engines.base import EngineOptions, FaceEngine
from chalicelib.once import PerProcess

_local_engines: PerProcess[FaceEngine] = PerProcess()


def engine_for(name: str, options: EngineOptions) -> FaceEngine:
    if name == "local":
        return _local_engine(options)
    from chalicelib import aws
    from chalicelib.engines.rekognition import RekognitionEngine

    # Cheap to build: the client it wraps is the process's one (chalicelib.aws).
    return RekognitionEngine(options, client=aws.client("rekognition"))


def _local_engine(options: EngineOptions) -> FaceEngine:
    def build() -> FaceEngine:
        try:
            from chalicelib.engines.local import LocalEngine
        except ImportError:
            # A deployment without requirements-local.txt: say so, don't crash.
            raise errors.engine_unavailable() from None
        return LocalEngine(options)

    return _local_engines.get(options, build)
