"""Balanced answers: the kinds of answer a question has, a target answer per sample, and planted scenes.

A question sampler that is deterministic per index cannot balance with running counts, so it chooses the
*target* answer first, evenly over the program's answer domain (`answer_domain`), and then builds a
scene (and, for referring questions, the referents; see `scotoma.world.sampling.targeted`) that gives it:

| kind | domain |
|---|---|
| "yes/no", "true/false" | both words |
| "count" | 0..limit, the limit small and feasible: a box holds at most `objects_per_box[1]` objects |
| "color", "shape", "size" | the three words of the asked attribute |
| "image" | "image 1".."image K" |
| "change" | "nothing" (one time in four) or "something": any object that moved, appeared or disappeared |

`plan` turns a program whose object sets are plain `Filter`s (attributes and edge, no relation, no tower
position) into per-box `BoxConstraints`: plant exactly c matching objects and ban the rest, so Exists,
Count, CountCompare, Compare (of disjoint sets, or across images), Sum, Difference, box quantifiers,
WhichImage, ImagesContaining and statements over them hit their target on the first scene. Other
programs get None and the caller falls back to rejection; the oracle has the last word either way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from scotoma.world.programs.descriptions import Filter
from scotoma.world.programs.evaluation import OPS
from scotoma.world.programs.nodes import (
    Compare,
    Count,
    CountCompare,
    Difference,
    Exists,
    FirstAppearance,
    ImagesContaining,
    Quantified,
    QueryAttribute,
    Statement,
    Sum,
    WhatChanged,
    WhichImage,
)
from scotoma.world.sampling.specs import BoxConstraints, ObjectSpec
from scotoma.world.scenes.scene import BOX_SIZE, COLORS, MAX_OBJECTS, SHAPES, SIZES

SOMETHING = "something"  # a change target met by any answer but "nothing"
ANY_FILTER = Filter()  # "objects": matches everything, so a box's count of it is the box's size
_ATTRIBUTE_VALUES = {"color": COLORS, "shape": SHAPES, "size": ("small", "medium", "large")}
_COMPARE = {"more": lambda a, b: a > b, "fewer": lambda a, b: a < b, "same": lambda a, b: a == b}
_QUANTIFIER = {"each": lambda hits, k, n: hits == k, "some": lambda hits, k, n: hits > 0}
_QUANTIFIER["none"] = lambda hits, k, n: hits == 0


@dataclass(frozen=True)
class CountLimits:
    """How large balanced counts get.

    Attributes:
        max_count: the largest count target of a plain count ("how many ..."); sums go 2 higher.
        per_box: the most objects one box may hold (`objects_per_box[1]`).
        min_per_box: the fewest objects a box holds (`objects_per_box[0]`): "how many objects" is never 0.
        towers_per_box: the most towers one box holds.
        tower_blocks: the most blocks of a tower box (more planted objects need a scatter box).
    """

    max_count: int = 4
    per_box: int = 8
    min_per_box: int = 1
    towers_per_box: int = 1
    tower_blocks: int = 4


def answer_kind(program: Any) -> str:
    """What sort of answer a top-level program has: see the module docstring's table."""
    if isinstance(program, Statement):
        return "true/false"
    if isinstance(program, Count | Sum | Difference | ImagesContaining):
        return "count"
    if isinstance(program, QueryAttribute):
        return program.attribute
    if isinstance(program, WhichImage | FirstAppearance):
        return "image"
    if isinstance(program, WhatChanged):
        return "change"
    return "yes/no"


def answer_domain(program: Any, n_images: int, limits: CountLimits) -> tuple[str, ...]:
    """The answers a balanced sampler draws its target from, uniformly (repeats weigh a value up)."""
    kind = answer_kind(program)
    if kind == "yes/no":
        return ("yes", "no")
    if kind == "true/false":
        return ("true", "false")
    if kind in _ATTRIBUTE_VALUES:
        return _ATTRIBUTE_VALUES[kind]
    if kind == "image":
        return tuple(f"image {k}" for k in range(1, n_images + 1))
    if kind == "change":
        return ("nothing", SOMETHING, SOMETHING, SOMETHING)
    if isinstance(program, ImagesContaining):
        return tuple(str(c) for c in range(n_images + 1))
    per_box = limits.towers_per_box if not isinstance(program.of, Filter) else limits.per_box
    floor = limits.min_per_box if program.of == ANY_FILTER else 0  # every box holds some object
    if isinstance(program, Count):
        boxes = n_images if program.image is None else 1
        low, top = floor * boxes, min(limits.max_count, per_box * boxes)
    elif isinstance(program, Sum):
        low, top = floor * len(program.images), min(limits.max_count + 2, per_box * len(program.images))
    else:  # Difference: how many more in one image than another
        low, top = 0, min(limits.max_count - 1, per_box - floor)
    return tuple(str(c) for c in range(low, max(low, top) + 1))


