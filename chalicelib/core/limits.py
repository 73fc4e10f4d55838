"""Every size limit of the API in one place: the request layer, the image
checks and normalisation all read them from here."""

from __future__ import annotations

# Lambda's synchronous request limit; API Gateway itself allows 10 MB.
MAX_BODY_BYTES = 6 * 1024 * 1024
# Rekognition's limit for image bytes; the offline engine keeps the same
# contract so a client that works locally works in the cloud.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Rekognition's minimum image side.
MIN_SIDE_PX = 80
# Far above any phone camera (48-50 MP sensors must pass), and the ceiling on
# what a decode may allocate: 50 MP is 150-200 MB (RGB, CMYK), inside the 1 GB Lambda.
MAX_PIXELS = 50_000_000
# Images with a longer side are scaled down to it before an engine sees them.
MAX_LONG_SIDE = 4096
