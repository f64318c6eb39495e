"""NLVR1 (Suhr et al. 2017) as a bench suite: 989 dev statements, each true or false of three boxes.

Read through the world's loader (`scotoma.world.scenes.nlvr.load_nlvr1`): the folder is `--data`, else
$SCOTOMA_NLVR1_DIR, else the dev split shipped inside the package (dev.json only: its boxes are
rendered from the structured representations, which match the corpus' crops at 0.99999 mean pixel
agreement).

An item shows the three boxes as three 100x100 images, cut from the shipped PNG of variant 0 (the
structured representation's order), and asks the statement; the answer is yes/no ("true"/"false" are
read as yes/no by the extraction, so a model may answer either). NLVR1 ships each example in the six
box orders, `dev-<id>-<k>.png` with position j holding box `PERMUTATIONS[k][j]`, and its labels hold for
all six by construction. So an item locks no position, and the runner's image permutations
(`--permute images`, all 3! = 6 orders, made in `itertools.permutations` order) are exactly the
shipped orders: variant k shows the boxes of shipped image k. The pixels are the variant-0 crops moved
into place; measured over the dev split, 14,255 of the 14,835 crops of images 1-5 equal those pixel for
pixel and 580 differ in one or two anti-aliased pixels (782 pixels in all), so the shipped crops of
image k are not used as such (`tests/test_bench_world.py` checks the agreement).

Subtasks: "tower" (every box holds only stacked squares, NLVR1's tower images) and "scatter".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scotoma.bench.items import Item
from scotoma.world.scenes.image_boxes import remember_boxes
from scotoma.world.scenes.nlvr import PERMUTATIONS, NLVRExample, load_nlvr1
from scotoma.world.scenes.scene import Box, Scene
from scotoma.world.scenes.spatial import towers

NLVR1_VERSION = "1"
IMAGE_SOURCES = ("auto", "shipped", "rendered")
#: The shipped PNG k shows the boxes in order SHIPPED_ORDERS[k]; the runner's orders come in the same order.
SHIPPED_ORDERS: tuple[tuple[int, ...], ...] = PERMUTATIONS


def is_tower_box(box: Box) -> bool:
    """Whether every object of the box is a block of a tower (squares stacked from the floor)."""
    return bool(box.objects) and sum(len(stack) for stack in towers(box)) == len(box.objects)


def scene_kind(scene: Scene) -> str:
    """ "tower" when every box holds only towers (NLVR1's tower images), else "scatter"."""
    return "tower" if all(is_tower_box(box) for box in scene.boxes) else "scatter"


def nlvr1_item(example: NLVRExample, images: str = "shipped") -> Item:
    """One NLVR1 example as a yes/no item over its three boxes (in the structured representation's order).

    Args:
        example: from `load_nlvr1`.
        images: "shipped" (crops of the shipped PNG of variant 0), "rendered" (the boxes re-rendered
            from the structured representation), or "auto": shipped where the PNGs are at hand, else
            rendered (the dev split shipped inside scotoma has no PNGs).
    """
    if images not in IMAGE_SOURCES:
        raise ValueError(f"images={images!r}: use one of {IMAGE_SOURCES}")
    if images == "auto":
        images = "shipped" if example.has_images else "rendered"
    refs = example.box_images(0) if images == "shipped" else example.rendered_boxes(0)
    remember_boxes(refs, example.scene.boxes)
    return Item(
        id=example.identifier,
        images=tuple(refs),
        question=example.sentence,
        answer="true" if example.label else "false",
        kind="yes_no",
        subtask=scene_kind(example.scene),
        level="",
        locked_positions=frozenset(),  # NLVR1's labels hold in all six box orders
        meta={
            "directory": example.directory,
            "split": example.split,
            "label": example.label,
            "images": images,
        },
    )


def load_nlvr1_items(
    data: str | Path | None = None, split: str = "dev", images: str = "auto", **_: Any
) -> list[Item]:
    """Every example of an NLVR1 split as a bench item, in file order.

    Args:
        data: the NLVR1 folder (or its split folder); None reads $SCOTOMA_NLVR1_DIR, else the dev split
            shipped with the package.
        split: "dev" (shipped with scotoma's shared data), "train" or "test".
        images: "auto" (default: the shipped crops where the PNGs are at hand, else rendered boxes),
            "shipped" or "rendered"; see `nlvr1_item`.

    Raises:
        NLVRDataError: the folder or the split is missing (the message says where it looked).
        ImageError: a PNG is missing or unreadable.
    """
    return [nlvr1_item(example, images) for example in load_nlvr1(data, split)]
