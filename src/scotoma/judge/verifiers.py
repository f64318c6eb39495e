"""Verifiers: is a question valid, and is the target's answer to it correct? (paper 000, section 3.1)

A question is valid when it meets four criteria: grammatical (well formed), atomic (one question, not
several joined), grounded (answering it needs what the image shows, and everything it names is there) and
objective (one unambiguous answer). Two verifiers decide them behind one protocol,
`verify(items) -> judgements`:

- `oracle`: the shapes world's exact judgement (`scotoma.world.programs.oracle.judge`): the first failed
  criterion, the canonical answer, the program's skills. It needs world samples (a scene per item).
- `judge:<backend spec>`: a VLM judge (`scotoma.judge.vlm_judge.VLMJudge`) that sees the images, reasons,
  then returns a JSON verdict per criterion and on the answer; for any images, real photos included.

A judge that gives no usable verdict even after one repair turn marks the item *unjudged*
(`Judgement.judged` False): callers count those apart and never treat them as valid or invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scotoma.cache import CachedModel, ResponseCache
from scotoma.types import ImageRef
from scotoma.world.programs.answers import is_correct
from scotoma.world.programs.oracle import judge
from scotoma.world.scenes.scene import Scene

CRITERIA = ("grammatical", "atomic", "grounded", "objective")  # the paper's order, and the oracle's


class VerifierError(ValueError):
    """A verifier asked for what it cannot do (the oracle without a scene); the message says what to do."""


@dataclass(frozen=True)
class VerifyItem:
    """One question about one sample and the target's answer to it.

    Attributes:
        images: the sample's images, in order (Image 1 first).
        question: the question text as the questioner wrote it.
        answer: the target model's answer (free text).
        scene: the world scene the images show; required by the oracle, ignored by a VLM judge.
    """

    images: tuple[ImageRef, ...]
    question: str
    answer: str
    scene: Scene | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Judgement:
    """A verifier's decision on one item.

    Attributes:
        judged: False when the verifier gave no usable verdict (a judge's unreadable reply, twice).
        valid: all four criteria hold (False when unjudged).
        correct: whether the answer is right; None for invalid or unjudged questions.
        reason: None when valid, else the first failed criterion, or "unjudged".
        criteria: criterion -> True / False, or None where the verifier did not decide it (the oracle
            stops at the first failure).
        reference: the verifier's own answer (the oracle's canonical answer; the judge's reference).
        skills: skills the question needs (exact in the world; the judge's phrases otherwise).
        family: the world program's family ("" elsewhere).
        detail: why, in words: the failed criterion's justification or the correctness justification.
    """

    judged: bool
    valid: bool
    correct: bool | None
    reason: str | None
    criteria: dict[str, bool | None]
    reference: str | None = None
    skills: tuple[str, ...] = ()
    family: str = ""
    detail: str = ""

    @classmethod
    def unjudged(cls, detail: str) -> Judgement:
        """The judgement of an item the verifier could not decide."""
        return cls(False, False, None, "unjudged", dict.fromkeys(CRITERIA), detail=detail)

    def to_dict(self) -> dict[str, Any]:
        """The logged form (skills as a list)."""
        return {
            "judged": self.judged,
            "valid": self.valid,
            "correct": self.correct,
            "reason": self.reason,
            "criteria": dict(self.criteria),
            "reference": self.reference,
            "skills": list(self.skills),
            "family": self.family,
            "detail": self.detail,
        }


class Verifier(Protocol):
    """Decides validity and correctness for a batch of items.

    Attributes:
        spec: "oracle" or "judge:<backend spec>"; recorded in run logs.
        version: the prompt or rule version; recorded in run logs.
    """

    spec: str
    version: str

    def verify(self, items: Sequence[VerifyItem]) -> list[Judgement]:
        """One judgement per item, in order."""
        ...

    def screen(self, items: Sequence[VerifyItem]) -> list[Judgement | None]:
        """Before the target answers: the judgement of each question that is invalid whatever the answer,
        None where the answer is needed. Lets the probe skip asking the target invalid questions."""
        ...


def criteria_until(reason: str | None) -> dict[str, bool | None]:
    """Criteria as an oracle that stops at the first failure knows them: True before `reason`, False at
    it, None after; all True when `reason` is None."""
    if reason is None:
        return dict.fromkeys(CRITERIA, True)
    failed = CRITERIA.index(reason)
    return {c: (True if i < failed else False if i == failed else None) for i, c in enumerate(CRITERIA)}


class OracleVerifier:
    """The world's exact verifier: `scotoma.world.programs.oracle.judge` and
    `scotoma.world.programs.answers.is_correct`."""

    spec = "oracle"
    version = "world-oracle-v1"

    def screen(self, items: Sequence[VerifyItem]) -> list[Judgement | None]:
        """The oracle decides validity without the answer: invalid questions are judged here."""
        return [None if j.valid else j for j in self.verify(items)]

    def verify(self, items: Sequence[VerifyItem]) -> list[Judgement]:
        """Judge every item exactly.

        Raises:
            VerifierError: an item has no scene (images from a folder): use a VLM judge there.
        """
        out = []
        for item in items:
            if item.scene is None:
                raise VerifierError(
                    "the oracle verifier needs shapes-world samples (a scene per image set); images from a "
                    "folder have none, so use --verifier judge:<backend spec>"
                )
            verdict = judge(item.question, item.scene)
            correct = is_correct(item.answer, verdict) if verdict.valid else None
            out.append(
                Judgement(
                    judged=True,
                    valid=verdict.valid,
                    correct=correct,
                    reason=verdict.reason,
                    criteria=criteria_until(verdict.reason),
                    reference=verdict.answer,
                    skills=tuple(verdict.skills),
                    family=verdict.family,
                    detail=verdict.detail,
                )
            )
        return out


def get_verifier(spec: str, cache: ResponseCache | None = None, **options: Any) -> Verifier:
    """The verifier a spec names.

    Args:
        spec: "oracle", or "judge:<backend spec>" such as "judge:openai:gpt-4o@https://api.openai.com/v1"
            or "judge:hf:Qwen/Qwen3-VL-8B-Instruct".
        cache: the response cache the judge's calls go through (None: no cache).
        **options: `VLMJudge` settings (prompt_version, max_new_tokens, image_label).

    Raises:
        ValueError: an unknown verifier spec.
    """
    if spec == "oracle":
        return OracleVerifier()
    kind, sep, backend = spec.partition(":")
    if kind == "judge" and sep and backend:
        from scotoma.judge.vlm_judge import VLMJudge
        from scotoma.models import get_model

        model = get_model(backend)
        return VLMJudge(CachedModel(model, cache) if cache is not None else model, spec=spec, **options)
    raise ValueError(
        f"unknown verifier {spec!r}; use oracle (shapes world) or judge:<backend spec>, e.g. "
        "judge:openai:gpt-4o@https://api.openai.com/v1 or judge:hf:<folder>"
    )


__all__ = [
    "CRITERIA",
    "Judgement",
    "OracleVerifier",
    "Verifier",
    "VerifierError",
    "VerifyItem",
    "criteria_until",
    "get_verifier",
]
