"""Coverage masks of the three shapes, computed the way NLVR1's images were drawn.

NLVR1's PNGs were drawn by a browser canvas, i.e. by Skia. Inspecting the dev split with numpy showed which
of Skia's paths made them, and emulating those steps reproduces the shipped pixels exactly:

- anti-aliasing is Skia's 4x4 supersampling scan converter with its small-path "mask" blitter: each of a
  pixel's four sub-scanlines adds up to 64 of alpha; the first pixel of a span always adds
  `(4 - x % 4) * 16`, inner pixels add 64 (63 on the last sub-scanline), the last adds `(x % 4) * 16`;
- the x of an edge at a sub-scanline is computed in 16.16 fixed point from 26.6 fixed-point end points
  (`SkEdge`), rounded to the nearest sub-pixel;
- a triangle is the polygon (x + s/2, y), (x + s, y + s), (x, y + s) (apex up, base on the floor of its
  bounding box); a square fills its bounding box exactly;
- a circle of diameter s centred in its bounding box is four conic quadrants (weight sqrt(2)/2), each cut
  in two quadratic curves (`SkConic::chopIntoQuadsPOW2`), each flattened by forward differencing in fixed
  point (`SkQuadraticEdge`), so it is a little smaller than the true circle.

Masks depend only on (shape, size): objects sit at integer positions, so a mask is computed once, relative
to the object's bounding box. NLVR1's size-30 circles differ from it by one pixel at some positions (float
rounding at absolute canvas coordinates that the structured representation does not record).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

SUBPIXELS = 4  # Skia's SUPERSAMPLE_SHIFT = 2
_FDOT6_SCALE = np.float32(SUBPIXELS * 64)  # points are scaled to 26.6 fixed point in sub-pixel units


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as Skia's SkFDot6Div does."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


class _Segment:
    """A line edge over sub-scanlines first..last; x: 16.16 fixed point at the first sub-scanline's centre."""

    __slots__ = ("dx", "first", "last", "x")

    def __init__(self, first: int, last: int, x: int, dx: int) -> None:
        self.first, self.last, self.x, self.dx = first, last, x, dx

    def x_at(self, y: int) -> int:
        return self.x + (y - self.first) * self.dx


def _segment(x0: int, y0: int, x1: int, y1: int) -> _Segment | None:
    """SkEdge::setLine on 26.6 fixed-point end points; None for an edge that spans no sub-scanline centre."""
    if y0 > y1:
        x0, y0, x1, y1 = x1, y1, x0, y0
    top, bottom = (y0 + 32) >> 6, (y1 + 32) >> 6
    if top == bottom:
        return None
    slope = _c_div((x1 - x0) << 16, y1 - y0)
    dy = (top << 6) + 32 - y0
    return _Segment(top, bottom - 1, (x0 + ((slope * dy) >> 16)) << 10, slope)


def _fdot6(point: tuple[float, float]) -> tuple[int, int]:
    return int(np.float32(point[0]) * _FDOT6_SCALE), int(np.float32(point[1]) * _FDOT6_SCALE)


def _line_edge(p0: tuple[float, float], p1: tuple[float, float]) -> list[_Segment]:
    segment = _segment(*_fdot6(p0), *_fdot6(p1))
    return [segment] if segment else []


def _quad_edge(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float]) -> list[_Segment]:
    """SkQuadraticEdge: a monotonic quadratic flattened into 2**shift lines by forward differencing."""
    (x0, y0), (x1, y1), (x2, y2) = _fdot6(p0), _fdot6(p1), _fdot6(p2)
    if y0 > y2:
        x0, y0, x2, y2 = x2, y2, x0, y0
    if (y0 + 32) >> 6 == (y2 + 32) >> 6:
        return []
    dx, dy = abs(((x1 << 1) - x0 - x2) >> 2), abs(((y1 << 1) - y0 - y2) >> 2)
    distance = ((dx + (dy >> 1) if dx > dy else dy + (dx >> 1)) + 16) >> 5
    shift = min(max(distance.bit_length() >> 1, 1), 6)
    ax, ay = (x0 - 2 * x1 + x2) << 9, (y0 - 2 * y1 + y2) << 9
    qx, qy = x0 << 10, y0 << 10
    ddx, ddy = ((x1 - x0) << 10) + (ax >> shift), ((y1 - y0) << 10) + (ay >> shift)
    steps = [(qx, qy)]
    for _ in range((1 << shift) - 1):
        qx, qy = qx + (ddx >> (shift - 1)), qy + (ddy >> (shift - 1))
        ddx, ddy = ddx + (ax >> (shift - 1)), ddy + (ay >> (shift - 1))
        steps.append((qx, qy))
    steps.append((x2 << 10, y2 << 10))
    segments = [
        _segment(a[0] >> 10, a[1] >> 10, b[0] >> 10, b[1] >> 10) for a, b in itertools.pairwise(steps)
    ]
    return [s for s in segments if s]


