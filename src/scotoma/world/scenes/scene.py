"""Scene graphs of the shapes world: objects in 100x100 boxes, a box per image, as in NLVR1.

Coordinates follow NLVR1's structured representation: `x`, `y` are the top-left corner of the
object's `size` x `size` bounding box, in pixels, y growing downwards. An object touches an edge when
its bounding box reaches it (x == 0, y == 0, x + size == 100, y + size == 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

BOX_SIZE = 100
SHAPES = ("square", "circle", "triangle")
COLORS = ("yellow", "black", "blue")
SIZES = (10, 20, 30)
SIZE_WORDS = {10: "small", 20: "medium", 30: "large"}
MAX_OBJECTS = 8

Shape = Literal["square", "circle", "triangle"]
Color = Literal["yellow", "black", "blue"]
Edge = Literal["top", "bottom", "left", "right"]

# NLVR1 writes colours as "Yellow", "Black" and "#0099ff".
_NLVR_COLOR = {"yellow": "Yellow", "black": "Black", "blue": "#0099ff"}
_COLOR_FROM_NLVR = {v.lower(): k for k, v in _NLVR_COLOR.items()}


class SceneError(ValueError):
    """A scene that breaks the world's rules (overlap, outside the box, unknown attribute)."""


@dataclass(frozen=True, order=True)
class WorldObject:
    """One shape in a box.

    Attributes:
        shape: "square", "circle" or "triangle".
        color: "yellow", "black" or "blue".
        size: side of the bounding box in pixels: 10, 20 or 30.
        x: left edge of the bounding box, pixels from the box's left.
        y: top edge of the bounding box, pixels from the box's top.
    """

    shape: str
    color: str
    size: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise SceneError(f"unknown shape {self.shape!r}; one of {SHAPES}")
        if self.color not in COLORS:
            raise SceneError(f"unknown color {self.color!r}; one of {COLORS}")
        if self.size not in SIZES:
            raise SceneError(f"unknown size {self.size!r}; one of {SIZES}")

    @property
    def right(self) -> int:
        return self.x + self.size

    @property
    def bottom(self) -> int:
        return self.y + self.size

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.size / 2, self.y + self.size / 2)

    def touches(self, edge: Edge) -> bool:
        """Whether the bounding box reaches the given edge of the box."""
        return {
            "top": self.y <= 0,
            "bottom": self.bottom >= BOX_SIZE,
            "left": self.x <= 0,
            "right": self.right >= BOX_SIZE,
        }[edge]

    @property
    def touches_any_edge(self) -> bool:
        return any(self.touches(e) for e in ("top", "bottom", "left", "right"))

    def overlaps(self, other: WorldObject) -> bool:
        """Bounding boxes share at least one pixel."""
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )

    def inside_box(self) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= BOX_SIZE and self.bottom <= BOX_SIZE

    def to_nlvr(self) -> dict[str, Any]:
        return {
            "x_loc": self.x,
            "y_loc": self.y,
            "type": self.shape,
            "color": _NLVR_COLOR[self.color],
            "size": self.size,
        }

    @classmethod
    def from_nlvr(cls, item: dict[str, Any]) -> WorldObject:
        color = _COLOR_FROM_NLVR.get(str(item["color"]).lower())
        if color is None:
            raise SceneError(f"unknown NLVR color {item['color']!r}")
        return cls(item["type"], color, int(item["size"]), int(item["x_loc"]), int(item["y_loc"]))


@dataclass(frozen=True)
class Box:
    """One 100x100 box: one image of a sample."""

    objects: tuple[WorldObject, ...]

    def validate(self, allow_overlap: bool = False) -> Box:
        """Raise SceneError unless every object is inside the box and (by default) none overlap."""
        if not 1 <= len(self.objects) <= MAX_OBJECTS:
            raise SceneError(f"a box holds 1 to {MAX_OBJECTS} objects, not {len(self.objects)}")
        for obj in self.objects:
            if not obj.inside_box():
                raise SceneError(f"{obj} leaves the {BOX_SIZE}x{BOX_SIZE} box")
        if not allow_overlap:
            for i, a in enumerate(self.objects):
                for b in self.objects[i + 1 :]:
                    if a.overlaps(b):
                        raise SceneError(f"{a} overlaps {b}")
        return self

    def to_nlvr(self) -> list[dict[str, Any]]:
        return [o.to_nlvr() for o in self.objects]

    @classmethod
    def from_nlvr(cls, items: list[dict[str, Any]]) -> Box:
        return cls(tuple(WorldObject.from_nlvr(i) for i in items))


@dataclass(frozen=True)
class Scene:
    """A multi-image sample: an ordered tuple of boxes, image k is `boxes[k - 1]`."""

    boxes: tuple[Box, ...]

    def to_nlvr(self) -> list[list[dict[str, Any]]]:
        return [b.to_nlvr() for b in self.boxes]

    @classmethod
    def from_nlvr(cls, structured_rep: list[list[dict[str, Any]]]) -> Scene:
        return cls(tuple(Box.from_nlvr(b) for b in structured_rep))
