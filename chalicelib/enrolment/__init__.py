"""Enrolled faces and duplicate search.

One interface (``base.EnrolmentStore``), two implementations, picked per
stage by the composition root (chalicelib/backends.py):

- ``sqlite``: the offline engine's descriptors in SQLite (the local stage);
- ``rekognition``: the stage's Amazon Rekognition collection (cloud stages).

Each implementation is imported only when its stage uses it: the cloud
stages never load numpy or sqlite3."""
