"""Evaluate question programs on scene graphs (the core of `scotoma.world.programs.oracle`).

A missing referent raises `Ungrounded` at once. An undetermined one (two objects answer to "the
circle", a tie for "closest") is noted and evaluation goes on with the first candidate, so that a
missing referent elsewhere in the program still wins: the oracle reports grounded before objective.
"""

from __future__ import annotations

import operator
from typing import Any

from scotoma.world.programs.nodes import (
    Compare,
    Count,
    CountCompare,
    Difference,
    Exists,
    Filter,
    FirstAppearance,
    ImagesContaining,
    Quantified,
    QueryAttribute,
    Relate,
    SizeCompare,
    Statement,
    Sum,
    Towers,
    WhatChanged,
    WhichImage,
)
from scotoma.world.programs.phrases import noun_phrase
from scotoma.world.scenes.scene import SIZE_WORDS, Scene, WorldObject
from scotoma.world.scenes.spatial import (
    RELATION_TESTS,
    box_changes,
    change_phrase,
    identity,
    squared_distance,
    touches_edge,
)
from scotoma.world.scenes.spatial import towers as find_towers


class Ungrounded(Exception):
    """Something the question refers to does not exist."""


class Ambiguous(Exception):
    """The question's answer is not determined (a referent is not unique, a presupposition fails)."""


OPS = {"exactly": operator.eq, "at_least": operator.ge, "at_most": operator.le}
_COMPARE = {"more": operator.gt, "fewer": operator.lt, "same": operator.eq}


def _where(image: int | None) -> str:
    return f"in Image {image}" if image is not None else "in any image"


