"""The composition root: Settings -> Services. The only module that knows
which adapter a stage uses (it alone branches on `settings.engine`).

    services = backends.services()       # the current settings' Services
    services.faces().compare(document, selfie)
    services.reader().read(image, services.today())
    services.store().search(probe, threshold, limit)

Offline adapters (models, OCR sessions, the SQLite matrix) are built once per
process, per options; cloud ones are cheap wrappers around the process's
boto3 client (chalicelib.aws.clients), built per use so a stubbed client is
always seen. Each implementation is imported only when its stage uses it:
the cloud stages never load numpy, dlib, onnxruntime or rapidocr.

Tests and benchmarks pass fakes in instead of patching modules:

    with backends.override(Root(lambda: settings, lambda s: Services(s, reader=fake))):
        ...
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from chalicelib.config.settings import EngineOptions, Settings, StoreOptions, load_settings
from chalicelib.core import crypto, errors
from chalicelib.core.once import PerProcess
from chalicelib.documents.base import DocumentReader
from chalicelib.enrolment.base import EnrolmentStore
from chalicelib.faces.base import FaceEngine
from chalicelib.idempotency.base import IdempotencyStore, Sealer
from chalicelib.tenants.registry import Registry
from chalicelib.tenants.sources import TenantOptions

_local_engines: PerProcess[FaceEngine] = PerProcess()
_local_readers: PerProcess[DocumentReader] = PerProcess()
_local_stores: PerProcess[EnrolmentStore] = PerProcess()
_local_idempotency: PerProcess[IdempotencyStore] = PerProcess()


def utc_today() -> date:
    """The date document checks are made against."""
    return datetime.now(UTC).date()


class Services:
    """What the flows use, for one Settings. Each capability is built when
    first asked for (a document-only request never loads the face engine);
    one given to the constructor (a fake, in tests) is used as is."""

    def __init__(
        self,
        settings: Settings,
        *,
        faces: FaceEngine | None = None,
        reader: DocumentReader | None = None,
        store: EnrolmentStore | None = None,
        registry: Registry | None = None,
        idempotency: IdempotencyStore | None = None,
        today: Callable[[], date] = utc_today,
    ) -> None:
        self.settings = settings
        self.today = today
        self._faces, self._reader, self._store = faces, reader, store
        self._registry, self._idempotency = registry, idempotency
        self._lock = threading.Lock()

    def registry(self) -> Registry:
        """The stage's tenants (built once per Settings: the cloud one caches SSM)."""
        with self._lock:
            if self._registry is None:
                self._registry = tenant_registry(self.settings.access.tenants)
            return self._registry

    def idempotency(self) -> IdempotencyStore:
        with self._lock:
            if self._idempotency is None:
                self._idempotency = idempotency_store(self.settings)
            return self._idempotency

    def faces(self) -> FaceEngine:
        if self._faces is not None:
            return self._faces
        return face_engine(self.settings.engine, self.settings.faces)

    def reader(self) -> DocumentReader:
        if self._reader is not None:
            return self._reader
        return document_reader(self.settings.engine)

    def store(self) -> EnrolmentStore:
        if self._store is not None:
            return self._store
        return enrolment_store(self.settings.engine, self.settings.enrolment)

    def liveness_region(self) -> str | None:
        """Where the page's Face Liveness island streams (issue 20): the
        function's region on cloud stages, nowhere on the local stage."""
        if self.settings.engine == "local":
            return None
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def face_engine(backend: str, options: EngineOptions) -> FaceEngine:
    """The backend's face engine. A deployment without the offline engine
    installed gets ApiError 503 ENGINE_UNAVAILABLE, not a crash."""
    if backend == "local":

        def build() -> FaceEngine:
            try:
                from chalicelib.faces.local.engine import LocalEngine
            except ImportError:
                raise errors.engine_unavailable() from None
            return LocalEngine(options)

        return _local_engines.get(options, build)
    from chalicelib.aws import clients
    from chalicelib.faces.rekognition import RekognitionEngine

    return RekognitionEngine(options, client=clients.client("rekognition"))


def document_reader(backend: str) -> DocumentReader:
    """Offline OCR where the face engine is the offline one (the local
    stage), Textract everywhere else."""
    if backend != "local":
        from chalicelib.aws import clients
        from chalicelib.documents.textract import TextractReader

        return TextractReader(client=clients.client("textract"))

    def build() -> DocumentReader:
        if not all(importlib.util.find_spec(name) for name in ("onnxruntime", "rapidocr")):
            from chalicelib.documents.unavailable import UnavailableReader

            return UnavailableReader()  # a deployment without requirements-local.txt
        from chalicelib.documents.local import LocalReader

        return LocalReader()

    return _local_readers.get("ocr", build)


