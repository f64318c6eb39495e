"""The balanced, controllable question sampler of the shapes world: `QuestionSampler(config, seed)`.

`sample(index)` is a pure function of (seed, config, index): it draws from `random.Random(f"{seed}:{index}")`,
from a generator seeded by its pair (step 5) and from the index itself, never from running counts, so
any index can be drawn alone, in any order, on any worker. One sample is drawn in seven steps:

1. the family: families take turns, `families[index % F]`, so n samples hold every family n / F times
   (one more or less). A family that needs two images (cross_image, arithmetic, sequence) is left out
   when `images_per_sample` never reaches 2; otherwise its K comes from the part of the range that
   suits it (K is never raised beyond the range);
2. K, uniformly from that range;
3. the scene structure: a sequence for the sequence family; for comparison, cross_image and statement
   questions on two or more images, near duplicates or shared objects with chance `structure_prob`;
   otherwise independent boxes;
4. the program's frame, `random_program` without a scene (which node, which images, which filters);
5. with `balance`, a target answer from the frame's answer domain (`balance.answer_domain`): yes/no, a
   count in a small feasible range, a colour, "image k", a change or "nothing". A family's turns go in
   pairs that draw steps 2-4 alike (seeded by the pair) and take targets half the domain apart, so the
   same question is asked twice with different answers, as VQA v2 paired its questions against
   language priors: yes/no questions are balanced exactly, not just on average. Over the pairs, the
   target walks a golden-ratio sequence, `(pair * 0.618... + offset) mod 1`, far more even than coin
   flips over any stretch. Unbalanced, steps 2-4 draw from the sample's own generator;
6. a scene and program that answer the target: a referring frame gets objects chosen for the target
   (`targeted.retarget`); a frame over plain filters gets a planted scene (`balance.plan`); anything
   else is rejection: new programs of the family on new scenes until the oracle's answer is the target.
   Tries are capped (`max_tries`); on a miss the last valid candidate with the same kind of answer is
   kept, and `WorldSample.target` records what was aimed at;
7. the English question (a random paraphrase) and the images, one PNG per box, rendered once.

With a skills filter, a draw whose program needs none of the skills is thrown away; the next draw keeps
the family and target (a new frame), and only after half the restarts takes a random family and target.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scotoma.types import ImageRef
from scotoma.world.programs.language import render, variants
from scotoma.world.programs.oracle import Verdict, judge
from scotoma.world.programs.skills import FAMILIES, FAMILY_SKILLS, SKILLS
from scotoma.world.sampling.balance import CountLimits, answer_domain, answer_kind, meets, plan
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.generate_sets import SceneSample
from scotoma.world.sampling.random_programs import SamplingConfig, min_depth, min_images, random_program
from scotoma.world.sampling.records import WorldSample
from scotoma.world.sampling.specs import SamplingError, SceneConfig
from scotoma.world.sampling.targeted import is_referring, retarget, scene_request
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Scene

__all__ = ["STRUCTURED_FAMILIES", "QuestionConfig", "QuestionSampler", "WorldSample"]

STRUCTURED_FAMILIES = ("comparison", "cross_image", "statement")  # asked of near duplicates / shared sets
_DESCRIPTION_SKILLS = frozenset(s for s in SKILLS if s.startswith(("attribute:", "spatial:")))
_RESTARTS = 50  # whole draws per sample before giving up (only a skills filter makes this bite)
_MIN_OBJECTS = {"spatial": 2}  # "Is the circle left of the square?" needs two objects in one box
_FOLLOW_UP_CANDIDATES = 6  # valid questions weighed per follow-up turn (`QuestionSampler.follow_ups`)
_GOLDEN = (5**0.5 - 1) / 2  # turn * golden ratio mod 1 spreads evenly over [0, 1): low-discrepancy targets


def _pair(value: int | tuple[int, int] | list[int], name: str, low: int, high: int) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(f"{name}={value!r} must be an int or a range (a, b) with {low} <= a <= b <= {high}")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class QuestionConfig:
    """What the question sampler draws. Help strings are the CLI's."""

    images_per_sample: tuple[int, int] = field(
        default=(1, 4), metadata={"help": "images (boxes) per sample K: an int or an inclusive range, 1..8"}
    )
    families: tuple[str, ...] = field(
        default=tuple(FAMILIES), metadata={"help": "question families to draw from, uniformly"}
    )
    skills: tuple[str, ...] = field(
        default=(), metadata={"help": "keep only questions that need at least one of these skills"}
    )
    objects_per_box: tuple[int, int] = field(
        default=(1, 8), metadata={"help": "objects per box, inclusive range within 1..8"}
    )
    max_depth: int = field(
        default=3,
        metadata={"help": "deepest program nesting; raised per family to the least it needs (statement: 4)"},
    )
    balance: bool = field(
        default=True, metadata={"help": "draw a target answer per sample so answers are not guessable"}
    )
    max_count: int = field(default=4, metadata={"help": "largest count target and n in 'at least n'"})
    structure_prob: float = field(
        default=0.25,
        metadata={"help": "chance that a comparison or statement is asked of near duplicates or shared sets"},
    )
    tower_prob: float = field(default=0.2, metadata={"help": "chance that a set of boxes is tower boxes"})
    max_tries: int = field(default=24, metadata={"help": "candidate questions per sample before a miss"})
    programs_per_scene: int = field(
        default=6, metadata={"help": "candidates drawn on one scene before drawing a new scene"}
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise ints and lists once, here
        set_(self, "images_per_sample", _pair(self.images_per_sample, "images_per_sample", 1, 8))
        set_(self, "objects_per_box", _pair(self.objects_per_box, "objects_per_box", 1, 8))
        set_(self, "families", tuple(self.families))
        set_(self, "skills", tuple(self.skills))
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown or not self.families:
            raise ValueError(f"unknown families {unknown or '(none given)'}; choose from {sorted(FAMILIES)}")
        if set(self.skills) - set(SKILLS):
            raise ValueError(f"unknown skills {sorted(set(self.skills) - set(SKILLS))}; choose from {SKILLS}")
        if self.max_depth < 1 or self.max_count < 1 or self.max_tries < 1 or self.programs_per_scene < 1:
            raise ValueError("max_depth, max_count, max_tries and programs_per_scene must be at least 1")
        if not (0 <= self.structure_prob <= 1 and 0 <= self.tower_prob <= 1):
            raise ValueError("structure_prob and tower_prob are probabilities in [0, 1]")


@dataclass
class _Draft:
    structure: str
    scene_sample: SceneSample
    verdict: Verdict


class QuestionSampler:
    """Draws `WorldSample`s: scenes, their images, and a question the oracle answers, balanced per family.

    Example:
        >>> sampler = QuestionSampler(QuestionConfig(images_per_sample=3, families=("counting",)), seed=0)
        >>> sample = sampler.sample(0)  # the same sample for the same (seed, index), always
    """

    def __init__(self, config: QuestionConfig | None = None, seed: int = 0) -> None:
        self.config = config = config or QuestionConfig()
        self.seed = seed
        low, high = config.objects_per_box
        # A tower box holds 1-4 blocks; keep that within objects_per_box too (none when low > 4).
        self.scenes = SceneSampler(
            SceneConfig(
                n_objects=(low, high),
                tower_prob=config.tower_prob if low <= 4 else 0.0,
                tower_heights=(min(low, 4), min(high, 4)),
            )
        )
        self.programs = SamplingConfig(max_depth=config.max_depth, max_count=config.max_count)
        self.limits = CountLimits(config.max_count, high, low, tower_blocks=min(high, 4))
        top = config.images_per_sample[1]
        wanted = set(config.skills)
        self.families = tuple(
            f
            for f in config.families
            if min_images(f) <= top
            and high >= _MIN_OBJECTS.get(f, 1)
            and (not wanted or wanted & (set(FAMILY_SKILLS[f]) | _DESCRIPTION_SKILLS))
        )
        if not self.families:
            raise ValueError(
                f"no family of {config.families} fits images_per_sample={config.images_per_sample}, "
                f"objects_per_box={config.objects_per_box} and skills={config.skills}; cross_image, "
                "arithmetic and sequence need 2 images, spatial needs 2 objects in a box"
            )
        self.depth = {f: max(config.max_depth, min_depth(f)) for f in self.families}
        self._offsets = {f: random.Random(f"{seed}:{f}").random() for f in self.families}

    def key(self, index: int) -> str:
        """The stable id of sample `index`."""
        return f"{self.seed}-{index}"

    def samples(self, n: int, start: int = 0) -> Iterator[WorldSample]:
        """Samples start .. start + n - 1, in order."""
        for index in range(start, start + n):
            yield self.sample(index)

    def sample(self, index: int) -> WorldSample:
        """Sample `index`: the same (scene, images, question, answer) for the same seed and config.

        Raises:
            SamplingError: no question with the requested skills came up in many draws.
        """
        rng = random.Random(f"{self.seed}:{index}")
        turn, which = divmod(index, len(self.families))
        family = self.families[which]
        pair, second = divmod(turn, 2)
        share = (pair * _GOLDEN + self._offsets[family] + 0.5 * second) % 1.0
        # Balanced, the two samples of a pair draw their frame (K, structure, question) alike.
        framing = random.Random(f"{self.seed}:{family}:{pair}") if self.config.balance else rng
        for restart in range(_RESTARTS):
            low, high = self.config.images_per_sample
            k = framing.randint(max(low, min_images(family)), high)
            structure = self._structure(framing, family, k)
            frame = random_program(framing, k, [family], self.depth[family], self.programs)
            draft, target = self._draw(rng, family, k, structure, frame, share)
            if draft is None:
                continue
            if not self.config.skills or set(self.config.skills) & set(draft.verdict.skills):
                return self._finish(rng, index, draft, target)
            # Skills missed: a new frame of the same family and target, so a filtered stream stays
            # balanced (re-drawing both skewed existence 2:1 towards "no" for spatial:edge); a family
            # that rarely needs the skills gives way to a random one after half the restarts.
            framing = rng
            if restart >= _RESTARTS // 2:
                family, share = rng.choice(self.families), rng.random()
        wanted = f" needing one of the skills {self.config.skills}" if self.config.skills else ""
        raise SamplingError(
            f"no valid question{wanted} for sample {index} in {_RESTARTS} draws from families "
            f"{self.families}; loosen the config (for skills, add families that exercise them)"
        )

    def follow_ups(self, sample: WorldSample, n: int) -> list[WorldSample]:
        """`n` more questions about `sample`'s scene (the same images), of the config's families and skills.

        For dense supervision: several answers per pass over the images (the loop trains a sample and
        its follow-ups as one multi-turn conversation). Each is a valid program drawn on the scene and a
        question not yet asked of it. Random programs on a fixed scene lean towards "no" and "0", so of up
        to `_FOLLOW_UP_CANDIDATES` valid candidates the one whose answer is rarest so far is kept (the
        first with an answer not yet given ends the search). Fewer than `n` come back when the scene
        offers no more (a skills filter few programs on it meet). A pure function of (seed, index, n).
        """
        rng = random.Random(f"{self.seed}:{sample.index}:follow-ups")
        scene, k, wanted = sample.scene, len(sample.scene.boxes), set(self.config.skills)
        families = [f for f in self.families if min_images(f) <= k]
        asked, answers, found = {sample.question}, Counter([sample.answer]), []
        for turn in range(1, n + 1):
            best, candidates = None, 0
            for _ in range(self.config.max_tries):
                family = rng.choice(families)
                program = random_program(rng, k, [family], self.depth[family], self.programs, scene)
                verdict = judge(program, scene)
                if not verdict.valid or (wanted and not wanted & set(verdict.skills)):
                    continue
                variant = rng.randrange(variants(program))
                question = render(program, variant)
                if question in asked:
                    continue
                candidates += 1
                if best is None or answers[verdict.answer] < answers[best[0].answer]:
                    best = (verdict, variant, question)
                if answers[verdict.answer] == 0 or candidates == _FOLLOW_UP_CANDIDATES:
                    break
            if best is None:
                break
            verdict, variant, question = best
            asked.add(question)
            answers[verdict.answer] += 1
            found.append(
                dataclasses.replace(
                    sample,
                    key=f"{sample.key}/{turn}",
                    question=question,
                    answer=verdict.answer,
                    program=verdict.program,
                    family=verdict.family,
                    skills=verdict.skills,
                    variant=variant,
                    target=None,
                )
            )
        return found

    # -- drawing ---------------------------------------------------------------------------------------
    def _structure(self, rng: random.Random, family: str, k: int) -> str:
        if family == "sequence":
            return "sequence"
        if family in STRUCTURED_FAMILIES and k >= 2 and rng.random() < self.config.structure_prob:
            return rng.choice(("near_duplicates", "shared"))
        return "boxes"

    def _scene(self, rng: random.Random, structure: str, k: int, constraints: Any = None) -> SceneSample:
        if structure == "boxes":
            return self.scenes.boxes(rng, k, constraints)
        return getattr(self.scenes, structure)(rng, k)

    def _draw(
        self, rng: random.Random, family: str, k: int, structure: str, frame: Any, share: float
    ) -> tuple[_Draft | None, str | None]:
        domain = answer_domain(frame, k, self.limits)
        target = domain[int(share * len(domain))] if self.config.balance else None
        if is_referring(frame):
            return self._refer(rng, frame, target, k, structure), target
        if structure == "boxes":
            constraints = None if target is None else plan(frame, target, k, self.limits, rng)
            if target is None or constraints is not None:
                try:
                    scene_sample = self.scenes.boxes(rng, k, constraints)
                except SamplingError:  # the plan asked for more than a box holds; reject instead
                    pass
                else:
                    verdict = judge(frame, scene_sample.scene)
                    if verdict.valid and meets(verdict.answer, target):
                        return _Draft(structure, scene_sample, verdict), target
        return self._reject(rng, family, frame, target, k, structure), target

    def _refer(
        self, rng: random.Random, frame: Any, target: str | None, k: int, structure: str
    ) -> _Draft | None:
        """Scenes drawn for the target, objects chosen for it; a miss keeps any valid question."""
        fallback = None
        for _ in range(max(2, self.config.max_tries // 3)):  # a scene here costs about three candidates
            request = scene_request(frame, target, k, rng) if structure == "boxes" else None
            try:
                scene_sample = self._scene(rng, structure, k, request)
            except SamplingError:
                continue
            for aim in (target, None) if fallback is None and target is not None else (target,):
                program = retarget(frame, aim, scene_sample.scene, rng)
                verdict = judge(program, scene_sample.scene) if program is not None else None
                if verdict is not None and verdict.valid:
                    draft = _Draft(structure, scene_sample, verdict)
                    if meets(verdict.answer, target):
                        return draft
                    fallback = fallback or draft
        return fallback

    def _reject(
        self, rng: random.Random, family: str, frame: Any, target: str | None, k: int, structure: str
    ) -> _Draft | None:
        """The frame, then new programs of the family, on new scenes until one of the frame's answer kind
        hits the target."""
        kind, fallback, tries, miss = answer_kind(frame), None, 0, float("inf")
        while tries < self.config.max_tries:
            try:
                scene_sample = self._scene(rng, structure, k)
            except SamplingError:
                tries += self.config.programs_per_scene
                continue
            for attempt in range(self.config.programs_per_scene):
                tries += 1
                # The frame itself first: it may well answer the target on another scene, and a pair
                # then keeps asking one question.
                program = (
                    frame
                    if attempt == 0
                    else random_program(
                        rng, k, [family], self.depth[family], self.programs, scene_sample.scene
                    )
                )
                if answer_kind(program) != kind:
                    continue
                verdict = judge(program, scene_sample.scene)
                if verdict.valid:
                    draft = _Draft(structure, scene_sample, verdict)
                    if meets(verdict.answer, target):
                        return draft
                    if _distance(verdict.answer, target) < miss:  # on a miss, the nearest count
                        fallback, miss = draft, _distance(verdict.answer, target)
        return fallback

    # -- the sample --------------------------------------------------------------------------------------
    def _finish(self, rng: random.Random, index: int, draft: _Draft, target: str | None) -> WorldSample:
        program, verdict, scene = draft.verdict.program, draft.verdict, draft.scene_sample.scene
        variant = rng.randrange(variants(program))
        return WorldSample(
            key=self.key(index),
            scene=scene,
            structure=draft.structure,
            images=render_images(scene),
            question=render(program, variant),
            answer=verdict.answer,  # type: ignore[arg-type]
            program=program,
            family=verdict.family,
            skills=verdict.skills,
            seed=self.seed,
            index=index,
            variant=variant,
            target=target,
            detail=draft.scene_sample,
        )


def _distance(answer: str | None, target: str | None) -> float:
    """How far a missed answer is from the target: the difference of two counts, else 1."""
    if answer is not None and target is not None and answer.isdigit() and target.isdigit():
        return abs(int(answer) - int(target))
    return 1.0


def render_images(scene: Scene) -> tuple[ImageRef, ...]:
    """One in-memory PNG ImageRef per box; a box object repeated in the scene (the unchanged copies of
    near duplicates) is drawn once. Repeats are found by identity: hashing a box hashes every object."""
    drawn: dict[int, ImageRef] = {}
    for box in scene.boxes:
        if id(box) not in drawn:
            drawn[id(box)] = box_image_ref(box)
    return tuple(drawn[id(box)] for box in scene.boxes)
