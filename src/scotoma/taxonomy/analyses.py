"""Analyses over skills (paper 000, sections 4.2-4.7): coverage, per-skill and per-meta-skill failure
rates, exclusive skills (Table 3), skill combinations (Figure 7), meta-skill density over training
(Figure 9), per-meta-skill FDR / semantic / lexical diversity (Figure 5), and across a questioner x
answerer matrix the universally hard and the model-specific skills (Tables 8-9).

Every analysis takes `SkillRow`s: valid, judged questions with their skills (from the taxonomy, or the
exact world skills). Conventions shared with `scotoma.probe.metrics`: a skill is *covered* by a set of
questions when more than `min_questions` (20) of them need it; a question counts once per distinct skill;
rates are failures / questions. Semantic diversity is the Vendi score and lexical diversity the prefix
evenness of `scotoma.probe.metrics`, so the figures agree with the probe's own.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scotoma.probe.metrics import lexical_diversity, vendi_score


@dataclass(frozen=True)
class SkillRow:
    """One valid, judged question.

    Attributes:
        method: the method that asked it.
        failed: the target answered it wrongly.
        skills: its distinct skills.
        question: the text (for lexical and semantic diversity).
        step: the training step it was asked at (None outside training).
        questioner: the questioner model (Tables 8-9).
        answerer: the target model (Tables 8-9).
    """

    method: str
    failed: bool
    skills: tuple[str, ...]
    question: str = ""
    step: int | None = None
    questioner: str = ""
    answerer: str = ""


@dataclass(frozen=True)
class Rate:
    """failures / n (nan for n = 0)."""

    failures: int
    n: int

    @property
    def value(self) -> float:
        return self.failures / self.n if self.n else math.nan


def failure_rate(rows: Iterable[SkillRow]) -> Rate:
    """FDR of the rows."""
    rows = list(rows)
    return Rate(sum(r.failed for r in rows), len(rows))


def skill_counts(rows: Iterable[SkillRow]) -> Counter[str]:
    """Skill -> questions needing it."""
    return Counter(skill for r in rows for skill in set(r.skills))


def skill_coverage(rows: Sequence[SkillRow]) -> float:
    """Mean number of distinct skills per question (nan without rows)."""
    return sum(len(set(r.skills)) for r in rows) / len(rows) if rows else math.nan


def covered_skills(rows: Iterable[SkillRow], min_questions: int = 20) -> set[str]:
    """Skills needed by more than `min_questions` questions."""
    return {s for s, n in skill_counts(rows).items() if n > min_questions}


def number_of_skills(rows: Iterable[SkillRow], min_questions: int = 20) -> int:
    """# Skills (Table 1): skills with more than `min_questions` questions."""
    return len(covered_skills(rows, min_questions))


def skill_failure_rates(rows: Iterable[SkillRow], min_questions: int = 0) -> dict[str, Rate]:
    """Skill -> its failure rate, for skills with more than `min_questions` questions."""
    by_skill: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        for skill in set(r.skills):
            by_skill[skill].append(r.failed)
    return {s: Rate(sum(v), len(v)) for s, v in sorted(by_skill.items()) if len(v) > min_questions}


def meta_skill_failure_rates(rows: Iterable[SkillRow], meta_of: Mapping[str, str]) -> dict[str, Rate]:
    """Meta-skill -> failure rate over the questions touching it (once per question)."""
    by_meta: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        for meta in {meta_of[s] for s in r.skills if s in meta_of}:
            by_meta[meta].append(r.failed)
    return {m: Rate(sum(v), len(v)) for m, v in sorted(by_meta.items())}


def mean_skill_failure_rate(rows: Iterable[SkillRow], min_questions: int = 100) -> float:
    """Table 2: the mean failure rate over skills with more than `min_questions` questions."""
    rates = skill_failure_rates(rows, min_questions)
    return sum(r.value for r in rates.values()) / len(rates) if rates else math.nan


@dataclass(frozen=True)
class ExclusiveSkill:
    """A skill covered only by methods of one group (Table 3).

    Attributes:
        skill: the skill.
        rates: method of the group -> its failure rate on the skill, None where it does not cover it.
        mean: the mean of the rates present.
    """

    skill: str
    rates: dict[str, Rate | None]
    mean: float


