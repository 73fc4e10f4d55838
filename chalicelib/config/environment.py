"""Where settings come from: the process environment, over the stage's
defaults in .chalice/config.json. The environment wins.

Chalice lays a stage's `environment_variables` over the process environment
(its CLI factory and test client both do), so a value there cannot be
overridden by an operator. The cloud stages need exactly that (Lambda's
environment *is* their configuration), but on the local stage it meant that
`IPS_THRESHOLD=70 make run` still ran at 80. So the local stage's Chalice
variables hold only STAGE_MARKER, and its settings sit beside them under
DEFAULTS_KEY, read here and laid *under* the environment: on the local stage,
in `make run`, `make dev` and `chalice.test.Client(app, stage_name="local")`,
a variable set in the process environment overrides the file, and the file
gives the defaults (docs/operations.md)."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path

CONFIG_FILE = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
# Set by Chalice itself when it loads a stage whose settings are defaults.
STAGE_MARKER = "IPS_CHALICE_STAGE"
DEFAULTS_KEY = "ips_defaults"


@functools.cache
def stage_defaults(stage: str) -> Mapping[str, str]:
    """The stage's defaults from .chalice/config.json; empty when the file is
    absent (a Lambda package carries none, and no cloud stage needs it)."""
    try:
        config = json.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    values = config.get("stages", {}).get(stage, {}).get(DEFAULTS_KEY, {})
    return {str(name): str(value) for name, value in values.items()}


def with_defaults(env: Mapping[str, str]) -> Mapping[str, str]:
    """`env` over its stage's defaults (none without STAGE_MARKER)."""
    stage = env.get(STAGE_MARKER, "").strip()
    return {**stage_defaults(stage), **env} if stage else env


def current() -> Mapping[str, str]:
    """The settings' source now. os.environ is looked up per call, since
    chalice.test.Client swaps it per request."""
    return with_defaults(os.environ)
