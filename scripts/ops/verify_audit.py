#!/usr/bin/env python3
"""Walk every audit trail in the data directory; exit 1 naming the first bad
event when anything was edited, removed or reordered (docs/records.md).

    make verify-audit                       # IPS_DATA_DIR, else ~/.local/share/ips
    python -m scripts.ops.verify_audit [--data-dir DIR] [--export-heads FILE] [--anchor FILE]

--export-heads writes every chain's head (file, record, events, head hash)
as JSON lines: keep that file somewhere the server cannot write (another
account, a WORM bucket). --anchor checks an earlier export: every head in
it must still be there, which finds whole records removed and trails cut
short. Exit: 0 all hold, 1 a break found, 2 no data directory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chalicelib.records.audit import Head, check_anchor, check_file, record_files
from chalicelib.records.files import data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--export-heads", type=Path, help="write every chain's head here")
    parser.add_argument("--anchor", type=Path, help="an earlier --export-heads file to check")
    args = parser.parse_args(argv)
    root = args.data_dir or data_dir(os.environ)
    if not root.is_dir():
        print(f"verify-audit: no data directory {root}", file=sys.stderr)
        return 2
    heads: list[Head] = []
    findings = []
    records = events = 0
    files = record_files(root)
    for path in files:
        r, e, found = check_file(path, heads)
        records, events, findings = records + r, events + e, findings + found
    if args.anchor:
        with args.anchor.open(encoding="utf-8") as lines:
            findings += check_anchor(json.loads(line) for line in lines if line.strip())
    if args.export_heads:
        with args.export_heads.open("w", encoding="utf-8") as out:
            for head in heads:
                out.write(json.dumps(head.to_json(), sort_keys=True) + "\n")
    summary = f"{len(files)} store file(s), {records} records, {events} events"
    if findings:
        print(f"verify-audit: FAILED: {findings[0]}", file=sys.stderr)
        for finding in findings[1:]:
            print(f"  also: {finding}", file=sys.stderr)
        print(f"verify-audit: {summary}, {len(findings)} problem(s)", file=sys.stderr)
        return 1
    print(f"verify-audit: every chain holds ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
