"""Stage 4, exact: question generation along a chain of connected images (paper 001, Eq. 10-11).

Four composite questions, each a world program the oracle answers, each split into one sub-question per
edge of a chain of connected images:

- sum: images sharing a kind (object-oriented edges); the first edge sums its two images ("How many blue
  circles are there in Image 1 and Image 2 together?"), each later edge counts its new image;
- difference: the same images, most of the kind first; each edge asks how many more the one has than
  the next, the composite how many more the first has than the last;
- first_appearance: sequence images 1 .. s+1 (temporal edges); each edge asks what appeared between its
  images, and the chain stops at the step where the object does;
- change_between: a window i .. j of a sequence; each edge asks what moved (appeared, disappeared).

A step's focus is the images its sub-question reads: for a sum each image once (the paper's questioner
rule "don't focus on the same image twice"); comparisons and sequence steps read both images of the
edge. The final answer is the oracle's answer to the composite, and a chain is kept only when the
sub-answers combine to it (sum of counts, sum of differences, the step where the object appears, the
one change in the window): correct by construction, and checked on every sample.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from scotoma.judge.chains import Chain, make_chain
from scotoma.synth.records import Connection, ImageProfile
from scotoma.synth.stages import SynthDrop
from scotoma.world.programs.answers import is_correct, normalize_answer
from scotoma.world.programs.language import render, variants
from scotoma.world.programs.nodes import Count, Difference, Filter, FirstAppearance, Sum, WhatChanged, skills
from scotoma.world.programs.oracle import judge
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.scenes.scene import SIZE_WORDS

COMPOSITES = ("sum", "difference", "first_appearance", "change_between")
SEQUENCE_COMPOSITES = ("first_appearance", "change_between")
#: The skills each composite's programs can need (object descriptions add colour, shape and size).
COMPOSITE_SKILLS = {
    "sum": ("arithmetic", "attribute:color", "attribute:shape", "counting", "localization"),
    "difference": ("arithmetic", "attribute:color", "attribute:shape", "counting", "localization"),
    "first_appearance": (
        "attribute:color",
        "attribute:shape",
        "attribute:size",
        "localization",
        "sequence:change",
        "sequence:order",
    ),
    "change_between": ("localization", "sequence:change"),
}
_CHANGE = {"moved": "moved", "added": "appeared", "removed": "disappeared"}


@dataclass(frozen=True)
class ChainPlan:
    """A composite question and its steps, before the oracle has answered them.

    Attributes:
        kind: one of COMPOSITES.
        composite: the overall question's program.
        steps: (sub-question program, focus) per edge, in order.
        path: the chain's images in the order it visits them.
        target: for first_appearance, the object as an answer phrase ("the blue triangle").
    """

    kind: str
    composite: Any
    steps: tuple[tuple[Any, tuple[int, ...]], ...]
    path: tuple[int, ...]
    target: str | None = None


def _kind_filter(kind: str) -> Filter:
    color, shape = kind.split()
    return Filter(shape, color)


def _edges_connected(path: Sequence[int], connections: Sequence[Connection]) -> bool:
    pairs = {c.pair for c in connections}
    return all((min(a, b), max(a, b)) in pairs for a, b in pairwise(path))


def _shared_kind(
    rng: random.Random, profiles: Sequence[ImageProfile], max_images: int, varied: bool = False
) -> tuple[str, list[int]] | None:
    """A kind held by three or more images and some of them; `varied` prefers kinds whose counts differ
    (a difference chain of zeros teaches little)."""
    holders: dict[str, list[int]] = {}
    for profile in profiles:
        for kind in profile.kinds:
            holders.setdefault(kind, []).append(profile.image)
    options = sorted(k for k, images in holders.items() if len(images) >= 3)
    if varied:
        counts = {p.image: p.kinds for p in profiles}
        options = [k for k in options if len({counts[i][k] for i in holders[k]}) > 1] or options
    if not options or max_images < 3:
        return None
    kind = rng.choice(options)
    return kind, rng.sample(holders[kind], rng.randint(3, min(max_images, len(holders[kind]))))


def plan_sum(
    rng: random.Random,
    sample: SceneSample,
    profiles: Sequence[ImageProfile],
    connections: Sequence[Connection],
    max_images: int,
) -> ChainPlan | None:
    """How many X in these images together: the first edge sums its two images, each later one counts."""
    found = _shared_kind(rng, profiles, max_images)
    if found is None:
        return None
    kind, images = found
    path, f = tuple(sorted(images)), _kind_filter(kind)
    steps = [(Sum(f, path[:2]), path[:2])] + [(Count(f, image=k), (k,)) for k in path[2:]]
    return ChainPlan("sum", Sum(f, path), tuple(steps), path) if _edges_connected(path, connections) else None


def plan_difference(
    rng: random.Random,
    sample: SceneSample,
    profiles: Sequence[ImageProfile],
    connections: Sequence[Connection],
    max_images: int,
) -> ChainPlan | None:
    """How many more X in the first image than the last: differences along images sorted by count."""
    found = _shared_kind(rng, profiles, max_images, varied=True)
    if found is None:
        return None
    kind, images = found
    counts = {p.image: p.kinds.get(kind, 0) for p in profiles}
    path, f = tuple(sorted(images, key=lambda k: (-counts[k], k))), _kind_filter(kind)
    steps = [(Difference(f, a, b), (a, b)) for a, b in pairwise(path)]
    composite = Difference(f, path[0], path[-1])
    return (
        ChainPlan("difference", composite, tuple(steps), path)
        if _edges_connected(path, connections)
        else None
    )


def plan_first_appearance(
    rng: random.Random,
    sample: SceneSample,
    profiles: Sequence[ImageProfile],
    connections: Sequence[Connection],
    max_images: int,
) -> ChainPlan | None:
    """In which image does X first appear: what appeared at each step, until X does."""
    added = [s for s, step in enumerate(sample.steps) if step.kind == "added" and 1 <= s <= max_images - 2]
    if sample.structure != "sequence" or not added:
        return None
    s = rng.choice(added)
    obj = sample.steps[s].obj
    everything = [o for box in sample.scene.boxes for o in box.objects]
    clash = any(o.shape == obj.shape and o.color == obj.color and o.size != obj.size for o in everything)
    f = Filter(obj.shape, obj.color, SIZE_WORDS[obj.size] if clash else None)
    path = tuple(range(1, s + 3))
    steps = tuple((WhatChanged("appeared", t, t + 1), (t, t + 1)) for t in range(1, s + 2))
    target = f"the {SIZE_WORDS[obj.size]} {obj.color} {obj.shape}"
    return ChainPlan("first_appearance", FirstAppearance(f), steps, path, target)


def plan_change_between(
    rng: random.Random,
    sample: SceneSample,
    profiles: Sequence[ImageProfile],
    connections: Sequence[Connection],
    max_images: int,
) -> ChainPlan | None:
    """What moved (appeared, disappeared) between Image i and Image j: the change at each step between."""
    k = len(sample.scene.boxes)
    windows = [(i, j) for i in range(1, k - 1) for j in range(i + 2, min(k, i + max_images - 1) + 1)]
    if sample.structure != "sequence" or not windows:
        return None
    i, j = rng.choice(windows)
    change = _CHANGE[sample.steps[rng.randrange(i - 1, j - 1)].kind]
    steps = tuple((WhatChanged(change, t, t + 1), (t, t + 1)) for t in range(i, j))
    return ChainPlan("change_between", WhatChanged(change, i, j), steps, tuple(range(i, j + 1)))


PLANNERS: dict[str, Callable[..., ChainPlan | None]] = {
    "sum": plan_sum,
    "difference": plan_difference,
    "first_appearance": plan_first_appearance,
    "change_between": plan_change_between,
}


def combine(plan: ChainPlan, answers: Sequence[str]) -> str | None:
    """What the sub-answers say the composite's answer is; None when they say nothing definite."""
    if plan.kind in ("sum", "difference"):
        return str(sum(int(a) for a in answers))
    if plan.kind == "first_appearance":
        for (program, _), answer in zip(plan.steps, answers, strict=True):
            if answer != "nothing" and is_correct(answer, plan.target):
                return f"image {program.after}"
        return None
    changes = sorted({a for a in answers if a != "nothing"})
    return "nothing" if not changes else changes[0] if len(changes) == 1 else None


