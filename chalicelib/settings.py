"""Stage settings, read from environment variables that .chalice/config.json
sets per stage. Every value has a safe default so a missing variable never
breaks a deployment; a malformed one fails loudly at start-up, naming the
variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib.auth import parse_api_key_hashes, parse_cors_origins
from chalicelib.core import crypto, datadir
from chalicelib.engines.base import EngineOptions
from chalicelib.enrolment.base import StoreOptions

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
MULTI_FACE_POLICIES = ("reject", "best_match")
ENGINES = ("rekognition", "local")
DOCUMENT_MODES = ("off", "read", "enforce")  # docs/document-reading.md
DOCUMENT_UNREADABLE = ("review", "ignore")
DOCUMENT_FAILED = ("no_match", "review")


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    engine: str = "rekognition"
    threshold: float = 80.0
    review_floor: float | None = None  # None: no review band
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    api_key_hashes: tuple[str, ...] = ()  # empty: built-in key check off (chalicelib/auth.py)
    cors_origins: tuple[str, ...] = ()  # empty: no CORS headers
    document_mode: str = "read"  # off | read | enforce (docs/document-reading.md)
    min_age: int | None = None  # None: no minimum-age check
    document_unreadable: str = "review"  # enforce: an unreadable document -> review | ignore
    document_failed: str = "no_match"  # enforce: expired / under age -> no_match | review
    document_timeout_s: float = 10.0  # reading gives up (read: false) after this
    # Enrolment and duplicate search (docs/enrolment.md). The search threshold
    # is its own setting: a possible duplicate goes to a person, so it is
    # tuned for recall, below the /ips threshold.
    search_threshold: float = 90.0  # IPS_SEARCH_THRESHOLD
    max_matches: int = 5  # IPS_MAX_MATCHES
    enrolment: StoreOptions = field(default_factory=StoreOptions)  # IPS_DB_PATH, IPS_COLLECTION_ID


def _raw(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _number(
    env: Mapping[str, str], name: str, default: float | None, high: float = 100.0
) -> float | None:
    raw = _raw(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not 0 <= value <= high:  # also refuses nan
        raise ValueError(f"{name} must be between 0 and {high:g}")
    return value


def _whole_number(env: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = _raw(env, name)
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name} must be a whole number, not {raw!r}")
    value = int(raw)
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be between 0 and {high}")
    return value


def _optional_whole_number(env: Mapping[str, str], name: str, high: int) -> int | None:
    return _whole_number(env, name, 0, high) if _raw(env, name) else None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _raw(env, name) or default
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return value


def _stage(env: Mapping[str, str], engine: str) -> str:
    """The stage name for the logs. Without IPS_STAGE a Lambda function is
    named by its function name (Chalice: "<app>-<stage>"), never "local"."""
    if _raw(env, "IPS_STAGE"):
        return _raw(env, "IPS_STAGE")
    if _raw(env, "AWS_LAMBDA_FUNCTION_NAME"):
        return _raw(env, "AWS_LAMBDA_FUNCTION_NAME")
    return "local" if engine == "local" else "unnamed"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    # os.environ looked up per call: chalice.test.Client swaps it per stage.
    env = os.environ if env is None else env
    threshold = _number(env, "IPS_THRESHOLD", 80.0)
    assert threshold is not None
    review_floor = _number(env, "IPS_REVIEW_FLOOR", None)
    if review_floor is not None and review_floor > threshold:
        raise ValueError("IPS_REVIEW_FLOOR must not exceed IPS_THRESHOLD")
    options = EngineOptions(
        allow_multiple_faces=_choice(env, "IPS_MULTI_FACE", "reject", MULTI_FACE_POLICIES)
        == "best_match",
        quality_filter=_choice(env, "IPS_QUALITY_FILTER", "AUTO", QUALITY_FILTERS),
        min_face_px=_whole_number(env, "IPS_MIN_FACE_PX", EngineOptions.min_face_px, 1000),
        min_sharpness=_number(env, "IPS_MIN_SHARPNESS", None, 10),
    )
    engine = _choice(env, "IPS_ENGINE", "rekognition", ENGINES)
    stage = _stage(env, engine)
    search_threshold = _number(env, "IPS_SEARCH_THRESHOLD", Settings.search_threshold)
    assert search_threshold is not None
    data_key = _raw(env, "IPS_DATA_KEY")
    if data_key:
        crypto.parse_key(data_key)  # a malformed key fails the start-up, naming it
    for old in filter(str.strip, _raw(env, "IPS_DATA_KEYS_OLD").split(",")):
        crypto.parse_key(old, "IPS_DATA_KEYS_OLD")
    enrolment = StoreOptions(
        db_path=_raw(env, "IPS_DB_PATH") or str(datadir.data_dir(env) / "enrolments.sqlite3"),
        collection_id=_raw(env, "IPS_COLLECTION_ID") or f"ips-{stage}",
        quality_filter=options.quality_filter,
        data_key=data_key,
        data_keys_old=_raw(env, "IPS_DATA_KEYS_OLD"),
        key_file=_raw(env, "IPS_DATA_KEY_FILE") or str(crypto.default_key_file(env)),
    )
    return Settings(
        stage=stage,
        engine=engine,
        threshold=threshold,
        review_floor=review_floor,
        engine_options=options,
        api_key_hashes=parse_api_key_hashes(env),
        cors_origins=parse_cors_origins(env),
        document_mode=_choice(env, "IPS_DOCUMENT", "read", DOCUMENT_MODES),
        min_age=_optional_whole_number(env, "IPS_MIN_AGE", 150),
        document_unreadable=_choice(env, "IPS_DOCUMENT_UNREADABLE", "review", DOCUMENT_UNREADABLE),
        document_failed=_choice(env, "IPS_DOCUMENT_FAILED", "no_match", DOCUMENT_FAILED),
        document_timeout_s=_number(env, "IPS_DOCUMENT_TIMEOUT_S", 10.0, 25.0) or 10.0,
        search_threshold=search_threshold,
        max_matches=_whole_number(env, "IPS_MAX_MATCHES", Settings.max_matches, 100) or 1,
        enrolment=enrolment,
    )