class _Run:
    """One evaluation: the scene, a tower cache and the first ambiguity seen."""

    def __init__(self, scene: Scene) -> None:
        self.boxes = scene.boxes
        self.ambiguity: str | None = None
        self._towers: dict[int, list[list[WorldObject]]] = {}

    def unclear(self, detail: str) -> None:
        if self.ambiguity is None:
            self.ambiguity = detail

    def towers(self, k: int) -> list[list[WorldObject]]:
        if k not in self._towers:
            self._towers[k] = find_towers(self.boxes[k - 1])
        return self._towers[k]

    def scope(self, image: int | None, bound: int | None) -> range | tuple[int]:
        if image is not None:
            return (image,)
        if bound is not None:
            return (bound,)
        return range(1, len(self.boxes) + 1)

    def select(self, f: Filter, k: int) -> list[WorldObject]:
        """Objects of Image k that match the filter."""
        if f.tower:
            ends = {id(t[-1] if f.tower == "top" else t[0]) for t in self.towers(k)}
        out = [
            o
            for o in self.boxes[k - 1].objects
            if (f.shape is None or o.shape == f.shape)
            and (f.color is None or o.color == f.color)
            and (f.size is None or SIZE_WORDS[o.size] == f.size)
            and (f.edge is None or touches_edge(o, f.edge))
            and (f.tower is None or id(o) in ends)
        ]
        if f.relation is None or not out:
            return out
        kind, targets = f.relation.kind, self.select(f.relation.target, k)
        if kind != "closest_to":
            test = RELATION_TESTS[kind]
            return [o for o in out if any(o is not t and test(o, t) for t in targets)]
        if not targets:
            return []
        if len(targets) > 1:
            self.unclear(f"{noun_phrase(f.relation.target, 'the')!r} is not unique in Image {k}")
        out = [o for o in out if o is not targets[0]]
        if not out:
            return []
        dist = [squared_distance(o, targets[0]) for o in out]
        best = min(dist)
        if dist.count(best) > 1:
            self.unclear(
                f"two objects are equally close to {noun_phrase(f.relation.target, 'the')} in Image {k}"
            )
        return [out[dist.index(best)]]

    def members(self, of: Filter | Towers, k: int) -> list[Any]:
        if isinstance(of, Filter):
            return self.select(of, k)
        return [
            t
            for t in self.towers(k)
            if (of.height is None or OPS[of.height_op](len(t), of.height))
            and (of.top is None or t[-1].color == of.top)
            and (of.base is None or t[0].color == of.base)
            and (of.color is None or all(b.color == of.color for b in t))
        ]

    def count(self, node: Count, bound: int | None = None) -> int:
        return sum(len(self.members(node.of, k)) for k in self.scope(node.image, bound))

    def the(self, f: Filter, image: int | None) -> tuple[int, WorldObject]:
        """The unique object a definite description refers to, with its image number."""
        hits = [(k, o) for k in self.scope(image, None) for o in self.select(f, k)]
        if not hits:
            raise Ungrounded(f"there is no {noun_phrase(f, 'sg')} {_where(image)}")
        if len(hits) > 1:
            self.unclear(
                f"{noun_phrase(f, 'the')!r} is not unique: {len(hits)} objects match {_where(image)}"
            )
        return hits[0]

    def truth(self, node: Any, bound: int | None = None) -> bool:
        if isinstance(node, Exists):
            return any(self.members(node.of, k) for k in self.scope(node.image, bound))
        if isinstance(node, CountCompare):
            return OPS[node.op](self.count(Count(node.of, node.image), bound), node.n)
        if isinstance(node, Compare):
            return _COMPARE[node.op](self.count(node.left, bound), self.count(node.right, bound))
        if isinstance(node, SizeCompare):
            (ka, a), (kb, b) = self.the(node.left, node.left_image), self.the(node.right, node.right_image)
            if ka == kb and a is b:
                self.unclear("both descriptions name the same object")
            return _COMPARE[{"larger": "more", "smaller": "fewer"}.get(node.op, node.op)](a.size, b.size)
        if isinstance(node, Relate):
            (ks, s), (kt, t) = self.the(node.subject, node.image), self.the(node.target, node.image)
            if ks != kt:
                self.unclear(f"the two objects are in different images (Image {ks} and Image {kt})")
            elif s is t:
                self.unclear("both descriptions name the same object")
            return RELATION_TESTS[node.relation](s, t)
        if isinstance(node, Quantified):
            hits = sum(self.truth(node.condition, k) for k in range(1, len(self.boxes) + 1))
            if node.quantifier in OPS:
                return OPS[node.quantifier](hits, node.n)
            return {"each": hits == len(self.boxes), "some": hits > 0, "none": hits == 0}[node.quantifier]
        raise TypeError(f"{type(node).__name__} is not a yes/no program")

    def value(self, node: Any) -> str:
        """The canonical answer string of a top-level program."""
        if isinstance(node, Statement):
            return "true" if self.truth(node.claim) else "false"
        if isinstance(node, Count):
            return str(self.count(node))
        if isinstance(node, Sum):
            return str(sum(self.count(Count(node.of, k)) for k in node.images))
        if isinstance(node, Difference):
            a, b = self.count(Count(node.of, node.first)), self.count(Count(node.of, node.second))
            if a < b:
                self.unclear(f"Image {node.first} has fewer, not more ({a} < {b})")
            return str(a - b)
        if isinstance(node, QueryAttribute):
            obj = self.the(node.of, node.image)[1]
            return SIZE_WORDS[obj.size] if node.attribute == "size" else getattr(obj, node.attribute)
        if isinstance(node, WhichImage | ImagesContaining):
            hits = [k for k in range(1, len(self.boxes) + 1) if self.truth(node.condition, k)]
            if isinstance(node, ImagesContaining):
                return str(len(hits))
            if not hits:
                raise Ungrounded("no image meets the condition")
            if len(hits) > 1:
                self.unclear(
                    "more than one image meets the condition: " + ", ".join(f"Image {k}" for k in hits)
                )
            return f"image {hits[0]}"
        if isinstance(node, WhatChanged):
            return self._changed(node)
        if isinstance(node, FirstAppearance):
            hits = [(k, o) for k in range(1, len(self.boxes) + 1) for o in self.select(node.of, k)]
            if not hits:
                raise Ungrounded(f"no {noun_phrase(node.of, 'sg')} appears in any image")
            if len({identity(o) for _, o in hits}) > 1:
                self.unclear(f"{noun_phrase(node.of, 'the')!r} matches several different objects")
            return f"image {hits[0][0]}"
        return "yes" if self.truth(node) else "no"

    def _changed(self, node: WhatChanged) -> str:
        before, after = self.boxes[node.before - 1], self.boxes[node.after - 1]
        moved, appeared, gone = box_changes(before, after)
        found = {"moved": moved, "appeared": appeared, "disappeared": gone}[node.change]
        if not found:
            return "nothing"
        context = [*before.objects, *after.objects]
        if len(found) > 1:
            names = ", ".join(change_phrase(i, context) for i in found)
            where = f"between Image {node.before} and Image {node.after}"
            self.unclear(f"{len(found)} objects {node.change} {where}: {names}")
        return change_phrase(found[0], context)


def answer(program: Any, scene: Scene) -> str:
    """The canonical answer, or Ungrounded / Ambiguous with a human-readable message."""
    run = _Run(scene)
    result = run.value(program)
    if run.ambiguity is not None:
        raise Ambiguous(run.ambiguity)
    return result
