"""Exact relations between two shapes-world boxes: the answers of the `world-mmra` suite.

Each function reads the two boxes in the order shown (the first is Image 1) and returns the index of the
right option, or None when the relation has no single answer (a diagonal move, two changes). Counts and
sizes are asked of the world oracle through question programs (`Compare`, `SizeCompare`); the other
relations are set operations on the boxes' objects. They are pure, so an item's answer can be checked
in every image order the runner may show (`tests/test_bench_world.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scotoma.bench.nlvr1 import is_tower_box
from scotoma.world.programs.nodes import Compare, Count, Filter, SizeCompare
from scotoma.world.programs.oracle import judge
from scotoma.world.scenes.captions import object_phrase
from scotoma.world.scenes.scene import Box, Scene, WorldObject

AnswerOf = Callable[[Sequence[Box]], int | None]
Identity = tuple[str, str, int]  # (shape, color, size): no two objects of a generated set's box share one

WHICH = ("Image 1", "Image 2", "Both images have the same number")
LAYOUTS = (
    "Both images show a tower of stacked squares",
    "Both images show objects scattered around",
    "One image shows a tower, the other objects scattered around",
)
RELATIONS = (
    "They are identical",
    "They are the same except that one object is different",
    "They show different scenes",
)
CHANGES = ("color", "shape", "size", "position")
DIRECTIONS = ("Further left", "Further right", "Higher up", "Lower down")
SIZE_ORDER = ("The one in Image 1 is larger", "The one in Image 2 is larger", "They are the same size")
MIN_MOVE = 10  # px a moved object travels along its main direction (and at least twice its sideways shift)


def count_answer(of: Filter) -> AnswerOf:
    """Image 1 has more `of` (0), Image 2 has more (1) or the same number (2), by the oracle's Compare."""

    def answer_of(boxes: Sequence[Box]) -> int | None:
        scene = Scene(tuple(boxes))
        for index, op in enumerate(("more", "fewer", "same")):
            if judge(Compare(Count(of, 1), op, Count(of, 2)), scene).answer == "yes":
                return index
        return None

    return answer_of


def size_answer(left: Filter, right: Filter) -> AnswerOf:
    """`left` in Image 1 is larger (0), smaller (1) or the same size (2) as `right` in Image 2, by the
    oracle's SizeCompare; None when a referent is missing or not unique."""

    def answer_of(boxes: Sequence[Box]) -> int | None:
        scene = Scene(tuple(boxes))
        for index, op in enumerate(("larger", "smaller", "same")):
            if judge(SizeCompare(left, op, right, 1, 2), scene).answer == "yes":
                return index
        return None

    return answer_of


def layout_answer(boxes: Sequence[Box]) -> int:
    """Both boxes towers (0), both scattered (1), one of each (2)."""
    towers = [is_tower_box(box) for box in boxes]
    return 0 if all(towers) else 1 if not any(towers) else 2


def differing(boxes: Sequence[Box]) -> tuple[set[WorldObject], set[WorldObject]]:
    """Objects (with their positions) only in the first box, and only in the second."""
    first, second = set(boxes[0].objects), set(boxes[1].objects)
    return first - second, second - first


def relation_answer(boxes: Sequence[Box]) -> int | None:
    """Identical (0), one object replaced by another (1), three or more objects differ (2); else None."""
    only_first, only_second = differing(boxes)
    if not only_first and not only_second:
        return 0
    if len(only_first) == len(only_second) == 1:
        return 1
    return 2 if len(only_first) + len(only_second) >= 3 else None


def change_answer(boxes: Sequence[Box]) -> int | None:
    """What tells two near duplicates apart: one object's color (0), shape (1), size (2) or position (3)."""
    only_first, only_second = differing(boxes)
    if len(only_first) != 1 or len(only_second) != 1:
        return None
    (a,), (b,) = only_first, only_second
    changed = [name for name in CHANGES[:3] if getattr(a, name) != getattr(b, name)]
    if len(changed) == 1:
        return CHANGES.index(changed[0])  # a size change may shift the corner; it is still a size change
    return 3 if not changed else None


def identities(box: Box) -> set[Identity]:
    """The (shape, color, size) of every object of a box."""
    return {(o.shape, o.color, o.size) for o in box.objects}


def object_text(identity: Identity) -> str:
    """ "a large black square"."""
    shape, color, size = identity
    return "a " + object_phrase(WorldObject(shape, color, size, 0, 0))


def shared_answer(options: Sequence[str]) -> AnswerOf:
    """The option naming the one object identity both boxes hold; None unless exactly one is shared."""

    def answer_of(boxes: Sequence[Box]) -> int | None:
        common = identities(boxes[0]) & identities(boxes[1])
        text = object_text(common.pop()) if len(common) == 1 else None
        return options.index(text) if text in options else None

    return answer_of


def direction(before: WorldObject, after: WorldObject) -> int | None:
    """Where `after` lies from `before`: further left (0), right (1), higher up (2), lower down (3);
    None for a short or diagonal move, which has no one answer."""
    dx, dy = after.x - before.x, after.y - before.y
    major, minor = max(abs(dx), abs(dy)), min(abs(dx), abs(dy))
    if major < MIN_MOVE or major < 2 * minor:
        return None
    if abs(dx) > abs(dy):
        return 0 if dx < 0 else 1
    return 2 if dy < 0 else 3  # y grows downwards


def move_answer(identity: Identity) -> AnswerOf:
    """The direction the object with `identity` lies in Image 2 from where it is in Image 1."""

    def answer_of(boxes: Sequence[Box]) -> int | None:
        found = [[o for o in box.objects if (o.shape, o.color, o.size) == identity] for box in boxes]
        if any(len(objects) != 1 for objects in found):
            return None
        return direction(found[0][0], found[1][0])

    return answer_of
