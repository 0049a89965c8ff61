"""Letters as drawing strokes: the targets of the handwriting readout.

A glyph ("U", "S") is taken from a font outline (matplotlib ``TextPath`` with the bundled
DejaVu Sans), its Bezier curves flattened finely into one polyline, the *stroke*, and that
stroke resampled to P points evenly spaced in arc length. The readout draws one point per
time step, so a window of L steps draws the glyph resampled to P = L points.

Choices (ours, stated because the paper is silent):

- The stroke is the glyph's outline, a closed curve (U and S are one contour each in DejaVu
  Sans). Glyphs with several contours are joined in font order into one stroke: the pen-up
  jumps become straight segments.
- The stroke is started at the outline point nearest to the top-left corner of its bounding
  box and runs counter-clockwise (in y-up coordinates: down the left side first), so that
  point k of "U" and point k of "S" are at comparable places and a linear mix of the two is
  a smooth morph.
- Point k of P sits at arc length (k + 1/2) / P of the stroke (the middle of an equal share):
  spacing is uniform and P = 1 is well defined (the stroke's arc-length midpoint). For a
  closed stroke the step from the last point back to the first is also one spacing.
- The glyph is scaled by its larger side (aspect ratio kept) and centred in the unit box
  [0, 1]^2.

Targets: pen velocities by default, as the authors (``write_mode`` 0 of their
``src/script/calc_reconstruction_error.py``: the derivative of the letter's curve; the drawing is
its cumulative sum). Here the velocity of a window of P steps is the forward finite difference of
the glyph resampled to P points, divided by the parameter step 1/P of the closed stroke,

    v_P(k) = P (g_P(k + 1) - g_P(k)),  g_P(P) = g_P(0),

so its size does not depend on P, and the drawing is recovered exactly by
g_P(k) = g_P(0) + (1/P) sum_{j<k} v_P(j) (:func:`integrate_velocity`). A closed stroke drawn in
one step does not move: v_1 = 0. ``mode="position"`` gives the points themselves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from chaoslib.errors import ChaoslibError

DEFAULT_FONT = "DejaVu Sans"  # shipped with matplotlib, so the glyphs are the same everywhere
MAX_SCORE = 5.0  # STS-B similarity scores lie in [0, 5]
CURVE_SAMPLES = 64  # points per Bezier segment when flattening: the stroke is exact to ~1e-4 of its size


def resample_polyline(points: np.ndarray, n_points: int, closed: bool = False) -> np.ndarray:
    """Points evenly spaced in arc length along a polyline.

    Args:
        points: (M, 2) polyline vertices, M >= 2.
        n_points: P >= 1, the number of output points.
        closed: whether the polyline returns from its last vertex to the first.

    Returns:
        (P, 2): point k at arc length (k + 1/2) / P of the total length.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ChaoslibError(f"points must have shape (M >= 2, 2), got {points.shape}.")
    if int(n_points) != n_points or n_points < 1:
        raise ChaoslibError(f"n_points={n_points!r}; give a positive integer number of points.")
    if closed:
        points = np.vstack([points, points[:1]])
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 0])  # repeated vertices would make the interpolation ill-defined
    points, arc = points[keep], np.concatenate([[0.0], np.cumsum(seg[seg > 0])])
    if arc[-1] <= 0:
        raise ChaoslibError("the polyline has zero length; give at least two distinct points.")
    targets = (np.arange(n_points) + 0.5) / n_points * arc[-1]
    return np.stack([np.interp(targets, arc, points[:, 0]), np.interp(targets, arc, points[:, 1])], axis=1)


def _flatten_outline(char: str, font: str) -> list[np.ndarray]:
    """The contours of a character's outline as dense polylines, font units, y up."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    path = TextPath((0.0, 0.0), char, size=1.0, prop=FontProperties(family=font))
    contours: list[list[np.ndarray]] = []
    t = np.linspace(0.0, 1.0, CURVE_SAMPLES + 1)[1:]
    for bezier, code in path.iter_bezier():
        if code == Path.MOVETO:
            contours.append([bezier.control_points[:1]])
        elif code in (Path.LINETO, Path.CURVE3, Path.CURVE4):
            samples = bezier.control_points[-1:] if code == Path.LINETO else bezier(t)
            contours[-1].append(samples)
        # CLOSEPOLY: the contour is closed implicitly (the stroke is treated as closed)
    return [np.concatenate(c) for c in contours if sum(len(p) for p in c) > 2]


def _orient(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise (y up), starting at the vertex nearest the bounding box's top-left corner."""
    x, y = points[:, 0], points[:, 1]
    signed_area = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    if signed_area < 0:
        points = points[::-1]
    corner = np.array([points[:, 0].min(), points[:, 1].max()])
    start = int(np.argmin(np.linalg.norm(points - corner, axis=1)))
    return np.roll(points, -start, axis=0)


