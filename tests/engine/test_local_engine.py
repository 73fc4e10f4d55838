"""The offline face engine (chalicelib/engines/local.py) on real faces.

No timing assertions: speed is measured by scripts/bench_engine.py."""
from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image as PILImage

from chalicelib.config.settings import EngineOptions
from chalicelib.core.errors import ApiError
from chalicelib.faces.base import Comparison
from chalicelib.faces.local import calibration, describe, detect, fuse, runtime
from chalicelib.faces.local import engine as le
from tests.support import face_images as fi
from tests.support.face_images import as_document, as_selfie, fs, needs_shared_faces, shared
from tests.support.fresh_python import run_python

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
    sims = [calibration.similarity_from_distance(d) for d in distances]
    assert all(a > b for a, b in itertools.pairwise(sims))
    assert all(0.0 <= s <= 100.0 for s in sims)
    assert calibration.similarity_from_distance(calibration.DISTANCE_AT_80) == pytest.approx(80.0)
    assert calibration.similarity_from_distance(0.60) == pytest.approx(50.0)
    assert calibration.similarity_from_distance(1e6) == 0.0
    for s in (1, 30, 63.5, 80, 99):
        assert calibration.similarity_from_distance(calibration.distance_from_similarity(s)) == pytest.approx(s)


def test_operating_point_is_stricter_than_dlib_default():
    assert calibration.distance_from_similarity(THRESHOLD) < 0.6
    # the review band sits just above the threshold's distance
    assert calibration.distance_from_similarity(calibration.REVIEW_FLOOR) == pytest.approx(calibration.REVIEW_DISTANCE)
    assert calibration.REVIEW_FLOOR < THRESHOLD


def test_confidence_from_hog_score():
    assert detect.confidence_from_hog_score(0.0) == pytest.approx(50.0)
    assert detect.confidence_from_hog_score(2.0) > 99.0
    assert detect.confidence_from_hog_score(-100) >= 0.0
    assert detect.confidence_from_hog_score(100) <= 100.0
    assert detect.confidence_from_hog_score(0.5) < detect.confidence_from_hog_score(1.0)


# --- multi-face rule ----------------------------------------------------------

def _det(width, confidence=95.0, left=0.0):
    return detect.Detection(left, 0.0, left + width, width, confidence,
                        confidence >= 100 * detect.YUNET_SURE_SCORE)


def test_select_faces_counts_only_comparable_strong_faces():
    big, printed, card_portrait = _det(300), _det(110, left=400), _det(60, left=600)
    faces = detect.select_faces([card_portrait, printed, big])
    assert faces[0] is big                          # largest first: it is compared
    assert printed in faces                         # a held-up photo (0.37x) counts
    assert card_portrait not in faces               # an ID card's portrait (0.2x) does not
    assert detect.select_faces([big, _det(95, left=400)]) == [big]     # under 1/3


def test_select_faces_ignores_weak_spurious_detections():
    face, spurious = _det(88, confidence=93), _det(105, confidence=60, left=300)
    assert detect.select_faces([spurious, face]) == [face]
    # but a lone weak detection is still a face (a faded document portrait)
    assert detect.select_faces([spurious]) == [spurious]


# --- astronaut: always available ----------------------------------------------

def test_same_photo_matches_with_boxes_on_the_face():
    result = compare(astronaut_doc(), as_selfie(fi.astronaut()))
    assert result.similarity > 99.0
    assert result.faces_in_selfie == 1
    left, top, right, _bottom = fs.ASTRONAUT_FACE
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
    for got, want in zip(box(result.selfie_face), box(upright.selfie_face), strict=True):
        assert got == pytest.approx(want, abs=0.02)


def test_large_jpeg_is_decoded_reduced_and_boxes_still_ratios():
    big = fs.jpeg_bytes(fs.large_selfie(fi.astronaut().resize((1024, 1024)), (4000, 3000)))
    img, factor = describe.decode(big)
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


