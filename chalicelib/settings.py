"""Stage settings, read from environment variables that .chalice/config.json
sets per stage. Every value has a safe default so a missing variable never
breaks a deployment; a malformed one fails loudly at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from chalicelib.auth import parse_api_key_hashes, parse_cors_origins
from chalicelib.engine import EngineOptions
from chalicelib.enrolment.base import StoreOptions

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
MULTI_FACE_POLICIES = ("reject", "best_match")
ENGINES = ("rekognition", "local")


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    engine: str = "rekognition"
    threshold: float = 80.0
    review_floor: Optional[float] = None   # None: no review band
    engine_options: EngineOptions = EngineOptions()
    api_key_hashes: Tuple[str, ...] = ()   # empty: built-in key check off (chalicelib/auth.py)
    cors_origins: Tuple[str, ...] = ()     # empty: no CORS headers
    # Enrolment and duplicate search (docs/enrolment.md). The search threshold
    # is its own setting: a possible duplicate goes to a person, so it is
    # tuned for recall, below the /ips threshold.
    search_threshold: float = 90.0
    max_matches: int = 5
    enrolment: StoreOptions = StoreOptions()


def _number(env: Mapping[str, str], name: str, default: Optional[float],
            high: float = 100.0) -> Optional[float]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = float(raw)
    if not 0 <= value <= high:
        raise ValueError(f"{name} must be between 0 and {high:g}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple) -> str:
    value = env.get(name, "").strip() or default
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return value


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    # os.environ looked up per call: chalice.test.Client swaps it per stage.
    env = os.environ if env is None else env
    threshold = _number(env, "IPS_THRESHOLD", 80.0)
    review_floor = _number(env, "IPS_REVIEW_FLOOR", None)
    if review_floor is not None and review_floor > threshold:
        raise ValueError("IPS_REVIEW_FLOOR must not exceed IPS_THRESHOLD")
    options = EngineOptions(
        allow_multiple_faces=_choice(env, "IPS_MULTI_FACE", "reject",
                                     MULTI_FACE_POLICIES) == "best_match",
        quality_filter=_choice(env, "IPS_QUALITY_FILTER", "AUTO", QUALITY_FILTERS),
        min_face_px=int(_number(env, "IPS_MIN_FACE_PX", EngineOptions.min_face_px, 1000)),
        min_sharpness=_number(env, "IPS_MIN_SHARPNESS", None, 10),
    )
    stage = env.get("IPS_STAGE", "local")
    enrolment = StoreOptions(
        db_path=env.get("IPS_DB_PATH", "").strip() or _default_db_path(env),
        collection_id=env.get("IPS_COLLECTION_ID", "").strip() or f"ips-{stage}",
        quality_filter=options.quality_filter,
    )
    return Settings(
        stage=stage,
        engine=_choice(env, "IPS_ENGINE", "rekognition", ENGINES),
        threshold=threshold,
        review_floor=review_floor,
        engine_options=options,
        api_key_hashes=parse_api_key_hashes(env),
        cors_origins=parse_cors_origins(env),
        search_threshold=_number(env, "IPS_SEARCH_THRESHOLD", Settings.search_threshold),
        max_matches=int(_number(env, "IPS_MAX_MATCHES", Settings.max_matches, 100) or 1) or 1,
        enrolment=enrolment,
    )


def _default_db_path(env: Mapping[str, str]) -> str:
    """$XDG_DATA_HOME/ips/enrolments.sqlite3 (~/.local/share by default):
    outside the repository, so a checkout never carries biometric data."""
    base = env.get("XDG_DATA_HOME", "").strip() or os.path.join("~", ".local", "share")
    return os.path.expanduser(os.path.join(base, "ips", "enrolments.sqlite3"))
