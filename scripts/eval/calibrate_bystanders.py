#!/usr/bin/env python3
"""Calibrate the bystander rule (chalicelib/faces/bystanders.py) on
../shared/faces:

- its group photos (two or more people presenting): every one must stay
  refused; prints each counted face's width and sharpness against the main
  face's, the figures the rule's constants keep clear of;
- its 49 single-person photos, each with another person's face pasted
  beside the main face at 0.4, 0.55 and 0.7 of its width, three ways:
  blurred (out of focus: Gaussian radius 1/20 of the pasted face's width;
  "blurred-": 1/40),
  cut by the frame (a third of it outside, sharp), and whole and sharp (a
  second person, or a photo held up: must stay refused).

    python -m scripts.eval.calibrate_bystanders

Prints counts only; never fails."""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageFilter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FACES = ROOT.parent / "shared" / "faces"
GROUPS = ("deepface/couple.jpg", "deepface/selfie-many-people.jpg",
          "face_recognition/two_people.jpg", "face_recognition/knn_test_obama_and_biden.jpg",
          "face_recognition/knn_test_kit_with_rose.jpg")
RATIOS = (0.4, 0.55, 0.7)


def seen_faces(data: bytes):
    """(counted detections, their SeenFace) as the engine sees a selfie."""
    from chalicelib.faces.bystanders import SeenFace, cut_by_frame
    from chalicelib.faces.local import describe, detect, runtime

    models = runtime.models()
    img, _ = describe.decode(data)
    counted = detect.select_faces(detect.find_faces(models, img, "selfie"))
    arr = np.asarray(img)
    seen = [SeenFace(d.width, describe.sharpness(describe.chip(models, arr, d)),
                     cut_by_frame(d.left, d.top, d.right, d.bottom, *img.size))
            for d in counted]
    return counted, seen


def _jpeg(img: PILImage.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


def _face_crop(data: bytes) -> tuple[PILImage.Image, float] | None:
    """A person's face with some margin, and the face's width in the crop."""
    from chalicelib.faces.local import describe, detect, runtime

    img, _ = describe.decode(data)
    found = detect.select_faces(detect.find_faces(runtime.models(), img, "selfie"))
    if len(found) != 1:
        return None
    d = found[0]
    m = 0.35 * d.width
    box = (max(0, int(d.left - m)), max(0, int(d.top - m)),
           min(img.width, int(d.right + m)), min(img.height, int(d.bottom + m)))
    return img.crop(box), d.width


def _paste(base: PILImage.Image, main_box, face: PILImage.Image, face_w: float, ratio: float,
           how: str) -> PILImage.Image | None:
    """`face` scaled to `ratio` of the main face's width, beside it: blurred,
    cut by the frame, or whole and sharp."""
    left, top, right, _ = main_box
    scale = ratio * (right - left) / face_w
    size = (max(1, round(face.width * scale)), max(1, round(face.height * scale)))
    small = face.resize(size, PILImage.Resampling.LANCZOS)
    if how.startswith("blurred"):
        blur = 20 if how == "blurred" else 40
        small = small.filter(ImageFilter.GaussianBlur(ratio * (right - left) / blur))
    out = base.copy()
    room_left, room_right = left, base.width - right
    y = max(0, int(top))
    if how == "cut":  # a third of the pasted face beyond the side with more room
        x = -size[0] // 3 if room_left >= room_right else base.width - 2 * size[0] // 3
        if min(room_left, room_right) < 0 or max(room_left, room_right) < 2 * size[0] // 3:
            return None
    elif room_right >= size[0]:
        x = base.width - size[0]
    elif room_left >= size[0]:
        x = 0
    else:
        return None
    out.paste(small, (x, y))
    return out


def main() -> None:
    from chalicelib.faces.bystanders import BLUR_RATIO, CUT_MARGIN, SMALL_RATIO, presenting
    from chalicelib.faces.local import describe, detect, runtime

    if not FACES.exists():
        print(f"no {FACES}: nothing to calibrate on")
        return
    print(f"rule: bystander = width <= {SMALL_RATIO} x main and (sharpness <= {BLUR_RATIO} x "
          f"main or its box within {CUT_MARGIN:.0%} of its width of the frame)\n")
    print("group photos (must stay refused):")
    for name in GROUPS:
        _, seen = seen_faces((FACES / name).read_bytes())
        people = presenting(seen)
        main = seen[0]
        others = ", ".join(f"w {f.width / main.width:.2f} sharp {f.sharpness / main.sharpness:.2f}"
                           f"{' cut' if f.cut else ''}" for f in seen[1:])
        verdict = "refused" if len(people) > 1 else "ACCEPTED"
        print(f"  {name:<48} counted {len(seen)}, presenting {len(people)}: {verdict}  [{others}]")
    rows = list(csv.DictReader((FACES / "identities.csv").open(encoding="utf-8")))
    crops = []
    for row in rows:
        crop = _face_crop((FACES / row["image"]).read_bytes())
        if crop is not None:
            crops.append((row["identity"], crop))
    outcomes: Counter[tuple[str, float, str]] = Counter()
    ratios_seen: dict[str, list[tuple[float, float]]] = {}
    for i, row in enumerate(rows):
        base, _ = describe.decode((FACES / row["image"]).read_bytes())
        found = detect.select_faces(detect.find_faces(runtime.models(), base, "selfie"))
        if len(found) != 1:
            continue
        main_box = (found[0].left, found[0].top, found[0].right, found[0].bottom)
        other = next(c for ident, c in crops[i % len(crops):] + crops if ident != row["identity"])
        for ratio in RATIOS:
            for how in ("blurred", "blurred-", "cut", "whole"):
                pasted = _paste(base, main_box, other[0], other[1], ratio, how)
                if pasted is None:
                    outcomes[(how, ratio, "no room")] += 1
                    continue
                _, seen = seen_faces(_jpeg(pasted))
                if len(seen) < 2:
                    outcomes[(how, ratio, "not counted (< 1/3 or unsure)")] += 1
                    continue
                people = presenting(seen)
                ratios_seen.setdefault(how, []).append(
                    (seen[1].width / seen[0].width, seen[1].sharpness / seen[0].sharpness))
                outcomes[(how, ratio, "refused" if len(people) > 1 else "verified")] += 1
    print("\nsingle-person photos with a pasted face (blurred/cut: should be verified; "
          "whole: should be refused):")
    for key in sorted(outcomes):
        print(f"  {key[0]:<8} at {key[1]:.2f} x main width: {key[2]:<30} {outcomes[key]}")
    for how, pairs in sorted(ratios_seen.items()):
        sharp = sorted(s for _, s in pairs)
        print(f"  {how:<8} counted second faces: sharpness / main, min {sharp[0]:.2f} "
              f"median {sharp[len(sharp) // 2]:.2f} max {sharp[-1]:.2f} (n={len(sharp)})")


if __name__ == "__main__":
    main()