@lru_cache(maxsize=32)
def _stroke(char: str, font: str) -> np.ndarray:
    if not isinstance(char, str) or len(char) != 1 or char.isspace():
        raise ChaoslibError(f"char={char!r}; give one visible character such as 'U'.")
    contours = _flatten_outline(char, font)
    if not contours:
        raise ChaoslibError(
            f"the font {font!r} has no outline for {char!r}; choose another character or font."
        )
    # one contour: a closed stroke oriented as documented; several: joined in font order
    stroke = _orient(contours[0]) if len(contours) == 1 else np.concatenate(contours)
    lo, hi = stroke.min(axis=0), stroke.max(axis=0)
    scale = (hi - lo).max()
    stroke = (stroke - lo) / scale + (1.0 - (hi - lo) / scale) / 2  # larger side -> [0, 1], centred
    stroke.setflags(write=False)
    return stroke


def glyph_stroke(char: str, font: str = DEFAULT_FONT) -> np.ndarray:
    """The dense outline stroke of ``char``, in the unit box. Returns (M, 2), closed (last -> first)."""
    return _stroke(char, font)


def glyph(char: str, n_points: int, font: str = DEFAULT_FONT) -> np.ndarray:
    """``char`` as P points evenly spaced along its stroke, in the unit box. Returns (P, 2)."""
    stroke = _stroke(char, font)
    return resample_polyline(stroke, n_points, closed=True)


TARGET_MODES = ("velocity", "position")


def glyph_velocity(char: str, n_points: int, font: str = DEFAULT_FONT) -> np.ndarray:
    """Pen velocity along ``char``'s stroke: P (g(k+1) - g(k)), g the glyph resampled to P points. (P, 2)."""
    points = glyph(char, n_points, font)
    return n_points * (np.roll(points, -1, axis=0) - points)


def glyph_targets(char: str, n_points: int, mode: str = "velocity", font: str = DEFAULT_FONT) -> np.ndarray:
    """The readout's targets for ``char`` over P steps: velocities (default, as the authors) or positions.

    Returns:
        (P, 2).
    """
    if mode == "velocity":
        return glyph_velocity(char, n_points, font)
    if mode == "position":
        return glyph(char, n_points, font)
    raise ChaoslibError(f"mode={mode!r}; use one of {list(TARGET_MODES)} (the authors' default: velocity).")


def integrate_velocity(velocity: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The drawing of velocities: start + (1/P) cumulative sum; P + 1 points (the last closes the stroke).

    Args:
        velocity: (..., P, 2) as :func:`glyph_velocity`.
        start: (..., 2) the pen's first point.

    Returns:
        (..., P + 1, 2).
    """
    velocity = np.asarray(velocity, dtype=np.float64)
    steps = np.cumsum(velocity, axis=-2) / velocity.shape[-2]
    start = np.asarray(start, dtype=np.float64)[..., None, :]
    return np.concatenate([start, start + steps], axis=-2)


def mix_targets(scores: np.ndarray, start_glyph: np.ndarray, end_glyph: np.ndarray) -> np.ndarray:
    """Targets mixed linearly by score: (1 - s/5) * start_glyph + (s/5) * end_glyph.

    Args:
        scores: (batch,) STS-B scores in [0, 5].
        start_glyph, end_glyph: (P, 2) the glyphs for score 0 ("U") and score 5 ("S").

    Returns:
        (batch, P, 2).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ChaoslibError(f"scores must be one-dimensional (batch,), got shape {scores.shape}.")
    if np.any(scores < 0) or np.any(scores > MAX_SCORE) or not np.all(np.isfinite(scores)):
        raise ChaoslibError(
            f"scores must lie in [0, {MAX_SCORE}] (STS-B similarity); got {scores.min()}..{scores.max()}."
        )
    if np.shape(start_glyph) != np.shape(end_glyph):
        raise ChaoslibError(f"the glyphs differ in shape: {np.shape(start_glyph)} vs {np.shape(end_glyph)}.")
    weight = (scores / MAX_SCORE)[:, None, None]
    return (1.0 - weight) * np.asarray(start_glyph)[None] + weight * np.asarray(end_glyph)[None]
