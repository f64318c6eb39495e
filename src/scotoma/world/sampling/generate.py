"""Seeded scene generators: single boxes and independent sets of boxes, with planted and banned objects.

`SceneSampler(SceneConfig(...))` draws NLVR1-style boxes (see `scotoma.world.scenes.scene`): *scatter* boxes
of 1-8 objects at integer positions, inside the box, with at least `min_gap` px between bounding boxes, some
of them touching an edge; and *tower* boxes of squares stacked on the floor as in NLVR1 (size 20, x 40,
one pixel apart: y = 80, 59, 38, 17). A question sampler controls a box with `must_include` (objects
planted for sure, e.g. `ObjectSpec("triangle", "yellow", edge="top")`) and `must_exclude` (no other object
may match), which gives balanced yes/no answers and exact counts: plant n, exclude the rest.

Sets with structure across images (sequences of edits, near-duplicates, shared objects) are in
`scotoma.world.sampling.generate_sets`, reached through the same sampler. Everything takes the random source
as an argument (`random.Random`, or a numpy `Generator` that seeds one) and is deterministic given it.
Sampling is rejection with a cap (`max_tries`), so it stays cheap; an impossible request raises
`SamplingError` saying what could not be placed. The specs and the config are in
`scotoma.world.sampling.specs`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scotoma.world.sampling.specs import (
    ANY_OBJECT,
    BoxConstraints,
    BoxKind,
    ObjectSpec,
    Rng,
    SamplingError,
    SceneConfig,
    as_random,
)
from scotoma.world.scenes.scene import BOX_SIZE, MAX_OBJECTS, Box, Scene, SceneError, WorldObject

if TYPE_CHECKING:
    from scotoma.world.sampling.generate_sets import SceneSample


def is_clear(x: int, y: int, size: int, placed: Sequence[WorldObject], gap: int) -> bool:
    """No placed object's bounding box comes within `gap` px of the box at (x, y, size)."""
    for o in placed:
        if (
            x < o.x + o.size + gap
            and o.x < x + size + gap
            and y < o.y + o.size + gap
            and o.y < y + size + gap
        ):
            return False
    return True


def _pick(rng: random.Random, options: Sequence):  # rng.choice, twice as fast
    return options[int(rng.random() * len(options))]


def _position(rng: random.Random, size: int, edge: str | None) -> tuple[int, int]:
    """A top-left corner keeping a `size` object inside the box, touching `edge` (see ObjectSpec)."""
    high = BOX_SIZE - size
    if edge == "corner":
        return _pick(rng, (0, high)), _pick(rng, (0, high))
    if edge == "none":
        return 1 + int(rng.random() * (high - 1)), 1 + int(rng.random() * (high - 1))
    if edge == "any":
        edge = _pick(rng, ("top", "bottom", "left", "right"))
    x, y = int(rng.random() * (high + 1)), int(rng.random() * (high + 1))
    if edge == "top":
        y = 0
    elif edge == "bottom":
        y = high
    elif edge == "left":
        x = 0
    elif edge == "right":
        x = high
    return x, y


