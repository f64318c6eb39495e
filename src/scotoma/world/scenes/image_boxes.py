"""Which box a world image shows: rendered image content hash -> `Box`, for everything that answers from
the exact scene of an image it is handed (the oracle captioner, the `scotoma:` targets).

`render.box_image_ref` records every box it draws and the NLVR1 loader records the boxes of the images it
reads, so any world image made or loaded in this process can be mapped back to its box. Rendering is
deterministic, so a hash always names one box. The map keeps the most recently used `CAPACITY` boxes:
training streams render hundreds of thousands of boxes, and a process never needs more than the images
it is currently showing a model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from scotoma.types import ImageRef
from scotoma.world.scenes.scene import Box

CAPACITY = 1 << 17

_BOXES: OrderedDict[str, Box] = OrderedDict()


def remember_boxes(images: Iterable[ImageRef], boxes: Iterable[Box]) -> None:
    """Record which box each image shows."""
    for image, box in zip(images, boxes, strict=True):
        remember_box(image.sha256, box)


def remember_box(sha256: str, box: Box) -> None:
    """Record that the image with content hash `sha256` shows `box`."""
    _BOXES[sha256] = box
    _BOXES.move_to_end(sha256)
    if len(_BOXES) > CAPACITY:
        _BOXES.popitem(last=False)


def box_of(image: ImageRef) -> Box:
    """The box a world image shows.

    Raises:
        ValueError: the image was not rendered or loaded by the world in this process.
    """
    box = _BOXES.get(image.sha256)
    if box is None:
        name = image.uri or f"sha256 {image.sha256[:12]}"
        raise ValueError(
            f"the world does not know image {name}: it was not rendered or loaded in this process, so its "
            "scene is unknown; "
            "exact world answers (oracle captioner, scotoma: targets) need shapes-world images: world "
            "probe samples, world bench suites or NLVR1"
        )
    _BOXES.move_to_end(image.sha256)
    return box


__all__ = ["CAPACITY", "box_of", "remember_box", "remember_boxes"]
