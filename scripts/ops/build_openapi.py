"""Regenerates chalicelib/openapi.json (what GET /openapi.json serves and what
`chalice package` ships) from openapi.yaml (the source people edit).

    python -m scripts.ops.build_openapi          # write it
    python -m scripts.ops.build_openapi --check  # exit 1 if it is out of date

The JSON copy is committed so the Lambda package needs no YAML parser;
tests/routes/test_openapi_contract.py fails when the two differ."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "openapi.yaml"
TARGET = ROOT / "chalicelib" / "openapi.json"


def render() -> str:
    document = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main(argv: list) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: "
                  "run python -m scripts.ops.build_openapi")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
