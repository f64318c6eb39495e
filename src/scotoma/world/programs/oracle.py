"""The exact oracle: the answer to a question program on a scene, and the four validity criteria.

`judge(question, scene)` decides, in this order, the criteria of paper 000 (section 3.1):

1. grammatical: the text parses as a sentence of the world language;
2. atomic: it is one question, not two joined ("Is there a blue circle and what color is the square?");
3. grounded: everything it refers to exists: named images (Image 5 of 3), definite referents ("the
   triangle above the square"), the image a search or a first appearance presupposes;
4. objective: the answer is determined: definite referents are unique, "how many more" is not
   negative, only one object changed, and sequence questions are asked of a sequence.

Answers are canonical lowercase strings (see `scotoma.world.programs.answers`): "yes"/"no", "true"/"false" for
statements, digits, attribute words, "image 2", change phrases ("the black square", "nothing").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scotoma.world.programs import evaluation
from scotoma.world.programs.evaluation import Ambiguous, Ungrounded
from scotoma.world.programs.nodes import FirstAppearance, Program, WhatChanged, family, images_of, skills
from scotoma.world.programs.parse import ParseError, parse, split_questions
from scotoma.world.scenes.scene import Scene
from scotoma.world.scenes.spatial import sequence_problem

REASONS = (None, "grammatical", "atomic", "grounded", "objective")


@dataclass(frozen=True)
class Verdict:
    """What the oracle decided about one question on one scene.

    Attributes:
        valid: whether the question meets all four criteria.
        reason: None when valid, else the first criterion it fails: "grammatical", "atomic",
            "grounded" or "objective".
        detail: a human-readable why ("Image 5 does not exist: the sample has 3 images").
        answer: the canonical answer when valid, else None.
        program: the parsed program (None when the text did not parse).
        skills: the skills the program needs (empty when it did not parse).
        family: the program's family ("" when it did not parse).
    """

    valid: bool
    reason: str | None
    detail: str
    answer: str | None = None
    program: Any = None
    skills: tuple[str, ...] = ()
    family: str = ""


class InvalidQuestion(ValueError):
    """`evaluate` on a question that has no answer on this scene; `.verdict` says which criterion failed."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"{verdict.reason}: {verdict.detail}")
        self.verdict = verdict


def _invalid(reason: str, detail: str, program: Any = None) -> Verdict:
    if program is None:
        return Verdict(False, reason, detail)
    return Verdict(False, reason, detail, None, program, skills(program), family(program))


def judge(question: str | Any, scene: Scene) -> Verdict:
    """Decide the four validity criteria and, for a valid question, its answer.

    Args:
        question: English text (parsed with `scotoma.world.programs.parse.parse`) or a program.
        scene: the sample; Image k is `scene.boxes[k - 1]`.

    Returns:
        A Verdict; invalid questions carry the first failed criterion as `reason`.
    """
    if isinstance(question, str):
        try:
            program = parse(question)
        except ParseError as exc:
            parts = split_questions(question)
            if parts is not None:
                return _invalid("atomic", f"two questions in one: {parts[0]!r} and {parts[1]!r}")
            return _invalid("grammatical", str(exc))
    elif isinstance(question, Program):
        program = question
    else:
        raise TypeError(f"judge takes question text or a top-level program, not {type(question).__name__}")
    n_images = len(scene.boxes)
    missing = [k for k in images_of(program) if k > n_images]
    if missing:
        have = f"{n_images} image" + ("s" if n_images != 1 else "")
        return _invalid("grounded", f"Image {missing[0]} does not exist: the sample has {have}", program)
    if isinstance(program, WhatChanged | FirstAppearance):
        problem = sequence_problem(scene)
        if problem is not None:
            return _invalid("objective", f"not a sequence: {problem}", program)
    try:
        answer = evaluation.answer(program, scene)
    except Ungrounded as exc:
        return _invalid("grounded", str(exc), program)
    except Ambiguous as exc:
        return _invalid("objective", str(exc), program)
    return Verdict(True, None, "valid", answer, program, skills(program), family(program))


def evaluate(program: Any, scene: Scene) -> str:
    """The canonical answer of a program on a scene.

    Raises:
        InvalidQuestion: the program fails a validity criterion on this scene (see `judge`).
    """
    verdict = judge(program, scene)
    if not verdict.valid:
        raise InvalidQuestion(verdict)
    return verdict.answer  # type: ignore[return-value]
