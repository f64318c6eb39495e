"""What a sampled box must hold, and how boxes are drawn: ObjectSpec, BoxConstraints, SceneConfig.

An `ObjectSpec` is a partial object (None leaves an attribute free) used two ways by the samplers in
`scotoma.world.sampling.generate`: planted (`must_include`: such an object is in the box for sure) and banned
(`must_exclude`: no other object of the box matches it). Planting n and banning the spec gives exactly n.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np

from scotoma.world.scenes.scene import BOX_SIZE, COLORS, MAX_OBJECTS, SHAPES, SIZES, SceneError, WorldObject

EDGE_SPECS = ("top", "bottom", "left", "right", "any", "corner", "none")
BoxKind = Literal["scatter", "tower"]
Rng = random.Random | np.random.Generator
_SIZE_WORDS = {"small": 10, "medium": 20, "large": 30}


class SamplingError(SceneError):
    """A request the sampler could not meet within its tries (too many objects, contradictory specs)."""


def as_random(rng: Rng) -> random.Random:
    """The stdlib generator to draw from: itself, or one seeded from a numpy Generator (deterministic)."""
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, np.random.Generator):
        return random.Random(int(rng.integers(2**63)))
    raise TypeError(f"rng must be random.Random or numpy.random.Generator, not {type(rng).__name__}")


@dataclass(frozen=True)
class ObjectSpec:
    """A partial description of an object; None leaves an attribute free.

    Attributes:
        shape: "square", "circle" or "triangle".
        color: "yellow", "black" or "blue".
        size: 10, 20 or 30 px (or "small", "medium", "large").
        edge: "top", "bottom", "left", "right" (touches it), "any" (touches one), "corner" (touches a
            vertical and a horizontal edge) or "none" (touches no edge).
    """

    shape: str | None = None
    color: str | None = None
    size: int | None = None
    edge: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.size, str):  # size words, as question programs name sizes
            object.__setattr__(self, "size", _SIZE_WORDS.get(self.size, self.size))
        for name, value, allowed in (
            ("shape", self.shape, SHAPES),
            ("color", self.color, COLORS),
            ("size", self.size, SIZES),
            ("edge", self.edge, EDGE_SPECS),
        ):
            if value is not None and value not in allowed:
                raise SceneError(f"ObjectSpec {name}={value!r} is not one of {allowed}")

    def matches(self, obj: WorldObject) -> bool:
        """Whether `obj` has every attribute this spec fixes."""
        return (
            (self.shape is None or obj.shape == self.shape)
            and (self.color is None or obj.color == self.color)
            and (self.size is None or obj.size == self.size)
            and (self.edge is None or touches(obj, self.edge))
        )


ANY_OBJECT = ObjectSpec()


def touches(obj: WorldObject, edge: str) -> bool:
    """Edge test for ObjectSpec.edge values (see its docstring)."""
    top, bottom = obj.y <= 0, obj.bottom >= BOX_SIZE
    left, right = obj.x <= 0, obj.right >= BOX_SIZE
    if edge == "any":
        return top or bottom or left or right
    if edge == "none":
        return not (top or bottom or left or right)
    if edge == "corner":
        return (top or bottom) and (left or right)
    return {"top": top, "bottom": bottom, "left": left, "right": right}[edge]


@dataclass(frozen=True)
class SceneConfig:
    """How boxes are drawn.

    Attributes:
        n_objects: inclusive range of objects in a scatter box (planted ones count).
        tower_prob: chance that a box (for `boxes`, a whole set, as in NLVR1) is a tower box, when every
            planted spec can be a tower block.
        tower_heights: inclusive range of blocks per tower.
        towers_per_box: inclusive range of towers in a tower box.
        tower_x: x of a lone tower (NLVR1: 40); None, or several towers, draws x at random.
        tower_block: side of a tower block in px (NLVR1: 20).
        edge_prob: chance that a free object is placed touching a random edge (else anywhere).
        min_gap: px kept free between bounding boxes (NLVR1 keeps at least 1).
        shapes: shapes free objects are drawn from.
        colors: colours free objects are drawn from.
        sizes: sizes free objects are drawn from.
        unique_identities: no two objects of a box share (shape, color, size), so they can be told apart.
        max_tries: placement attempts per object, and restarts per box, before SamplingError.
    """

    n_objects: tuple[int, int] = (1, MAX_OBJECTS)
    tower_prob: float = 0.2
    tower_heights: tuple[int, int] = (1, 4)
    towers_per_box: tuple[int, int] = (1, 1)
    tower_x: int | None = 40
    tower_block: int = 20
    edge_prob: float = 0.3
    min_gap: int = 1
    shapes: tuple[str, ...] = SHAPES
    colors: tuple[str, ...] = COLORS
    sizes: tuple[int, ...] = SIZES
    unique_identities: bool = False
    max_tries: int = 50

    def __post_init__(self) -> None:
        low, high = self.n_objects
        if not 1 <= low <= high <= MAX_OBJECTS:
            raise SceneError(f"n_objects={self.n_objects} must satisfy 1 <= low <= high <= {MAX_OBJECTS}")
        if not 1 <= self.tower_heights[0] <= self.tower_heights[1]:
            raise SceneError(f"tower_heights={self.tower_heights} must satisfy 1 <= low <= high")
        if not 1 <= self.towers_per_box[0] <= self.towers_per_box[1]:
            raise SceneError(f"towers_per_box={self.towers_per_box} must satisfy 1 <= low <= high")
        if not (0 <= self.tower_prob <= 1 and 0 <= self.edge_prob <= 1):
            raise SceneError("tower_prob and edge_prob are probabilities in [0, 1]")
        top = (self.tower_heights[1] - 1) * (self.tower_block + 1) + self.tower_block
        if top > BOX_SIZE:
            raise SceneError(
                f"a tower of {self.tower_heights[1]} blocks of {self.tower_block} px leaves the box"
            )
        if not (self.shapes and self.colors and self.sizes):
            raise SceneError("shapes, colors and sizes must each allow at least one value")

    @classmethod
    def nlvr1(cls) -> SceneConfig:
        """Close to NLVR1's dev split: 68% tower sets, 1-7 objects a box, about a third on an edge."""
        return cls(n_objects=(1, 7), tower_prob=0.68, edge_prob=0.3)

    def tower_block_can_match(self, spec: ObjectSpec) -> bool:
        """Whether some block of a tower box could satisfy `spec` (else such a box cannot plant it)."""
        side, base = self.tower_block, BOX_SIZE - self.tower_block
        xs = (self.tower_x,) if self.tower_x is not None and self.towers_per_box[1] == 1 else (0, 40, base)
        blocks = [
            WorldObject("square", spec.color or COLORS[0], side, x, y) for x in xs for y in (base, 0, 40)
        ]
        return any(spec.matches(block) for block in blocks)


@dataclass(frozen=True)
class BoxConstraints:
    """What one box of a set must hold.

    Attributes:
        include: objects planted for sure (each spec one object).
        exclude: no other object of the box may match any of these.
        kind: "scatter" or "tower"; None follows the set.
    """

    include: tuple[ObjectSpec, ...] = ()
    exclude: tuple[ObjectSpec, ...] = ()
    kind: BoxKind | None = None
