"""The image every capability takes: validated bytes and their header facts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    """A validated image: its bytes and header facts. Engines and readers
    receive only normalised ones (chalicelib.imaging.normalise): JPEG or PNG,
    upright."""

    data: bytes
    format: str  # "JPEG" or "PNG" once normalised; before, as received
    width: int
    height: int
    field: str  # "dl" or "selfie": which request field it came from
