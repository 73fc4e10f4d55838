#!/usr/bin/env python3
"""Recommend a similarity threshold for the offline engine from your own
labelled pairs, for a target false-match rate.

    python -m scripts.eval.calibrate my_pairs.csv [--target-fmr 0.001] \
        [--plot artifacts/calibration.png]

The CSV has the columns image_a,image_b,same_person (1 same person, 0
different); paths are relative to the CSV; image_a is verified as the
document, image_b as the selfie. Every pair is verified with the engine as the
service would (so rejected images count as non-matches). Prints the trade-off
table (threshold, FMR, FNMR with counts), the recommended threshold and writes
the same plot as bench_engine.py.

A set of N impostor pairs cannot show a false-match rate below about 3/N (with
no false match seen, 3/N is the 95% upper bound). When the target is below
that, the recommendation is never lower than the engine's default threshold
(80), which was set at a security operating point; collect more impostor
pairs to go lower.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scripts.eval import pair_scoring as ps

TABLE_THRESHOLDS = (50, 55, 60, 63.5, 65, 70, 75, 80, 85, 90, 95)


def recommend(genuine, impostor, target_fmr: float) -> tuple:
    """(threshold, reason)."""
    measured = ps.threshold_for_fmr(impostor, target_fmr)
    bound = ps.fmr_upper_bound(len(impostor))
    if target_fmr < bound:
        threshold = max(measured, ps.DEFAULT_THRESHOLD)
        reason = (f"{len(impostor)} impostor pairs can only show an FMR down to about "
                  f"{bound:.2%} (rule of three); the measured threshold for the target is "
                  f"{measured:.2f}, so the engine default {ps.DEFAULT_THRESHOLD:g} is kept as "
                  f"the floor")
    else:
        threshold = measured
        reason = f"the lowest threshold whose measured FMR is at most {target_fmr:.2%}"
    return min(threshold, 100.0), reason


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pairs", type=Path, help="CSV: image_a,image_b,same_person")
    parser.add_argument("--target-fmr", type=float, default=0.001,
                        help="acceptable false-match rate (default 0.001 = 0.1%%)")
    parser.add_argument("--plot", type=Path,
                        default=ps.REPO / "artifacts" / "calibration.png")
    args = parser.parse_args(argv)
    pairs = ps.read_pairs(args.pairs)
    missing = [p for pair in pairs for p in (pair.a, pair.b) if not p.exists()]
    if missing:
        print(f"missing images, e.g. {missing[0]}", file=sys.stderr)
        return 2

    def progress(done, total):
        if done == total or done % 50 == 0:
            print(f"  {done}/{total} pairs", file=sys.stderr, flush=True)

    outcomes = ps.score_with_engine(pairs, ps.local_engine(), progress)
    genuine, impostor = ps.split(outcomes)
    if not genuine or not impostor:
        print("need both same-person and different-person pairs", file=sys.stderr)
        return 2
    threshold, reason = recommend(genuine, impostor, args.target_fmr)
    thresholds = sorted(set(TABLE_THRESHOLDS) | {round(threshold, 2)})
    print(f"{len(genuine)} genuine and {len(impostor)} impostor pairs; "
          f"rejected by errors: {ps.error_counts(outcomes) or 'none'}")
    print(ps.score_summary("genuine scores ", genuine))
    print(ps.score_summary("impostor scores", impostor))
    print(ps.tradeoff_table(genuine, impostor, thresholds))
    r = ps.rates(genuine, impostor, threshold)
    print(f"recommended threshold for FMR <= {args.target_fmr:.2%}: {threshold:.2f} "
          f"({reason}); there FMR {r.fmr:.2%} ({r.false_matches}/{r.impostors}), "
          f"FNMR {r.fnmr:.2%} ({r.false_non_matches}/{r.genuines})")
    print(f"plot: {ps.plot([('your pairs', genuine, impostor)], threshold, None, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