def meets(answer: str | None, target: str | None) -> bool:
    """Whether an oracle answer is the target (None: any answer; "something": any change)."""
    if target is None:
        return answer is not None
    if target == SOMETHING:
        return answer not in (None, "nothing")
    return answer == target


def plain_spec(of: Any) -> ObjectSpec | None:
    """The ObjectSpec that matches exactly the objects of a plain Filter; None for anything else."""
    if not isinstance(of, Filter) or of.relation is not None or of.tower is not None:
        return None
    return ObjectSpec(of.shape, of.color, of.size, of.edge)


def capacity(spec: ObjectSpec) -> int:
    """How many objects like `spec` one box can take for sure: 4 corners; one row along an edge
    (3 large objects, 4 medium, 9 small); 5 large ones anywhere (random placement jams beyond)."""
    side = spec.size or SIZES[0]
    if spec.edge == "corner":
        return 4
    if spec.edge in ("top", "bottom", "left", "right"):
        return (BOX_SIZE + 1) // (side + 1)
    return 5 if side == SIZES[-1] else MAX_OBJECTS


def _disjoint(a: Filter, b: Filter) -> bool:
    """No object can match both (they fix one attribute to different values)."""
    return any(
        getattr(a, f) is not None and getattr(b, f) is not None and getattr(a, f) != getattr(b, f)
        for f in ("shape", "color", "size")
    )


