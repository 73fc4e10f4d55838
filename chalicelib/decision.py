"""Turns a similarity score into the decision a business acts on."""

from __future__ import annotations

MATCH, REVIEW, NO_MATCH = "match", "review", "no_match"


def decide(similarity: float, threshold: float, review_floor: float | None) -> str:
    """match at or above the threshold; review in [review_floor, threshold)
    when a band is set, so a person looks at the unsure cases; else no_match."""
    if similarity >= threshold:
        return MATCH
    if review_floor is not None and similarity >= review_floor:
        return REVIEW
    return NO_MATCH
