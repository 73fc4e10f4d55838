"""Stage settings, read from environment variables that .chalice/config.json
sets per stage. Every value has a safe default so a missing variable never
breaks a deployment; a malformed one fails loudly at start-up."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from chalicelib.auth import parse_api_key_hashes, parse_cors_origins
from chalicelib.engine import EngineOptions

QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
MULTI_FACE_POLICIES = ("reject", "best_match")
ENGINES = ("rekognition", "local")
DOCUMENT_MODES = ("off", "read", "enforce")       # docs/document-reading.md
DOCUMENT_UNREADABLE = ("review", "ignore")
DOCUMENT_FAILED = ("no_match", "review")


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    engine: str = "rekognition"
    threshold: float = 80.0
    review_floor: Optional[float] = None   # None: no review band
    engine_options: EngineOptions = EngineOptions()
    api_key_hashes: Tuple[str, ...] = ()   # empty: built-in key check off (chalicelib/auth.py)
    cors_origins: Tuple[str, ...] = ()     # empty: no CORS headers
    document_mode: str = "read"            # off | read | enforce
    min_age: Optional[int] = None          # None: no minimum-age check
    document_unreadable: str = "review"    # enforce: an unreadable document -> review | ignore
    document_failed: str = "no_match"      # enforce: expired / under age -> no_match | review
    document_timeout_s: float = 10.0       # reading gives up (read: false) after this


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
    return Settings(
        stage=env.get("IPS_STAGE", "local"),
        engine=_choice(env, "IPS_ENGINE", "rekognition", ENGINES),
        threshold=threshold,
        review_floor=review_floor,
        engine_options=options,
        api_key_hashes=parse_api_key_hashes(env),
        cors_origins=parse_cors_origins(env),
        document_mode=_choice(env, "IPS_DOCUMENT", "read", DOCUMENT_MODES),
        min_age=_optional_int(_number(env, "IPS_MIN_AGE", None, 150)),
        document_unreadable=_choice(env, "IPS_DOCUMENT_UNREADABLE", "review",
                                    DOCUMENT_UNREADABLE),
        document_failed=_choice(env, "IPS_DOCUMENT_FAILED", "no_match", DOCUMENT_FAILED),
        document_timeout_s=float(_number(env, "IPS_DOCUMENT_TIMEOUT_S", 10.0, 25.0) or 10.0),
    )


def _optional_int(value: Optional[float]) -> Optional[int]:
    return None if value is None else int(value)
