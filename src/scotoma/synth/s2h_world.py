"""S2H drafts from the shapes world: L1 localized questions, L2 visual arithmetic, L3 global search.

Sample `index` draws from `random.Random(f"{seed}:s2h:{index}")` and from world samplers seeded by
`seed`, so it is the same for the same (seed, config, index):

- L1: a one-image question from `QuestionSampler` (families `l1_families`), its box put at a random
  position k among `distractors` fresh boxes, its program re-scoped to Image k ("In Image 3, what color
  is the circle?"); the oracle answers it on the whole set, which must equal the one-image answer;
- L2 arithmetic: a Sum or Difference over named images from `QuestionSampler` (family "arithmetic");
  rejected = the count of the first named image alone, as a reader who looked at one image would say
  (one more than the gold answer when that count happens to equal it);
- L3: a target box whose primary object (its largest object of a kind unique in the box) is absent
  from every distractor box; chosen = the target's exact caption.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from scotoma.synth.records import PreferencePair
from scotoma.synth.s2h import PairDraft, S2HConfig
from scotoma.synth.stages import SynthDrop
from scotoma.types import user_turn
from scotoma.world.programs.language import render, variants
from scotoma.world.programs.nodes import (
    Compare,
    Count,
    CountCompare,
    Exists,
    QueryAttribute,
    Relate,
    SizeCompare,
    Sum,
    to_dict,
)
from scotoma.world.programs.oracle import judge
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler, render_images
from scotoma.world.sampling.specs import ObjectSpec, SamplingError, SceneConfig
from scotoma.world.scenes.captions import caption_box, caption_scene, object_phrase
from scotoma.world.scenes.scene import Box, Scene

L3_PROMPT = "Describe the image that contains {object}."
L3_REJECTED_PROMPT = "Describe the images."
L3_SKILLS = ("attribute:color", "attribute:shape", "global_search")


def rescope(program: Any, k: int) -> Any | None:
    """The same question asked of Image k; None for programs that cannot name one image."""
    if isinstance(program, Count | Exists | CountCompare | QueryAttribute | Relate):
        return dataclasses.replace(program, image=k)
    if isinstance(program, Compare):
        return Compare(
            dataclasses.replace(program.left, image=k),
            program.op,
            dataclasses.replace(program.right, image=k),
        )
    if isinstance(program, SizeCompare):
        return dataclasses.replace(program, left_image=k, right_image=k)
    return None


def _level_samplers(config: S2HConfig, seed: int) -> tuple[Any, Any]:
    """L1's and L2's question samplers; None for a level with no question needing `config.skills`."""
    samplers = []
    for images, families in ((1, config.l1_families), (config.l2_images, ("arithmetic",))):
        try:
            samplers.append(
                QuestionSampler(QuestionConfig(images, families=families, skills=config.skills), seed)
            )
        except ValueError:
            samplers.append(None)
    return samplers[0], samplers[1]


def fitting_levels(config: S2HConfig) -> tuple[str, ...]:
    """The levels (of all three) that can ask a question needing one of `config.skills` (all when none)."""
    l1, l2 = _level_samplers(config, 0)
    fits = {"L1": l1 is not None, "L2": l2 is not None}
    fits["L3"] = not config.skills or bool(set(config.skills) & set(L3_SKILLS))
    return tuple(level for level in ("L1", "L2", "L3") if fits[level])


class S2HWorld:
    """Builds world drafts of every level; `draft(index)` raises SynthDrop when an index yields nothing."""

    def __init__(self, config: S2HConfig, seed: int = 0, l3_model: bool = False) -> None:
        """Set up the world samplers of each level.

        Args:
            config: the S2H settings.
            seed: the world samplers' seed.
            l3_model: L3's rejected response comes from a captioner model (else the world's exact caption
                of every image).

        Raises:
            ValueError: a level of `config.levels` has no question needing any of `config.skills`.
        """
        self.config, self.seed, self.l3_model = config, seed, l3_model
        self.boxes = SceneSampler(SceneConfig(n_objects=(2, 6), tower_prob=0.0))
        self.l1, self.l2 = _level_samplers(config, seed)
        unfit = [level for level in config.levels if level not in fitting_levels(config)]
        if unfit:
            raise ValueError(
                f"levels {unfit} ask no question needing any of the skills {list(config.skills)}; drop them "
                "from --levels or choose other skills"
            )

    def draft(self, index: int, level: str) -> PairDraft:
        """The draft of sample `index` at `level` ("L1", "L2", "L3"); key f"{level}-{seed}-{index}".

        Raises:
            SynthDrop: the index yields no pair (no distractors could be drawn, a question missed).
        """
        rng = random.Random(f"{self.seed}:s2h:{index}")
        key = f"{level}-{self.seed}-{index}"
        try:
            if level == "L1":
                return self._l1(rng, key, index)
            if level == "L2":
                return self._l2(key, index)
            return self._l3(rng, key)
        except SamplingError as error:
            raise SynthDrop("draft", str(error)) from None

    def _distractors(self, rng: random.Random, exclude: tuple[ObjectSpec, ...] = ()) -> list[Box]:
        try:
            return [self.boxes.box(rng, must_exclude=exclude) for _ in range(self.config.distractors)]
        except SamplingError as error:
            raise SynthDrop("draft", f"no distractor boxes: {error}") from None

    def _l1(self, rng: random.Random, key: str, index: int) -> PairDraft:
        sample = self.l1.sample(index)  # type: ignore[union-attr]
        k = rng.randint(1, self.config.distractors + 1)
        program = rescope(sample.program, k)
        if program is None:
            raise SynthDrop(
                "draft", f"a {type(sample.program).__name__} question cannot be asked of one image"
            )
        boxes = self._distractors(rng)
        scene = Scene((*boxes[: k - 1], sample.scene.boxes[0], *boxes[k - 1 :]))
        verdict = judge(program, scene)
        if not verdict.valid or verdict.answer != sample.answer:
            raise SynthDrop(
                "draft", f"asked of Image {k} the answer became {verdict.answer!r}, not {sample.answer!r}"
            )
        images = render_images(scene)
        prompt = render(program, rng.randrange(variants(program)))
        pair = PreferencePair(
            key,
            "L1",
            "localized",
            images,
            prompt,
            verdict.answer,
            "",
            verdict.answer,
            verdict.skills,
            meta={
                "target": k,
                "program": to_dict(program),
                "scene": scene.to_nlvr(),
                "family": sample.family,
            },
        )
        return PairDraft(pair, ask=user_turn(images, prompt, self.config.layout), gold=verdict.answer)

    def _l2(self, key: str, index: int) -> PairDraft:
        sample = self.l2.sample(index)  # type: ignore[union-attr]
        program = sample.program
        first = program.images[0] if isinstance(program, Sum) else program.first
        one_image = judge(Count(program.of, image=first), sample.scene).answer
        rejected = one_image if one_image != sample.answer else str(int(sample.answer) + 1)
        pair = PreferencePair(
            key,
            "L2",
            "arithmetic",
            sample.images,
            sample.question,
            sample.answer,
            rejected,
            sample.answer,
            sample.skills,
            meta={
                "program": to_dict(program),
                "scene": sample.scene.to_nlvr(),
                "rejected_by": f"count of Image {first} alone",
            },
        )
        return PairDraft(pair)

    def _l3(self, rng: random.Random, key: str) -> PairDraft:
        for _ in range(20):
            target = self.boxes.box(rng)
            kinds = [(o.color, o.shape) for o in target.objects]
            unique = [o for o in target.objects if kinds.count((o.color, o.shape)) == 1]
            if unique:
                break
        else:
            raise SynthDrop("draft", "no target box with an object of a kind unique in it")
        primary = max(unique, key=lambda o: (o.size, o.y, o.x))
        boxes = self._distractors(rng, (ObjectSpec(primary.shape, primary.color),))
        k = rng.randint(1, self.config.distractors + 1)
        scene = Scene((*boxes[: k - 1], target, *boxes[k - 1 :]))
        images = render_images(scene)
        phrase = object_phrase(primary).split(" ", 1)[1]  # "blue circle": its kind, which no distractor has
        prompt = L3_PROMPT.format(object=f"a {phrase}")
        chosen = caption_box(target)
        meta = {
            "target": k,
            "primary_object": phrase,
            "scene": scene.to_nlvr(),
            "rejected_prompt": L3_REJECTED_PROMPT,
        }
        pair = PreferencePair(
            key,
            "L3",
            "global_search",
            images,
            prompt,
            chosen,
            caption_scene(scene),
            chosen,
            L3_SKILLS,
            meta={**meta, "rejected_by": "world:caption_scene"},
        )
        ask = user_turn(images, L3_REJECTED_PROMPT, self.config.layout) if self.l3_model else None
        return PairDraft(pair, ask=ask)
