"""From uploaded bytes to the Image every capability takes: `image.Image`,
`checks` (magic bytes, header, pixel limits), `normalise` (upright JPEG/PNG)
and `prepare` (both, in order)."""
