"""The offline face engine (chalicelib/engines/local.py) on real faces.

No timing assertions: speed is measured by scripts/bench_engine.py."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image as PILImage

from chalicelib.engines import local as le
from chalicelib.engines.base import Comparison, EngineOptions
from chalicelib.errors import ApiError
from tests.support import face_images as fi
from tests.support.face_images import as_document, as_selfie, fs, needs_shared_faces, shared

THRESHOLD = 80.0


def compare(doc, selfie, **options) -> Comparison:
    return le.LocalEngine(EngineOptions(**options)).compare(doc, selfie)


def error_of(doc, selfie, **options) -> ApiError:
    with pytest.raises(ApiError) as info:
        compare(doc, selfie, **options)
    return info.value


def astronaut_doc():
    return as_document(fi.astronaut())


def box(face):
    return (face.left, face.top, face.width, face.height)


# --- mapping ------------------------------------------------------------------

def test_similarity_mapping_is_monotone_and_anchored():
    distances = [i / 100 for i in range(0, 201)]
    sims = [le.similarity_from_distance(d) for d in distances]
    assert all(a > b for a, b in zip(sims, sims[1:]))
    assert all(0.0 <= s <= 100.0 for s in sims)
    assert le.similarity_from_distance(le.DISTANCE_AT_80) == pytest.approx(80.0)
    assert le.similarity_from_distance(0.60) == pytest.approx(50.0)
    assert le.similarity_from_distance(1e6) == 0.0
    for s in (1, 30, 63.5, 80, 99):
        assert le.similarity_from_distance(le.distance_from_similarity(s)) == pytest.approx(s)


def test_operating_point_is_stricter_than_dlib_default():
    assert le.distance_from_similarity(THRESHOLD) < 0.6
    # the review band sits just above the threshold's distance
    assert le.distance_from_similarity(le.REVIEW_FLOOR) == pytest.approx(le.REVIEW_DISTANCE)
    assert le.REVIEW_FLOOR < THRESHOLD


def test_confidence_from_detector_score():
    assert le.confidence_from_score(0.0) == pytest.approx(50.0)
    assert le.confidence_from_score(2.0) > 99.0
    assert le.confidence_from_score(-100) >= 0.0 and le.confidence_from_score(100) <= 100.0
    assert le.confidence_from_score(0.5) < le.confidence_from_score(1.0)


# --- multi-face rule ----------------------------------------------------------

def _det(width, score=2.0, left=0.0):
    return le._Detection(left, 0.0, left + width, width, score)


def test_select_faces_counts_only_comparable_strong_faces():
    big, printed, card_portrait = _det(300), _det(110, left=400), _det(60, left=600)
    faces = le.select_faces([card_portrait, printed, big])
    assert faces[0] is big                          # largest first: it is compared
    assert printed in faces                         # a held-up photo (0.37x) counts
    assert card_portrait not in faces               # an ID card's portrait (0.2x) does not
    assert le.select_faces([big, _det(95, left=400)]) == [big]     # under 1/3


def test_select_faces_ignores_weak_spurious_detections():
    face, spurious = _det(88, score=1.5), _det(105, score=0.1, left=300)
    assert le.select_faces([spurious, face]) == [face]
    # but a lone weak detection is still a face (a faded document portrait)
    assert le.select_faces([spurious]) == [spurious]


# --- astronaut: always available ----------------------------------------------

def test_same_photo_matches_with_boxes_on_the_face():
    result = compare(astronaut_doc(), as_selfie(fi.astronaut()))
    assert result.similarity > 99.0
    assert result.faces_in_selfie == 1
    left, top, right, bottom = fs.ASTRONAUT_FACE
    face = result.selfie_face
    assert face.left == pytest.approx(left / 512, abs=0.03)
    assert face.top == pytest.approx(top / 512, abs=0.03)
    assert face.width == pytest.approx((right - left) / 512, abs=0.03)
    assert 80.0 < face.confidence <= 100.0


@pytest.mark.parametrize("make", [
    lambda a: a.crop((100, 0, 400, 300)).resize((600, 600), PILImage.LANCZOS),
    lambda a: a.rotate(12, resample=PILImage.BICUBIC),
    lambda a: a.transpose(PILImage.FLIP_LEFT_RIGHT),
    lambda a: fs.large_selfie(a.resize((1024, 1024), PILImage.BICUBIC), (4000, 3000)),
], ids=["crop-upscaled", "rotated-12deg", "mirrored", "12MP"])
def test_variants_of_the_same_face_match(make):
    result = compare(astronaut_doc(), as_selfie(make(fi.astronaut())))
    assert result.similarity >= THRESHOLD


def test_png_with_alpha_is_accepted():
    rgba = fi.astronaut().convert("RGBA")
    result = compare(as_document(fs.png_bytes(rgba)), as_selfie(fi.astronaut()))
    assert result.similarity > 99.0


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation):
    upright = compare(astronaut_doc(), as_selfie(fi.astronaut()))
    rotated = fs.exif_rotated(fi.astronaut(), orientation)
    result = compare(astronaut_doc(), as_selfie(rotated))
    assert result.similarity >= THRESHOLD
    # boxes are ratios of the upright image: the same as the upright copy's
    for got, want in zip(box(result.selfie_face), box(upright.selfie_face)):
        assert got == pytest.approx(want, abs=0.02)


def test_large_jpeg_is_decoded_reduced_and_boxes_still_ratios():
    big = fs.jpeg_bytes(fs.large_selfie(fi.astronaut().resize((1024, 1024)), (4000, 3000)))
    img, factor = le.decode(big)
    assert factor == 2 and img.size == (2000, 1500)
    result = compare(astronaut_doc(), as_selfie(big))
    assert 0.0 <= result.selfie_face.left < result.selfie_face.left + result.selfie_face.width <= 1.0
    assert result.selfie_face.width > 0.1


@pytest.mark.parametrize("portrait_height", [150, 200, 240])
def test_id_card_portrait_found_not_its_ghost(portrait_height):
    card = as_document(fi.astronaut_card(portrait_height))
    result = compare(card, as_selfie(fi.astronaut()))
    assert result.similarity >= THRESHOLD
    face = result.document_face
    # the portrait sits at x=50..~230 px of the 1000 px card; the ghost at the right
    assert face.left < 0.25
    assert face.left + face.width < 0.3


def test_small_card_portrait_found_by_upsampling():
    # a 120 px portrait: the face box is ~45 px, under the HOG window
    import numpy as np
    img, _ = le.decode(fi.astronaut_card(120))
    assert le._detect(le._models(), np, img, 1.0) == []     # not at native size...
    result = compare(as_document(fi.astronaut_card(120)), as_selfie(fi.astronaut()))
    assert result.similarity >= THRESHOLD                  # ...but found upsampled
    assert result.document_face.left < 0.25


def test_no_face_in_document_and_in_selfie():
    photo = fi.no_face_photo()
    err = error_of(as_document(photo), as_selfie(fi.astronaut()))
    assert (err.code, err.field, err.status) == ("NO_FACE", "dl", 422)
    err = error_of(astronaut_doc(), as_selfie(photo))
    assert (err.code, err.field) == ("NO_FACE", "selfie")


def test_truncated_image_is_invalid_and_other_failures_are_engine_errors(monkeypatch):
    good = fs.jpeg_bytes(fi.astronaut())
    broken = fi.engine_image(good, "dl")
    broken = type(broken)(good[: len(good) // 3], "JPEG", 512, 512, "dl")   # truncated
    err = error_of(broken, as_selfie(fi.astronaut()))
    assert (err.code, err.status, err.field) == ("INVALID_IMAGE", 400, "dl")

    def explode(*args):
        raise RuntimeError("dlib internal detail")
    monkeypatch.setattr(le, "_find_faces", explode)
    err = error_of(astronaut_doc(), as_selfie(fi.astronaut()))
    assert (err.code, err.status) == ("ENGINE_ERROR", 502)
    assert "dlib" not in err.message


def test_document_error_wins_when_both_images_fail():
    photo = fi.no_face_photo()
    err = error_of(as_document(photo), as_selfie(photo))
    assert err.field == "dl"


def test_two_comparable_faces_in_selfie():
    two = fs.side_by_side(fi.astronaut(), fi.astronaut().transpose(PILImage.FLIP_LEFT_RIGHT))
    err = error_of(astronaut_doc(), as_selfie(two))
    assert (err.code, err.field) == ("MULTIPLE_FACES", "selfie")
    assert "2 faces" in err.message
    result = compare(astronaut_doc(), as_selfie(two), allow_multiple_faces=True)
    assert result.faces_in_selfie == 2
    assert result.similarity >= THRESHOLD


def test_two_faces_on_a_document_are_not_an_error():
    two = fs.side_by_side(fi.astronaut(), fi.astronaut())
    result = compare(as_document(two), as_selfie(fi.astronaut()))
    assert result.similarity >= THRESHOLD


def test_face_too_small():
    small = fi.astronaut().resize((256, 256), PILImage.LANCZOS)     # face ~44 px
    result = compare(astronaut_doc(), as_selfie(small))              # default 40 px: fine
    assert result.similarity >= THRESHOLD
    err = error_of(astronaut_doc(), as_selfie(small), min_face_px=60)
    assert (err.code, err.field) == ("FACE_TOO_SMALL", "selfie")
    err = error_of(as_document(small), as_selfie(fi.astronaut()), min_face_px=60)
    assert (err.code, err.field) == ("FACE_TOO_SMALL", "dl")


def test_face_too_blurry():
    blurred = fs.blurred(fi.astronaut(), face_width=88, fraction=1 / 25)
    err = error_of(astronaut_doc(), as_selfie(blurred))
    assert (err.code, err.field) == ("FACE_TOO_BLURRY", "selfie")
    err = error_of(as_document(blurred), as_selfie(fi.astronaut()))
    assert (err.code, err.field) == ("FACE_TOO_BLURRY", "dl")
    # the threshold is an option: 0 turns the check off
    compare(astronaut_doc(), as_selfie(blurred), min_sharpness=0.0)


def test_sharpness_ignores_contrast_but_not_blur():
    import numpy as np
    chip = np.asarray(fi.astronaut().crop(fs.ASTRONAUT_FACE).resize((150, 150)))
    faded = (chip.astype(float) * 0.3 + 150).astype(np.uint8)
    soft = np.asarray(PILImage.fromarray(chip).filter(
        __import__("PIL.ImageFilter", fromlist=["x"]).GaussianBlur(3)))
    sharp = le._sharpness(np, chip)
    assert le._sharpness(np, faded) == pytest.approx(sharp, rel=0.15)
    assert le._sharpness(np, soft) < sharp / 3
    assert sharp > le.DEFAULT_MIN_SHARPNESS


# --- process and threads ------------------------------------------------------

def test_module_import_loads_neither_numpy_nor_dlib():
    code = ("import sys; import chalicelib.engines.local; "
            "print(sorted(m for m in ('numpy', 'dlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(fi.REPO), check=True).stdout.strip()
    assert out == "[]"


def _cases():
    card = as_document(fi.astronaut_card(200))
    two = as_selfie(fs.side_by_side(fi.astronaut(), fi.astronaut()))
    cases = [
        (astronaut_doc(), as_selfie(fi.astronaut()), {}),
        (card, as_selfie(fi.astronaut().rotate(8, resample=PILImage.BICUBIC)), {}),
        (card, as_selfie(fs.exif_rotated(fi.astronaut(), 6)), {}),
        (astronaut_doc(), two, {}),
        (astronaut_doc(), two, {"allow_multiple_faces": True}),
        (as_document(fi.no_face_photo()), as_selfie(fi.astronaut()), {}),
        (astronaut_doc(), as_selfie(fs.blurred(fi.astronaut(), 88, 1 / 25)), {}),
    ]
    if (fi.SHARED_FACES / "pairs.csv").exists():
        cases += [
            (shared("face_recognition/obama.jpg", "dl"),
             shared("face_recognition/obama-720p.jpg", "selfie"), {}),
            (shared("face_recognition/obama.jpg", "dl"),
             shared("face_recognition/biden.jpg", "selfie"), {}),
            (shared("deepface/img1.jpg", "dl"), shared("deepface/img2.jpg", "selfie"), {}),
            (shared("deepface/img3.jpg", "dl"), shared("deepface/img40.jpg", "selfie"), {}),
        ]
    return cases


def _outcome(case):
    doc, selfie, options = case
    try:
        return compare(doc, selfie, **options)
    except ApiError as exc:
        return (exc.code, exc.field)


def test_concurrent_verifications_give_the_serial_results():
    cases = _cases()
    serial = [_outcome(c) for c in cases]
    assert any(isinstance(r, Comparison) for r in serial)
    assert any(isinstance(r, tuple) for r in serial)
    loads_before = le.model_loads()
    work = cases * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(_outcome, work))
    # exactly the same floats, boxes and errors, whatever the interleaving
    assert concurrent == serial * 4
    # Models are per worker thread, loaded at most once per thread, never per
    # request. True on any machine: the pool's size (IPS_LOCAL_WORKERS or the
    # CPU count) and how far it had grown before this burst do not matter.
    # (Plus one set if this test thread called le._models() itself.)
    own = 1 if getattr(le._local, "models", None) is not None else 0
    assert le.model_loads() - own <= le._workers()
    assert le.model_loads() - loads_before <= min(le._workers(), len(work) - 1)


# --- real people (../shared/faces) ----------------------------------------------

@needs_shared_faces
def test_same_person_different_photos_match():
    for a, b in [("face_recognition/obama.jpg", "face_recognition/obama2.jpg"),
                 ("deepface/img1.jpg", "deepface/img2.jpg"),
                 ("face_recognition/knn_train_biden_biden2.jpg", "face_recognition/biden.jpg")]:
        assert compare(shared(a, "dl"), shared(b, "selfie")).similarity >= THRESHOLD, (a, b)


@needs_shared_faces
def test_different_people_do_not_match_nor_need_review():
    for a, b in [("face_recognition/obama.jpg", "face_recognition/biden.jpg"),
                 ("deepface/img1.jpg", "deepface/img3.jpg"),
                 ("face_recognition/knn_train_rose_leslie_img1.jpg",
                  "face_recognition/knn_train_kit_harington_john1.jpeg")]:
        assert compare(shared(a, "dl"), shared(b, "selfie")).similarity < le.REVIEW_FLOOR, (a, b)


@needs_shared_faces
@pytest.mark.parametrize("path", ["face_recognition/two_people.jpg",
                                  "face_recognition/knn_test_obama_and_biden.jpg",
                                  "deepface/couple.jpg"])
def test_real_two_person_selfies_are_refused(path):
    err = error_of(shared("face_recognition/obama.jpg", "dl"), shared(path, "selfie"))
    assert err.code == "MULTIPLE_FACES"


@needs_shared_faces
def test_best_match_among_selfie_faces():
    # obama and biden side by side: against obama's document, obama's face wins
    result = compare(shared("face_recognition/obama.jpg", "dl"),
                     shared("face_recognition/knn_test_obama_and_biden.jpg", "selfie"),
                     allow_multiple_faces=True)
    assert result.faces_in_selfie >= 2
    assert result.similarity >= THRESHOLD


@needs_shared_faces
def test_webp_renamed_and_rgba_png_decode():
    # img47.jpg is really WebP; 32bit.png is obama2.jpg as RGBA
    result = compare(shared("face_recognition/32bit.png", "dl"),
                     shared("face_recognition/obama2.jpg", "selfie"))
    assert result.similarity > 99.0
    assert compare(shared("deepface/img47.jpg", "dl"),
                   shared("deepface/img48.jpg", "selfie")).similarity >= THRESHOLD


@needs_shared_faces
def test_shared_card_and_sizes_of_one_photo():
    # the same photo at 240p..1080p all match a card made from another photo
    import numpy as np
    source = PILImage.open(fi.SHARED_FACES / "face_recognition" / "obama.jpg").convert("RGB")
    det = le._find_faces(le._models(), np, source, "document")[0]
    portrait = fs.portrait_crop(source, (det.left, det.top, det.right, det.bottom))
    card = as_document(fs.jpeg_bytes(fs.id_card(portrait), 85))
    for size in ("240p", "480p", "720p", "1080p"):
        selfie = shared(f"face_recognition/obama-{size}.jpg", "selfie")
        assert compare(card, selfie).similarity >= THRESHOLD, size


# --- scoring helpers of the bench and calibration scripts ----------------------

def test_rates_count_rejections_as_non_matches():
    from scripts import pair_scoring as ps
    genuine = [95.0, 85.0, 79.9, None]
    impostor = [10.0, 80.0, None, 50.0]
    r = ps.rates(genuine, impostor, 80.0)
    assert (r.false_matches, r.impostors) == (1, 4)
    assert (r.false_non_matches, r.genuines) == (2, 4)
    assert r.accuracy == pytest.approx(5 / 8)


def test_threshold_for_fmr_and_recommendation_floor():
    from scripts import calibrate
    from scripts import pair_scoring as ps
    impostor = [float(i) for i in range(100)]          # 0..99
    # FMR 2%: two impostors (98, 99) may pass; the threshold sits just above 97
    t = ps.threshold_for_fmr(impostor, 0.02)
    assert 97.0 < t < 97.001
    assert ps.rates([], impostor, t).false_matches == 2
    assert ps.threshold_for_fmr(impostor, 0.0) > 99.0
    # 100 impostors cannot show FMR 0.1%: never below the default threshold
    low = [float(i) / 4 for i in range(100)]           # all under 25
    threshold, reason = calibrate.recommend([90.0], low, 0.001)
    assert threshold == ps.DEFAULT_THRESHOLD and "rule of three" in reason
    threshold, _ = calibrate.recommend([90.0], low, 0.05)
    assert threshold < 25.0


def test_read_pairs_resolves_paths_relative_to_the_csv(tmp_path):
    from scripts import pair_scoring as ps
    (tmp_path / "sub").mkdir()
    csv_path = tmp_path / "sub" / "pairs.csv"
    csv_path.write_text("image_a,image_b,same_person\na.jpg,../b.jpg,1\na.jpg,c.png,0\n")
    pairs = ps.read_pairs(csv_path)
    assert pairs[0].a == tmp_path / "sub" / "a.jpg"
    assert pairs[0].b.resolve() == tmp_path / "b.jpg"
    assert [p.same for p in pairs] == [True, False]