@pytest.mark.parametrize("portrait_height", [110, 120])
def test_detector_finds_the_small_card_faces_hog_misses(portrait_height):
    # a 110-120 px portrait: the face box is ~42-45 px, under HOG's 80 px window
    img, _ = describe.decode(fi.astronaut_card(portrait_height))
    models = runtime.models()
    assert detect.hog_pass(models, img, 1.0) == []               # HOG: not at native size
    found = detect.select_faces(detect.yunet_faces(models, img, "document"))
    assert len(found) == 1 and found[0].sure                  # YuNet: at once, not the ghost
    assert found[0].left < 0.25 * img.width
    result = compare(as_document(fi.astronaut_card(portrait_height)), as_selfie(fi.astronaut()))
    assert result.similarity >= THRESHOLD
    assert result.document_face.left < 0.25


def test_yunet_box_is_shaped_like_hogs():
    # dlib's landmark model was trained on HOG's boxes: the YuNet box handed
    # to it must sit where HOG's does (same face, within a tenth of its width)
    img, _ = describe.decode(fs.jpeg_bytes(fi.astronaut()))
    models = runtime.models()
    hog = detect.select_faces(detect.hog_pass(models, img, 1.0))[0]
    yunet = detect.select_faces(detect.yunet_faces(models, img, "selfie"))[0]
    for a, b in ((hog.left, yunet.left), (hog.top, yunet.top), (hog.right, yunet.right),
                 (hog.bottom, yunet.bottom)):
        assert abs(a - b) < 0.1 * hog.width


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
    monkeypatch.setattr(le, "find_faces", explode)
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


def _with_smaller_face(blur_radius: float):
    """The astronaut with a copy of her face at 0.55 of its size beside her."""
    from PIL import ImageFilter

    main = fi.astronaut()
    small = main.resize((int(main.width * 0.55), int(main.height * 0.55)))
    if blur_radius:
        small = small.filter(ImageFilter.GaussianBlur(blur_radius))
    canvas = PILImage.new("RGB", (main.width + small.width, main.height), (128, 128, 128))
    canvas.paste(main, (0, 0))
    canvas.paste(small, (main.width, 100))
    return canvas


def test_a_smaller_out_of_focus_face_is_a_bystander():
    """Verified on the main face; the bystander is still reported."""
    result = compare(astronaut_doc(), as_selfie(_with_smaller_face(blur_radius=3)))
    assert result.faces_in_selfie == 2
    assert result.similarity >= THRESHOLD


def test_a_smaller_sharp_face_still_counts_as_a_second_person():
    err = error_of(astronaut_doc(), as_selfie(_with_smaller_face(blur_radius=0)))
    assert (err.code, err.field) == ("MULTIPLE_FACES", "selfie")


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


def _card(blur_fraction=0.0, quality=85, motion_fraction=0.0):
    """A 1000x630 card with a 250 px portrait (face ~94 px wide) and a ghost,
    the whole card blurred by a fraction of the face's width, as a phone shoots it."""
    portrait = fs.portrait_crop(fi.astronaut(), fs.ASTRONAUT_FACE)
    card = fs.id_card(portrait, portrait_height=250)
    face_width = 250 * 3 / 8
    card = fs.gaussian_blur(card, blur_fraction * face_width)
    card = fs.motion_blur(card, motion_fraction * face_width)
    return as_document(fs.jpeg_bytes(card, quality))


@pytest.mark.parametrize("blur, quality", [(1 / 80, 85), (1 / 80, 70), (1 / 60, 85)])
def test_soft_card_is_accepted_and_matches(blur, quality):
    # issue 8: a phone shot of a card is a little soft; it must be compared
    result = compare(_card(blur, quality), as_selfie(fi.astronaut()))
    assert result.similarity >= THRESHOLD
    assert result.document_face.left < 0.25


def test_face_too_blurry():
    # blur of a tenth of the face's width: nobody can be told apart any more
    hopeless = fs.blurred(fi.astronaut(), face_width=88, fraction=1 / 10)
    err = error_of(astronaut_doc(), as_selfie(hopeless))
    assert (err.code, err.field, err.status) == ("FACE_TOO_BLURRY", "selfie", 422)
    err = error_of(_card(1 / 10), as_selfie(fi.astronaut()))
    assert (err.code, err.field) == ("FACE_TOO_BLURRY", "dl")
    err = error_of(_card(motion_fraction=1 / 4), as_selfie(fi.astronaut()))
    assert (err.code, err.field) == ("FACE_TOO_BLURRY", "dl")
    # the threshold is an option: 0 turns the check off, and the score says
    # what the sweep shows, that such a pair no longer matches
    result = compare(astronaut_doc(), as_selfie(hopeless), min_sharpness=0.0)
    assert result.similarity < THRESHOLD


