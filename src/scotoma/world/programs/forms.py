"""`Form`: one construct of the world language with its paraphrase templates, and the slot mappings
that several forms share. The template tables are in `templates` (questions) and `statements`.

A form takes a program apart into slot values (`slots`) and builds it back from them (`build`), so
`language.render` and `parse.parse` use the same templates and every rendered sentence reads back as
the program it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scotoma.world.programs.nodes import Compare, Count, CountCompare, SizeCompare, Statement


@dataclass(frozen=True)
class Form:
    """One construct of one category ("question", "statement" or "cond") and its templates.

    Attributes:
        name: a short id ("count_image").
        category: "question", "statement" (NLVR-style claims) or "cond" (a box condition clause).
        applies: whether this form renders a given program.
        slots: program -> slot values.
        build: slot values -> program.
        templates: the rendered paraphrases, lowercase tokens with `{name:type}` slots.
        singular: paraphrases used instead when the program's count n is one ("is there exactly one").
        parse_only: extra wordings the parser accepts but `render` never writes.
    """

    name: str
    category: str
    applies: Callable[[Any], bool]
    slots: Callable[[Any], dict[str, Any]]
    build: Callable[[dict[str, Any]], Any]
    templates: tuple[str, ...]
    singular: tuple[str, ...] = ()
    parse_only: tuple[str, ...] = ()

    def choose(self, program: Any) -> tuple[str, ...]:
        """The paraphrases for this program (singular ones when its count is one)."""
        node = program.claim if isinstance(program, Statement) else program
        return self.singular if self.singular and getattr(node, "n", None) == 1 else self.templates


def parse_only(
    name: str, category: str, build: Callable[[dict[str, Any]], Any], templates: tuple[str, ...]
) -> Form:
    """A form the parser reads and `render` never writes."""
    return Form(name, category, lambda p: False, lambda p: {}, build, (), parse_only=templates)


def node_is(cls: type, **conds: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A test: the program is a `cls` and meets every condition."""
    return lambda p: isinstance(p, cls) and all(c(p) for c in conds.values())


def named(p: Any) -> bool:
    return p.image is not None


def unscoped(p: Any) -> bool:
    return p.image is None


def not_same(p: Any) -> bool:
    return p.op != "same"


def same(p: Any) -> bool:
    return p.op == "same"


def compare_scope(kind: str) -> Callable[[Compare], bool]:
    """Compare scopes: "image" (both counts in one named image), "all" (all images), "cross" (one
    description, two images), "general" (two descriptions, two images)."""

    def test(p: Compare) -> bool:
        li, ri = p.left.image, p.right.image
        if kind == "image":
            return li is not None and li == ri
        if kind == "all":
            return li is None
        return li is not None and li != ri and (p.left.of == p.right.of) == (kind == "cross")

    return test


def size_scope(kind: str) -> Callable[[SizeCompare], bool]:
    """SizeCompare scopes: "image" (one named image), "all", "cross" (two different images)."""

    def test(p: SizeCompare) -> bool:
        if kind == "all":
            return p.left_image is None
        return p.left_image is not None and (p.left_image == p.right_image) == (kind == "image")

    return test


def of_slots(p: Any) -> dict[str, Any]:
    return {"of": p.of, "image": p.image}


def qty_slots(p: CountCompare) -> dict[str, Any]:
    return {"q": (p.op, p.n, p.of), "image": p.image}


def build_qty(s: dict[str, Any]) -> CountCompare:
    op, n, of = s["q"]
    return CountCompare(of, op, n, s.get("image"))


def _images(s: dict[str, Any]) -> tuple[int | None, int | None]:
    return (s["a"], s["b"]) if "a" in s else (s.get("image"), s.get("image"))


def compare_slots(p: Compare) -> dict[str, Any]:
    li, ri = p.left.image, p.right.image
    return {"l": p.left.of, "r": p.right.of, "op": p.op, "image": li, "a": li, "b": ri}


def build_compare(op: str | None = None, cross: bool = False) -> Callable[[dict[str, Any]], Compare]:
    """Builder for Compare forms; `cross` forms name one description for both images."""

    def build(s: dict[str, Any]) -> Compare:
        a, b = _images(s)
        return Compare(Count(s["l"], a), op or s["op"], Count(s["l"] if cross else s["r"], b))

    return build


def size_slots(p: SizeCompare) -> dict[str, Any]:
    li, ri = p.left_image, p.right_image
    return {"l": p.left, "r": p.right, "op": p.op, "image": li, "a": li, "b": ri}


def build_size(op: str | None = None) -> Callable[[dict[str, Any]], SizeCompare]:
    def build(s: dict[str, Any]) -> SizeCompare:
        a, b = _images(s)
        return SizeCompare(s["l"], op or s["op"], s["r"], a, b)

    return build
