"""Question programs: a typed AST over shapes-world scene graphs, evaluated by
`scotoma.world.programs.oracle`.

Three kinds of expression nest into one another:

- object sets, read inside one box: `Filter` (shape, color, size, edge, tower position, a `Relation` to
  another `Filter` in the same box) and `Towers` (stacks of squares);
- scoped expressions: `image=k` reads Image k (`scene.boxes[k - 1]`), `image=None` reads every image
  together, or, inside a box quantifier (`Quantified`, `WhichImage`, `ImagesContaining`), the box at hand;
- the top: numbers (`Count`, `Sum`, `Difference`), booleans (`Exists`, `CountCompare`, `Compare`,
  `SizeCompare`, `Relate`, `Quantified`), queries (`QueryAttribute`, `WhichImage`, `ImagesContaining`,
  `WhatChanged`, `FirstAppearance`) and NLVR-style `Statement`s (answered "true"/"false").

Nodes are frozen, hashable and check their own fields, so two programs are equal exactly when they
are the same question. `skills`, `family` and `depth` read a program without a scene.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scotoma.world.programs.descriptions import (
    ATTRIBUTES,
    CHANGES,
    COMPARE_OPS,
    COUNT_OPS,
    EDGES,
    PAIR_RELATIONS,
    QUANTIFIERS,
    RELATIONS,
    SIZE_NAMES,
    SIZE_OPS,
    TOWER_POSITIONS,
    Filter,
    ObjectSet,
    ProgramError,
    Relation,
    Towers,
    check_image,
    check_object_set,
    check_one_of,
)
from scotoma.world.programs.skills import node_family, node_skills

__all__ = [  # the description nodes and word lists are re-exported: programs are built from here
    "ATTRIBUTES", "CHANGES", "COMPARE_OPS", "COUNT_OPS", "EDGES", "NODE_TYPES", "PAIR_RELATIONS",
    "QUANTIFIERS", "RELATIONS", "SIZE_NAMES", "SIZE_OPS", "TOWER_POSITIONS", "Compare", "Count",
    "CountCompare", "Difference", "Exists", "Filter", "FirstAppearance", "ImagesContaining", "ObjectSet",
    "Program", "ProgramError", "Quantified", "QueryAttribute", "Relate", "Relation", "SizeCompare",
    "Statement", "Sum", "Towers", "WhatChanged", "WhichImage", "children", "depth", "family", "from_dict",
    "images_of", "skills", "to_dict",
]  # fmt: skip


@dataclass(frozen=True)
class Count:
    """How many objects (or towers) of `of` there are in `image` (None: all images, or the box)."""

    of: ObjectSet
    image: int | None = None

    def __post_init__(self) -> None:
        check_object_set(self.of)
        check_image(self.image)


@dataclass(frozen=True)
class Exists:
    """Whether at least one object of `of` is in `image`."""

    of: ObjectSet
    image: int | None = None

    def __post_init__(self) -> None:
        check_object_set(self.of)
        check_image(self.image)


@dataclass(frozen=True)
class CountCompare:
    """Whether the count of `of` in `image` is exactly / at least / at most `n`."""

    of: ObjectSet
    op: str
    n: int
    image: int | None = None

    def __post_init__(self) -> None:
        check_object_set(self.of)
        check_one_of(self.op, COUNT_OPS, "op", optional=False)
        if not 0 <= self.n <= 99:
            raise ProgramError(f"n={self.n} is outside 0..99")
        check_image(self.image)


@dataclass(frozen=True)
class Compare:
    """Whether `left` is more than, fewer than or the same number as `right`."""

    left: Count
    op: str
    right: Count

    def __post_init__(self) -> None:
        check_one_of(self.op, COMPARE_OPS, "op", optional=False)
        if not (isinstance(self.left, Count) and isinstance(self.right, Count)):
            raise ProgramError("Compare compares two Count nodes")
        if (self.left.image is None) != (self.right.image is None):
            raise ProgramError("Compare needs both counts in named images or both in all images")


@dataclass(frozen=True)
class SizeCompare:
    """Whether the unique object `left` is larger than, smaller than or the same size as `right`."""

    left: Filter
    op: str
    right: Filter
    left_image: int | None = None
    right_image: int | None = None

    def __post_init__(self) -> None:
        check_one_of(self.op, SIZE_OPS, "op", optional=False)
        check_image(self.left_image, "left_image")
        check_image(self.right_image, "right_image")
        if (self.left_image is None) != (self.right_image is None):
            raise ProgramError("SizeCompare needs both referents in named images or both unscoped")


@dataclass(frozen=True)
class Relate:
    """Whether the unique object `subject` stands in `relation` to the unique object `target`."""

    subject: Filter
    relation: str
    target: Filter
    image: int | None = None

    def __post_init__(self) -> None:
        check_one_of(self.relation, PAIR_RELATIONS, "relation", optional=False)
        check_image(self.image)


@dataclass(frozen=True)
class QueryAttribute:
    """The color, shape or size word of the unique object `of` in `image`."""

    attribute: str
    of: Filter
    image: int | None = None

    def __post_init__(self) -> None:
        check_one_of(self.attribute, ATTRIBUTES, "attribute", optional=False)
        check_image(self.image)


@dataclass(frozen=True)
class Sum:
    """Visual arithmetic: the number of `of` in the named images together."""

    of: ObjectSet
    images: tuple[int, ...]

    def __post_init__(self) -> None:
        check_object_set(self.of)
        if len(self.images) < 2 or len(set(self.images)) != len(self.images):
            raise ProgramError(f"Sum needs two or more different images, not {self.images}")
        for k in self.images:
            check_image(k, "images")


@dataclass(frozen=True)
class Difference:
    """Visual arithmetic: how many more of `of` Image `first` has than Image `second`."""

    of: ObjectSet
    first: int
    second: int

    def __post_init__(self) -> None:
        check_object_set(self.of)
        check_image(self.first, "first")
        check_image(self.second, "second")
        if self.first == self.second:
            raise ProgramError("Difference needs two different images")


BoxCondition = Exists | CountCompare | Compare


def _box_condition(value: Any) -> None:
    if not isinstance(value, Exists | CountCompare | Compare):
        raise ProgramError(f"a box condition is Exists, CountCompare or Compare, not {type(value).__name__}")
    if images_of(value):
        raise ProgramError("a box condition reads the box at hand; it cannot name an image")


@dataclass(frozen=True)
class Quantified:
    """Whether each / some / no box (or exactly / at least / at most `n` boxes) meets `condition`."""

    quantifier: str
    condition: BoxCondition
    n: int | None = None

    def __post_init__(self) -> None:
        check_one_of(self.quantifier, QUANTIFIERS, "quantifier", optional=False)
        _box_condition(self.condition)
        if (self.n is None) != (self.quantifier in ("each", "some", "none")):
            raise ProgramError(f"quantifier {self.quantifier!r} takes n only when it is a count")


@dataclass(frozen=True)
class WhichImage:
    """Global search: the one image whose box meets `condition`."""

    condition: BoxCondition

    def __post_init__(self) -> None:
        _box_condition(self.condition)


@dataclass(frozen=True)
class ImagesContaining:
    """Global search: how many images meet `condition`."""

    condition: BoxCondition

    def __post_init__(self) -> None:
        _box_condition(self.condition)


@dataclass(frozen=True)
class WhatChanged:
    """Sequence: the object that moved, appeared or disappeared from Image `before` to Image `after`."""

    change: str
    before: int
    after: int

    def __post_init__(self) -> None:
        check_one_of(self.change, CHANGES, "change", optional=False)
        check_image(self.before, "before")
        check_image(self.after, "after")
        if self.before == self.after:
            raise ProgramError("WhatChanged needs two different images")


@dataclass(frozen=True)
class FirstAppearance:
    """Sequence: the first image that shows the object `of`."""

    of: Filter

    def __post_init__(self) -> None:
        if not isinstance(self.of, Filter):
            raise ProgramError(f"FirstAppearance needs a Filter, not {type(self.of).__name__}")


@dataclass(frozen=True)
class Statement:
    """An NLVR-style claim about the whole sample, answered "true" or "false"."""

    claim: Exists | CountCompare | Compare | Quantified

    def __post_init__(self) -> None:
        if not isinstance(self.claim, Exists | CountCompare | Compare | Quantified):
            raise ProgramError(
                f"a Statement claims Exists, CountCompare, Compare or Quantified, not {self.claim}"
            )


Program = (
    Count
    | Exists
    | CountCompare
    | Compare
    | SizeCompare
    | Relate
    | QueryAttribute
    | Sum
    | Difference
    | Quantified
    | WhichImage
    | ImagesContaining
    | WhatChanged
    | FirstAppearance
    | Statement
)
NODE_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Filter, Relation, Towers, *Program.__args__)  # type: ignore[attr-defined]
}


_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in NODE_TYPES.values()
}
_IMAGE_FIELDS = frozenset({"image", "left_image", "right_image", "first", "second", "before", "after"})


def children(node: Any) -> list[Any]:
    """The program nodes directly inside `node`, in field order."""
    values = (getattr(node, name) for name in _FIELDS[type(node)])
    return [v for v in values if type(v) in _FIELDS]


def depth(node: Any) -> int:
    """Nesting depth: 1 for a leaf (a Filter without relation, a sequence question), +1 per level.
    A Relation and its target count as one level: "yellow squares above a black circle" is depth 2."""
    below = max((depth(c) for c in children(node)), default=0)
    return below if isinstance(node, Relation) else 1 + below


@lru_cache(maxsize=4096)
def images_of(node: Any) -> tuple[int, ...]:
    """Every image number the program names, sorted, without repeats."""
    found: set[int] = set()
    for name in _FIELDS[type(node)]:
        value = getattr(node, name)
        if name in _IMAGE_FIELDS:
            if value is not None:
                found.add(value)
        elif name == "images":
            found.update(value)
        elif type(value) in _FIELDS:
            found.update(images_of(value))
    return tuple(sorted(found))


@lru_cache(maxsize=4096)
def skills(program: Any) -> tuple[str, ...]:
    """The sorted skills a program needs: its own construct's and those of every node inside it."""
    found: set[str] = set()
    stack = [program]
    while stack:
        node = stack.pop()
        found.update(node_skills(node))
        stack.extend(children(node))
    return tuple(sorted(found))


def family(program: Any) -> str:
    """The question family of a top-level program (one of `scotoma.world.programs.skills.FAMILIES`)."""
    return node_family(program)


def to_dict(node: Any) -> dict[str, Any]:
    """A JSON-ready dict: {"node": class name, field: value, ...}, nested nodes as dicts."""
    out: dict[str, Any] = {"node": type(node).__name__}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if type(value) in _FIELDS:
            value = to_dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def from_dict(data: dict[str, Any]) -> Any:
    """Inverse of `to_dict`; raises ProgramError on an unknown node name or field."""
    name = data.get("node")
    cls = NODE_TYPES.get(name)  # type: ignore[arg-type]
    if cls is None:
        raise ProgramError(f"unknown program node {name!r}; one of {sorted(NODE_TYPES)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "node":
            continue
        if isinstance(value, dict):
            value = from_dict(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ProgramError(f"bad fields for {name}: {exc}") from exc