def _conic_halves(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, weight: np.float32) -> list[tuple]:
    """SkConic::chop at t = 1/2 in float32; returns the two halves' control points (weights dropped)."""
    scale = np.float32(1) / (np.float32(1) + weight)
    wp1 = weight * p1
    middle = (p0 + wp1 * np.float32(2) + p2) * scale * np.float32(0.5)
    return [(p0, (p0 + wp1) * scale, middle), (middle, (wp1 + p2) * scale, p2)]


def _circle_edges(size: int) -> list[list[_Segment]]:
    r = size / 2
    ring = [
        (2 * r, r),
        (2 * r, 2 * r),
        (r, 2 * r),
        (0, 2 * r),
        (0, r),
        (0, 0),
        (r, 0),
        (2 * r, 0),
        (2 * r, r),
    ]
    points = [np.array(p, dtype=np.float32) for p in ring]
    weight = np.float32(math.sqrt(0.5))
    edges = []
    for i in range(4):
        for quad in _conic_to_quads(points[2 * i], points[2 * i + 1], points[2 * i + 2], weight):
            edges.append(_quad_edge(*(tuple(float(v) for v in p) for p in quad)))
    return edges


def _conic_to_quads(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, weight: np.float32) -> list[tuple]:
    """SkConic::computeQuadPOW2 with tolerance 1/4 px, then halving 2**pow2 times (sizes 10-30: once)."""
    k = (weight - np.float32(1)) / (np.float32(4) * (np.float32(2) + weight - np.float32(1)))
    error = float(np.hypot(*(k * (p0 - np.float32(2) * p1 + p2))))
    pow2 = 0
    while pow2 < 5 and error > 0.25:
        error, pow2 = error * 0.25, pow2 + 1
    conics = [(p0, p1, p2)]
    for _ in range(pow2):
        conics = [half for c in conics for half in _conic_halves(*c, weight)]
        weight = np.float32(np.sqrt(np.float32(0.5) + weight * np.float32(0.5)))
    return conics


def _spans(edges: list[list[_Segment]], size: int) -> list[tuple[int, int, int]]:
    """(sub-scanline, left, right) in sub-pixels for a convex shape: between the outermost active edges."""
    spans = []
    for y in range(size * SUBPIXELS):
        xs = []
        for edge in edges:
            for segment in edge:
                if segment.first <= y <= segment.last:
                    xs.append((segment.x_at(y) + 0x8000) >> 16)
                    break
        if len(xs) >= 2 and min(xs) < max(xs):
            spans.append((y, min(xs), max(xs)))
    return spans


def _accumulate(spans: list[tuple[int, int, int]], size: int) -> np.ndarray:
    """Skia's MaskSuperBlitter::blitH: sub-scanline spans to 8-bit pixel alpha."""
    alpha = np.zeros((size, size + 1), dtype=np.int32)

    def add(row: np.ndarray, x: int, value: int) -> None:
        total = int(row[x]) + value
        row[x] = total - (total >> 8)  # saturate 256 to 255

    for y, left, right in spans:
        row = alpha[y // SUBPIXELS]
        inner = 64 - (((y % SUBPIXELS) + 1) >> 2)
        first, last = left % SUBPIXELS, right % SUBPIXELS
        x, count = left // SUBPIXELS, right // SUBPIXELS - left // SUBPIXELS - 1
        if count < 0:
            add(row, x, (last - first) * 16)
            continue
        add(row, x, (SUBPIXELS - first) * 16)
        for i in range(x + 1, x + 1 + count):
            add(row, i, inner)
        if last:
            add(row, x + 1 + count, last * 16)
    return alpha[:, :size]


@functools.cache
def coverage_mask(shape: str, size: int) -> np.ndarray:
    """The 8-bit coverage of a shape inside its `size` x `size` bounding box, as NLVR1's renderer drew it.

    Args:
        shape: "square", "circle" or "triangle".
        size: side of the bounding box in pixels.

    Returns:
        A read-only (size, size) uint8 array; 255 is fully covered.
    """
    if shape == "square":
        mask = np.full((size, size), 255, dtype=np.int32)
    elif shape == "triangle":
        corners = [(size / 2, 0.0), (float(size), float(size)), (0.0, float(size))]
        edges = [_line_edge(corners[i], corners[(i + 1) % 3]) for i in range(3)]
        mask = _accumulate(_spans(edges, size), size)
    elif shape == "circle":
        mask = _accumulate(_spans(_circle_edges(size), size), size)
    else:
        raise ValueError(f"unknown shape {shape!r}; one of square, circle, triangle")
    mask = mask.astype(np.uint8)
    mask.flags.writeable = False
    return mask