@dataclass(frozen=True)
class RealizedChain:
    """A plan with the oracle's answers and English: what a ChainSample holds."""

    question: str
    answer: str
    chain: Chain
    skills: tuple[str, ...]


def realize(plan: ChainPlan, sample: SceneSample, rng: random.Random) -> RealizedChain:
    """Judge every sub-question and the composite, check that they agree, and write them in English.

    Raises:
        SynthDrop: a question is invalid on this scene, or the sub-answers do not combine to the answer.
    """
    verdict = judge(plan.composite, sample.scene)
    if not verdict.valid:
        raise SynthDrop("question", f"{plan.kind} question {verdict.reason}: {verdict.detail}")
    answers, needed = [], set(verdict.skills)
    for program, _ in plan.steps:
        step = judge(program, sample.scene)
        if not step.valid:
            raise SynthDrop("question", f"{plan.kind} sub-question {step.reason}: {step.detail}")
        answers.append(step.answer)
        needed |= set(skills(program))
    combined = combine(plan, answers)
    if combined is None or normalize_answer(combined) != normalize_answer(verdict.answer):
        raise SynthDrop(
            "question", f"{plan.kind}: sub-answers {answers} give {combined!r}, not {verdict.answer!r}"
        )

    def english(program: Any) -> str:
        return render(program, rng.randrange(variants(program)))

    chain = make_chain(
        [(english(p), focus, a) for (p, focus), a in zip(plan.steps, answers, strict=True)], verdict.answer
    )
    return RealizedChain(english(plan.composite), verdict.answer, chain, tuple(sorted(needed)))
