"""The Settings tree: one frozen slice per adapter or policy, read from the
environment (chalicelib.config.environment: the environment wins over the
stage's defaults) through the one parser (chalicelib.config.env). Every
value has a safe default so a missing variable never breaks a deployment; a
malformed one fails loudly at start-up, naming the variable.

New capabilities add their own slice here and one field of Settings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.config import env as envs
from chalicelib.config import environment
from chalicelib.config.access import parse_cors_origins, parse_log_pepper
from chalicelib.config.env import SettingError
from chalicelib.core import crypto, datadir
from chalicelib.tenants.sources import TenantOptions, parse_tenant_options

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
MULTI_FACE_POLICIES = ("reject", "best_match")
ENGINES = ("rekognition", "local")
DOCUMENT_MODES = ("off", "read", "enforce")  # docs/document-reading.md
DOCUMENT_UNREADABLE = ("review", "ignore")
DOCUMENT_FAILED = ("no_match", "review")


@dataclass(frozen=True)
class EngineOptions:
    """What a face engine needs (chalicelib/faces/)."""

    allow_multiple_faces: bool = False  # True: best match among selfie faces
    quality_filter: str = "AUTO"  # Rekognition QualityFilter
    min_face_px: int = 32  # offline engine: smallest face side compared (docs/offline-engine.md)
    min_sharpness: float | None = None  # offline engine: blur threshold (None: engine default)


@dataclass(frozen=True)
class DecisionSettings:
    """The face rule (chalicelib/decision/)."""

    threshold: float = 80.0
    review_floor: float | None = None  # None: no review band


@dataclass(frozen=True)
class DocumentSettings:
    """Document reading and its rule (docs/document-reading.md)."""

    mode: str = "read"  # off | read | enforce
    min_age: int | None = None  # None: no minimum-age check
    unreadable: str = "review"  # enforce: an unreadable document -> review | ignore
    failed: str = "no_match"  # enforce: expired / under age -> no_match | review
    timeout_s: float = 10.0  # reading gives up (read: false) after this


@dataclass(frozen=True)
class StoreOptions:
    """What an enrolment store needs (chalicelib/enrolment/)."""

    db_path: str = "~/.local/share/ips/enrolments.sqlite3"  # local stage: SQLite file
    # Cloud stages: the prefix of the tenants' Rekognition collections,
    # "<collection_id>-<tenant id>" (enrolment/rekognition.py).
    collection_id: str = "ips-local"
    quality_filter: str = "AUTO"  # Rekognition QualityFilter for IndexFaces / search
    # Local stage: the descriptors' key (chalicelib/core/crypto.py local_keys):
    # IPS_DATA_KEY, IPS_DATA_KEYS_OLD, else the key file.
    data_key: str = field(default="", repr=False)
    data_keys_old: str = field(default="", repr=False)
    key_file: str = ""


@dataclass(frozen=True)
class SearchSettings:
    """Duplicate search (docs/enrolment.md). Its threshold is its own: a
    possible duplicate goes to a person, so it is tuned for recall, below
    the /ips threshold."""

    threshold: float = 90.0  # IPS_SEARCH_THRESHOLD
    max_matches: int = 5  # IPS_MAX_MATCHES


@dataclass(frozen=True)
class AccessSettings:
    """The built-in key check and CORS (chalicelib/http/auth.py)."""

    tenants: TenantOptions = field(default_factory=TenantOptions)  # chalicelib/tenants/
    cors_origins: tuple[str, ...] = ()  # empty: no CORS headers
    # IPS_LOG_PEPPER: the secret of the logs' pseudonyms (chalicelib/core/pseudonyms.py)
    log_pepper: bytes = field(default=b"", repr=False)
    hsts: bool = False  # Strict-Transport-Security on every API answer


@dataclass(frozen=True)
class Limits:
    """Admission control (chalicelib/flows/admission.py). Measured on 2 cores
    (docs/operations.md): 2 in flight overlap one request's decoding with
    another's engine work; 6 more waiting keep the worst served wait near 2 s
    at ~4 verifications/s."""

    in_flight: int = 2  # computed at once
    queued: int = 6  # waiting for a turn
    max_wait_s: float = 10.0  # a request waiting longer is answered 503, not computed


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    engine: str = "rekognition"  # the backend: "rekognition" (cloud) or "local" (offline)
    faces: EngineOptions = field(default_factory=EngineOptions)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    enrolment: StoreOptions = field(default_factory=StoreOptions)
    search: SearchSettings = field(default_factory=SearchSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    # IPS_DATA_DIR: every local file (0700 directory; records, idempotency keys)
    data_dir: str = "~/.local/share/ips"
    idempotency_table: str = ""  # IPS_IDEMPOTENCY_TABLE (cloud); "" -> ips-idempotency-<stage>


def _stage(env: Mapping[str, str], engine: str) -> str:
    """The stage name for the logs. Without IPS_STAGE a Lambda function is
    named by its function name (Chalice: "<app>-<stage>"), never "local"."""
    return (
        envs.text(env, "IPS_STAGE")
        or envs.text(env, "AWS_LAMBDA_FUNCTION_NAME")
        or ("local" if engine == "local" else "unnamed")
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The Settings of `env` (default: the process environment over the
    stage's defaults), or raise SettingError naming the variable."""
    env = environment.with_defaults(environment.current() if env is None else env)
    decision = DecisionSettings(
        threshold=envs.number(env, "IPS_THRESHOLD", 80.0),
        review_floor=envs.optional_number(env, "IPS_REVIEW_FLOOR"),
    )
    if decision.review_floor is not None and decision.review_floor > decision.threshold:
        raise SettingError("IPS_REVIEW_FLOOR must not exceed IPS_THRESHOLD")
    faces = EngineOptions(
        allow_multiple_faces=envs.choice(env, "IPS_MULTI_FACE", "reject", MULTI_FACE_POLICIES)
        == "best_match",
        quality_filter=envs.choice(env, "IPS_QUALITY_FILTER", "AUTO", QUALITY_FILTERS),
        min_face_px=envs.whole(env, "IPS_MIN_FACE_PX", EngineOptions.min_face_px, 0, 1000),
        min_sharpness=envs.optional_number(env, "IPS_MIN_SHARPNESS", 0, 10),
    )
    engine = envs.choice(env, "IPS_ENGINE", "rekognition", ENGINES)
    stage = _stage(env, engine)
    data_key = envs.text(env, "IPS_DATA_KEY")
    if data_key:
        crypto.parse_key(data_key)  # a malformed key fails the start-up, naming it
    for old in envs.items(env, "IPS_DATA_KEYS_OLD"):
        crypto.parse_key(old, "IPS_DATA_KEYS_OLD")
    return Settings(
        stage=stage,
        engine=engine,
        faces=faces,
        decision=decision,
        documents=DocumentSettings(
            mode=envs.choice(env, "IPS_DOCUMENT", "read", DOCUMENT_MODES),
            min_age=envs.optional_whole(env, "IPS_MIN_AGE", 0, 150),
            unreadable=envs.choice(env, "IPS_DOCUMENT_UNREADABLE", "review", DOCUMENT_UNREADABLE),
            failed=envs.choice(env, "IPS_DOCUMENT_FAILED", "no_match", DOCUMENT_FAILED),
            timeout_s=envs.optional_number(env, "IPS_DOCUMENT_TIMEOUT_S", 0, 25) or 10.0,
        ),
        enrolment=StoreOptions(
            db_path=envs.text(env, "IPS_DB_PATH")
            or str(datadir.data_dir(env) / "enrolments.sqlite3"),
            collection_id=envs.text(env, "IPS_COLLECTION_ID") or f"ips-{stage}",
            quality_filter=faces.quality_filter,
            data_key=data_key,
            data_keys_old=envs.text(env, "IPS_DATA_KEYS_OLD"),
            key_file=envs.text(env, "IPS_DATA_KEY_FILE") or str(crypto.default_key_file(env)),
        ),
        search=SearchSettings(
            threshold=envs.number(env, "IPS_SEARCH_THRESHOLD", SearchSettings.threshold),
            max_matches=envs.whole(env, "IPS_MAX_MATCHES", SearchSettings.max_matches, 0, 100) or 1,
        ),
        access=AccessSettings(
            tenants=parse_tenant_options(env),
            cors_origins=parse_cors_origins(env),
            log_pepper=parse_log_pepper(env),
            hsts=engine != "local",  # the cloud stages are HTTPS only (API Gateway)
        ),
        data_dir=str(datadir.data_dir(env)),
        idempotency_table=envs.text(env, "IPS_IDEMPOTENCY_TABLE"),
    )


def limits_from_env(env: Mapping[str, str] | None = None) -> Limits:
    """Admission limits: IPS_MAX_IN_FLIGHT (at least 1), IPS_MAX_QUEUED (0 or
    more), IPS_MAX_WAIT_S (more than 0)."""
    env = environment.with_defaults(environment.current() if env is None else env)
    return Limits(
        in_flight=envs.whole(env, "IPS_MAX_IN_FLIGHT", Limits.in_flight, 1),
        queued=envs.whole(env, "IPS_MAX_QUEUED", Limits.queued, 0),
        max_wait_s=envs.optional_number(env, "IPS_MAX_WAIT_S", 0, math.inf, positive=True)
        or Limits.max_wait_s,
    )
