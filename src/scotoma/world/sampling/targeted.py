"""Referring questions built to a target answer on a given scene: attribute, spatial, size and sequence.

Their answers hang on which objects the definite descriptions pick out, so rather than drawing random
referents and hoping, `retarget` keeps a program's frame (the attribute asked, the relation, the size
comparison, the images named) and chooses objects that give the target answer, each described so that
it is the only one in scope (`referents.describe_uniquely`). `scene_request` says what the scene should
hold first (an object with the asked colour; a tower, so that "on top of" can be true). A target of None
takes any answer, which is how the unbalanced sampler draws. The caller checks the result with the oracle.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from scotoma.world.programs.descriptions import Filter
from scotoma.world.programs.nodes import FirstAppearance, QueryAttribute, Relate, SizeCompare, WhatChanged
from scotoma.world.programs.referents import closest_referent, describe_uniquely, fits, objects_in
from scotoma.world.sampling.balance import SOMETHING
from scotoma.world.sampling.specs import BoxConstraints, ObjectSpec
from scotoma.world.scenes.scene import SIZE_WORDS, Scene, WorldObject
from scotoma.world.scenes.spatial import RELATION_TESTS, box_changes, identity, touches_edge

REFERRING = (QueryAttribute, Relate, SizeCompare, FirstAppearance, WhatChanged)
_SIZE_TESTS = {"larger": lambda a, b: a > b, "smaller": lambda a, b: a < b, "same": lambda a, b: a == b}


def is_referring(program: Any) -> bool:
    """Whether the program's answer depends on which objects its descriptions pick out."""
    return isinstance(program, REFERRING)


def scene_request(
    program: Any, target: str | None, n_images: int, rng: random.Random
) -> list[BoxConstraints] | None:
    """Per-box constraints that make `target` reachable for `retarget`; None when any scene will do."""
    if isinstance(program, QueryAttribute) and target is not None:
        boxes = [BoxConstraints() for _ in range(n_images)]
        home = program.image - 1 if program.image is not None else rng.randrange(n_images)
        boxes[home] = BoxConstraints(include=(ObjectSpec(**{program.attribute: target}),))
        return boxes
    if isinstance(program, Relate) and program.relation == "on" and target == "yes":
        # Only stacked squares rest on one another in practice: make the asked box a tower box.
        boxes = [BoxConstraints(kind="scatter") for _ in range(n_images)]
        home = program.image - 1 if program.image is not None else rng.randrange(n_images)
        boxes[home] = BoxConstraints(kind="tower")
        return boxes
    return None


def _value(obj: WorldObject, attribute: str) -> str:
    return SIZE_WORDS[obj.size] if attribute == "size" else getattr(obj, attribute)


def _describable(pool: list[WorldObject], free: str | None = None) -> set[int]:
    """ids of the pool objects that some description picks out alone: those whose full description
    (shape, color, size, edge; less the `free` attribute) no other pool object shares."""
    keys = [
        (
            o.shape if free != "shape" else "",
            o.color if free != "color" else "",
            o.size if free != "size" else 0,
            touches_edge(o, "any"),
        )
        for o in pool
    ]
    seen = Counter(keys)
    return {id(o) for o, key in zip(pool, keys, strict=True) if seen[key] == 1}


# Share of attribute questions whose referent is named by its nearest neighbour ("the circle closest to
# the black square"), so the "closest" relation is asked about as well.
CLOSEST_SHARE = 0.25


def _attribute(program: QueryAttribute, target: str | None, scene: Scene, rng: random.Random) -> Any:
    if rng.random() < CLOSEST_SHARE:
        found = closest_referent(scene, program.image, rng, free=program.attribute)
        if found is not None and (target is None or _value(found[1], program.attribute) == target):
            return QueryAttribute(program.attribute, found[0], program.image)
    pool = objects_in(scene, program.image)
    alone = _describable(pool, program.attribute)
    candidates = [
        o for o in pool if id(o) in alone and (target is None or _value(o, program.attribute) == target)
    ]
    if not candidates:
        return None
    found = describe_uniquely(rng.choice(candidates), pool, rng, free=program.attribute)
    return QueryAttribute(program.attribute, found, program.image) if found is not None else None