def enrolment_store(backend: str, options: StoreOptions) -> EnrolmentStore:
    """The backend's store. The local one is opened (and its matrix loaded)
    once per process; one that cannot open raises ApiError (503) and is
    tried again on the next request."""
    if backend != "local":
        from chalicelib.aws import clients
        from chalicelib.enrolment.rekognition import RekognitionStore

        return RekognitionStore(
            options,
            client=clients.client("rekognition"),
            index_client=clients.client("rekognition-index"),
        )

    def build() -> EnrolmentStore:
        try:
            from chalicelib.enrolment.sqlite import SqliteStore
            from chalicelib.faces.local import calibration
        except ImportError:
            raise errors.engine_unavailable() from None
        return SqliteStore(
            options.db_path,
            calibration.MODEL_VERSION,
            calibration.similarity_from_distance,
            calibration.distance_from_similarity,
            sealer=local_sealer(options),
        )

    return _local_stores.get(options, build)


def tenant_registry(options: TenantOptions) -> Registry:
    """IPS_TENANTS_PARAMETER: the SSM mapping (cloud); else the file and keys."""
    from chalicelib.tenants import build_registry

    def ssm() -> object:
        from chalicelib.aws import clients

        return clients.client("ssm")

    return build_registry(options, ssm)


def idempotency_store(settings: Settings) -> IdempotencyStore:
    """SQLite under the data directory (local), DynamoDB (cloud); answers sealed."""
    sealer = data_sealer(settings)
    if settings.engine != "local":
        from chalicelib.aws import clients
        from chalicelib.idempotency.dynamodb import DynamoIdempotencyStore

        table = settings.idempotency_table or f"ips-idempotency-{settings.stage}"
        return DynamoIdempotencyStore(clients.client("dynamodb"), table, sealer)
    from chalicelib.idempotency.sqlite import SqliteIdempotencyStore

    return _local_idempotency.get(
        settings.data_dir,
        lambda: SqliteIdempotencyStore(
            os.path.join(settings.data_dir, "idempotency.sqlite3"), sealer
        ),
    )


def local_sealer(options: StoreOptions) -> crypto.Sealer:
    """AES-GCM under the local data key (IPS_DATA_KEY, else its key file)."""
    keys = crypto.local_keys(
        {
            "IPS_DATA_KEY": options.data_key,
            "IPS_DATA_KEYS_OLD": options.data_keys_old,
            "IPS_DATA_KEY_FILE": options.key_file,
        }
    )
    return crypto.Sealer(keys)


def data_sealer(settings: Settings) -> Sealer:
    """The stored idempotent answers' sealer: the local data key; on the
    cloud stages the table's own encryption at rest (DynamoDB SSE), since
    every Lambda instance must open what another stored."""
    if settings.engine == "local":
        return local_sealer(settings.enrolment)
    from chalicelib.idempotency.sealing import TableEncryption

    return TableEncryption()


def preload(settings: Settings) -> int | None:
    """Load the stage's offline models now (make run, before it listens):
    the number of engine workers, or None when the stage has no models."""
    if settings.engine != "local":
        return None
    from chalicelib.faces.local.runtime import preload as load_models

    return load_models()


class Root:
    """Settings -> Services, cached per Settings. `settings` is read per call
    (the environment can change between requests under chalice.test.Client)."""

    def __init__(
        self,
        settings: Callable[[], Settings] = load_settings,
        build: Callable[[Settings], Services] = Services,
    ) -> None:
        self._settings = settings
        self._build = build
        self._services: PerProcess[Services] = PerProcess()

    def settings(self) -> Settings:
        return self._settings()

    def services(self) -> Services:
        settings = self._settings()
        return self._services.get(settings, lambda: self._build(settings))


_root = Root()


def root() -> Root:
    return _root


def services() -> Services:
    """The current settings' Services (what routes pass to the flows)."""
    return _root.services()


def install(replacement: Root) -> Root:
    """Make `replacement` the process's root (a test server's stand-in
    engine); returns the previous one."""
    global _root
    saved, _root = _root, replacement
    return saved


@contextmanager
def override(replacement: Root) -> Iterator[Root]:
    """Use `replacement` as the process's root inside the block (tests,
    benchmarks); the previous one is restored however the block ends."""
    saved = install(replacement)
    try:
        yield replacement
    finally:
        install(saved)
