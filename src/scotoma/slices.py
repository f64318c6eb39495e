"""Failure slices: which kinds of question a target fails more often than it fails overall.

After a probe or bench run, every valid question gets a set of predicates, and each predicate with at
least `min_support` questions is a slice, ranked by its failure lift (slice failure rate / the run's
overall failure rate). Slice discovery in the manner of Domino and SliceLine, with exact predicates where
the world gives them:

- world questions (the oracle parses them and the scene is known) get predicates from the program:
  `skill:S`, `family:F`, `color:C` / `shape:S` / `size:Z` / `edge:E` named anywhere in it, `images:N`
  (image count), `image:K` and `image:last` (the images it names), `objects>=K` (the most objects in one
  box, K = 2..8);
- and from the scene, what the question looks at whether or not it names it: the objects its descriptions
  fit (each `Filter`'s shape, color, size and edge, relations' targets too; `Towers` fit every square) in
  the images each part of the program reads: `object:color:C`, `object:shape:S`, `object:size:Z`,
  `object:image:last` (one lies in the last image of a set of two or more) and `object:objects>=K` (one
  lies in a box of K or more objects). "How many squares are there?" over a yellow square carries
  `object:color:yellow`: a target blind to yellow fails it though the question names no colour;
- any other question gets predicates from its text: `word:W` (content words), `prefix:W1 W2` (its first
  two words) and `topic:T` (the taxonomy's topics, where a record carries them).

The interval is Wilson's score interval (95%) of the slice's failure rate, divided by the overall rate
(held fixed: it comes from every valid question, the slice from a part). Slices are ranked by the lower
end of that interval, so a small slice with a high rate does not outrank a large, surely worse one; ties
by lift, then by name.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: the prefixes of world predicates (`world_predicates`); a loop can target any of them
SLICE_PREFIXES = (
    "skill:", "family:", "color:", "shape:", "size:", "edge:", "image:", "images:", "objects>=", "object:",
)  # fmt: skip
Z_95 = 1.959963984540054
MIN_SUPPORT = 10
MAX_OVERLAP = 0.5  # Jaccard similarity from which a distinct ranking leaves a slice out
STOPWORDS = frozenset((
    "a", "an", "the", "is", "are", "was", "were", "be", "of", "in", "on", "at", "to", "for", "from", "by",
    "with", "and", "or", "not", "no", "any", "there", "this", "that", "these", "those", "it", "its",
    "what", "which", "how", "many", "much", "does", "do", "did", "can", "you", "see", "image", "images",
    "picture", "pictures",
))  # fmt: skip


@dataclass(frozen=True)
class Slice:
    """One ranked slice.

    Attributes:
        predicate: e.g. "color:yellow", "skill:counting", "prefix:how many".
        support: valid questions it holds.
        failures: of those, failed.
        failure_rate: failures / support.
        lift: failure_rate / the run's overall failure rate.
        lift_low: lower end of the 95% Wilson interval, as a lift.
        lift_high: upper end of it, as a lift.
        examples: up to a few failed rows (whatever the caller passed as `example`).
    """

    predicate: str
    support: int
    failures: int
    failure_rate: float
    lift: float
    lift_low: float
    lift_high: float
    examples: tuple[Any, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "predicate": self.predicate, "support": self.support, "failures": self.failures,
            "failure_rate": self.failure_rate, "lift": self.lift, "lift_ci": [self.lift_low, self.lift_high],
            "examples": list(self.examples),
        }  # fmt: skip


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval of a binomial proportion (successes of n); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    scale = 1 + z * z / n
    center = (p + z * z / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / scale
    return max(0.0, center - half), min(1.0, center + half)


def rank_slices(
    rows: Iterable[tuple[Iterable[str], bool, Any]],
    min_support: int = MIN_SUPPORT,
    top: int | None = 10,
    examples: int = 2,
    distinct: bool = False,
) -> list[Slice]:
    """Rank the slices of valid questions by failure lift.

    Args:
        rows: one (predicates, failed, example) per valid question; `example` is kept for failed rows.
        min_support: slices with fewer questions are left out.
        top: how many to return (None: all).
        examples: failed examples kept per slice.
        distinct: leave out a slice whose questions mostly are those of a better-ranked slice kept
            (Jaccard similarity at least `MAX_OVERLAP`: `family:arithmetic` and `skill:arithmetic` hold the
            same questions, `objects>=5` mostly those of `objects>=6`), so the top slices point at
            different questions; a large slice around a small one (every `skill:spatial:right` question
            looks at a yellow object, a tenth of `object:color:yellow`'s) is another slice.
    """
    support: dict[str, int] = defaultdict(int)
    failures: dict[str, int] = defaultdict(int)
    kept: dict[str, list[Any]] = defaultdict(list)
    members: dict[str, set[int]] = defaultdict(set)
    total = failed_total = 0
    for predicates, failed, example in rows:
        total += 1
        failed_total += bool(failed)
        for predicate in set(predicates):
            support[predicate] += 1
            if distinct:
                members[predicate].add(total)
            if failed:
                failures[predicate] += 1
                if len(kept[predicate]) < examples:
                    kept[predicate].append(example)
    if failed_total == 0:
        return []
    overall = failed_total / total
    out = []
    for predicate, n in support.items():
        if n < min_support:
            continue
        f = failures[predicate]
        low, high = wilson_interval(f, n)
        out.append(
            Slice(
                predicate, n, f, f / n, f / n / overall, low / overall, high / overall, tuple(kept[predicate])
            )
        )
    out.sort(key=lambda s: (-s.lift_low, -s.lift, s.predicate))
    if distinct:
        chosen: list[set[int]] = []
        spread = []
        for candidate in out:
            mine = members[candidate.predicate]
            if all(len(mine & other) < MAX_OVERLAP * len(mine | other) for other in chosen):
                chosen.append(mine)
                spread.append(candidate)
        out = spread
    return out if top is None else out[:top]


def text_predicates(question: str, topics: Sequence[str] = ()) -> set[str]:
    """Predicates of any question from its text: content words, the two-word prefix, taxonomy topics."""
    words = re.findall(r"[a-z][a-z'-]*", question.lower())
    found = {f"word:{w}" for w in words if w not in STOPWORDS and len(w) > 2}
    if len(words) >= 2:
        found.add(f"prefix:{words[0]} {words[1]}")
    found.update(f"topic:{t}" for t in topics)
    return found


def world_predicates(program: Any, scene: Any) -> set[str]:
    """Predicates of a world question from its program and scene (see the module docstring)."""
    from scotoma.world.programs.descriptions import Filter
    from scotoma.world.programs.nodes import children, family, images_of, skills

    found = {f"skill:{s}" for s in skills(program)} | {f"family:{family(program)}"}
    stack = [program]
    while stack:
        node = stack.pop()
        if isinstance(node, Filter):
            for name in ("shape", "color", "size", "edge"):
                value = getattr(node, name)
                if value is not None:
                    found.add(f"{name}:{value}")
        stack.extend(children(node))
    n = len(scene.boxes)
    found.add(f"images:{n}")
    named = images_of(program)
    found.update(f"image:{k}" for k in named)
    if n >= 2 and n in named:
        found.add("image:last")
    most = max((len(box.objects) for box in scene.boxes), default=0)
    found.update(f"objects>={k}" for k in range(2, most + 1))
    return found | object_predicates(program, scene)


def object_predicates(program: Any, scene: Any) -> set[str]:
    """The `object:` predicates of a world question: what the objects its descriptions fit look like and
    where they lie (see the module docstring)."""
    from scotoma.world.programs.descriptions import Towers
    from scotoma.world.programs.referents import fits
    from scotoma.world.scenes.scene import SIZE_WORDS

    n = len(scene.boxes)
    found: set[str] = set()
    for object_set, scope in _object_sets(program, None):
        for k in scope or range(1, n + 1):
            if k > n:
                continue  # an image the sample lacks: the question is ungrounded, nothing is looked at
            box = scene.boxes[k - 1]
            for obj in box.objects:
                if not (obj.shape == "square" if isinstance(object_set, Towers) else fits(object_set, obj)):
                    continue
                found |= {f"object:color:{obj.color}", f"object:shape:{obj.shape}",
                          f"object:size:{SIZE_WORDS[obj.size]}"}  # fmt: skip
                found.update(f"object:objects>={j}" for j in range(2, len(box.objects) + 1))
                if n >= 2 and k == n:
                    found.add("object:image:last")
    return found


def _object_sets(node: Any, scope: tuple[int, ...] | None) -> Iterator[tuple[Any, tuple[int, ...] | None]]:
    """Every object description (`Filter`, `Towers`) in a program with the images it is read in (None:
    every image; a box quantifier reads each box in turn, so every image too)."""
    from scotoma.world.programs.descriptions import Filter, Towers
    from scotoma.world.programs.nodes import Difference, SizeCompare, Sum, children

    if isinstance(node, Filter):
        yield node, scope
        if node.relation is not None:
            yield from _object_sets(node.relation.target, scope)  # the relation reads the same box
        return
    if isinstance(node, Towers):
        yield node, scope
        return
    if isinstance(node, SizeCompare):  # each side has its own image
        yield from _object_sets(node.left, (node.left_image,) if node.left_image else scope)
        yield from _object_sets(node.right, (node.right_image,) if node.right_image else scope)
        return
    if isinstance(node, Sum):
        own: tuple[int, ...] | None = node.images
    elif isinstance(node, Difference):
        own = (node.first, node.second)
    else:
        image = getattr(node, "image", None)
        own = (image,) if image is not None else None
    for child in children(node):
        yield from _object_sets(child, own or scope)


def is_slice_predicate(name: str) -> bool:
    """Whether `name` is a world slice predicate ("color:yellow", "objects>=4", "skill:counting")."""
    return any(name.startswith(prefix) and len(name) > len(prefix) for prefix in SLICE_PREFIXES)


def question_predicates(question: str, scene: Any = None, topics: Sequence[str] = ()) -> set[str]:
    """World predicates when `scene` is given and the question parses, text predicates otherwise."""
    if scene is not None:
        from scotoma.world.programs.parse import ParseError, parse

        try:
            return world_predicates(parse(question), scene)
        except ParseError:
            pass
    return text_predicates(question, topics)


def record_slices(
    records: Iterable[Mapping[str, Any]],
    scenes: Mapping[str, Any] | None = None,
    min_support: int = MIN_SUPPORT,
    top: int | None = 10,
    distinct: bool = False,
) -> list[Slice]:
    """The slices of a probe run's records (judged, valid ones); `scenes` maps a record's "sample" key
    to its world scene. A failed record's "key" is kept as an example. `distinct`: see `rank_slices`."""
    scenes = scenes or {}
    rows = (
        (question_predicates(r["question"], scenes.get(r.get("sample", "")), r.get("topics") or ()),
         bool(r["failed"]), r.get("key"))
        for r in records
        if r.get("valid") and r.get("judged", True) and r.get("question")
    )  # fmt: skip
    return rank_slices(rows, min_support, top, distinct=distinct)


def bench_slices(
    records: Iterable[Mapping[str, Any]], min_support: int = MIN_SUPPORT, top: int | None = 10
) -> list[Slice]:
    """The slices of bench records (one per answered variant; failed = not correct): the question's text
    predicates, `skill:S` for the item's skills (world suites) and `subtask:T`. A failed variant's
    question, output and target are kept as an example."""

    def predicates(record: Mapping[str, Any]) -> set[str]:
        found = text_predicates(record.get("question") or "") | {
            f"skill:{s}" for s in record.get("skills") or ()
        }
        return found | {f"subtask:{record['subtask']}"} if record.get("subtask") else found

    rows = (
        (predicates(r), not r["correct"],
         {k: r.get(k) for k in ("item_id", "question", "output", "target")})
        for r in records
    )  # fmt: skip
    return rank_slices(rows, min_support, top)


__all__ = [
    "MAX_OVERLAP",
    "MIN_SUPPORT",
    "SLICE_PREFIXES",
    "Slice",
    "bench_slices",
    "is_slice_predicate",
    "object_predicates",
    "question_predicates",
    "rank_slices",
    "record_slices",
    "text_predicates",
    "wilson_interval",
    "world_predicates",
]  # fmt: skip
