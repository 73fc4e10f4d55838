"""Run a snippet in a fresh interpreter (what a module imports, what a
process allocates, what a new process with other settings does), from the
repository root, and return what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> str:
    """stdout of `python -c code`; the environment is ours plus `env`, with the
    repository importable. Fails the test with the child's stderr if it fails."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "AWS_DEFAULT_REGION": "us-east-1", **env}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environ,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout
