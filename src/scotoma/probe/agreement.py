"""How far a VLM judge agrees with the exact oracle, in the shapes world (paper 000 validates its Gemini
judge against humans: 80% agreement on validity, 75% on correctness; here the oracle is the truth).

`world_agreement_items` builds a mixed set from the world's question sampler, in equal parts:
valid questions with the right answer, valid questions with a wrong answer, a sample's question asked of
another sample's images (often ungrounded or ambiguous there), the words of a question shuffled
(ungrammatical) and two questions joined by "and" (not atomic). Whatever the construction meant, the
oracle's verdict on each item is the label. `measure_agreement` then compares any verifier with it:
agreement and Cohen's kappa on validity, per criterion, and on correctness where both call the question
valid; unjudged items are counted, not scored.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from scotoma.judge.verifiers import CRITERIA, Judgement, OracleVerifier, Verifier, VerifyItem
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.scenes.scene import COLORS, SHAPES

_SIZES = ("small", "medium", "large")
KINDS = ("right_answer", "wrong_answer", "other_images", "shuffled", "joined")


def wrong_answer(answer: str, rng: random.Random) -> str:
    """A plausible answer that differs from `answer` (same kind: yes/no, count, colour, ...)."""
    flips = {"yes": "no", "no": "yes", "true": "false", "false": "true"}
    if answer in flips:
        return flips[answer]
    if answer.isdigit():
        return str(int(answer) + 1) if answer == "0" or rng.random() < 0.5 else str(int(answer) - 1)
    for group in (COLORS, SHAPES, _SIZES):
        if answer in group:
            return rng.choice([word for word in group if word != answer])
    if answer.startswith("image "):
        return "image 1" if answer != "image 1" else "image 2"
    return "nothing" if answer != "nothing" else "the blue circle"


def world_agreement_items(
    n: int, seed: int = 0, images_per_sample: tuple[int, int] = (1, 3)
) -> list[VerifyItem]:
    """`n` items, the kinds of KINDS in turn (see the module docstring)."""
    sampler = QuestionSampler(QuestionConfig(images_per_sample=images_per_sample), seed=seed)
    rng = random.Random(f"agreement:{seed}")
    items = []
    for index in range(n):
        sample, other = sampler.sample(index), sampler.sample(index + n)
        kind = KINDS[index % len(KINDS)]
        question, answer, scene, images = sample.question, sample.answer, sample.scene, sample.images
        if kind == "wrong_answer":
            answer = wrong_answer(answer, rng)
        elif kind == "other_images":
            scene, images = other.scene, other.images
        elif kind == "shuffled":
            words = question.rstrip("?").split()
            rng.shuffle(words)
            question = " ".join(words) + "?"
        elif kind == "joined":
            question = f"{question.rstrip('?')} and {other.question[0].lower()}{other.question[1:]}"
        items.append(VerifyItem(tuple(images), question, answer, scene))
    return items


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> float:
    """Cohen's kappa of two raters' yes/no labels; nan without pairs, 1 when both always say the same."""
    n = len(pairs)
    if n == 0:
        return float("nan")
    observed = sum(a == b for a, b in pairs) / n
    p_a, p_b = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = p_a * p_b + (1 - p_a) * (1 - p_b)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def _compare(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Agreement, kappa and the confusion counts (truth first, judge second)."""
    return {
        "n": len(pairs),
        "agreement": sum(a == b for a, b in pairs) / len(pairs) if pairs else float("nan"),
        "kappa": cohen_kappa(pairs),
        "both_true": sum(a and b for a, b in pairs),
        "truth_only": sum(a and not b for a, b in pairs),
        "judge_only": sum(b and not a for a, b in pairs),
        "both_false": sum(not a and not b for a, b in pairs),
    }


def compare_judgements(truth: Sequence[Judgement], said: Sequence[Judgement]) -> dict[str, Any]:
    """The agreement report of judgements `said` against `truth`, item by item."""
    both = [(t, s) for t, s in zip(truth, said, strict=True) if s.judged]
    criteria = {
        c: _compare(
            [
                (t.criteria[c], s.criteria[c])
                for t, s in both
                if t.criteria[c] is not None and s.criteria[c] is not None
            ]
        )  # type: ignore[misc]
        for c in CRITERIA
    }
    correctness = [(bool(t.correct), bool(s.correct)) for t, s in both if t.valid and s.valid]
    return {
        "items": len(truth),
        "unjudged": len(truth) - len(both),
        "validity": _compare([(t.valid, s.valid) for t, s in both]),
        "criteria": criteria,
        "correctness": _compare(correctness),
    }


def measure_agreement(
    items: Sequence[VerifyItem], judge: Verifier, oracle: Verifier | None = None
) -> dict[str, Any]:
    """Run `judge` and the oracle on `items` and compare (see `compare_judgements`)."""
    truth = (oracle or OracleVerifier()).verify(items)
    return {"judge": judge.spec, "judge_version": judge.version} | compare_judgements(
        truth, judge.verify(items)
    )


__all__ = [
    "KINDS",
    "cohen_kappa",
    "compare_judgements",
    "measure_agreement",
    "world_agreement_items",
    "wrong_answer",
]
