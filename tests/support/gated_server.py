"""`python -m tests.support.gated_server`: chalicelib.serve with a stand-in face
engine that blocks until the test lets it go, so that tests can fill the
admission bound deterministically (no timing).

Each comparison writes one byte to the "entered" pipe, then reads one byte
from the "gate" pipe: the test reads "entered" to know how many are in the
engine, and writes one byte to "gate" per comparison it lets finish. The two
pipe descriptors are passed in IPS_TEST_ENTERED_FD and IPS_TEST_GATE_FD."""
from __future__ import annotations

import os
import sys

from chalicelib import backends
from chalicelib.backends import Root, Services
from chalicelib.faces.base import Comparison, Face
from chalicelib.imaging.image import Image

ENTERED_FD = int(os.environ["IPS_TEST_ENTERED_FD"])
GATE_FD = int(os.environ["IPS_TEST_GATE_FD"])
FACE = Face(left=0.2, top=0.2, width=0.5, height=0.5, confidence=99.0)


class GatedEngine:
    name = "gated"

    def compare(self, document: Image, selfie: Image) -> Comparison:
        os.write(ENTERED_FD, b"e")
        if os.read(GATE_FD, 1) != b"g":
            raise RuntimeError("gate closed")
        return Comparison(similarity=91.0, document_face=FACE, selfie_face=FACE,
                          faces_in_selfie=1)


_ENGINE = GatedEngine()
backends.install(Root(build=lambda settings: Services(settings, faces=_ENGINE)))

if __name__ == "__main__":
    from chalicelib.serve.main import main
    sys.exit(main())
