"""Probing against a base model (differential testing): a failure counts only where the base model answers
right; in scoring, in the GRPO reward (hand-computed), in the records and in a whole run."""

import json

import pytest
from tests.test_probe_reward import C1, C2, Q1, Q2, Q3, A, TableEmbedder

from scotoma.judge.verifiers import OracleVerifier
from scotoma.models import ScriptedModel
from scotoma.models.embed import HashingEmbedder
from scotoma.probe.banks import MemoryBanks
from scotoma.probe.config import ProbeConfig
from scotoma.probe.core import Probe, question_record
from scotoma.probe.prompts import PromptSet
from scotoma.probe.reward import ProbeReward, RewardConfig
from scotoma.probe.run import run_probe
from scotoma.types import Completion

PROMPTS = PromptSet.resolve("builtin:q", "builtin:a")


def base_model(answers):
    """Answers each question (the last line of the user turn) from `answers`."""
    return ScriptedModel(lambda c: next(a for q, a in answers.items() if q in c.messages[-1].text))


# The target says "no" to everything: Q1 (right: yes) and Q2 (right: 2) are wrong, Q3 (no) is right.
# The base model gets Q1 right and Q2 wrong: Q1 is the target's own failure, Q2 a shared one.
BASE = {Q1: "yes", Q2: "no", Q3: "yes"}


def test_a_failure_counts_only_where_the_base_model_answers_right():
    base = base_model(BASE)
    probe = Probe(None, ScriptedModel("no"), OracleVerifier(), PROMPTS, k=2, base=base)
    (pair, single) = probe.score([(A, C1), (A, C2)])
    own, shared = pair.questions
    assert own.wrong and own.failed and own.shared is False and own.base_answer == "yes"
    assert shared.wrong and not shared.failed and shared.shared is True and shared.base_answer == "no"
    (right, _missing) = single.questions
    assert right.valid and not right.wrong and right.shared is None and right.base_answer is None
    # only what the target got wrong goes to the base model, in one call
    assert base.calls == 1 and len(base.seen) == 2
    records = [question_record(pair, q) for q in pair.questions]
    assert [(r["failed"], r["correct"], r["shared"], r["base_answer"]) for r in records] == [
        (True, False, False, "yes"),
        (False, False, True, "no"),
    ]
    # without a base model, records keep their keys
    plain = Probe(None, ScriptedModel("no"), OracleVerifier(), PROMPTS, k=2).score([(A, C1)])[0]
    assert all(q.failed for q in plain.questions)
    assert "shared" not in question_record(plain, plain.questions[0])


def test_a_base_call_that_failed_leaves_the_question_unjudged():
    class Down(ScriptedModel):
        def generate(self, conversations, config):
            return [Completion("", finish_reason="error", error="down") for _ in conversations]

    probe = Probe(None, ScriptedModel("no"), OracleVerifier(), PROMPTS, k=2, base=Down("x"))
    own, _ = probe.score([(A, C1)])[0].questions
    assert not own.judged and not own.failed and "base_error: down" in own.judgement.detail


def reward_of(base):
    probe = Probe(None, ScriptedModel("no"), OracleVerifier(), PROMPTS, k=2, base=base)
    reward = ProbeReward(probe, {"a": A}, MemoryBanks(TableEmbedder(), 2, "failures"), RewardConfig())
    return reward(prompts=[None], completions=[[{"role": "assistant", "content": C1}]], sample_key=["a"])


def test_the_reward_pays_only_the_targets_own_failures():
    # Eq. 5, sum form, empty banks. Without a base: Q1 2.0 (delta_emb 1, delta_ifreq 1), Q2 1.4 (cos(Q1, Q2)
    # = 0.6 with Q1 earlier in the output: delta_emb 0.4; another prefix: delta_ifreq 1); mean 1.7.
    assert reward_of(None) == [pytest.approx(1.7)]
    # With the base model sharing Q2's failure, Q2 is a valid question answered "right enough": 0.
    assert reward_of(base_model(BASE)) == [pytest.approx(1.0)]


def test_a_run_with_a_base_model(tmp_path):
    # "no" against "yes": a blue circle that is there is the target's own failure, a count a shared one
    # (each under its own spec: the response cache keys answers by it)
    scripts = {"scripted:q": C1, "scripted:a": "no", "scripted:b": "yes"}
    models = {name: ScriptedModel(text, spec=name) for name, text in scripts.items()}
    config = ProbeConfig(
        questioner="scripted:q", answerer="scripted:a", base="scripted:b", methods=["zero_shot"],
        world_samples=8, eval_generations=1, cache=str(tmp_path / "cache.sqlite"),
    )  # fmt: skip
    result = run_probe(config, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    records = [json.loads(line) for line in (result.out_dir / "records.jsonl").read_text().splitlines()]
    valid = [r for r in records if r["valid"]]
    own = [r for r in valid if r["failed"]]
    assert own and all(r["question"] == Q1 and r["correct"] is False and r["shared"] is False for r in own)
    assert {r["question"] for r in valid if r.get("shared")} == {Q2}  # every count failure shared, left out
    assert result.metrics["methods"]["zero_shot"]["fdr"] == len(own) / len(valid)
    assert result.metrics["base"] == "scripted:b"
    assert "Base model <b>scripted:b</b>" in (result.out_dir / "summary.html").read_text()
    spec = json.loads((result.out_dir / "spec.json").read_text())
    assert spec["config"]["base"] == "scripted:b"


def test_base_is_part_of_a_runs_identity_only_when_set():
    assert "base" not in ProbeConfig().identity()
    config = ProbeConfig(answerer="builtin:answerer-yellow-unseen", base="builtin:answerer")
    assert config.identity()["base"] == "builtin:answerer"
    with pytest.raises(ValueError, match="answerer itself"):
        ProbeConfig(base="builtin:answerer")


def test_the_loops_probe_takes_the_base_model():
    from scotoma.loop import LoopConfig

    assert "base" not in LoopConfig().identity()
    config = LoopConfig(answerer="builtin:answerer-mirror-lr", base="builtin:answerer")
    assert config.identity()["base"] == "builtin:answerer"
    with pytest.raises(ValueError, match="answerer itself"):
        LoopConfig(base="builtin:answerer")
