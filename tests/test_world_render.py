"""The renderer draws NLVR1's pixels: coverage masks, Skia's blend, strip layout, PNG encoding."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from scotoma.world.scenes.nlvr import pixel_agreement
from scotoma.world.scenes.raster import coverage_mask
from scotoma.world.scenes.render import (
    BACKGROUND_RGB,
    BAR_RGB,
    box_image_ref,
    box_png,
    png_bytes,
    render_box,
    render_box_array,
    render_strip,
    strip_image_ref,
)
from scotoma.world.scenes.scene import Box, Scene, SceneError, WorldObject


def _triangle_10() -> np.ndarray:
    # Apex up; the edges have slope 2, so a row's edge pixel is a quarter (even rows) or three quarters
    # (odd rows) covered: 4 and 12 of 16 samples. Skia's mask blitter gives the first pixel of a span the
    # full 64 per sub-scanline (12 -> 32 + 48 + 48 + 64 = 192) but an inner pixel 63 on the last
    # sub-scanline (12 -> 32 + 48 + 48 + 63 = 191).
    mask = np.zeros((10, 10), dtype=np.uint8)
    for row in range(10):
        left, right = 4 - row // 2, 5 + row // 2
        mask[row, left : right + 1] = 255
        mask[row, left], mask[row, right] = (64, 64) if row % 2 == 0 else (192, 191)
    return mask


# Measured on NLVR1's shipped images (alpha recovered from the black, yellow and blue circles alike).
CIRCLE_10 = np.array(
    [
        [0, 0, 64, 191, 239, 239, 191, 64, 0, 0],
        [0, 128, 255, 255, 255, 255, 255, 255, 128, 0],
        [64, 255, 255, 255, 255, 255, 255, 255, 255, 64],
        [192, 255, 255, 255, 255, 255, 255, 255, 255, 192],
        [240, 255, 255, 255, 255, 255, 255, 255, 255, 239],
        [240, 255, 255, 255, 255, 255, 255, 255, 255, 240],
        [192, 255, 255, 255, 255, 255, 255, 255, 255, 192],
        [64, 255, 255, 255, 255, 255, 255, 255, 255, 64],
        [0, 128, 255, 255, 255, 255, 255, 255, 128, 0],
        [0, 0, 64, 192, 240, 240, 192, 64, 0, 0],
    ],
    dtype=np.uint8,
)


def test_coverage_masks_match_hand_computed_values():
    assert (coverage_mask("square", 20) == 255).all()
    np.testing.assert_array_equal(coverage_mask("triangle", 10), _triangle_10())
    np.testing.assert_array_equal(coverage_mask("circle", 10), CIRCLE_10)
    for size in (10, 20, 30):  # shapes stay inside their bounding box and are symmetric left to right
        circle = coverage_mask("circle", size).astype(int)
        assert circle.shape == (size, size)
        # left and right differ by at most one of 16 samples (flattened curves round apart) plus 63-vs-64
        assert np.abs(circle - circle[:, ::-1]).max() <= 17
    with pytest.raises(ValueError, match="unknown shape"):
        coverage_mask("hexagon", 10)


def test_blend_follows_skia_formula():
    box = Box((WorldObject("triangle", "yellow", 10, 0, 0),))
    image = render_box_array(box)
    # alpha 64 over (211, 211, 211): src = c * 65 >> 8, dst = 211 * (256 - 64) >> 8 = 158
    assert tuple(image[0, 4]) == (64 + 158, 64 + 158, 158)
    assert tuple(image[9, 5]) == (255, 255, 0)  # fully covered
    assert tuple(image[0, 0]) == BACKGROUND_RGB


def test_overlapping_objects_blend_over_what_is_drawn():
    box = Box((WorldObject("square", "black", 20, 0, 0), WorldObject("circle", "yellow", 10, 10, 0)))
    image = render_box_array(box)
    # circle row 0, column 2 has alpha 64: over black, src = 255 * 65 >> 8 = 64 and dst = 0
    assert tuple(image[0, 12]) == (64, 64, 0)
    assert tuple(image[0, 10]) == (0, 0, 0)  # uncovered corner keeps the square


def test_render_box_and_strip_layout():
    boxes = tuple(Box((WorldObject("square", c, 10, 45, 45),)) for c in ("yellow", "black", "blue"))
    strip = np.asarray(render_strip(Scene(boxes)))
    assert strip.shape == (100, 400, 3)
    assert (strip[:, 100:150] == BAR_RGB).all() and (strip[:, 250:300] == BAR_RGB).all()
    for left, rgb in zip((0, 150, 300), ((255, 255, 0), (0, 0, 0), (0, 153, 255)), strict=True):
        assert tuple(strip[0, left]) == BACKGROUND_RGB
        assert tuple(strip[50, left + 50]) == rgb
        np.testing.assert_array_equal(strip[:, left : left + 100], render_box_array(boxes[left // 150]))
    assert render_box(boxes[0]).size == (100, 100)
    assert np.asarray(render_strip(Scene(boxes[:2]))).shape == (100, 250, 3)
    with pytest.raises(SceneError, match="leaves"):
        render_box_array(Box((WorldObject("circle", "blue", 30, 80, 0),)))


def test_png_bytes_round_trip_and_image_refs():
    box = Box((WorldObject("circle", "blue", 30, 3, 60), WorldObject("triangle", "black", 20, 70, 0)))
    array = render_box_array(box)
    data = png_bytes(array)
    assert data == box_png(box)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), array)
    rgba = np.dstack([array, np.full((100, 100), 255, np.uint8)])
    decoded = Image.open(io.BytesIO(png_bytes(Image.fromarray(rgba, "RGBA"))))
    assert decoded.mode == "RGBA" and (np.asarray(decoded) == rgba).all()
    ref = box_image_ref(box)
    assert (ref.width, ref.height, ref.sha256) == (100, 100, hashlib.sha256(data).hexdigest())
    np.testing.assert_array_equal(np.asarray(ref.load()), array)
    assert strip_image_ref(Scene((box, box, box))).width == 400
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(array.astype(np.float32))


def test_renders_match_shipped_nlvr1_images(nlvr1_with_images):
    """Pixel agreement with the shipped dev PNGs (k = 0) on 50 examples; the full run is
    benchmarks/render_agreement.py (mean 0.99999 over all 989)."""
    examples = nlvr1_with_images[::20][:50]
    from scotoma.world.scenes.render import render_strip_array

    scores = [pixel_agreement(e.strip_array(0), render_strip_array(e.scene)) for e in examples]
    assert len(scores) == 50
    assert np.mean(scores) >= 0.999 and min(scores) >= 0.999
