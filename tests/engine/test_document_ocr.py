"""The offline document reader (chalicelib/documents/local.py: RapidOCR on
onnxruntime) on real specimen images and on synthetic documents. No timing
assertions: speed and accuracy over hundreds of documents are measured by
scripts/bench_documents.py (make bench-documents)."""

from __future__ import annotations

import csv
import io
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from PIL import Image as PILImage

pytest.importorskip("rapidocr", reason="offline OCR (requirements-local.txt) not installed")
pytest.importorskip("onnxruntime", reason="offline OCR (requirements-local.txt) not installed")

from chalicelib.documents import local
from chalicelib.documents.local import LocalReader
from chalicelib.imaging.image import Image
from tests.support.document_images import make_document

TODAY = date(2026, 11, 27)
SHARED_DOCUMENTS = Path(__file__).resolve().parents[3] / "shared" / "documents"
needs_specimens = pytest.mark.skipif(not (SHARED_DOCUMENTS / "manifest.csv").exists(),
                                     reason=f"specimen documents not found at {SHARED_DOCUMENTS}")
FIELDS = ("surname", "given_names", "document_number", "date_of_birth", "expiry_date",
          "nationality")


@pytest.fixture(scope="module")
def reader() -> LocalReader:
    return LocalReader()


def image(data: bytes) -> Image:
    return Image(data, "JPEG", 0, 0, "dl")


def read_fields(reader: LocalReader, data: bytes) -> dict:
    return reader.read(image(data), TODAY).fields.to_json()


def test_models_ship_in_the_wheel_and_nothing_is_downloaded(monkeypatch):
    """A fresh reader with every network connection refused still reads:
    the ONNX files come from the installed rapidocr package, by path."""
    models = local._model_dir()
    assert {"PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"} <= {
        p.name for p in models.glob("*.onnx")}

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    doc = make_document(3, "TD3", strength=0)
    result = LocalReader(threads=1).read(image(doc.jpeg), TODAY)
    assert result.read and result.source == "mrz"


@pytest.mark.parametrize("seed, kind", [(11, "TD1"), (12, "TD3"), (13, "US_DL"),
                                        (21, "TD1"), (22, "TD3"), (23, "US_DL")])
def test_synthetic_documents_read_exactly(reader, seed, kind):
    doc = make_document(seed, kind, invalid_rate=0)   # rotated, blurred, glare, JPEG
    result = reader.read(image(doc.jpeg), TODAY)
    got = result.fields.to_json()
    assert {k: got[k] for k in FIELDS if k in doc.truth} == {
        k: doc.truth[k] for k in FIELDS if k in doc.truth}
    if kind == "US_DL":
        assert (result.source, result.type, result.check_digits) == ("text", "driving_licence", None)
    else:
        assert (result.source, result.mrz_format, result.check_digits) == ("mrz", kind, True)


def test_spoiled_check_digit_is_reported(reader):
    seed = next(s for s in range(100) if not make_document(s, "TD3", invalid_rate=1).digits_valid)
    doc = make_document(seed, "TD3", invalid_rate=1)
    assert reader.read(image(doc.jpeg), TODAY).check_digits is False


def test_blank_and_tiny_images_read_nothing(reader):
    for size in ((640, 400), (90, 90)):
        buf = io.BytesIO()
        PILImage.new("RGB", size, (235, 235, 230)).save(buf, "PNG")
        result = reader.read(Image(buf.getvalue(), "PNG", *size, "dl"), TODAY)
        assert (result.read, result.reason) == (False, "unreadable")


def test_undecodable_bytes_are_a_reader_error_not_an_exception(reader):
    result = reader.read(image(b"\xff\xd8\xff\xe0 truncated"), TODAY)
    assert (result.read, result.reason) == (False, "reader_error")


def test_one_session_per_thread_gives_the_same_answers(reader):
    docs = [make_document(s, k, invalid_rate=0).jpeg for s, k in ((31, "TD1"), (32, "TD3"))]
    alone = [read_fields(reader, d) for d in docs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(pool.map(lambda d: read_fields(reader, d), docs))
    assert together == alone


def _manifest() -> dict[str, dict[str, str]]:
    with (SHARED_DOCUMENTS / "manifest.csv").open(encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


@needs_specimens
@pytest.mark.parametrize("name", [
    "passporteye/passport-td3.jpg", "passporteye/passport-td2.jpg",
    "passporteye/100_pass-fin.png", "passporteye/100_id-si.jpg", "passporteye/100_id-che.jpg",
    "passporteye/0_pass-lva.jpg",   # the MRZ turned 90 degrees
    "identity-germany/idcard-new_mustermann_marked.jpeg",   # red boxes across the MRZ
    "amazon-textract-textractor/fake_id.png", "amazon-textract-textractor/driverlicense.png",
])
def test_specimens_read_to_their_ground_truth(reader, name):
    row = _manifest()[name]
    result = reader.read(image((SHARED_DOCUMENTS / name).read_bytes()), TODAY)
    got = result.fields.to_json()
    assert {k: got[k] for k in FIELDS if row[k]} == {k: row[k] for k in FIELDS if row[k]}
    expired = date.fromisoformat(row["expiry_date"]) < TODAY
    assert result.fields.expiry_date is not None
    assert (result.fields.expiry_date < TODAY) is expired
    assert result.check_digits in ((None,) if row["doc_type"] == "US_DL" else (True,))


SHARED_FACES = SHARED_DOCUMENTS.parent / "faces" / "face_recognition"
needs_faces = pytest.mark.skipif(not (SHARED_FACES / "obama.jpg").exists(),
                                 reason=f"face photos not found at {SHARED_FACES}")


def _with_portrait(kind: str, seed: int):
    with PILImage.open(SHARED_FACES / "obama.jpg") as photo:
        return make_document(seed, kind, photo=photo.convert("RGB"))


@needs_faces
@pytest.mark.parametrize("kind", ["US_DL", "TD1", "TD3"])
def test_guided_reading_matches_the_whole_page_reading(reader, kind):
    """With a real portrait the guided path reads; the same fields as the
    whole-page baseline, and the ground truth."""
    from chalicelib.documents.portrait import find_portrait

    doc = _with_portrait(kind, 21)
    assert find_portrait(local._decode(doc.jpeg)) is not None
    guided = reader.read(image(doc.jpeg), TODAY)
    whole = LocalReader(guided=False).read(image(doc.jpeg), TODAY)
    assert guided.read and guided.fields == whole.fields
    got = guided.fields.to_json()
    assert {k: got[k] for k in FIELDS if k in doc.truth} == {
        k: v for k, v in doc.truth.items() if k in FIELDS}


@needs_faces
@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_the_portrait_says_which_way_is_up(reader, quarter_turns):
    import numpy as np

    from chalicelib.documents.portrait import find_portrait

    doc = _with_portrait("TD1", 22)
    turned = np.ascontiguousarray(np.rot90(local._decode(doc.jpeg), quarter_turns))
    portrait = find_portrait(turned)
    assert portrait is not None and portrait.turns == (4 - quarter_turns) % 4
    result = reader.read_array(turned, TODAY)
    assert result.read and result.check_digits is True
    assert result.fields.document_number == doc.truth["document_number"]
