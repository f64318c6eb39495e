"""Render scenes to PNG exactly in NLVR1's style: one 100x100 image per box, or the 400x100 strip.

Conventions measured on NLVR1's shipped dev images (benchmarks/render_agreement.py checks them):

- a box is 100x100 px of CSS "lightgrey" (211, 211, 211); the strip lays boxes at x = 0, 150, 300 with
  50 px bars of CSS "grey" (128, 128, 128) between them (NLVR1 ships it as RGBA, alpha always 255);
- colours: yellow (255, 255, 0), black (0, 0, 0), blue #0099ff (0, 153, 255);
- `x`, `y` are the top-left corner of a `size` x `size` bounding box; squares fill it, circles are inscribed
  in it, triangles point up with their base on its floor (see `scotoma.world.scenes.raster` for the edges);
- objects are drawn in the order they are listed, each blended over what is already there with Skia's
  8-bit formula `(src * (a + 1) >> 8) + (dst * (256 - (255 * (a + 1) >> 8)) >> 8)` for coverage `a`.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

import numpy as np
from PIL import Image

from scotoma.types import ImageRef
from scotoma.world.scenes.image_boxes import remember_box
from scotoma.world.scenes.raster import coverage_mask
from scotoma.world.scenes.scene import BOX_SIZE, Box, Scene, SceneError, WorldObject

BACKGROUND_RGB = (211, 211, 211)
BAR_RGB = (128, 128, 128)
COLOR_RGB = {"yellow": (255, 255, 0), "black": (0, 0, 0), "blue": (0, 153, 255)}
BAR_WIDTH = 50
STRIP_BOX_X = (0, 150, 300)  # left edge of each box in NLVR1's 400x100 strip

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {3: 2, 4: 6}  # channels -> PNG colour type (truecolour, truecolour with alpha)


# Blank canvases, copied per image: filling a fresh array with a colour costs far more than a copy.
_BOX_BACKGROUND = np.empty((BOX_SIZE, BOX_SIZE, 3), dtype=np.uint8)
_BOX_BACKGROUND[:] = BACKGROUND_RGB
_BOX_ROWS = np.zeros((BOX_SIZE, 1 + BOX_SIZE * 3), dtype=np.uint8)  # PNG rows, filter byte 0 first
_BOX_ROWS[:, 1:] = _BOX_BACKGROUND.reshape(BOX_SIZE, -1)


@functools.cache
def _strip_background(boxes: int) -> np.ndarray:
    strip = np.empty((BOX_SIZE, boxes * (BOX_SIZE + BAR_WIDTH) - BAR_WIDTH, 3), dtype=np.uint8)
    strip[:] = BAR_RGB
    for i in range(boxes):
        strip[:, i * (BOX_SIZE + BAR_WIDTH) : i * (BOX_SIZE + BAR_WIDTH) + BOX_SIZE] = BACKGROUND_RGB
    strip.flags.writeable = False
    return strip


@functools.cache
def _blend_terms(shape: str, size: int, color: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel source term and destination scale of Skia's blend for one (shape, size, colour).

    With these, drawing is `canvas = source + (canvas * scale >> 8)`: scale is 1 where fully covered (so
    the destination term vanishes) and 256 where not covered (the destination stays).
    """
    alpha = coverage_mask(shape, size).astype(np.uint16) + 1
    rgb = np.array(COLOR_RGB[color], dtype=np.uint16)
    source = (alpha[:, :, None] * rgb) >> 8
    scale = (256 - ((255 * alpha) >> 8))[:, :, None]
    return source, scale


@functools.cache
def _patch(shape: str, size: int, color: str) -> np.ndarray:
    """The object's bounding box as drawn over plain background: copied as is when nothing lies under it."""
    source, scale = _blend_terms(shape, size, color)
    background = np.array(BACKGROUND_RGB, dtype=np.uint16)
    patch = (source + ((background * scale) >> 8)).astype(np.uint8)
    patch.flags.writeable = False
    return patch


def _draw(canvas: np.ndarray, obj: WorldObject, over_background: bool) -> None:
    if not obj.inside_box():
        raise SceneError(f"{obj} leaves the {BOX_SIZE}x{BOX_SIZE} box; only objects inside it can be drawn")
    region = canvas[obj.y : obj.bottom, obj.x : obj.right]
    if over_background or obj.shape == "square":
        region[:] = _patch(obj.shape, obj.size, obj.color)
        return
    source, scale = _blend_terms(obj.shape, obj.size, obj.color)
    region[:] = source + ((region * scale) >> 8)


