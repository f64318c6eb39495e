"""What the world models are trained on: fresh examples drawn from (seed, index), so a resume is exact.

Answerer (`answerer_example`): a curriculum measured on this machine (NOTES-offline-stack.md). Question
answering alone sits at the answer prior for thousands of steps; a dense description task first ("describe
the images ." -> every object of every box, `caption_scene`) teaches the model to see, after which a mix
of description and question answering over all families moves off the prior. Three tasks:

- describe: the images' caption (1-4 boxes; several boxes are captioned "image 1 : ... . image 2 : ...");
- qa: a balanced world question (`QuestionSampler`), the direct short answer as target (the default);
- chain: the same question with "describe first , then answer ." appended; the target is the caption,
  then "answer : <answer>". A focus chain in the sense of paper 001, selected by the prompt: measured here
  (notes), answering by reading its own description was far more accurate (existence 0.93 vs 0.71 direct).

Questioner (`questioner_example`): the images and "ask N questions about the images ."; the target is N
valid world questions of different families on that scene, each in `<response_i>` tags (paper 000).

Example `index` is the global sample number (samples seen before it), so the stream does not depend on the
batch size or on where a run was interrupted.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from scotoma.probe.prompts import (
    WORLD_QUESTIONER_PROMPT,
    fill,
    format_questions,
    questioner_fields,
    shipped_prompt,
)
from scotoma.world.programs.language import render
from scotoma.world.programs.skills import FAMILIES, SKILLS
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.sampling.random_programs import random_valid_program
from scotoma.world.scenes.captions import caption_scene
from scotoma.world_models.data import MAX_QUESTIONS, WorldExample

CHAIN_SUFFIX = "describe first , then answer ."
ANSWER_MARK = "answer :"


def describe_prompt(n_images: int) -> str:
    """ "describe the image ." for one box, "describe the images ." for several."""
    return "describe the image ." if n_images == 1 else "describe the images ."


def questions_prompt(n_questions: int, n_images: int) -> str:
    """ "ask three questions about the images .": the probe's world questioner prompt
    (`probe/prompts/questioner_world_v1.txt`), filled, so training and probing ask the same words."""
    fields = questioner_fields(n_questions, n_images)
    return "".join(fill(shipped_prompt(WORLD_QUESTIONER_PROMPT), (), "", **fields))


def chain_answer(text: str) -> str:
    """The answer part of a description-then-answer completion: the text after the last "answer :"."""
    _head, mark, tail = text.rpartition(ANSWER_MARK)
    return tail.strip() if mark else text.strip()


@dataclass(frozen=True)
class CurriculumConfig:
    """The task mix. Help strings are the CLI's.

    Shares are of the samples after the describe-only phase; QA takes what describe and chain leave.
    """

    images_per_sample: tuple[int, int] = field(default=(1, 4), metadata={"help": "boxes per sample K"})
    describe_only_samples: int = field(
        default=20_000, metadata={"help": "samples of describe-only training before QA starts"}
    )
    describe_share: float = field(default=0.3, metadata={"help": "share of describe samples after that"})
    chain_share: float = field(
        default=0.15, metadata={"help": "share of description-then-answer samples after that"}
    )
    families: tuple[str, ...] = field(default=tuple(FAMILIES), metadata={"help": "question families"})
    focus_families: tuple[str, ...] = field(
        default=(), metadata={"help": "families drawn more often: focus_share of the samples ask only these"}
    )
    focus_share: float = field(
        default=0.0,
        metadata={"help": "share of samples after the describe-only phase that ask a focus family"},
    )
    focus_skills: tuple[str, ...] = field(
        default=(),
        metadata={"help": "focus questions must also need one of these skills (e.g. spatial:edge)"},
    )
    focus_skills_share: float = field(
        default=1.0,
        metadata={
            "help": "share of focus questions held to focus_skills; the rest ask anything of the families"
        },
    )
    questions_per_sample: tuple[int, int] = field(
        default=(1, 5), metadata={"help": "questioner: questions per sequence, a range within 1..8"}
    )

    def __post_init__(self) -> None:
        shares = (self.describe_share, self.chain_share, self.focus_share)
        if sum(shares) > 1 or min(shares) < 0:
            raise ValueError("describe_share, chain_share and focus_share must be >= 0 and sum to at most 1")
        if self.focus_share and not self.focus_families:
            raise ValueError("focus_share needs focus_families (say which families to ask more often)")
        if set(self.focus_skills) - set(SKILLS):
            raise ValueError(
                f"unknown focus_skills {sorted(set(self.focus_skills) - set(SKILLS))}; choose from {SKILLS}"
            )
        if not 0 <= self.focus_skills_share <= 1:
            raise ValueError("focus_skills_share must lie within 0..1")
        if self.focus_skills and not self.focus_families:
            raise ValueError("focus_skills needs focus_families (the families whose questions they narrow)")
        if set(self.focus_families) - set(self.families):
            raise ValueError(
                f"focus_families {sorted(set(self.focus_families) - set(self.families))} are not among "
                f"the trained families {self.families}"
            )
        low, high = self.questions_per_sample
        if not 1 <= low <= high <= MAX_QUESTIONS:
            raise ValueError(
                f"questions_per_sample={self.questions_per_sample} must lie within 1..{MAX_QUESTIONS}"
            )


class WorldTasks:
    """Draws the examples of both world models from one seed.

    Args:
        config: the task mix.
        seed: the stream's seed; example `index` is the same for the same (seed, config, index).
    """

    def __init__(self, config: CurriculumConfig, seed: int) -> None:
        self.config = config
        self.seed = seed
        self.questions = QuestionSampler(
            QuestionConfig(images_per_sample=config.images_per_sample, families=config.families), seed
        )
        # The focus families get a balanced sampler of their own, so their answers stay unguessable too;
        # focus skills narrow a second one to the questions a model still misses (say, referents touching
        # an edge). Measured: held to spatial skills alone, existence and attribute questions without one
        # fell 0.94 -> 0.85 in 50k samples, hence a share for each.
        self.focus = self.focus_skilled = None
        if config.focus_families:
            focus = QuestionConfig(images_per_sample=config.images_per_sample, families=config.focus_families)
            self.focus = QuestionSampler(focus, seed)
            if config.focus_skills:
                self.focus_skilled = QuestionSampler(
                    dataclasses.replace(focus, skills=config.focus_skills), seed
                )

    def _rng(self, index: int, task: str) -> random.Random:
        return random.Random(f"{self.seed}:{task}:{index}")

    def describe(self, index: int) -> WorldExample:
        """A fresh scene of 1-4 boxes and its caption."""
        rng = self._rng(index, "describe")
        scene = self.questions.scenes.boxes(rng, rng.randint(*self.config.images_per_sample)).scene
        return WorldExample(scene, describe_prompt(len(scene.boxes)), caption_scene(scene), "describe")

    def qa(self, index: int, chain: bool = False, focus: bool = False) -> WorldExample:
        """Question `index` of the balanced sampler; with `chain`, the description-then-answer form; with
        `focus`, of the focus families' samplers (held to the focus skills `focus_skills_share` of the
        time)."""
        if focus and self.focus is None:
            raise ValueError("focus=True needs CurriculumConfig.focus_families")
        sampler = self.questions
        if focus:
            skilled = self._rng(index, "skills").random() < self.config.focus_skills_share
            sampler = self.focus_skilled if skilled and self.focus_skilled else self.focus
        sample = sampler.sample(index)
        prompt, target = sample.question, sample.answer
        if chain:
            prompt = f"{sample.question} {CHAIN_SUFFIX}"
            target = f"{caption_scene(sample.scene)} {ANSWER_MARK} {sample.answer}"
        task = "chain" if chain else "qa"
        return WorldExample(sample.scene, prompt, target, task, sample.family, sample.answer, sample.skills)

    def answerer_example(self, index: int) -> WorldExample:
        """Example `index` of the answerer's curriculum: describe-only first, then the mix."""
        if index < self.config.describe_only_samples:
            return self.describe(index)
        draw = self._rng(index, "task").random()
        if draw < self.config.describe_share:
            return self.describe(index)
        if draw < self.config.describe_share + self.config.chain_share:
            return self.qa(index, chain=True)
        if draw < self.config.describe_share + self.config.chain_share + self.config.focus_share:
            return self.qa(index, focus=True)
        return self.qa(index)

    def questioner_example(self, index: int) -> WorldExample:
        """Images of a balanced sample and N valid questions of distinct families about them."""
        sample = self.questions.sample(index)
        rng = self._rng(index, "questions")
        wanted = rng.randint(*self.config.questions_per_sample)
        questions = [sample.question]
        others = [f for f in self.config.families if f != sample.family]
        rng.shuffle(others)
        for family in others:
            if len(questions) == wanted:
                break
            try:
                program = random_valid_program(rng, sample.scene, [family], tries=20)
            except (RuntimeError, ValueError):  # the family does not fit this scene (e.g. no sequence)
                continue
            text = render(program, rng=rng)
            if text not in questions:
                questions.append(text)
        rng.shuffle(questions)
        prompt = questions_prompt(len(questions), len(sample.scene.boxes))
        return WorldExample(sample.scene, prompt, format_questions(questions), "questions")

    def example(self, kind: str, index: int) -> WorldExample:
        """Example `index` for the model `kind` ("answerer" or "questioner")."""
        if kind == "answerer":
            return self.answerer_example(index)
        if kind == "questioner":
            return self.questioner_example(index)
        raise ValueError(f"unknown world model {kind!r}; choose answerer or questioner")