def exclusive_skills(
    rows: Sequence[SkillRow], group: Collection[str], min_questions: int = 20
) -> list[ExclusiveSkill]:
    """Skills covered by at least one method of `group` and by no method outside it, hardest first."""
    methods = list(dict.fromkeys(r.method for r in rows))
    covered = {m: covered_skills((r for r in rows if r.method == m), min_questions) for m in methods}
    inside = set().union(*(covered[m] for m in methods if m in group))
    outside = set().union(*(covered[m] for m in methods if m not in group))
    out = []
    for skill in inside - outside:
        rates: dict[str, Rate | None] = {}
        for m in (m for m in methods if m in group):
            rates[m] = failure_rate(r for r in rows if r.method == m and skill in r.skills)
            if skill not in covered[m]:
                rates[m] = None
        present = [r.value for r in rates.values() if r is not None]
        out.append(ExclusiveSkill(skill, rates, sum(present) / len(present)))
    return sorted(out, key=lambda e: (-e.mean, e.skill))


def unique_skill_combinations(rows: Iterable[SkillRow]) -> int:
    """Distinct non-empty skill sets among the questions (Figure 7a)."""
    return len({frozenset(r.skills) for r in rows if r.skills})


def skills_per_question(rows: Sequence[SkillRow], top: int = 5) -> dict[str, float]:
    """Share of questions needing 0, 1, ..., top-1 and `top`+ skills (Figure 7b); shares sum to 1."""
    counts = Counter(min(len(set(r.skills)), top) for r in rows)
    return {
        (f"{k}+" if k == top else str(k)): (counts[k] / len(rows) if rows else 0.0) for k in range(top + 1)
    }


def fdr_curve(failed: Sequence[bool | None], points: int = 20) -> list[tuple[int, float]]:
    """Figure 8: (questions generated so far, cumulative FDR) at `points` evenly spaced places.

    Args:
        failed: per generated question in order, True/False for a valid judged one, None for the rest
            (invalid or unjudged: they count as generated, not in the FDR).
        points: how many places.
    """
    n = len(failed)
    marks = sorted({max(1, round(n * (i + 1) / points)) for i in range(points)}) if n else []
    curve, valid, failures, at = [], 0, 0, 0
    for mark in marks:
        for outcome in failed[at:mark]:
            if outcome is not None:
                valid += 1
                failures += outcome
        at = mark
        curve.append((mark, failures / valid if valid else math.nan))
    return curve


@dataclass(frozen=True)
class Density:
    """Figure 9: share of the questions of each step bin that touch each meta-skill.

    Attributes:
        edges: bin edges over the training steps (len = bins + 1).
        counts: questions per bin.
        share: meta-skill -> share per bin (0 for an empty bin).
    """

    edges: list[float]
    counts: list[int]
    share: dict[str, list[float]]


def meta_skill_density(rows: Sequence[SkillRow], meta_of: Mapping[str, str], bins: int = 10) -> Density:
    """Bin the rows that have a step into `bins` equal-width step ranges (last one closed)."""
    stepped = [r for r in rows if r.step is not None]
    if not stepped:
        return Density([], [], {})
    steps = [int(r.step) for r in stepped if r.step is not None]
    low, high = min(steps), max(steps)
    bins = 1 if high == low else bins
    edges = np.linspace(low, high, bins + 1).tolist()
    index = [min(int((s - low) / (high - low) * bins), bins - 1) if high > low else 0 for s in steps]
    counts = Counter(index)
    touched: dict[str, Counter[int]] = defaultdict(Counter)
    for row, b in zip(stepped, index, strict=True):
        for meta in {meta_of[s] for s in row.skills if s in meta_of}:
            touched[meta][b] += 1
    share = {
        m: [touched[m][b] / counts[b] if counts[b] else 0.0 for b in range(bins)] for m in sorted(touched)
    }
    return Density(edges, [counts[b] for b in range(bins)], share)


def meta_skill_profile(
    rows: Sequence[SkillRow],
    meta_of: Mapping[str, str],
    vectors: Mapping[str, np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:
    """Figure 5: meta-skill -> {"fdr", "sd", "ld", "n"} over the questions touching it.

    SD (Vendi score) needs `vectors` (question text -> unit embedding) and is nan without them or when a
    question has none.
    """
    groups: dict[str, list[SkillRow]] = defaultdict(list)
    for r in rows:
        for meta in {meta_of[s] for s in r.skills if s in meta_of}:
            groups[meta].append(r)
    out = {}
    for meta, members in sorted(groups.items()):
        texts = [r.question for r in members]
        sd = math.nan
        if vectors is not None and texts and all(t in vectors for t in texts):
            sd = vendi_score(np.stack([vectors[t] for t in texts]))
        out[meta] = {
            "fdr": failure_rate(members).value,
            "sd": sd,
            "ld": lexical_diversity(texts),
            "n": float(len(members)),
        }
    return out
