"""Document readers: what the identity document says, and whether it holds.

One interface (``base.DocumentReader``), two implementations, picked per
stage by the composition root (chalicelib/backends.py):

- ``textract``: Amazon Textract AnalyzeID, plus the MRZ parser over the text
  it returns (cloud stages);
- ``local``: RapidOCR's PP-OCR models on onnxruntime, offline (the local stage);
  ``unavailable`` where it is not installed.

Beside them: ``mrz`` and ``fields`` (text -> fields), ``checks`` (expiry, age,
expected data), ``reading`` (a read bounded in time, beside the face
comparison). Each implementation is imported only when used: the cloud
stages never load numpy, onnxruntime or rapidocr (none of which is in the
Lambda package)."""
