"""Planted scotomas: exact blind spots of a world target, with ground truth for every question.

A scotoma is a named perception transform T of a scene: a target with it answers as if it looked at
T(scene). Its planted region is then exact: the valid questions whose oracle answer on the scene differs
from the one on T(scene) (`in_region`), so a probe's findings can be scored against it the way fuzzers
are scored on planted bugs. One scotoma of each kind ships:

| name | kind | what the target sees |
|---|---|---|
| `yellow-unseen` | attribute | no yellow object |
| `triangle-as-square` | confusion | every triangle as a square |
| `mirror-lr` | spatial | each box mirrored left to right |
| `last-image-unseen` | multi-image | the last image of a set of two or more empty |
| `count-cap-3` | count | at most the first three objects of each box |

A question that T(scene) no longer grounds ("What color is the yellow square?" with yellow unseen) has no
answer there; the target then says `UNSEEN_ANSWER`, a canonical world answer ("nothing", as in "what
changed? nothing") that is never right outside a sequence question.

Each scotoma names the failure-slice predicates that define its region (`defining`, in the names of
`scotoma.slices`), so a benchmark can ask whether a probe's top slices point at it: what the questions
name (`color:yellow`) and what they look at whether or not they name it (`object:color:yellow`: "How many
squares are there?" over a yellow square).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scotoma.world.programs.oracle import judge
from scotoma.world.scenes.scene import BOX_SIZE, Box, Scene, WorldObject

UNSEEN_ANSWER = "nothing"
KINDS = ("attribute", "confusion", "spatial", "multi_image", "count")


@dataclass(frozen=True)
class Scotoma:
    """One planted blind spot.

    Attributes:
        name: the name in `scotoma:NAME` and `builtin:answerer-NAME`.
        kind: one of `KINDS`.
        description: what the target sees, in words.
        see: T, the scene as the target sees it.
        defining: slice predicates any of which points at the planted region.
    """

    name: str
    kind: str
    description: str
    see: Callable[[Scene], Scene]
    defining: tuple[str, ...]


def _per_box(change: Callable[[Box], Box]) -> Callable[[Scene], Scene]:
    return lambda scene: Scene(tuple(change(box) for box in scene.boxes))


def _without_yellow(box: Box) -> Box:
    return Box(tuple(o for o in box.objects if o.color != "yellow"))


def _triangles_as_squares(box: Box) -> Box:
    return Box(
        tuple(
            WorldObject("square", o.color, o.size, o.x, o.y) if o.shape == "triangle" else o
            for o in box.objects
        )
    )


def _mirrored(box: Box) -> Box:
    return Box(tuple(WorldObject(o.shape, o.color, o.size, BOX_SIZE - o.right, o.y) for o in box.objects))


def _first_three(box: Box) -> Box:
    return Box(box.objects[:3])


def _last_image_empty(scene: Scene) -> Scene:
    if len(scene.boxes) < 2:
        return scene
    return Scene((*scene.boxes[:-1], Box(())))


SCOTOMAS: dict[str, Scotoma] = {
    s.name: s
    for s in (
        Scotoma(
            "yellow-unseen", "attribute", "yellow objects are invisible", _per_box(_without_yellow),
            ("color:yellow", "object:color:yellow"),
        ),
        Scotoma(
            "triangle-as-square", "confusion", "triangles are read as squares",
            _per_box(_triangles_as_squares), ("shape:triangle", "object:shape:triangle"),
        ),
        Scotoma(
            "mirror-lr", "spatial", "left and right are mirrored within each box", _per_box(_mirrored),
            ("skill:spatial:left", "skill:spatial:right", "edge:left", "edge:right"),
        ),
        Scotoma(
            "last-image-unseen", "multi_image", "the last image of a set of two or more is seen empty",
            _last_image_empty, ("image:last", "object:image:last"),
        ),
        Scotoma(
            "count-cap-3", "count", "at most the first three objects of each box are seen",
            _per_box(_first_three),
            tuple(f"{p}objects>={k}" for p in ("", "object:") for k in range(4, 9)),
        ),
    )
}  # fmt: skip


def get_scotoma(name: str) -> Scotoma:
    """The scotoma called `name`; ValueError listing the known ones otherwise."""
    try:
        return SCOTOMAS[name]
    except KeyError:
        raise ValueError(f"unknown scotoma {name!r}; known: {', '.join(SCOTOMAS)}") from None


def seen_answer(scotoma: Scotoma, question: str | Any, scene: Scene) -> str:
    """What a target with the scotoma answers: the oracle on T(scene), `UNSEEN_ANSWER` when the question
    has no answer there."""
    verdict = judge(question, scotoma.see(scene))
    return verdict.answer if verdict.valid else UNSEEN_ANSWER


def in_region(scotoma: Scotoma, question: str | Any, scene: Scene) -> bool:
    """Whether a question valid on `scene` is in the planted region: its answer on T(scene) differs
    (no answer there counts as different). Invalid questions are in no region."""
    truth = judge(question, scene)
    if not truth.valid:
        return False
    seen = judge(question, scotoma.see(scene))
    return not seen.valid or seen.answer != truth.answer


__all__ = ["KINDS", "SCOTOMAS", "UNSEEN_ANSWER", "Scotoma", "get_scotoma", "in_region", "seen_answer"]
