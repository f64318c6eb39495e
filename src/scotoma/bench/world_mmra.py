"""`world-mmra`: an MMRA-like suite generated in the shapes world: relations between two images,
multiple choice, at image level and entity level (after MMRA, paper 002), with exact answers.

    level   subtask              question (options)                                            positions
    image   ObjectCount          Which image contains more objects? (Image 1 / Image 2 / same)  locked
    image   Layout               How are the objects arranged? (towers / scattered / one each)  free
    image   SceneRelation        How are the two images related? (identical / one object
                                 differs / different scenes)                                    free
    image   NearDuplicate        What changed? (color / shape / size / position of an object)   free
    entity  SharedObject         Which object appears in both images? (four objects)            free
    entity  RelativePosition     Where is the <object> in Image 2 compared with Image 1?
                                 (further left / further right / higher up / lower down)        locked
    entity  AttributeComparison  How does <the X> in Image 1 compare in size with <the Y> in
                                 Image 2? (Image 1's larger / Image 2's larger / same size)      locked
    entity  EntityCount          Which image has more <blue circles>? (Image 1 / Image 2 / same) locked

Item k asks subtask k mod 8 and aims at option (k div 8) mod #options, so letters and answers are
balanced exactly per subtask; a scene is drawn (planted counts, near duplicates, shared objects, a
one-object move) until the answer is the target. Every item carries `meta["answer_of"]`, the exact
answer as a function of the two boxes in any order (`scotoma.bench.world_relations`): counts and sizes
are asked of the world oracle (`Compare`, `SizeCompare` programs), the other relations are read off the
boxes. Items whose text names an image lock both positions; the others may be shown in either order
with the same answer. Asked in MMRA's prompt ("mmra-v1"); `n` items, default 300 (`world-mmra:n=800`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.bench.items import LETTERS, Item
from scotoma.bench.world_relations import (
    CHANGES,
    DIRECTIONS,
    LAYOUTS,
    MIN_MOVE,
    RELATIONS,
    SIZE_ORDER,
    WHICH,
    AnswerOf,
    change_answer,
    count_answer,
    identities,
    layout_answer,
    move_answer,
    object_text,
    relation_answer,
    shared_answer,
    size_answer,
)
from scotoma.bench.world_suites import DEFAULT_N, generator_options, int_option
from scotoma.world.programs.nodes import Filter
from scotoma.world.programs.phrases import noun_phrase
from scotoma.world.programs.referents import describe_uniquely
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.specs import BoxConstraints, ObjectSpec, SamplingError, SceneConfig
from scotoma.world.scenes.captions import object_phrase
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import COLORS, SHAPES, SIZES, Box

WORLD_MMRA_VERSION = "1"
MAX_TRIES = 200  # scene draws per item before giving up; the rarest target needs ~10 on average

_ANY = SceneSampler()
_SETS = SceneSampler(SceneConfig(n_objects=(2, 8), unique_identities=True))  # objects told apart by kind


@dataclass(frozen=True)
class Drawn:
    """One generated question: the two boxes, the text, the options and the exact answer function."""

    boxes: tuple[Box, ...]
    question: str
    options: tuple[str, ...]
    answer_of: AnswerOf
    locked: bool


def _counts(rng: random.Random, target: int, low: int, high: int) -> tuple[int, int]:
    """Two counts in low..high: the first larger (target 0), the second larger (1), or equal (2)."""
    if target == 2:
        n = rng.randint(max(low, 1), high)
        return n, n
    a, b = sorted(rng.sample(range(low, high + 1), 2))
    return (b, a) if target == 0 else (a, b)


def object_count(rng: random.Random, target: int) -> Drawn | None:
    """Two scatter boxes with planned object counts: which holds more objects."""
    counts = _counts(rng, target, 1, 8)
    boxes = tuple(SceneSampler(SceneConfig(n_objects=(n, n))).box(rng, kind="scatter") for n in counts)
    return Drawn(boxes, "Which image contains more objects?", WHICH, count_answer(Filter()), True)


def entity_count(rng: random.Random, target: int) -> Drawn | None:
    """Exactly 0-3 objects of one shape and colour planted per box: which image has more of them."""
    spec = ObjectSpec(rng.choice(SHAPES), rng.choice(COLORS))
    counts = _counts(rng, target, 0, 3)
    plans = [BoxConstraints(include=(spec,) * c, exclude=(spec,)) for c in counts]  # exactly c of them
    boxes = _ANY.boxes(rng, 2, plans, kind="scatter").scene.boxes
    of = Filter(shape=spec.shape, color=spec.color)
    return Drawn(boxes, f"Which image has more {noun_phrase(of, 'pl')}?", WHICH, count_answer(of), True)


def layout(rng: random.Random, target: int) -> Drawn | None:
    """Tower and scatter boxes: both towers, both scattered, or one of each (in a random order)."""
    kinds = {0: ["tower", "tower"], 1: ["scatter", "scatter"], 2: rng.sample(["tower", "scatter"], 2)}[target]
    boxes = tuple(_ANY.box(rng, kind=kind) for kind in kinds)  # type: ignore[arg-type]
    return Drawn(boxes, "How are the objects arranged in the two images?", LAYOUTS, layout_answer, False)


def _one_change(rng: random.Random, change: str) -> tuple[Box, ...]:
    if change == "position":
        return _SETS.sequence(rng, 2, kinds=("moved",), min_move=MIN_MOVE).scene.boxes
    return _SETS.near_duplicates(rng, 2, n_changed=1, attributes=(change,)).scene.boxes


def scene_relation(rng: random.Random, target: int) -> Drawn | None:
    """One box twice, a near duplicate (one object changed or moved), or two independent boxes."""
    if target == 0:
        box = _SETS.box(rng, kind="scatter")
        boxes: tuple[Box, ...] = (box, box)
    elif target == 1:
        boxes = _one_change(rng, rng.choice(CHANGES))
    else:
        boxes = _SETS.boxes(rng, 2, kind="scatter").scene.boxes
    return Drawn(boxes, "How are the two images related?", RELATIONS, relation_answer, False)


def near_duplicate(rng: random.Random, target: int) -> Drawn | None:
    """A base box and its copy with one object recoloured, reshaped, resized or moved: which."""
    question = "The two images are the same except for one change. What changed?"
    options = tuple(f"The {change} of an object" for change in CHANGES)
    return Drawn(_one_change(rng, CHANGES[target]), question, options, change_answer, False)


def shared_object(rng: random.Random, target: int) -> Drawn | None:
    """Two boxes sharing one object kind; the other options are kinds in one image or in neither."""
    same_place = rng.random() < 0.5
    boxes = _SETS.shared(rng, 2, n_shared=1, min_boxes=2, max_boxes=2, same_position=same_place).scene.boxes
    first, second = identities(boxes[0]), identities(boxes[1])
    if len(first & second) != 1:
        return None  # two unshared objects happened to match as well
    (shared,) = first & second
    near = sorted(first ^ second)  # wrong options: objects of one image first, then of neither
    rng.shuffle(near)
    far = [(s, c, z) for s in SHAPES for c in COLORS for z in SIZES if (s, c, z) not in first | second]
    rng.shuffle(far)
    wrong = [*near, *far][:3]
    options = tuple(object_text(i) for i in [*wrong[:target], shared, *wrong[target:]])
    return Drawn(boxes, "Which object appears in both images?", options, shared_answer(options), False)


def relative_position(rng: random.Random, target: int) -> Drawn | None:
    """One object moved between the two boxes: in which direction (a diagonal move is redrawn)."""
    sample = _SETS.sequence(rng, 2, kinds=("moved",), min_move=MIN_MOVE)
    boxes, moved = sample.scene.boxes, sample.steps[0].obj
    answer_of = move_answer((moved.shape, moved.color, moved.size))
    if answer_of(boxes) != target:
        boxes = boxes[::-1]  # the move played backwards goes the other way
    question = f"The {object_phrase(moved)} is in both images. Where is it in Image 2 compared with Image 1?"
    return Drawn(boxes, question, DIRECTIONS, answer_of, True)


def attribute_comparison(rng: random.Random, target: int) -> Drawn | None:
    """An object of each box named without its size: which is larger, or the same size."""
    boxes = _ANY.boxes(rng, 2, kind="scatter").scene.boxes
    named = [  # objects with a description that picks them out without naming their size
        [(o, f) for o in box.objects if (f := describe_uniquely(o, list(box.objects), rng, free="size"))]
        for box in boxes
    ]
    pairs = [
        (fa, fb)
        for a, fa in named[0]
        for b, fb in named[1]
        if (2 if a.size == b.size else 0 if a.size > b.size else 1) == target
    ]
    if not pairs:
        return None
    left, right = rng.choice(pairs)
    question = (
        f"How does {noun_phrase(left, 'the')} in Image 1 compare in size with "
        f"{noun_phrase(right, 'the')} in Image 2?"
    )
    return Drawn(boxes, question, SIZE_ORDER, size_answer(left, right), True)


# name -> (level, draw, number of answers to balance over)
SUBTASKS: dict[str, tuple[str, Callable[[random.Random, int], Drawn | None], int]] = {
    "ObjectCount": ("image", object_count, 3),
    "Layout": ("image", layout, 3),
    "SceneRelation": ("image", scene_relation, 3),
    "NearDuplicate": ("image", near_duplicate, 4),
    "SharedObject": ("entity", shared_object, 4),
    "RelativePosition": ("entity", relative_position, 4),
    "AttributeComparison": ("entity", attribute_comparison, 3),
    "EntityCount": ("entity", entity_count, 3),
}


def world_mmra_item(seed: int, index: int) -> Item:
    """Item `index` of the suite under `seed` (a pure function of the two)."""
    names = list(SUBTASKS)
    name = names[index % len(names)]
    level, draw, n_answers = SUBTASKS[name]
    target = (index // len(names)) % n_answers
    rng = random.Random(f"{seed}:world-mmra:{index}")
    for _ in range(MAX_TRIES):
        try:
            drawn = draw(rng, target)
        except SamplingError:
            continue
        if drawn is not None and drawn.answer_of(drawn.boxes) == target:
            break
    else:
        raise SamplingError(f"world-mmra item {index} ({name}) missed answer {target} in {MAX_TRIES} draws")
    images = tuple(box_image_ref(box) for box in drawn.boxes)
    return Item(
        id=f"world-mmra-{seed}-{index}",
        images=images,
        question=drawn.question,
        answer=LETTERS[target],
        options=drawn.options,
        subtask=name,
        level=level,
        locked_positions=frozenset({0, 1}) if drawn.locked else frozenset(),
        meta={"boxes": drawn.boxes, "answer_of": drawn.answer_of},
    )


def load_world_mmra(data: str | Path | None = None, seed: int = 0, **options: Any) -> list[Item]:
    """`world-mmra`: `n` two-image multiple-choice items (default 300), the eight subtasks in turn.

    Args:
        data: options as "n=300" (the part of the spec after a colon), or None.
        seed: seeds every item's draws.
        **options: `n`.
    """
    found = generator_options(data, options, ("n",))
    n = int_option(found.get("n", DEFAULT_N), "n", 1, 1_000_000)
    return [world_mmra_item(seed, index) for index in range(n)]