def test_sharpness_ignores_contrast_but_not_blur():
    import numpy as np
    chip = np.asarray(fi.astronaut().crop(fs.ASTRONAUT_FACE).resize((150, 150)))
    faded = (chip.astype(float) * 0.3 + 150).astype(np.uint8)
    soft = np.asarray(PILImage.fromarray(chip).filter(
        __import__("PIL.ImageFilter", fromlist=["x"]).GaussianBlur(3)))
    sharp = describe.sharpness(chip)
    assert describe.sharpness(faded) == pytest.approx(sharp, rel=0.15)
    assert describe.sharpness(soft) < sharp / 3
    # motion blur (one direction only) counts as much as blur in all directions
    moved = np.asarray(fs.motion_blur(PILImage.fromarray(chip), 9))
    assert describe.sharpness(moved) < sharp / 3
    assert sharp > describe.DEFAULT_MIN_SHARPNESS


# --- process and threads ------------------------------------------------------

def test_module_import_loads_no_model_library():
    # cloud stages never import the module; importing it loads no models
    code = ("import sys; import chalicelib.faces.local.engine; "
            "print(sorted(m for m in ('dlib', 'cv2') if m in sys.modules))")
    assert run_python(code).strip() == "[]"


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


def _assert_models_per_worker(loads, pool_size):
    """Models are per thread, each loaded once, and requests run on the pool:
    at most one set per pool worker, however many the pool has."""
    assert len(loads) == len(set(loads))                        # never twice on one thread
    workers = [name for name in loads if name.startswith("ips-face")]
    assert len(workers) <= pool_size


def test_concurrent_verifications_give_the_serial_results():
    cases = _cases()
    serial = [_outcome(c) for c in cases]
    assert any(isinstance(r, Comparison) for r in serial)
    assert any(isinstance(r, tuple) for r in serial)
    work = cases * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(_outcome, work))
    # exactly the same floats, boxes and errors, whatever the interleaving
    assert concurrent == serial * 4
    # the request threads (6 here) never load models: only pool workers do,
    # once each, whatever the pool size (IPS_LOCAL_WORKERS or the CPU count)
    loads = runtime.model_loads()
    request_threads = {name for name in loads if name.startswith("ThreadPoolExecutor")}
    assert request_threads == set()
    _assert_models_per_worker(loads, runtime.workers())


def test_concurrency_holds_for_a_large_pool():
    # as on a machine with 8 CPUs: the pool grows to 8 workers, each loads its
    # own models once; results are still exactly the serial ones
    code = """
import json
from concurrent.futures import ThreadPoolExecutor
from chalicelib.faces.local import engine as local
from chalicelib.faces.local import calibration
from chalicelib.faces.local import describe
from chalicelib.faces.local import detect
from chalicelib.faces.local import fuse
from chalicelib.faces.local import runtime
from chalicelib.config.settings import EngineOptions
from tests.support import face_images as fi
engine = local.LocalEngine(EngineOptions())
preloaded = runtime.preload()
after_preload = runtime.model_loads()
doc = fi.as_document(fi.astronaut_card(200))
selfies = [fi.as_selfie(fi.astronaut()), fi.as_selfie(fi.astronaut().rotate(8))]
serial = [engine.compare(doc, s).similarity for s in selfies]
with ThreadPoolExecutor(max_workers=12) as pool:
    concurrent = list(pool.map(lambda s: engine.compare(doc, s).similarity, selfies * 6))
print(json.dumps({"same": concurrent == serial * 6, "loads": runtime.model_loads(),
                  "after_preload": after_preload, "preloaded": preloaded,
                  "workers": runtime.workers()}))
"""
    out = run_python(code, IPS_LOCAL_WORKERS="8").strip().splitlines()[-1]
    result = json.loads(out)
    assert result["workers"] == result["preloaded"] == 8
    assert result["same"] is True
    # preload gave each of the 8 workers its models; the requests loaded none
    assert len(result["after_preload"]) == 8
    assert result["loads"] == result["after_preload"]
    assert all(name.startswith("ips-face") for name in result["loads"])
    _assert_models_per_worker(result["loads"], 8)


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
        assert compare(shared(a, "dl"), shared(b, "selfie")).similarity < calibration.REVIEW_FLOOR, (a, b)


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
    source = PILImage.open(fi.SHARED_FACES / "face_recognition" / "obama.jpg").convert("RGB")
    det = detect.find_faces(runtime.models(), source, "document")[0]
    portrait = fs.portrait_crop(source, (det.left, det.top, det.right, det.bottom))
    card = as_document(fs.jpeg_bytes(fs.id_card(portrait), 85))
    for size in ("240p", "480p", "720p", "1080p"):
        selfie = shared(f"face_recognition/obama-{size}.jpg", "selfie")
        assert compare(card, selfie).similarity >= THRESHOLD, size


