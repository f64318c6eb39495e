"""Skill analyses (paper 000, sections 4.2-4.7) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scotoma.taxonomy.analyses import (
    SkillRow,
    exclusive_skills,
    failure_rate,
    fdr_curve,
    mean_skill_failure_rate,
    meta_skill_density,
    meta_skill_failure_rates,
    meta_skill_profile,
    number_of_skills,
    skill_counts,
    skill_coverage,
    skill_failure_rates,
    skills_per_question,
    unique_skill_combinations,
)
from scotoma.taxonomy.landscape import failure_landscape, landscapes

META = {"x": "M1", "y": "M1", "z": "M2"}


@pytest.fixture
def rows() -> list[SkillRow]:
    return [
        SkillRow("a", True, ("x", "y"), "How many circles?"),
        SkillRow("a", False, ("x",), "What color is it?"),
        SkillRow("a", True, ("y", "z"), "How many squares?"),
        SkillRow("b", False, ("x",)),
        SkillRow("b", True, ("z",)),
        SkillRow("b", True, ()),
    ]


def test_coverage_counts_and_number_of_skills(rows):
    assert skill_coverage(rows) == pytest.approx(7 / 6)
    assert skill_counts(rows) == {"x": 3, "y": 2, "z": 2}
    assert number_of_skills(rows, min_questions=1) == 3  # more than one question each
    assert number_of_skills(rows, min_questions=2) == 1  # only x has more than two
    assert math.isnan(skill_coverage([]))


def test_failure_rates_per_skill_and_meta_skill(rows):
    rates = skill_failure_rates(rows)
    assert {s: (r.failures, r.n) for s, r in rates.items()} == {"x": (1, 3), "y": (2, 2), "z": (2, 2)}
    assert set(skill_failure_rates(rows, min_questions=2)) == {"x"}
    meta = meta_skill_failure_rates(rows, META)
    # A question touching two skills of M1 counts once for M1.
    assert {m: (r.failures, r.n) for m, r in meta.items()} == {"M1": (2, 4), "M2": (2, 2)}
    assert mean_skill_failure_rate(rows, min_questions=1) == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert failure_rate(rows).value == pytest.approx(4 / 6)


def test_exclusive_skills_of_a_group(rows):
    found = exclusive_skills(rows, {"a"}, min_questions=1)
    # a covers x (2 questions) and y (2); b covers nothing above one question.
    assert [e.skill for e in found] == ["y", "x"]
    assert found[0].rates["a"].value == 1.0 and found[1].rates["a"].value == 0.5
    assert found[0].mean == 1.0
    assert exclusive_skills(rows, {"b"}, min_questions=1) == []
    # With a lower bar b covers x and z too, so only y stays exclusive to a.
    assert [e.skill for e in exclusive_skills(rows, {"a"}, min_questions=0)] == ["y"]


def test_exclusive_skills_marks_a_group_member_that_misses_the_skill():
    rows = (
        [SkillRow("rl", True, ("s",))] * 3
        + [SkillRow("rl_sft", False, ("s",))]
        + [SkillRow("zs", True, ("t",))]
    )
    (found,) = exclusive_skills(rows, {"rl", "rl_sft"}, min_questions=2)
    assert found.skill == "s" and found.rates == {"rl": found.rates["rl"], "rl_sft": None}
    assert found.rates["rl"].value == 1.0 and found.mean == 1.0


def test_combinations_and_skills_per_question(rows):
    assert unique_skill_combinations(rows) == 4  # {x,y} {x} {y,z} {z}; the empty set is not a combination
    shares = skills_per_question(rows, top=2)
    assert shares == pytest.approx({"0": 1 / 6, "1": 3 / 6, "2+": 2 / 6})
    assert sum(skills_per_question(rows).values()) == pytest.approx(1.0)


def test_fdr_curve_counts_every_generated_question():
    # Invalid or unjudged questions (None) count as generated, not in the rate.
    assert fdr_curve([True, None, False, True], points=2) == [(2, 1.0), (4, pytest.approx(2 / 3))]
    curve = fdr_curve([None, None], points=4)
    assert [x for x, _ in curve] == [1, 2] and all(math.isnan(y) for _, y in curve)
    assert fdr_curve([], points=5) == []


def test_meta_skill_density_over_steps():
    rows = [
        SkillRow("rl", True, ("x",), step=0),
        SkillRow("rl", True, ("z",), step=4),
        SkillRow("rl", False, ("x", "z"), step=10),
        SkillRow("rl", False, ("x",), step=10),
        SkillRow("rl", False, ("x",), step=None),  # not asked during training: left out
    ]
    density = meta_skill_density(rows, META, bins=2)
    assert density.edges == [0.0, 5.0, 10.0]
    assert density.counts == [2, 2]
    assert density.share == {"M1": [0.5, 1.0], "M2": [0.5, 0.5]}
    single = meta_skill_density(rows[:1], META, bins=4)
    assert single.counts == [1] and single.share == {"M1": [1.0]}
    assert meta_skill_density(rows[4:], META).share == {}


def test_meta_skill_profile_fdr_semantic_and_lexical_diversity():
    rows = [
        SkillRow("a", True, ("x",), "How many circles are there?"),
        SkillRow("a", False, ("y",), "What color is the square?"),
        SkillRow("a", True, ("z",), "How many squares are there?"),
    ]
    e1, e2 = np.eye(2, dtype=np.float32)
    vectors = {rows[0].question: e1, rows[1].question: e2, rows[2].question: e1}
    profile = meta_skill_profile(rows, META, vectors)
    assert profile["M1"]["fdr"] == 0.5 and profile["M1"]["n"] == 2
    assert profile["M1"]["sd"] == pytest.approx(2.0)  # two orthogonal questions: Vendi score 2
    assert profile["M1"]["ld"] == pytest.approx(1.0)  # two prefixes, once each: evenness 1
    assert profile["M2"]["sd"] == pytest.approx(1.0) and profile["M2"]["ld"] == 0.0
    assert math.isnan(meta_skill_profile(rows, META)["M1"]["sd"])  # no embeddings, no SD


def _matrix(table: dict[str, tuple[float, ...]], answerers=("3B", "7B", "8B"), n=1000) -> list[SkillRow]:
    rows = []
    for skill, rates in table.items():
        for answerer, rate in zip(answerers, rates, strict=True):
            failures = round(rate * n / 100)
            rows += [
                SkillRow("rl", i < failures, (skill,), questioner="q3B", answerer=answerer) for i in range(n)
            ]
    return rows


def test_landscape_reproduces_the_papers_table_8():
    paper = {  # Table 8 rows: FDR % under the 3B, 7B and 8B answerers, and the paper's sigma
        "fine-grained diff. detection": (58.2, 44.4, 12.2),  # sigma 23.6
        "ui recognition": (56.6, 60.9, 23.5),  # sigma 20.4
        "pattern matching": (56.4, 51.6, 21.2),  # sigma 19.1
        "sign recognition": (57.5, 49.2, 49.9),
    }
    land = failure_landscape(_matrix(paper), "q3B", top=10)
    assert land.answerers == ["3B", "7B", "8B"] and land.n_skills == 4
    assert [r.skill for r in land.hard] == [  # by minimum: 49.2, 23.5, 21.2, 12.2
        "sign recognition",
        "ui recognition",
        "pattern matching",
        "fine-grained diff. detection",
    ]
    assert [r.skill for r in land.specific][:3] == [
        "fine-grained diff. detection",
        "ui recognition",
        "pattern matching",
    ]
    # The sample standard deviation (ddof 1) gives the paper's sigma column; the paper computed it from
    # unrounded rates, so it agrees to within 0.1 point.
    sigma = {r.skill: 100 * r.spread for r in land.specific}
    assert sigma["fine-grained diff. detection"] == pytest.approx(23.6, abs=0.1)
    assert sigma["ui recognition"] == pytest.approx(20.4, abs=0.1)
    assert sigma["pattern matching"] == pytest.approx(19.1, abs=0.1)
    assert land.hard[0].rates == pytest.approx((0.575, 0.492, 0.499))


def test_landscape_needs_the_skill_under_every_answerer_and_two_answerers():
    rows = _matrix({"a": (50.0, 40.0)}, answerers=("3B", "7B"))
    rows += _matrix({"b": (90.0,)}, answerers=("3B",))  # b is never asked of 7B
    land = failure_landscape(rows, "q3B")
    assert [r.skill for r in land.hard] == ["a"]
    with pytest.raises(ValueError, match="needs two or more"):
        failure_landscape(_matrix({"a": (50.0,)}, answerers=("3B",)), "q3B")
    assert landscapes(_matrix({"a": (50.0,)}, answerers=("3B",))) == []
    assert len(landscapes(rows)) == 1