def approximate_length(example: WorldExample) -> int:
    """Tokens of an example, near enough to sort by: 28 per image plus the words of prompt and target."""
    return 28 * len(example.scene.boxes) + len(example.prompt.split()) + len(example.target.split())


class ExampleStream:
    """The examples of each optimiser step: its share of a length-sorted pool of `pool_batches` batches.

    Padding to the longest row nearly doubled the tokens per batch (118 real of 218 padded, measured);
    sorting a pool of a few batches by length brings that to ~120. The pool of a step is a pure function
    of (seed, step), so a resumed run sees the same batches; the current pool is kept between steps.

    Args:
        tasks: the example source.
        kind: "answerer" or "questioner".
        batch_size: examples per step.
        pool_batches: batches per sorted pool (1 = no sorting).
    """

    def __init__(self, tasks: WorldTasks, kind: str, batch_size: int, pool_batches: int) -> None:
        self.tasks, self.kind, self.batch_size, self.pool_batches = tasks, kind, batch_size, pool_batches
        self._pool: tuple[int, list[WorldExample]] | None = None

    def __call__(self, step: int) -> list[WorldExample]:
        """The batch of step `step`."""
        number, slot = divmod(step, self.pool_batches)
        if self._pool is None or self._pool[0] != number:
            size = self.batch_size * self.pool_batches
            examples = [self.tasks.example(self.kind, number * size + i) for i in range(size)]
            examples.sort(key=approximate_length)  # stable: ties keep the stream's order
            self._pool = (number, examples)
        return self._pool[1][slot * self.batch_size : (slot + 1) * self.batch_size]


__all__ = [
    "ANSWER_MARK",
    "CHAIN_SUFFIX",
    "CurriculumConfig",
    "ExampleStream",
    "WorldTasks",
    "approximate_length",
    "chain_answer",
    "describe_prompt",
    "questions_prompt",
]
