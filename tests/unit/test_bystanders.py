"""The bystander rule (chalicelib/faces/bystanders.py): pure geometry and
sharpness, no model. Calibration figures: scripts/eval/calibrate_bystanders.py."""

from __future__ import annotations

from chalicelib.faces.bystanders import (
    BLUR_RATIO,
    SMALL_RATIO,
    SeenFace,
    cut_by_frame,
    is_bystander,
    presenting,
)

MAIN = SeenFace(width=300, sharpness=0.05, cut=False)


def test_two_comparable_faces_both_present():
    assert presenting([MAIN, SeenFace(280, 0.06, False)]) == [0, 1]


def test_a_comparable_face_counts_even_when_blurred_or_cut():
    """Only a much smaller face can be a bystander: size first."""
    assert not is_bystander(MAIN, SeenFace(0.8 * 300, 0.001, True))


def test_a_much_smaller_out_of_focus_face_is_a_bystander():
    other = SeenFace(0.5 * 300, 0.5 * BLUR_RATIO * 0.05, False)
    assert is_bystander(MAIN, other)
    assert presenting([MAIN, other]) == [0]


def test_a_much_smaller_face_cut_by_the_frame_is_a_bystander():
    assert is_bystander(MAIN, SeenFace(0.5 * 300, 0.05, True))


def test_a_much_smaller_whole_sharp_face_still_counts():
    """A photo held up beside the face, a second person further back."""
    assert not is_bystander(MAIN, SeenFace(0.5 * 300, 0.04, False))


def test_the_size_limit_is_inclusive():
    blurred = 0.1 * BLUR_RATIO * 0.05
    assert is_bystander(MAIN, SeenFace(SMALL_RATIO * 300, blurred, False))
    assert not is_bystander(MAIN, SeenFace(SMALL_RATIO * 300 + 1, blurred, False))


def test_only_bystanders_are_dropped_and_order_is_kept():
    faces = [MAIN, SeenFace(100, 0.0001, False), SeenFace(290, 0.05, False),
             SeenFace(120, 0.05, True)]
    assert presenting(faces) == [0, 2]
    assert presenting([]) == []


def test_cut_by_frame_means_the_box_reaches_an_edge():
    assert cut_by_frame(-5, 100, 95, 200, 1000, 800)  # past the left edge
    assert cut_by_frame(900, 100, 999, 200, 1000, 800)  # within 2 % of the right
    assert cut_by_frame(400, 700, 500, 800, 1000, 800)  # on the bottom edge
    assert not cut_by_frame(400, 100, 500, 200, 1000, 800)
