"""Face engines: compare the document's face with the selfie's.

One interface (``base.FaceEngine``), two implementations, picked per stage by
the composition root (chalicelib/backends.py):

- ``rekognition``: Amazon Rekognition CompareFaces (cloud stages);
- ``local``: dlib's ResNet descriptor with YuNet and SFace, offline (the local stage).

Each implementation is imported only when its stage uses it: the cloud
stages never load numpy or dlib, and the local stage needs no AWS credentials."""