class SceneSampler:
    """Draws boxes and sets of boxes under one `SceneConfig`.

    Example:
        >>> sampler = SceneSampler(SceneConfig(n_objects=(2, 5)))
        >>> box = sampler.box(random.Random(0), must_include=[ObjectSpec("triangle", "yellow", edge="top")])
    """

    def __init__(self, config: SceneConfig | None = None) -> None:
        self.config = config or SceneConfig()

    # -- one box -------------------------------------------------------------------------------------
    def box(
        self,
        rng: Rng,
        must_include: Sequence[ObjectSpec] = (),
        must_exclude: Sequence[ObjectSpec] = (),
        kind: BoxKind | None = None,
    ) -> Box:
        """One box holding every `must_include` object and no other object matching `must_exclude`.

        Args:
            rng: the random source.
            must_include: specs planted one object each (exempt from `must_exclude`).
            must_exclude: specs no free object may match; with `must_include` this gives exact counts.
            kind: "scatter" or "tower"; None draws a tower box with probability `tower_prob` (scatter when
                a planted spec cannot be a tower block).

        Raises:
            SamplingError: when the request cannot be met within `max_tries` restarts.
        """
        rng = as_random(rng)
        include, exclude = tuple(must_include), tuple(must_exclude)
        kind = kind or self._draw_kind(rng, include)
        fill = self._tower if kind == "tower" else self._scatter
        for _ in range(self.config.max_tries):
            objects = fill(rng, include, exclude)
            if objects is not None:
                rng.shuffle(objects)  # planted objects must not sit first in the scene graph
                return Box(tuple(objects))
        raise SamplingError(
            f"could not draw a {kind} box with {len(include)} planted objects {list(include)} and none like "
            f"{list(exclude)} in {self.config.max_tries} tries; loosen the specs or n_objects"
        )

    # -- sets ----------------------------------------------------------------------------------------
    def boxes(
        self,
        rng: Rng,
        k: int,
        constraints: Sequence[BoxConstraints] | None = None,
        kind: BoxKind | None = None,
    ) -> SceneSample:
        """K independent boxes, one image each; all of one kind (drawn once per set, as in NLVR1).

        Args:
            rng: the random source.
            k: number of boxes, 1..8.
            constraints: one BoxConstraints per box (e.g. plant an object in exactly one of them).
            kind: "scatter" or "tower" for every box; None draws towers with probability `tower_prob`.
        """
        from scotoma.world.sampling.generate_sets import SceneSample, check_k

        rng = as_random(rng)
        check_k(k)
        constraints = list(constraints) if constraints is not None else [BoxConstraints()] * k
        if len(constraints) != k:
            raise SceneError(f"{len(constraints)} BoxConstraints for {k} boxes; give one per box")
        kind = kind or self._draw_kind(rng, tuple(spec for c in constraints for spec in c.include))
        boxes = tuple(self.box(rng, c.include, c.exclude, c.kind or kind) for c in constraints)
        return SceneSample(Scene(boxes), "independent")

    def sequence(
        self, rng: Rng, k: int, kinds: tuple[str, ...] = ("moved", "added", "removed"), min_move: int = 10
    ) -> SceneSample:
        """K boxes, each the last after one edit (SequenceStep); see generate_sets.sample_sequence."""
        from scotoma.world.sampling.generate_sets import sample_sequence

        return sample_sequence(self, as_random(rng), k, kinds, min_move)

    def near_duplicates(
        self,
        rng: Rng,
        k: int,
        n_changed: int | None = None,
        attributes: tuple[str, ...] = ("shape", "color", "size"),
    ) -> SceneSample:
        """K images of one box, n_changed of them with one attribute changed (AttributeChange)."""
        from scotoma.world.sampling.generate_sets import sample_near_duplicates

        return sample_near_duplicates(self, as_random(rng), k, n_changed, attributes)

    def shared(
        self,
        rng: Rng,
        k: int,
        n_shared: int = 1,
        min_boxes: int = 2,
        max_boxes: int | None = None,
        same_position: bool = True,
    ) -> SceneSample:
        """K boxes where objects recur across boxes (SharedObject); see generate_sets.sample_shared."""
        from scotoma.world.sampling.generate_sets import sample_shared

        return sample_shared(self, as_random(rng), k, n_shared, min_boxes, max_boxes, same_position)

    # -- building blocks -------------------------------------------------------------------------------
    def _draw_kind(self, rng: random.Random, include: tuple[ObjectSpec, ...]) -> BoxKind:
        """Tower with probability tower_prob, when every planted spec can be a tower block."""
        if rng.random() < self.config.tower_prob and all(map(self.config.tower_block_can_match, include)):
            return "tower"
        return "scatter"

    def place(
        self,
        rng: random.Random,
        placed: list[WorldObject],
        spec: ObjectSpec = ANY_OBJECT,
        exclude: Sequence[ObjectSpec] = (),
    ) -> WorldObject | None:
        """Add one object with the spec's attributes (random elsewhere) to `placed`, clear of the objects
        there and unlike `exclude`; None when every try failed.

        A free edge touches a random edge with probability `edge_prob`; the position is drawn before the
        other attributes so a collision costs no object construction.
        """
        c = self.config
        for _ in range(c.max_tries):
            size = spec.size or _pick(rng, c.sizes)
            edge = spec.edge or ("any" if rng.random() < c.edge_prob else None)
            x, y = _position(rng, size, edge)
            if not is_clear(x, y, size, placed, c.min_gap):
                continue
            obj = WorldObject(
                spec.shape or _pick(rng, c.shapes), spec.color or _pick(rng, c.colors), size, x, y
            )
            if exclude and any(e.matches(obj) for e in exclude):
                continue
            if c.unique_identities and any(
                (o.shape, o.color, o.size) == (obj.shape, obj.color, obj.size) for o in placed
            ):
                continue
            placed.append(obj)
            return obj
        return None

    def _scatter(
        self, rng: random.Random, include: tuple[ObjectSpec, ...], exclude: tuple[ObjectSpec, ...]
    ) -> list[WorldObject] | None:
        low, high = self.config.n_objects
        if len(include) > MAX_OBJECTS:
            raise SamplingError(f"{len(include)} planted objects; a box holds at most {MAX_OBJECTS}")
        n = rng.randint(max(low, len(include)), max(high, len(include)))
        if ANY_OBJECT in exclude:  # "no other object at all": the box holds just the planted ones
            n = len(include)
        placed: list[WorldObject] = []
        for spec in include:
            if self.place(rng, placed, spec) is None:
                return None
        for _ in range(n - len(include)):
            if self.place(rng, placed, exclude=exclude) is None:
                return None
        return placed

    def _tower(
        self, rng: random.Random, include: tuple[ObjectSpec, ...], exclude: tuple[ObjectSpec, ...]
    ) -> list[WorldObject] | None:
        c, side = self.config, self.config.tower_block
        count = rng.randint(*c.towers_per_box)
        if count == 1 and c.tower_x is not None:
            xs = [c.tower_x]
        else:
            xs = []
            for _ in range(count):
                x = int(rng.random() * (BOX_SIZE - side + 1))
                if all(abs(x - other) >= side + c.min_gap for other in xs):
                    xs.append(x)
        slots = [
            (x, BOX_SIZE - side - level * (side + 1))
            for x in xs
            for level in range(rng.randint(*c.tower_heights))
        ]
        colors: dict[tuple[int, int], str] = {}
        for spec in include:  # a planted spec colours a block that can match it
            free = [
                p
                for p in slots
                if p not in colors and spec.matches(WorldObject("square", spec.color or "black", side, *p))
            ]
            if not free:
                return None
            colors[rng.choice(free)] = spec.color or rng.choice(c.colors)
        for p in slots:
            if p not in colors:
                options = [
                    k
                    for k in c.colors
                    if not any(e.matches(WorldObject("square", k, side, *p)) for e in exclude)
                ]
                if not options:
                    return None
                colors[p] = rng.choice(options)
        blocks = [WorldObject("square", colors[p], side, *p) for p in slots]
        if c.unique_identities and len({b.color for b in blocks}) < len(blocks):
            return None
        return blocks
