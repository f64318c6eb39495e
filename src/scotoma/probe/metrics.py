"""The failure-discovery metrics of paper 000 (section 4.1, Tables 1-3, Figures 7-8), from question records.

A record is one question slot as `scotoma.probe.core.question_record` writes it: `judged`, `valid`,
`failed`, `question`, `skills`. Unjudged records (a judge without a readable verdict) are left out of
every metric and counted apart; a missing slot is judged, and invalid. As in the paper, every metric but
QVR is computed on valid questions only.

- QVR: valid / judged questions.  FDR: failed (answered wrongly) / valid questions.
- Semantic diversity (SD): the Vendi score of the questions' unit MiniLM embeddings, exp of the entropy
  of the eigenvalues of K/n with K the cosine-similarity matrix (computed from the d x d dual X^T X / n,
  whose non-zero eigenvalues are the same). It ranges from 1 (all alike) to n (all orthogonal).
- Lexical diversity (LD): the entropy of the distribution of question prefixes (first two words),
  divided by the log of the number of distinct prefixes (Pielou's evenness), so it lies in [0, 1] as the
  paper's values do; 0 when a single prefix is used. `prefix_entropy` gives the raw entropy in nats.
- Skill coverage (SC): mean number of distinct skills per question. Number of skills: skills needed by
  more than `min_questions` (20) questions. Per-skill failure rate, its mean over skills with more than
  100 questions (Table 2), skills exclusive to one method (Table 3), unique skill combinations and the
  distribution of skills per question (Figure 7), FDR against cumulative questions (Figure 8).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from scotoma.models.embed import Embedder
from scotoma.probe.prompts import question_prefix

Record = Mapping[str, Any]

#: What each metric means, in words for a reader ({min}: the skill threshold); the summary's and the
#: report's tables show them as header tooltips and as definitions under the table.
DEFINITIONS = {
    "questions": "question slots asked (k per questioner output), valid or not",
    "qvr": "question validity rate: valid questions / judged questions",
    "fdr": "failure discovery rate: valid questions the target answered wrongly / valid questions",
    "semantic_diversity": "semantic diversity: Vendi score of the valid questions' sentence embeddings "
    "(from 1, all alike, to their number, all different)",
    "lexical_diversity": "lexical diversity: entropy of the valid questions' two-word prefixes / log(number "
    "of distinct prefixes), from 0 to 1",
    "number_of_skills": "skills needed by more than {min} valid questions",
    "skill_coverage": "skill coverage: mean number of distinct skills per valid question",
    "unique_skill_combinations": "distinct sets of skills among the valid questions",
}


def judged(records: Iterable[Record]) -> list[Record]:
    """Records the verifier decided (missing slots included: they are invalid)."""
    return [r for r in records if r.get("judged", True)]


def valid(records: Iterable[Record]) -> list[Record]:
    """Judged records of valid questions."""
    return [r for r in judged(records) if r["valid"]]


def question_validity_rate(records: Iterable[Record]) -> float:
    """QVR: valid / judged; nan without judged records."""
    decided = judged(records)
    return sum(bool(r["valid"]) for r in decided) / len(decided) if decided else math.nan


def failure_discovery_rate(records: Iterable[Record]) -> float:
    """FDR: failed / valid; nan without valid records."""
    good = valid(records)
    return sum(bool(r["failed"]) for r in good) / len(good) if good else math.nan


def vendi_score(embeddings: np.ndarray) -> float:
    """The Vendi score of embeddings under cosine similarity: exp(-sum lambda log lambda) over the
    eigenvalues lambda of K/n, K the n x n matrix of cosine similarities (Friedman and Dieng, 2023).

    Rows are scaled to unit length first, so K has ones on its diagonal as the score requires (unscaled
    rows would give a spectrum that does not sum to 1, and a meaningless score). The eigenvalues are taken
    from whichever of X X^T / n (n x n) and X^T X / n (d x d) is smaller: both have the same non-zero
    spectrum, and a skill often has far fewer questions than the 384 dimensions. nan without rows.

    Raises:
        ValueError: a row is all zeros (it has no direction, so no similarity to anything).
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        return math.nan
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError(f"embedding row {int(np.argmin(norms[:, 0]))} is all zeros; Vendi needs a direction")
    x = x / norms
    gram = x @ x.T if len(x) < x.shape[1] else x.T @ x
    eigenvalues = np.linalg.eigvalsh(gram / len(x))
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    return float(np.exp(-np.sum(eigenvalues * np.log(eigenvalues))))


def semantic_diversity(questions: Sequence[str], embedder: Embedder) -> float:
    """SD: the Vendi score of the questions' embeddings (nan without questions)."""
    return vendi_score(embedder.encode(list(questions))) if questions else math.nan


def prefix_entropy(questions: Iterable[str], words: int = 2) -> float:
    """Entropy (nats) of the distribution of the questions' first `words` words."""
    counts = Counter(question_prefix(q, words) for q in questions)
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else math.nan


def lexical_diversity(questions: Sequence[str], words: int = 2) -> float:
    """LD: prefix entropy over log(distinct prefixes), in [0, 1]; 0 for a single prefix, nan for none."""
    if not questions:
        return math.nan
    distinct = len({question_prefix(q, words) for q in questions})
    return prefix_entropy(questions, words) / math.log(distinct) if distinct > 1 else 0.0


def skill_counts(records: Iterable[Record]) -> Counter[str]:
    """Skill -> valid questions that need it."""
    return Counter(skill for r in valid(records) for skill in set(r.get("skills") or ()))


def skill_coverage(records: Iterable[Record]) -> float:
    """SC: mean number of distinct skills per valid question."""
    good = valid(records)
    return sum(len(set(r.get("skills") or ())) for r in good) / len(good) if good else math.nan