class _Plan:
    """Per-box planted objects and bans being built for one program and one target."""

    def __init__(self, n_images: int, limits: CountLimits, rng: random.Random) -> None:
        self.n, self.limits, self.rng = n_images, limits, rng
        self.include: list[list[ObjectSpec]] = [[] for _ in range(n_images)]
        self.exclude: list[list[ObjectSpec]] = [[] for _ in range(n_images)]

    def scope(self, image: int | None, bound: int | None) -> list[int]:
        if image is not None:
            return [image - 1]
        return [bound] if bound is not None else list(range(self.n))

    def floor(self, of: Any) -> int:
        """The fewest objects of `of` a box can hold: its minimum size for "objects", else 0."""
        return self.limits.min_per_box if of == ANY_FILTER else 0

    def put(self, of: Any, count: int, boxes: list[int]) -> None:
        """Exactly `count` objects of `of` over `boxes` (spread at random), none elsewhere among them."""
        spec, floor = plain_spec(of), self.floor(of)
        if spec is None or count < floor * len(boxes):
            raise _Unplannable
        fits = min(self.limits.per_box, capacity(spec))
        room = [
            b for b in boxes for _ in range(min(fits, self.limits.per_box - len(self.include[b])) - floor)
        ]
        if count - floor * len(boxes) > len(room):
            raise _Unplannable
        for b in [
            *(b for b in boxes for _ in range(floor)),
            *self.rng.sample(room, count - floor * len(boxes)),
        ]:
            self.include[b].append(spec)
        for b in boxes:
            self.exclude[b].append(spec)

    def count_for(self, of: Any, op: str, n: int, truth: bool, boxes: int) -> int:
        """A count c of `of` over `boxes` boxes with `c op n` equal to `truth`, small and feasible."""
        low, top = self.floor(of) * boxes, self.limits.per_box * boxes
        options = [c for c in range(low, min(max(n, low) + 2, top) + 1) if OPS[op](c, n) == truth]
        if not options:
            raise _Unplannable
        return self.rng.choice(options)

    def truth(self, node: Any, truth: bool, bound: int | None = None) -> None:
        """Constrain the boxes so that a yes/no node (in the box `bound`, if any) has `truth`."""
        if isinstance(node, Exists):
            boxes = self.scope(node.image, bound)
            self.put(
                node.of, self.rng.randint(1, 2) + self.floor(node.of) * len(boxes) if truth else 0, boxes
            )
        elif isinstance(node, CountCompare):
            boxes = self.scope(node.image, bound)
            self.put(node.of, self.count_for(node.of, node.op, node.n, truth, len(boxes)), boxes)
        elif isinstance(node, Compare):
            left, right = node.left, node.right
            same_scope = left.image == right.image
            if same_scope and not (isinstance(left.of, Filter) and isinstance(right.of, Filter)):
                raise _Unplannable
            if same_scope and not _disjoint(left.of, right.of):
                raise _Unplannable
            pairs = [(a, b) for a in range(4) for b in range(4) if _COMPARE[node.op](a, b) == truth]
            a, b = self.rng.choice(pairs)
            self.put(left.of, a, self.scope(left.image, bound))
            self.put(right.of, b, self.scope(right.image, bound))
        elif isinstance(node, Quantified):
            rule = _QUANTIFIER.get(node.quantifier) or (lambda hits, k, n: OPS[node.quantifier](hits, n))
            sizes = [h for h in range(self.n + 1) if rule(h, self.n, node.n) == truth]
            if not sizes:  # "at least 0 boxes" cannot be false
                raise _Unplannable
            self.boxes_meeting(node.condition, self.rng.choice(sizes))
        else:
            raise _Unplannable

    def boxes_meeting(self, condition: Any, hits: int, which: list[int] | None = None) -> None:
        """`hits` boxes (or exactly the boxes `which`) meet the box condition; the others do not."""
        chosen = set(which if which is not None else self.rng.sample(range(self.n), hits))
        for b in range(self.n):
            self.truth(condition, b in chosen, bound=b)

    def value(self, node: Any, target: str) -> None:
        """Constrain the boxes so that a top-level program answers `target`."""
        if isinstance(node, Statement):
            self.truth(node.claim, target == "true")
        elif isinstance(node, Count):
            self.put(node.of, int(target), self.scope(node.image, None))
        elif isinstance(node, Sum):
            total, images = int(target), [k - 1 for k in node.images]
            self.put(node.of, total, images)
        elif isinstance(node, Difference):
            more = int(target)
            less = self.rng.randint(0, max(0, min(2, self.limits.per_box - more)))
            self.put(node.of, more + less, [node.first - 1])
            self.put(node.of, less, [node.second - 1])
        elif isinstance(node, ImagesContaining):
            self.boxes_meeting(node.condition, int(target))
        elif isinstance(node, WhichImage):
            self.boxes_meeting(node.condition, 1, [int(target.split()[1]) - 1])
        elif target in ("yes", "no"):
            self.truth(node, target == "yes")
        else:
            raise _Unplannable


class _Unplannable(Exception):
    """The program has a part that planting cannot control (a relation, towers, overlapping sets)."""


def plan(
    program: Any, target: str, n_images: int, limits: CountLimits, rng: random.Random
) -> list[BoxConstraints] | None:
    """Per-box constraints under which `program` answers `target`, or None when planting cannot say.

    Args:
        program: a top-level program over plain filters (see the module docstring).
        target: an answer from `answer_domain`.
        n_images: boxes in the scene.
        limits: how many objects a box holds.
        rng: draws where the objects go and which counts realise a yes/no target.
    """
    draft = _Plan(n_images, limits, rng)
    try:
        draft.value(program, target)
    except _Unplannable:
        return None
    # A tower box cannot ban what its blocks are (squares of 20 px, the base on the floor): plant such
    # specs into scatter boxes, which the scene sampler would otherwise retry until it gives up.
    banned = [spec for specs in draft.exclude for spec in specs]
    kind = "scatter" if any(not _tower_safe(spec) for spec in banned) else None
    return [
        BoxConstraints(
            tuple(inc), tuple(dict.fromkeys(exc)), "scatter" if len(inc) > limits.tower_blocks else kind
        )
        for inc, exc in zip(draft.include, draft.exclude, strict=True)
    ]


def _tower_safe(spec: ObjectSpec) -> bool:
    """Whether a tower box can ban `spec` and still colour its blocks (some colour stays allowed)."""
    if spec.edge is not None:
        return False
    return spec.color is not None or spec.shape not in (None, "square") or spec.size not in (None, 20)
