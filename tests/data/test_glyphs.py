"""Glyph strokes: font outlines resampled evenly by arc length (chaoslib.data.glyphs)."""

import numpy as np
import pytest

from chaoslib.data.glyphs import (
    glyph,
    glyph_stroke,
    glyph_targets,
    glyph_velocity,
    integrate_velocity,
    mix_targets,
    resample_polyline,
)
from chaoslib.errors import ChaoslibError


def test_resample_polyline_on_a_square_hits_known_arc_positions():
    # unit square, perimeter 4; 8 points at arc lengths 0.25, 0.75, ..., 3.75
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    got = resample_polyline(square, 8, closed=True)
    expected = np.array(
        [[0.25, 0], [0.75, 0], [1, 0.25], [1, 0.75], [0.75, 1], [0.25, 1], [0, 0.75], [0, 0.25]]
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_resample_polyline_open_line_and_single_point():
    line = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 0.0], [4.0, 0.0]])  # a repeated vertex is harmless
    np.testing.assert_allclose(resample_polyline(line, 4)[:, 0], [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(resample_polyline(line, 1), [[2.0, 0.0]])


@pytest.mark.parametrize("char", ["U", "S"])
@pytest.mark.parametrize("n_points", [1, 7, 100])
def test_glyph_shape_and_unit_box(char, n_points):
    points = glyph(char, n_points)
    assert points.shape == (n_points, 2)
    assert np.all(points >= -1e-12) and np.all(points <= 1 + 1e-12)


@pytest.mark.parametrize("char", ["U", "S"])
def test_glyph_points_are_evenly_spaced_along_the_outline(char):
    """Chords between neighbours equal the arc spacing except where the outline turns a corner."""
    stroke = glyph_stroke(char)
    closed = np.vstack([stroke, stroke[:1]])
    perimeter = np.linalg.norm(np.diff(closed, axis=0), axis=1).sum()
    n = 2000
    points = glyph(char, n)
    chords = np.linalg.norm(np.diff(np.vstack([points, points[:1]]), axis=0), axis=1)
    spacing = perimeter / n
    assert np.all(chords <= spacing * (1 + 1e-9))  # a chord never exceeds its arc
    straight = np.abs(chords / spacing - 1) < 1e-3
    assert straight.mean() > 0.97, f"only {straight.mean():.3f} of the increments equal the spacing"
    # the stroke fills the unit box along its larger side
    assert max(np.ptp(stroke[:, 0]), np.ptp(stroke[:, 1])) == pytest.approx(1.0)


def test_glyphs_are_distinct_and_recognisable():
    u, s = glyph("U", 200), glyph("S", 200)
    assert np.mean(np.linalg.norm(u - s, axis=1)) > 0.1

    # a vertical line through the middle crosses the outline of U's bottom bar twice and S's
    # three bars six times; a horizontal one crosses U's two arms four times and S's spine twice
    def crossings(points, axis, level=0.5):
        c = np.append(points[:, axis], points[0, axis]) - level
        return int(np.sum(np.sign(c[1:]) != np.sign(c[:-1])))

    assert (crossings(u, axis=0), crossings(u, axis=1)) == (2, 4)
    assert (crossings(s, axis=0), crossings(s, axis=1)) == (6, 2)


def test_mix_targets_is_linear_in_the_score():
    u, s = glyph("U", 10), glyph("S", 10)
    mixed = mix_targets(np.array([0.0, 2.5, 5.0]), u, s)
    np.testing.assert_allclose(mixed[0], u)
    np.testing.assert_allclose(mixed[1], (u + s) / 2)
    np.testing.assert_allclose(mixed[2], s)


def test_bad_input_is_rejected():
    with pytest.raises(ChaoslibError, match="n_points"):
        glyph("U", 0)
    with pytest.raises(ChaoslibError, match="char"):
        glyph("UU", 5)
    with pytest.raises(ChaoslibError, match="scores"):
        mix_targets(np.array([6.0]), glyph("U", 3), glyph("S", 3))


@pytest.mark.parametrize("char", ["U", "S"])
@pytest.mark.parametrize("n_points", [2, 7, 40])
def test_velocity_targets_are_the_finite_difference_of_the_resampled_glyph(char, n_points):
    """v(k) = P (g(k+1) - g(k)) around the closed stroke, written out with an explicit loop."""
    points = glyph(char, n_points)
    expected = np.array([n_points * (points[(k + 1) % n_points] - points[k]) for k in range(n_points)])
    np.testing.assert_allclose(glyph_velocity(char, n_points), expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(glyph_targets(char, n_points), glyph_velocity(char, n_points))
    np.testing.assert_array_equal(glyph_targets(char, n_points, mode="position"), points)
    # the drawing is the cumulative sum from the first point, and closes the stroke
    drawn = integrate_velocity(glyph_velocity(char, n_points), points[0])
    np.testing.assert_allclose(drawn[:-1], points, atol=1e-12)
    np.testing.assert_allclose(drawn[-1], points[0], atol=1e-12)


def test_velocity_of_a_fine_resampling_approaches_the_stroke_length():
    """|v| is the stroke length per unit parameter: the mean speed tends to the perimeter."""
    stroke = glyph_stroke("U")
    perimeter = np.linalg.norm(np.diff(np.vstack([stroke, stroke[:1]]), axis=0), axis=1).sum()
    speed = np.linalg.norm(glyph_velocity("U", 4000), axis=1)
    assert speed.mean() == pytest.approx(perimeter, rel=1e-3)
    np.testing.assert_array_equal(glyph_velocity("U", 1), [[0.0, 0.0]])  # one point does not move


def test_unknown_target_mode_is_rejected():
    with pytest.raises(ChaoslibError, match="mode"):
        glyph_targets("U", 5, mode="acceleration")
