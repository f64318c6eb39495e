"""Object descriptions: the box-level part of question programs (see `scotoma.world.programs.nodes`).

`Filter` keeps the objects of one box with a shape, color, size, edge, tower position and a `Relation`
to other objects of the same box; `Towers` keeps its towers by height and block colors. The word lists
here are the closed vocabulary of program fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scotoma.world.scenes.scene import COLORS, SHAPES

SIZE_NAMES = ("small", "medium", "large")
EDGES = ("any", "top", "bottom", "left", "right", "corner", "none")
PAIR_RELATIONS = ("above", "below", "left_of", "right_of", "on")  # hold between two objects
RELATIONS = (*PAIR_RELATIONS, "closest_to")  # closest_to picks one object out of many
TOWER_POSITIONS = ("top", "base")
COUNT_OPS = ("exactly", "at_least", "at_most")
COMPARE_OPS = ("more", "fewer", "same")
SIZE_OPS = ("larger", "smaller", "same")
ATTRIBUTES = ("color", "shape", "size")
QUANTIFIERS = ("each", "some", "none", "exactly", "at_least", "at_most")
CHANGES = ("moved", "appeared", "disappeared")


class ProgramError(ValueError):
    """A program node built with a field outside the language (unknown word, bad image number)."""


def check_one_of(value: Any, allowed: tuple, field: str, optional: bool = True) -> None:
    if (value is None and optional) or value in allowed:
        return
    raise ProgramError(f"{field}={value!r} is not one of {allowed}")


def check_image(value: int | None, field: str = "image") -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ProgramError(f"{field}={value!r}: images are numbered from 1")


@dataclass(frozen=True)
class Filter:
    """Objects of one box with the given attributes; None leaves an attribute free."""

    shape: str | None = None
    color: str | None = None
    size: str | None = None
    edge: str | None = None
    tower: str | None = None
    relation: Relation | None = None

    def __post_init__(self) -> None:
        check_one_of(self.shape, SHAPES, "shape")
        check_one_of(self.color, COLORS, "color")
        check_one_of(self.size, SIZE_NAMES, "size")
        check_one_of(self.edge, EDGES, "edge")
        check_one_of(self.tower, TOWER_POSITIONS, "tower")


@dataclass(frozen=True)
class Relation:
    """Keeps objects that stand in `kind` to some object of `target` in the same box."""

    kind: str
    target: Filter

    def __post_init__(self) -> None:
        check_one_of(self.kind, RELATIONS, "relation", optional=False)


@dataclass(frozen=True)
class Towers:
    """Towers of one box (squares stacked from the bottom edge) with the given height and colors."""

    height: int | None = None
    height_op: str = "exactly"
    top: str | None = None
    base: str | None = None
    color: str | None = None

    def __post_init__(self) -> None:
        check_one_of(self.height_op, COUNT_OPS, "height_op", optional=False)
        if self.height is None and self.height_op != "exactly":
            raise ProgramError("height_op needs a height; leave it 'exactly' when height is None")
        if self.height is not None and not 1 <= self.height <= 8:
            raise ProgramError(f"tower height {self.height} is outside 1..8")
        for field in ("top", "base", "color"):
            check_one_of(getattr(self, field), COLORS, field)


ObjectSet = Filter | Towers


def check_object_set(value: Any, field: str = "of") -> None:
    if not isinstance(value, Filter | Towers):
        raise ProgramError(f"{field} must be a Filter or Towers, not {type(value).__name__}")