def covered_skills(records: Iterable[Record], min_questions: int = 20) -> set[str]:
    """Skills needed by more than `min_questions` valid questions."""
    return {skill for skill, count in skill_counts(records).items() if count > min_questions}


def number_of_skills(records: Iterable[Record], min_questions: int = 20) -> int:
    """# Skills: skills with more than `min_questions` valid questions (the paper filters at 20)."""
    return len(covered_skills(records, min_questions))


def per_skill_failure_rate(records: Iterable[Record], min_questions: int = 0) -> dict[str, float]:
    """Skill -> failed / valid among the questions that need it (skills above `min_questions` only)."""
    asked: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for r in valid(records):
        for skill in set(r.get("skills") or ()):
            asked[skill] += 1
            failed[skill] += bool(r["failed"])
    return {s: failed[s] / asked[s] for s in sorted(asked) if asked[s] > min_questions}


def per_skill_counts(records: Iterable[Record]) -> dict[str, dict[str, int]]:
    """Skill -> {"questions": judged questions that need it, valid or not; "valid": the valid ones;
    "failures": the valid ones the target failed}, skills in name order (the summary's per-skill table)."""
    counts: dict[str, dict[str, int]] = {}
    for r in judged(records):
        for skill in set(r.get("skills") or ()):
            row = counts.setdefault(skill, {"questions": 0, "valid": 0, "failures": 0})
            row["questions"] += 1
            row["valid"] += bool(r["valid"])
            row["failures"] += bool(r["valid"] and r["failed"])
    return dict(sorted(counts.items()))


def mean_per_skill_failure_rate(records: Iterable[Record], min_questions: int = 100) -> float:
    """Table 2: the mean over skills with more than `min_questions` questions of their failure rate."""
    rates = per_skill_failure_rate(records, min_questions)
    return sum(rates.values()) / len(rates) if rates else math.nan


def exclusive_skills(
    by_method: Mapping[str, Iterable[Record]], min_questions: int = 20
) -> dict[str, list[str]]:
    """Method -> skills it covers (> min_questions) that no other method covers (Table 3)."""
    covered = {m: covered_skills(list(rs), min_questions) for m, rs in by_method.items()}
    return {
        m: sorted(skills - set().union(*(s for other, s in covered.items() if other != m)))
        for m, skills in covered.items()
    }


def unique_skill_combinations(records: Iterable[Record]) -> int:
    """Distinct sets of skills among valid questions (Figure 7a)."""
    return len({frozenset(r.get("skills") or ()) for r in valid(records) if r.get("skills")})


def skills_per_question(records: Iterable[Record]) -> dict[int, int]:
    """Number of skills -> valid questions that need that many (Figure 7b)."""
    return dict(sorted(Counter(len(set(r.get("skills") or ())) for r in valid(records)).items()))


def fdr_curve(records: Sequence[Record], points: int = 20) -> list[tuple[int, float]]:
    """(questions generated so far, cumulative FDR) at `points` evenly spaced places, in record order."""
    n = len(records)
    if n == 0:
        return []
    marks = sorted({max(1, round(n * (i + 1) / points)) for i in range(points)})
    curve, n_valid, n_failed, at = [], 0, 0, 0
    for mark in marks:
        for r in records[at:mark]:
            if r.get("judged", True) and r["valid"]:
                n_valid += 1
                n_failed += bool(r["failed"])
        at = mark
        curve.append((mark, n_failed / n_valid if n_valid else math.nan))
    return curve


def summarize(
    records: Sequence[Record], embedder: Embedder | None = None, min_questions: int = 20
) -> dict[str, Any]:
    """Every metric of one method's records (SD only with an embedder). Skills count when more than
    `min_questions` valid questions need them, for # skills and the mean per-skill failure rate alike (the
    paper uses 20 and 100; a small run has few skills above 100)."""
    good = valid(records)
    texts = [r["question"] for r in good]
    rates = per_skill_failure_rate(records)
    return {
        "questions": len(records),
        "judged": len(judged(records)),
        "unjudged": len(records) - len(judged(records)),
        "valid": len(good),
        "failures": sum(bool(r["failed"]) for r in good),
        "qvr": question_validity_rate(records),
        "fdr": failure_discovery_rate(records),
        "semantic_diversity": semantic_diversity(texts, embedder) if embedder is not None else math.nan,
        "lexical_diversity": lexical_diversity(texts),
        "prefix_entropy": prefix_entropy(texts) if texts else math.nan,
        "skill_coverage": skill_coverage(records),
        "number_of_skills": number_of_skills(records, min_questions),
        "unique_skill_combinations": unique_skill_combinations(records),
        "skills_per_question": skills_per_question(records),
        "skill_counts": dict(sorted(skill_counts(records).items())),
        "per_skill_failure_rate": rates,
        "per_skill": per_skill_counts(records),
        "mean_per_skill_failure_rate": mean_per_skill_failure_rate(records, min_questions),
        "top_prefixes": Counter(question_prefix(t, 2) for t in texts).most_common(10),
    }


__all__ = [
    "DEFINITIONS",
    "covered_skills",
    "exclusive_skills",
    "failure_discovery_rate",
    "fdr_curve",
    "judged",
    "lexical_diversity",
    "mean_per_skill_failure_rate",
    "number_of_skills",
    "per_skill_counts",
    "per_skill_failure_rate",
    "prefix_entropy",
    "question_validity_rate",
    "semantic_diversity",
    "skill_counts",
    "skill_coverage",
    "skills_per_question",
    "summarize",
    "unique_skill_combinations",
    "valid",
    "vendi_score",
]