def draw_objects(canvas: np.ndarray, box: Box) -> None:
    """Draw a box's objects in order into a (100, 100, 3) uint8 view that already holds the background.

    An object whose bounding box is clear of the ones drawn before it (always so in a valid scene) is a
    copy of a cached patch; only overlapping objects are blended pixel by pixel.

    Raises:
        SceneError: when an object leaves the box.
    """
    drawn: list[WorldObject] = []
    for obj in box.objects:
        _draw(canvas, obj, not any(obj.overlaps(other) for other in drawn))
        drawn.append(obj)


def render_box_array(box: Box) -> np.ndarray:
    """One box as a (100, 100, 3) uint8 RGB array."""
    canvas = _BOX_BACKGROUND.copy()
    draw_objects(canvas, box)
    return canvas


def render_box(box: Box) -> Image.Image:
    """One box as a 100x100 RGB image, as NLVR1 draws it."""
    return Image.fromarray(render_box_array(box), "RGB")


def render_strip_array(scene: Scene) -> np.ndarray:
    """The boxes side by side with 50 px grey bars between them, as an (100, W, 3) uint8 array.

    Three boxes give NLVR1's 400x100 strip; other counts give the same layout with W = 150 k - 50.
    """
    if not scene.boxes:
        raise SceneError("a scene needs at least one box to render")
    strip = _strip_background(len(scene.boxes)).copy()
    for i, box in enumerate(scene.boxes):
        left = i * (BOX_SIZE + BAR_WIDTH)
        draw_objects(strip[:, left : left + BOX_SIZE], box)
    return strip


def render_strip(scene: Scene) -> Image.Image:
    """The whole scene as one RGB image; 400x100 for NLVR1's three boxes."""
    return Image.fromarray(render_strip_array(scene), "RGB")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode_rows(rows: np.ndarray, width: int, channels: int, compress_level: int) -> bytes:
    """PNG from (H, 1 + W * channels) uint8 rows whose first column is the filter byte (0: none)."""
    header = struct.pack(">IIBBBBB", width, rows.shape[0], 8, _COLOR_TYPE[channels], 0, 0, 0)
    body = zlib.compress(rows.tobytes(), compress_level)
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def png_bytes(image: Image.Image | np.ndarray, compress_level: int = 1) -> bytes:
    """Encode an RGB or RGBA image as PNG, fast: a direct zlib call (PIL's encoder costs 5x more here).

    Args:
        image: a PIL image or an (H, W, 3|4) uint8 array.
        compress_level: zlib level 0-9; 1 is plenty for flat shapes (a box is about 500 bytes).
    """
    array = np.asarray(
        image.convert("RGBA" if "A" in image.mode else "RGB") if isinstance(image, Image.Image) else image
    )
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"png_bytes needs an (H, W, 3|4) uint8 array, got {array.dtype} {array.shape}")
    height, width, channels = array.shape
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 1:] = array.reshape(height, -1)
    return _encode_rows(rows, width, channels, compress_level)


def box_png(box: Box, compress_level: int = 1) -> bytes:
    """A box straight to PNG bytes, drawn into the encoder's row buffer to skip a copy."""
    rows = _BOX_ROWS.copy()
    draw_objects(rows[:, 1:].reshape(BOX_SIZE, BOX_SIZE, 3), box)
    return _encode_rows(rows, BOX_SIZE, 3, compress_level)


def _in_memory_ref(data: bytes, width: int, height: int) -> ImageRef:
    # The bytes come from our own encoder, so decoding them again to validate (ImageRef.from_bytes) would
    # only cost time: it is the slowest step of a rendered sample.
    return ImageRef(hashlib.sha256(data).hexdigest(), None, width, height, data)


def box_image_ref(box: Box) -> ImageRef:
    """A box rendered to PNG and held in memory as an ImageRef (hashed, ready for a Conversation); the
    image is recorded as showing `box` (`scotoma.world.scenes.image_boxes`)."""
    ref = _in_memory_ref(box_png(box), BOX_SIZE, BOX_SIZE)
    remember_box(ref.sha256, box)
    return ref


def strip_image_ref(scene: Scene) -> ImageRef:
    """The whole strip rendered to PNG and held in memory as an ImageRef."""
    strip = render_strip_array(scene)
    return _in_memory_ref(png_bytes(strip), strip.shape[1], strip.shape[0])
