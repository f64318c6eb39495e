"""One probe round with scripted models: batching, records, resume, folders of real images with a judge."""

import json

import pytest
from PIL import Image

from scotoma.cache import CachedModel, ResponseCache
from scotoma.judge.verifiers import CRITERIA, OracleVerifier, VerifierError
from scotoma.judge.vlm_judge import VLMJudge
from scotoma.models import ScriptedModel
from scotoma.probe.config import ProbeConfig, default_out_dir, probe_config
from scotoma.probe.core import Probe
from scotoma.probe.loop import method_records, run_round
from scotoma.probe.prompts import PromptSet
from scotoma.probe.samples import by_key, folder_samples, world_samples
from scotoma.runlog import RunDir
from scotoma.types import Completion

QUESTIONS = (
    "<response_1>Is there a blue circle?</response_1><response_2>How many squares are there?</response_2>"
)


def world_probe(questioner=None, answerer=None, k=2):
    prompts = PromptSet.resolve("builtin:questioner", "builtin:answerer")
    return Probe(
        questioner or ScriptedModel(QUESTIONS), answerer or ScriptedModel("no"), OracleVerifier(), prompts, k
    )


def test_round_batches_writes_and_resumes(tmp_path):
    samples = world_samples(5, seed=3)
    probe = world_probe()
    with RunDir.open(tmp_path / "run", "probe", {}, 0) as run:
        records = run_round(probe, samples, run, "zero_shot", n=2, batch_size=2)
        assert len(records) == 5 * 2 * 2  # samples x generations x k
        # one questioner, one answerer call per batch of 2 samples: 3 batches
        assert probe.questioner.calls == 3 and probe.answerer.calls == 3
        assert len(probe.answerer.seen) == 5 * 2 * 2  # every question answered, in one call per batch
        keys = [r["key"] for r in records]
        assert keys[:4] == [f"zero_shot/r0/{samples[0].key}/g{g}/s{s}" for g in (0, 1) for s in (1, 2)]
        first = records[0]
        assert first["question"] == "Is there a blue circle?" and first["prefix"] == "is there"
        assert first["answer"] == "no" and first["judged"] and first["method"] == "zero_shot"
        for r in records:  # the oracle's decision is exact: failed iff valid and the right answer is not "no"
            assert r["failed"] == (r["valid"] and r["reference"] not in ("no", "0"))
        again = run_round(probe, samples, run, "zero_shot", n=2, batch_size=2)
        assert again == records and probe.questioner.calls == 3  # resumed: nothing asked again
    assert len(method_records(RunDir.open(tmp_path / "run", "probe", {}, 0), "zero_shot")) == 20


def test_malformed_output_and_answerer_errors():
    class FailingAnswerer(ScriptedModel):
        def generate(self, conversations, config):
            out = super().generate(conversations, config)
            return [
                Completion("", finish_reason="error", error="boom") if "squares" in c.messages[-1].text else o
                for c, o in zip(conversations, out, strict=True)
            ]

    (sample,) = world_samples(1, seed=1)
    probe = world_probe(answerer=FailingAnswerer("no"))
    bad, mixed = probe.score([(sample, "no tags and no sense"), (sample, QUESTIONS)])
    assert [q.reason for q in bad.questions] == ["grammatical", "missing"]
    assert not any(q.valid for q in bad.questions)
    circle, squares = mixed.questions
    assert circle.judged and not squares.judged and squares.judgement.reason == "unjudged"
    assert "answerer_error: boom" in squares.judgement.detail


def test_chain_mode_verifies_the_targets_final_answer():
    from scotoma.judge.chain_inference import chain_instruction
    from scotoma.world.programs.oracle import judge

    (sample,) = world_samples(1, seed=1)
    questions = ("Is there a blue circle?", "How many squares are there?")
    truth = {q: judge(q, sample.scene).answer for q in questions}
    asked = []

    def chained(conversation):
        text = conversation.messages[-1].text
        asked.append(text)
        question = next(q for q in truth if q in text)
        wrong = "no" if truth[question] == "yes" else "yes"
        # a step answer that is wrong must not count: only the final answer is verified
        return f"Step_1: {question}\nFocus: Image1\nAnswer: {wrong}\nFinal_answer: {truth[question]}"

    probe = world_probe(answerer=ScriptedModel(chained))
    probe.chain = True
    (scored,) = probe.score([(sample, QUESTIONS)])
    assert all(text.endswith(chain_instruction()) for text in asked) and len(asked) == 2
    assert [(q.answer, q.valid, q.failed) for q in scored.questions] == [
        (truth[q.question], True, False) for q in scored.questions
    ]
    assert ProbeConfig(chain=True).chain