# --- second opinion (SFace) in the review band ----------------------------------

def test_fused_distance_moves_with_both_opinions():
    d = 0.55
    agree = fuse.fused_distance(d, 0.70)      # SFace: clearly the same person
    doubt = fuse.fused_distance(d, 0.15)      # SFace: an ordinary stranger
    assert agree < d < doubt
    # each score counts for half: SFace at its impostor mean pulls the
    # distance half way to dlib's impostor mean
    half = fuse.fused_distance(d, fuse.SFACE_IMPOSTOR_MEAN)
    assert half == pytest.approx((d + fuse.DLIB_IMPOSTOR_MEAN) / 2)


def test_second_look_only_in_the_band():
    face = describe.FaceResult(face=None, size_px=100.0, sharpness=0.3,
                         descriptor=None, sface_crop=None)
    # outside the band nothing else is computed (no crop is even looked at)
    for d in (0.30, fuse.SECOND_LOOK_FROM, fuse.SECOND_LOOK_TO + 0.01, 0.9):
        assert fuse.second_look(d, face, face) == d
    # a HOG-found face has no landmarks for SFace: the first distance stands
    assert fuse.second_look(0.55, face, face) == 0.55


@needs_shared_faces
@pytest.mark.parametrize("a, b", [("deepface/img28.jpg", "deepface/img45.jpg"),
                                  ("face_recognition/alex-lacamoire.png",
                                   "face_recognition/knn_test_alex_lacamoire1.jpg")])
def test_second_opinion_lifts_hard_genuine_pairs(a, b):
    # same person, first score in the review band; SFace agrees -> a match
    doc, selfie = shared(a, "dl"), shared(b, "selfie")
    first = le.LocalEngine(EngineOptions(), le.Pipeline(second_look=False)).compare(doc, selfie)
    assert calibration.REVIEW_FLOOR <= first.similarity < THRESHOLD
    assert compare(doc, selfie).similarity >= THRESHOLD


@needs_shared_faces
def test_closest_impostors_stay_far_from_the_band():
    # the labelled set's closest different-person pairs keep their score:
    # they are outside the band, where the second opinion never runs
    for a, b in [("deepface/img1.jpg", "deepface/img3.jpg"),
                 ("face_recognition/obama.jpg", "face_recognition/biden.jpg")]:
        result = compare(shared(a, "dl"), shared(b, "selfie"))
        assert result.similarity < calibration.similarity_from_distance(fuse.SECOND_LOOK_TO)


# --- scoring helpers of the bench and calibration scripts ----------------------

def test_rates_count_rejections_as_non_matches():
    from scripts.eval import pair_scoring as ps
    genuine = [95.0, 85.0, 79.9, None]
    impostor = [10.0, 80.0, None, 50.0]
    r = ps.rates(genuine, impostor, 80.0)
    assert (r.false_matches, r.impostors) == (1, 4)
    assert (r.false_non_matches, r.genuines) == (2, 4)
    assert r.accuracy == pytest.approx(5 / 8)


def test_threshold_for_fmr_and_recommendation_floor():
    from scripts.eval import calibrate
    from scripts.eval import pair_scoring as ps
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
    from scripts.eval import pair_scoring as ps
    (tmp_path / "sub").mkdir()
    csv_path = tmp_path / "sub" / "pairs.csv"
    csv_path.write_text("image_a,image_b,same_person\na.jpg,../b.jpg,1\na.jpg,c.png,0\n")
    pairs = ps.read_pairs(csv_path)
    assert pairs[0].a == tmp_path / "sub" / "a.jpg"
    assert pairs[0].b.resolve() == tmp_path / "b.jpg"
    assert [p.same for p in pairs] == [True, False]