def _described_pair(
    matching: list[tuple[WorldObject, WorldObject]],
    pools: tuple[list[WorldObject], list[WorldObject]],
    rng: random.Random,
) -> tuple[Filter, Filter] | None:
    """Unique descriptions (each in its pool) of one of the candidate pairs, chosen at random."""
    left_alone = _describable(pools[0])
    right_alone = left_alone if pools[1] is pools[0] else _describable(pools[1])
    matching = [(a, b) for a, b in matching if id(a) in left_alone and id(b) in right_alone]
    if not matching:
        return None
    a, b = rng.choice(matching)
    left, right = describe_uniquely(a, pools[0], rng), describe_uniquely(b, pools[1], rng)
    return (left, right) if left is not None and right is not None else None


def _relate(program: Relate, target: str | None, scene: Scene, rng: random.Random) -> Any:
    pool = objects_in(scene, program.image)
    truth = None if target is None else target == "yes"
    test = RELATION_TESTS[program.relation]
    matching = [
        (a, b)
        for k, box in enumerate(scene.boxes, 1)
        if program.image in (None, k)
        for a in box.objects
        for b in box.objects
        if a is not b and (truth is None or test(a, b) == truth)
    ]
    found = _described_pair(matching, (pool, pool), rng)
    return found and Relate(found[0], program.relation, found[1], program.image)


def _size(program: SizeCompare, target: str | None, scene: Scene, rng: random.Random) -> Any:
    left, right = objects_in(scene, program.left_image), objects_in(scene, program.right_image)
    truth = None if target is None else target == "yes"
    test = _SIZE_TESTS[program.op]
    matching = [
        (a, b) for a in left for b in right if a is not b and (truth is None or test(a.size, b.size) == truth)
    ]
    found = _described_pair(matching, (left, right), rng)
    if found is None:
        return None
    return SizeCompare(found[0], program.op, found[1], program.left_image, program.right_image)


def _first_appearance(target: str | None, scene: Scene, rng: random.Random) -> Any:
    first: dict[tuple[str, str, int], int] = {}
    for k, box in enumerate(scene.boxes, 1):
        for obj in box.objects:
            first.setdefault(identity(obj), k)
    wanted = None if target is None else int(target.split()[1])
    candidates = [i for i, k in first.items() if wanted in (None, k)]
    if not candidates:
        return None
    shape, color, size = rng.choice(candidates)
    pool = objects_in(scene, None)
    description = Filter(shape, color)
    if any(fits(description, o) and o.size != size for o in pool):
        description = Filter(shape, color, SIZE_WORDS[size])
    return FirstAppearance(description)


def _what_changed(target: str | None, scene: Scene, rng: random.Random) -> Any:
    """A (change, before, after) whose answer is "nothing" or one object, as the target asks."""
    n = len(scene.boxes)
    options: list[tuple[bool, WhatChanged]] = []
    for before in range(1, n):
        for after in range(before + 1, n + 1):
            found = box_changes(scene.boxes[before - 1], scene.boxes[after - 1])
            for change, items in zip(("moved", "appeared", "disappeared"), found, strict=True):
                if len(items) <= 1 and (target is None or (len(items) == 1) == (target == SOMETHING)):
                    options.append((after == before + 1, WhatChanged(change, before, after)))
    if not options:
        return None
    # Like the random sampler, mostly ask about consecutive images.
    consecutive = [p for near, p in options if near]
    if consecutive and (len(consecutive) == len(options) or rng.random() < 0.7):
        return rng.choice(consecutive)
    return rng.choice([p for near, p in options if not near])


def retarget(program: Any, target: str | None, scene: Scene, rng: random.Random) -> Any:
    """A program with `program`'s frame whose answer on `scene` is `target`; None if none was found.

    Args:
        program: a referring program (`is_referring`); only its frame is read.
        target: an answer from `balance.answer_domain`, or None for any answer.
        scene: the scene to refer into.
        rng: chooses among the objects that fit.
    """
    if isinstance(program, QueryAttribute):
        return _attribute(program, target, scene, rng)
    if isinstance(program, Relate):
        return _relate(program, target, scene, rng)
    if isinstance(program, SizeCompare):
        return _size(program, target, scene, rng)
    if isinstance(program, FirstAppearance):
        return _first_appearance(target, scene, rng)
    if isinstance(program, WhatChanged):
        return _what_changed(target, scene, rng)
    raise TypeError(f"{type(program).__name__} is not a referring program; see is_referring")