def test_folder_of_real_images_needs_a_judge(tmp_path):
    folder = tmp_path / "images"
    (folder / "pair").mkdir(parents=True)
    Image.new("RGB", (64, 48), "red").save(folder / "a.png")
    Image.new("RGB", (32, 32), "green").save(folder / "pair" / "1.png")
    Image.new("RGB", (32, 32), "blue").save(folder / "pair" / "2.jpg")
    (folder / "notes.txt").write_text("ignored")
    samples = folder_samples(folder)
    assert [len(s.images) for s in samples] == [1, 2] and samples[0].scene is None
    assert set(by_key(samples)) == {s.key for s in samples}
    with pytest.raises(VerifierError, match="judge"):
        world_probe().score([(samples[0], QUESTIONS)])
    verdict = {c: {"ok": True, "why": "fine"} for c in CRITERIA}
    verdict |= {
        "reference_answer": "red",
        "answer_correct": {"ok": False, "why": "it is red"},
        "skills": ["color"],
    }
    judge = VLMJudge(CachedModel(ScriptedModel(json.dumps(verdict)), ResponseCache(tmp_path / "c.sqlite")))
    prompts = PromptSet.resolve("hf:q", "hf:a")
    probe = Probe(ScriptedModel(QUESTIONS), ScriptedModel("no"), judge, prompts, k=2)
    with RunDir.open(tmp_path / "run", "probe", {}, 0) as run:
        records = run_round(probe, samples, run, "zero_shot")
    assert len(records) == 4 and all(r["failed"] and r["skills"] == ["color"] for r in records)
    # real-model prompts label the images
    assert probe.answerer.seen[-1].messages[0].content[0].text == "Image 1: "
    with pytest.raises(ValueError, match="no images"):
        folder_samples(tmp_path / "run")  # a run directory: files, but no images
    with pytest.raises(FileNotFoundError):
        folder_samples(tmp_path / "nowhere")


def test_probe_config_yaml_flags_and_overrides(tmp_path):
    assert ProbeConfig().methods == ["rl", "zero_shot"] and ProbeConfig().k == 2
    path = tmp_path / "probe.yaml"
    path.write_text("k: 4\nlexical: false\nmethods: [zero_shot, conme]\n")
    config = probe_config(path, ["prefix_length=3", "methods=rl,sft"], answerer="hf:target")
    assert (config.k, config.lexical, config.prefix_length) == (4, False, 3)
    assert config.methods == ["rl", "sft"] and config.answerer == "hf:target"
    assert config.reward_config().lexical is False
    folder = probe_config(None, ["verifier=judge:hf:judge"], images=tmp_path)
    assert folder.images == str(tmp_path) and folder.verifier == "judge:hf:judge"
    with pytest.raises(ValueError, match="oracle"):
        probe_config(images=tmp_path)
    with pytest.raises(ValueError, match="did you mean"):
        ProbeConfig().with_overrides(["prefix_lenght=3"])
    with pytest.raises(ValueError, match="methods"):
        ProbeConfig(methods=["magic"])
    with pytest.raises(ValueError, match="combine"):
        ProbeConfig(combine="median")
    assert (
        default_out_dir(ProbeConfig()).as_posix() == "runs/probe/builtin_questioner--builtin_answerer--oracle"
    )


def test_a_killed_training_attempt_leaves_the_curve_and_the_report():
    from scotoma.probe.loop import attempt_of, without_abandoned_attempts
    from scotoma.probe.metrics import fdr_curve

    def rec(key, failed, **fields):
        return {"key": key, "valid": True, "judged": True, "failed": failed, "question": key, **fields}

    records = [
        # attempt 0 of rl was killed after three questions, all failures (an older run: no "attempt" field)
        rec("rl/train/a0/c000001/0000", True, method="rl", phase="train"),
        rec("rl/train/a0/c000001/0001", True, method="rl", phase="train"),
        rec("rl/train/a0/c000002/0000", True, method="rl", phase="train"),
        # attempt 1 trained to the end: one failure in four
        *[
            rec(f"rl/train/a1/c00000{i}/0000", i == 1, method="rl", phase="train", attempt=1)
            for i in range(1, 5)
        ],
        rec("rl/eval/r0/s1/0", False, method="rl", phase="eval"),
        # rl_sft has only its first attempt: all kept
        rec("rl_sft/train/a0/c000001/0000", False, method="rl_sft", phase="train", attempt=0),
    ]
    assert [attempt_of(r) for r in records] == [0, 0, 0, 1, 1, 1, 1, None, 0]
    kept = without_abandoned_attempts(records)
    assert [r["key"] for r in kept] == [r["key"] for r in records[3:]]
    train = [r for r in kept if r["method"] == "rl" and r["phase"] == "train"]
    assert fdr_curve(train, points=2) == [(2, 0.5), (4, 0.25)]  # the killed attempt's 3 failures left out
