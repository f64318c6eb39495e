"""Exact captions of boxes and samples: every object, in reading order, in the world's own words.

One caption serves three jobs: the dense description task that teaches the built-in models to see
(the plateau-breaking curriculum in NOTES-offline-stack.md), the oracle captioner of bench's
description settings (MMRA's DQ/IDQ), and the chosen captions of S2H's L3 pairs.
"""

from __future__ import annotations

from scotoma.world.scenes.scene import SIZE_WORDS, Box, Scene, WorldObject


def object_phrase(obj: WorldObject) -> str:
    """ "small blue circle": size, colour, shape, the order the question templates use."""
    return f"{SIZE_WORDS[obj.size]} {obj.color} {obj.shape}"


def reading_order(box: Box) -> list[WorldObject]:
    """Top to bottom, then left to right, by bounding-box corner: the order a caption lists objects."""
    return sorted(box.objects, key=lambda o: (o.y, o.x, o.shape, o.color, o.size))


def caption_box(box: Box) -> str:
    """Every object of one box, e.g. "small blue circle , large yellow square"."""
    return " , ".join(object_phrase(o) for o in reading_order(box))


def caption_scene(scene: Scene) -> str:
    """Every box in order: "image 1 : small blue circle . image 2 : large black triangle , ...".

    A single-box sample is captioned without the image label, as a one-image question names none.
    """
    if len(scene.boxes) == 1:
        return caption_box(scene.boxes[0])
    return " . ".join(f"image {k} : {caption_box(box)}" for k, box in enumerate(scene.boxes, start=1))
