"""Failure-discovery metrics (paper 000, section 4.1) against hand-computed values."""

import math

import numpy as np
import pytest

from scotoma.models.embed import HashingEmbedder, unit_rows
from scotoma.probe.metrics import (
    exclusive_skills,
    failure_discovery_rate,
    fdr_curve,
    lexical_diversity,
    mean_per_skill_failure_rate,
    number_of_skills,
    per_skill_counts,
    per_skill_failure_rate,
    prefix_entropy,
    question_validity_rate,
    skill_coverage,
    skills_per_question,
    summarize,
    unique_skill_combinations,
    vendi_score,
)


def rec(question="How many circles?", valid=True, failed=False, skills=("counting",), judged=True):
    return {"question": question, "valid": valid, "failed": failed, "skills": list(skills), "judged": judged}


RECORDS = [
    rec("How many circles?", failed=True, skills=("counting", "attribute:shape")),
    rec("How many squares?", skills=("counting", "attribute:shape")),
    rec("Is there a blue circle?", failed=True, skills=("existence", "attribute:color", "attribute:shape")),
    rec("What color is the square?", skills=("attribute:color",)),
    rec("Purple?", valid=False, failed=False, skills=()),
    rec(None, valid=False, skills=()),  # a missing slot: judged, invalid
    rec("Lost?", valid=False, judged=False, skills=()),  # unjudged: left out everywhere
]


def test_qvr_and_fdr():
    assert question_validity_rate(RECORDS) == pytest.approx(4 / 6)
    assert failure_discovery_rate(RECORDS) == pytest.approx(2 / 4)
    assert math.isnan(failure_discovery_rate([rec(valid=False)])) and math.isnan(question_validity_rate([]))


def test_vendi_score_by_hand():
    assert vendi_score(np.ones((5, 3)) / math.sqrt(3)) == pytest.approx(1.0)  # all alike
    assert vendi_score(np.eye(4)) == pytest.approx(4.0)  # all orthogonal
    # two unit vectors with cosine c: K/2 has eigenvalues (1 + c)/2 and (1 - c)/2
    c = 0.6
    x = np.array([[1.0, 0.0], [c, math.sqrt(1 - c * c)]])
    lam = np.array([(1 + c) / 2, (1 - c) / 2])
    assert vendi_score(x) == pytest.approx(math.exp(-np.sum(lam * np.log(lam))))
    # the dual route equals the n x n kernel route
    rng = np.random.default_rng(0)
    y = unit_rows(rng.normal(size=(30, 8)))
    w = np.linalg.eigvalsh(y @ y.T / 30)
    w = w[w > 1e-12]
    assert vendi_score(y) == pytest.approx(math.exp(-np.sum(w * np.log(w))))


def test_vendi_score_scales_rows_refuses_zero_rows_and_takes_the_smaller_gram():
    rng = np.random.default_rng(0)
    for n, d in ((5, 16), (40, 8)):  # fewer questions than dimensions, and more
        x = rng.normal(size=(n, d))
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        k = unit @ unit.T / n  # the definition, n x n
        lam = np.linalg.eigvalsh(k)
        lam = lam[lam > 1e-12]
        assert vendi_score(x * 7.5) == pytest.approx(math.exp(-np.sum(lam * np.log(lam))), rel=1e-9)
    assert vendi_score(np.eye(3) * 2) == pytest.approx(3.0) and math.isnan(vendi_score(np.zeros((0, 4))))
    with pytest.raises(ValueError, match="row 1 is all zeros"):
        vendi_score(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_vendi_score_matches_the_vendi_score_package():
    vendi = pytest.importorskip("vendi_score.vendi")
    rng = np.random.default_rng(1)
    for n, d in ((50, 16), (10, 64), (200, 384)):
        x = rng.normal(size=(n, d))
        assert vendi_score(unit_rows(x)) == pytest.approx(vendi.score_dual(x), rel=1e-6)


def test_lexical_diversity_by_hand():
    questions = ["How many circles?", "how many squares", "Is there a circle?", "What color is it?"]
    h = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert prefix_entropy(questions) == pytest.approx(h)
    assert lexical_diversity(questions) == pytest.approx(h / math.log(3))
    assert lexical_diversity(["How many a?", "How many b?"]) == 0.0  # collapse onto one template
    assert lexical_diversity(["How many?", "Is there?"]) == pytest.approx(1.0)
    assert math.isnan(lexical_diversity([]))
    assert prefix_entropy(["How many a?", "How much b?"], words=1) == 0.0


def test_skill_metrics_by_hand():
    assert skill_coverage(RECORDS) == pytest.approx((2 + 2 + 3 + 1) / 4)
    assert per_skill_failure_rate(RECORDS) == {
        "attribute:color": 0.5,
        "attribute:shape": pytest.approx(2 / 3),
        "counting": 0.5,
        "existence": 1.0,
    }
    assert per_skill_failure_rate(RECORDS, min_questions=2) == {"attribute:shape": pytest.approx(2 / 3)}
    assert per_skill_counts([*RECORDS, rec("Red?", valid=False, skills=("existence",))]) == {
        "attribute:color": {"questions": 2, "valid": 2, "failures": 1},
        "attribute:shape": {"questions": 3, "valid": 3, "failures": 2},
        "counting": {"questions": 2, "valid": 2, "failures": 1},
        "existence": {"questions": 2, "valid": 1, "failures": 1},  # "Red?" is asked, not valid
    }
    assert number_of_skills(RECORDS, min_questions=1) == 3  # shape 3, counting 2, color 2 questions
    assert number_of_skills(RECORDS, min_questions=2) == 1
    assert mean_per_skill_failure_rate(RECORDS, min_questions=1) == pytest.approx((0.5 + 2 / 3 + 0.5) / 3)
    assert unique_skill_combinations(RECORDS) == 3
    assert skills_per_question(RECORDS) == {1: 1, 2: 2, 3: 1}


def test_exclusive_skills():
    by_method = {
        "rl": [rec(skills=("counting", "spatial:left"))] * 3,
        "zero_shot": [rec(skills=("counting",))] * 3 + [rec(skills=("existence",))],
    }
    assert exclusive_skills(by_method, min_questions=2) == {"rl": ["spatial:left"], "zero_shot": []}
    assert exclusive_skills(by_method, min_questions=0) == {
        "rl": ["spatial:left"],
        "zero_shot": ["existence"],
    }


def test_fdr_against_cumulative_questions():
    records = [rec(failed=False), rec(valid=False), rec(failed=True), rec(failed=True)]
    assert fdr_curve(records, points=4) == [(1, 0.0), (2, 0.0), (3, 0.5), (4, pytest.approx(2 / 3))]
    assert fdr_curve(records, points=2) == [(2, 0.0), (4, pytest.approx(2 / 3))]
    assert fdr_curve([], points=3) == []
    assert math.isnan(fdr_curve([rec(valid=False)], points=1)[0][1])


def test_summarize():
    summary = summarize(RECORDS, HashingEmbedder(), min_questions=1)
    assert summary["questions"] == 7 and summary["judged"] == 6 and summary["unjudged"] == 1
    assert summary["valid"] == 4 and summary["failures"] == 2
    assert summary["qvr"] == pytest.approx(4 / 6) and summary["number_of_skills"] == 3
    assert 1.0 <= summary["semantic_diversity"] <= 4.0
    assert summary["top_prefixes"][0] == ("how many", 2)
    assert math.isnan(summarize(RECORDS)["semantic_diversity"])  # no embedder, no SD
