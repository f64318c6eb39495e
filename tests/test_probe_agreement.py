"""Judge-vs-oracle agreement in the world: item construction, kappa by hand, any judge backend."""

import json
import math
import random

import pytest

from scotoma.judge.verifiers import CRITERIA, OracleVerifier
from scotoma.judge.vlm_judge import VLMJudge
from scotoma.models import ScriptedModel
from scotoma.probe.agreement import (
    KINDS,
    cohen_kappa,
    compare_judgements,
    measure_agreement,
    world_agreement_items,
    wrong_answer,
)
from scotoma.world.programs.answers import is_correct


def test_items_mix_valid_invalid_right_and_wrong():
    items = world_agreement_items(25, seed=0)
    truth = OracleVerifier().verify(items)
    by_kind = {kind: [truth[i] for i in range(len(items)) if KINDS[i % 5] == kind] for kind in KINDS}
    assert all(j.valid and j.correct for j in by_kind["right_answer"])
    assert all(j.valid and j.correct is False for j in by_kind["wrong_answer"])
    assert all(j.reason == "grammatical" for j in by_kind["shuffled"])
    assert all(j.reason == "atomic" for j in by_kind["joined"])


def test_wrong_answers_are_wrong():
    rng = random.Random(0)
    for answer in (
        "yes",
        "false",
        "0",
        "3",
        "blue",
        "circle",
        "large",
        "image 2",
        "nothing",
        "the black square",
    ):
        assert not is_correct(wrong_answer(answer, rng), answer)


def test_kappa_by_hand():
    # 4 items: truth T T F F, judge T F F F -> observed 3/4; p_truth 1/2, p_judge 1/4;
    # expected 1/2 * 1/4 + 1/2 * 3/4 = 1/2 -> kappa (3/4 - 1/2) / (1/2) = 1/2
    assert cohen_kappa([(True, True), (True, False), (False, False), (False, False)]) == pytest.approx(0.5)
    assert cohen_kappa([(True, True), (False, False)]) == 1.0
    assert cohen_kappa([(True, True), (True, True)]) == 1.0
    assert math.isnan(cohen_kappa([]))


def test_a_perfect_judge_and_a_yes_man():
    items = world_agreement_items(20, seed=1)
    perfect = measure_agreement(items, OracleVerifier())
    assert perfect["validity"]["agreement"] == 1.0 and perfect["validity"]["kappa"] == 1.0
    assert perfect["correctness"]["agreement"] == 1.0 and perfect["unjudged"] == 0
    everything_fine = {c: {"ok": True, "why": "looks fine"} for c in CRITERIA}
    everything_fine |= {"reference_answer": "?", "answer_correct": {"ok": True, "why": "sure"}}
    yes_man = VLMJudge(ScriptedModel("Hmm.\n" + json.dumps(everything_fine)), spec="judge:yes-man")
    report = measure_agreement(items, yes_man)
    truth = OracleVerifier().verify(items)
    share_valid = sum(j.valid for j in truth) / len(truth)
    assert report["judge"] == "judge:yes-man" and report["items"] == 20
    assert report["validity"]["agreement"] == pytest.approx(share_valid)
    assert report["validity"]["kappa"] == pytest.approx(0.0)  # a constant judge agrees by chance only
    assert report["validity"]["judge_only"] == sum(not j.valid for j in truth)
    right = sum(j.valid and j.correct for j in truth) / sum(j.valid for j in truth)
    assert report["correctness"]["agreement"] == pytest.approx(right)
    assert report["criteria"]["grammatical"]["agreement"] < 1.0  # the shuffled questions


def test_unjudged_items_are_counted_not_scored():
    items = world_agreement_items(5, seed=2)
    truth = OracleVerifier().verify(items)
    judge = VLMJudge(ScriptedModel("no verdict"))
    report = compare_judgements(truth, judge.verify(items))
    assert report["unjudged"] == 5 and report["validity"]["n"] == 0
