"""The cloud path must stay light: a dev-stage request never imports the
offline engines' numpy, dlib, onnxruntime or rapidocr (checked in a fresh
interpreter; the document is read by a stubbed Textract)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "us-east-1",
           "IPS_LOG_LEVEL": "WARNING"}
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "200 []"
