"""The cloud path must stay light: a dev-stage request never imports the
offline engines' numpy, dlib, onnxruntime or rapidocr (checked in a fresh
interpreter; the document is read by a stubbed Textract)."""

from tests.support.fresh_python import run_python

SCRIPT = """
import json, sys
from chalice.test import Client
from app import app
from tests.support.images import b64, image_bytes
from tests.support.rekognition_stub import answer, stubbed
with stubbed("rekognition") as stub, stubbed("textract"), Client(app, stage_name="dev") as http:
    stub.add_response("compare_faces", answer(90.0))
    r = http.http.post("/ips", headers={"Content-Type": "application/json"},
                       body=json.dumps({"dl": b64(image_bytes()), "selfie": b64(image_bytes())}))
print(r.status_code, sorted(m for m in ("numpy", "dlib", "face_recognition_models",
                                                  "waitress", "prometheus_client",
                                                  "onnxruntime", "rapidocr", "cv2")
                             if m in sys.modules))
"""


def test_dev_request_imports_no_offline_engine():
    assert run_python(SCRIPT, IPS_LOG_LEVEL="WARNING").strip() == "200 []"
