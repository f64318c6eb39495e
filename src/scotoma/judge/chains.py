"""Focus-centric visual chains (paper 001, section 3.1): steps (sub-question, focus, answer, stop) and the
target text a model learns to write.

A chain R = [(q_i, G_i, a_i, z_i)]: at step i the model asks a sub-question q_i about a small set of
images G_i (its focus), answers it (a_i) and decides whether to stop (z_i). Only the last step stops;
the final answer follows it. The rendered text follows the paper's case study (appendix G, Figure 7):

    Step_1: How many blue circles are there in Image 1 and Image 2 together?
    Focus: Image1,Image2
    Answer: 3
    Step_2: How many blue circles are there in Image 3?
    Focus: Image3
    Answer: 1
    Final_answer: 4

`parse_chain` reads such text back leniently ("Step 1:", "Final answer:", "References: image2" as in
the paper's Figure 8), so chain inference can read a model's output in this style.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CHAIN_FORMAT_VERSION = "visc-v1"


class ChainError(ValueError):
    """A chain that breaks the format: no steps, an empty focus, a stop flag before the last step."""


@dataclass(frozen=True)
class ChainStep:
    """One reasoning step.

    Attributes:
        sub_question: the question asked at this step.
        focus: the 1-based numbers of the images it looks at, in increasing order.
        answer: the answer to the sub-question.
        stop: whether the chain ends after this step (z_i); True on the last step only.
    """

    sub_question: str
    focus: tuple[int, ...]
    answer: str
    stop: bool = False

    def __post_init__(self) -> None:
        focus = tuple(sorted(set(self.focus)))
        if not focus or any(not isinstance(k, int) or k < 1 for k in focus):
            raise ChainError(f"a step's focus is one or more image numbers from 1, not {self.focus!r}")
        object.__setattr__(self, "focus", focus)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sub_question": self.sub_question,
            "focus": list(self.focus),
            "answer": self.answer,
            "stop": self.stop,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainStep:
        return cls(data["sub_question"], tuple(data["focus"]), data["answer"], bool(data.get("stop", False)))


@dataclass(frozen=True)
class Chain:
    """A reasoning path and its final answer.

    Attributes:
        steps: the steps in order; the last one stops.
        final_answer: the answer to the overall question.
    """

    steps: tuple[ChainStep, ...]
    final_answer: str

    def __post_init__(self) -> None:
        if not self.steps:
            raise ChainError("a chain needs at least one step")
        if any(step.stop for step in self.steps[:-1]) or not self.steps[-1].stop:
            raise ChainError("only the last step of a chain stops; build steps with make_chain")

    @property
    def images(self) -> tuple[int, ...]:
        """Every image the chain focuses on, sorted."""
        return tuple(sorted({k for step in self.steps for k in step.focus}))

    def render(self) -> str:
        """The target text: one block per step, then the final answer (see the module docstring)."""
        return render_chain(self)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "final_answer": self.final_answer}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chain:
        return cls(tuple(ChainStep.from_dict(s) for s in data["steps"]), data["final_answer"])


def make_chain(steps: Sequence[tuple[str, Sequence[int], str]], final_answer: str) -> Chain:
    """A chain from (sub_question, focus, answer) triples; the stop flag is set on the last step."""
    last = len(steps) - 1
    return Chain(
        tuple(ChainStep(q, tuple(focus), a, i == last) for i, (q, focus, a) in enumerate(steps)),
        final_answer,
    )


def focus_text(focus: Sequence[int]) -> str:
    """ "Image1,Image3", the paper's way of naming a focus set."""
    return ",".join(f"Image{k}" for k in focus)


def render_chain(chain: Chain) -> str:
    """Step_i / Focus / Answer lines for every step, then Final_answer."""
    lines = []
    for i, step in enumerate(chain.steps, start=1):
        lines += [
            f"Step_{i}: {step.sub_question.strip()}",
            f"Focus: {focus_text(step.focus)}",
            f"Answer: {step.answer.strip()}",
        ]
    lines.append(f"Final_answer: {chain.final_answer.strip()}")
    return "\n".join(lines)


@dataclass(frozen=True)
class ParsedChain:
    """What `parse_chain` read from free text.

    Attributes:
        steps: the steps found (stop set on the last); a field is empty when the step lacks it.
        final_answer: the text after "Final_answer:", or None when the output has none.
        well_formed: every step had a sub-question, a focus and an answer, and a final answer was given.
    """

    steps: tuple[ParsedStep, ...]
    final_answer: str | None
    well_formed: bool


@dataclass(frozen=True)
class ParsedStep:
    """A step read from model output: like ChainStep, but its fields may be empty (nothing is enforced)."""

    sub_question: str
    focus: tuple[int, ...]
    answer: str
    stop: bool = False


# A step starts a line ("Step_1:", "**Step 1**", "Step 1.") or, mid-line, reads "step _ 1 :": word-level
# models (the built-in world models) decode words joined by spaces, with no line breaks.
_STEP = re.compile(r"(?im)^\s*\**\s*step[ _]?(\d+)\s*\**\s*[:.)]?|\bstep\s*_\s*(\d+)\s*:")
_FINAL = re.compile(r"(?i)final\s?_?\s?answer\s*\**\s*[:=]?\s*")
_FOCUS = re.compile(r"(?i)\b(?:focus|references?)\s*\**\s*:\s*")
_ANSWER = re.compile(r"(?i)\banswer\s*\**\s*:\s*")
_IMAGE = re.compile(r"(?i)\bimage\s*_?(\d+)")


def _step_fields(block: str) -> tuple[str, tuple[int, ...], str, bool]:
    """(sub-question, focus, answer, complete) of one step's text."""
    focus_match = _FOCUS.search(block)
    answer_match = _ANSWER.search(block, focus_match.end() if focus_match else 0)
    question_end = min([m.start() for m in (focus_match, answer_match) if m] or [len(block)])
    question = " ".join(block[:question_end].split()).strip(" \\n")
    focus: tuple[int, ...] = ()
    if focus_match:
        focus_end = answer_match.start() if answer_match else len(block)
        focus = tuple(
            sorted({int(k) for k in _IMAGE.findall(block[focus_match.end() : focus_end]) if int(k) > 0})
        )
    answer = " ".join(block[answer_match.end() :].split()).strip() if answer_match else ""
    return question, focus, answer, bool(question and focus and answer)


def parse_chain(text: str) -> ParsedChain:
    """Read a chain written in the Step_i / Focus / Answer / Final_answer style.

    Lenient on spacing, case, markdown bold, "Step 1" for "Step_1", literal "\\n" sequences, the
    "References: image2" wording of the paper's Figure 8, and a word-level model's one-line
    "step _ 1 : ... focus : image1 , image2 answer : 3 final _ answer : 4".
    """
    text = text.replace("\\n", "\n")
    final_match = None
    for final_match in _FINAL.finditer(text):  # noqa: B007 - the last "Final_answer" counts
        pass
    body = text[: final_match.start()] if final_match else text
    final = text[final_match.end() :].strip().splitlines()[0].strip() if final_match else None
    starts = list(_STEP.finditer(body))
    steps: list[ParsedStep] = []
    complete = bool(starts)
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(body)
        question, focus, answer, ok = _step_fields(body[match.end() : end])
        complete &= ok
        stop = i == len(starts) - 1
        steps.append(ParsedStep(question, focus, answer, stop))
    return ParsedChain(tuple(steps), final or None, complete and bool(final))
