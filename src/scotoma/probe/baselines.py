"""The baselines of paper 000 (section 4.1), each run through the same loop and metrics as RL.

- zero_shot: the untrained questioner, prompted.
- conme: ConMe-style two-turn probing. Turn 1 is the zero-shot prompt; the target answers; turn 2 shows
  the questioner its questions with the target's answers and asks for k new ones likely to be answered
  wrongly. Turn-2 questions are ConMe's ("conme"); turn 1 is kept as "conme_turn1".
- sft: the questioner fine-tuned on a corpus of existing questions with their images (`sft_corpus`, a
  JSONL file of {"images": [...], "questions": [...]}, paths relative to the file), then prompted. In the
  world the corpus is drawn from the world's own question generator on other scenes: the "existing
  benchmark" of this world.
- expert_iteration: rounds of generate, keep the verified failures (rejection sampling with the same
  verifier as RL), fine-tune on them (from the previous round's weights); 5 rounds by default; the last
  model is evaluated. The generation rounds are recorded (phase "train"), for the FDR curve.
- rl_sft (in scotoma.probe.run): RL starting from the sft baseline's questioner.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.probe.context import ProbeContext
from scotoma.probe.core import Probe, ScoredCompletion
from scotoma.probe.loop import round_prefix, run_round
from scotoma.probe.prompts import fill, questioner_conversation, questioner_fields
from scotoma.probe.samples import ProbeSample, world_samples
from scotoma.probe.training import finetune_questioner, questioner_recipe, sft_rows, trained_questioner_spec
from scotoma.types import Conversation, GenConfig, ImageRef

WORLD_CORPUS_START = 100_000  # sample indices of the SFT corpus, far from the probed images


def zero_shot(ctx: ProbeContext, method: str = "zero_shot") -> list[dict[str, Any]]:
    """The untrained questioner on every sample."""
    return ctx.eval_round(method, ctx.config.questioner)


# -- ConMe ----------------------------------------------------------------------------------------------
def _answers_text(completion: ScoredCompletion) -> str:
    lines = [
        f"Question {q.slot}: {q.question}\nAnswer: {q.answer}" for q in completion.questions if q.question
    ]
    return "\n".join(lines) or "(no questions were read)"


def conme_turns(probe: Probe, batch: Sequence[ProbeSample], n: int, seed: int) -> tuple[list, list]:
    """Both turns for a batch: (turn-1 scored completions, turn-2 scored completions), n per sample."""
    assert probe.questioner is not None
    config = GenConfig(**{**probe.question_config.to_dict(), "n": n, "seed": seed})
    first = [questioner_conversation(probe.prompts, s.images, probe.k) for s in batch]
    outputs = probe.questioner.generate(first, config)
    pairs = [(s, outputs[i * n + g].text) for i, s in enumerate(batch) for g in range(n)]
    turn1 = probe.score(pairs)
    follow_ups: list[Conversation] = []
    for (sample, output), scored in zip(pairs, turn1, strict=True):
        fields = questioner_fields(probe.k, len(sample.images))
        parts = fill(probe.prompts.conme, (), "", answers=_answers_text(scored), **fields)
        base = questioner_conversation(probe.prompts, sample.images, probe.k)
        follow_ups.append(base.then("assistant", output).then("user", *parts))
    second = probe.questioner.generate(follow_ups, GenConfig(**{**config.to_dict(), "n": 1}))
    turn2 = probe.score([(sample, c.text) for (sample, _), c in zip(pairs, second, strict=True)])
    return turn1, turn2


def conme(ctx: ProbeContext, method: str = "conme") -> list[dict[str, Any]]:
    """ConMe-style two-turn probing; returns the turn-2 records."""
    from scotoma.probe.loop import records_of

    probe = ctx.probe(ctx.questioner(ctx.config.questioner))
    n = ctx.config.eval_generations

    def ask(batch: Sequence[ProbeSample]) -> list[ScoredCompletion]:
        turn1, turn2 = conme_turns(probe, batch, n, ctx.config.seed)
        fields = {"method": f"{method}_turn1", "round": 0, "phase": "eval", "turn": 1}
        records = records_of(turn1, round_prefix(f"{method}_turn1"), n, ctx.config.prefix_length, **fields)
        ctx.run.append([r for r in records if r["key"] not in ctx.run.done])  # a resumed batch wrote them
        return turn2

    return run_round(
        probe,
        ctx.samples,
        ctx.run,
        method,
        n=n,
        seed=ctx.config.seed,
        batch_size=ctx.config.batch_size,
        prefix_length=ctx.config.prefix_length,
        ask=ask,
        answer_errors=ctx.answer_errors,
    )


# -- SFT on a question corpus -----------------------------------------------------------------------------
def world_question_corpus(n: int, k: int, seed: int = 0) -> list[tuple[ProbeSample, list[str]]]:
    """`n` world image sets, other than the probed ones, each with k valid questions from the world's
    question generator (random families and paraphrases)."""
    from scotoma.world.programs.language import render
    from scotoma.world.sampling.random_programs import random_valid_program

    rng = random.Random(f"sft-corpus:{seed}")
    corpus = []
    for sample in world_samples(n, seed=seed, start=WORLD_CORPUS_START):
        questions = []
        for _ in range(k):
            try:
                questions.append(render(random_valid_program(rng, sample.scene), rng=rng))
            except RuntimeError:  # no valid program of the drawn families on this scene
                continue
        corpus.append((sample, questions))
    return corpus


def load_question_corpus(path: str | Path) -> list[tuple[ProbeSample, list[str]]]:
    """A JSONL corpus of {"images": [paths], "questions": [texts]} (or "image"/"question"), paths relative
    to the file.

    Raises:
        ValueError: a line without images or questions (the message names the line).
    """
    path = Path(path)
    corpus = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        images = row.get("images") or ([row["image"]] if row.get("image") else [])
        questions = row.get("questions") or ([row["question"]] if row.get("question") else [])
        if not images or not questions:
            raise ValueError(f"{path} line {number} needs images (or image) and questions (or question)")
        refs = tuple(ImageRef.from_path(path.parent / image) for image in images)
        corpus.append((ProbeSample(f"corpus-{number}", refs), [str(q) for q in questions]))
    return corpus


def sft_questioner(ctx: ProbeContext) -> str:
    """The SFT baseline's questioner (trained once per run, reused by rl_sft); returns its spec."""
    out = ctx.out_dir / "sft" / "train"
    existing = out / "metrics.json"
    if existing.is_file() and json.loads(existing.read_text()).get("model_path"):
        return f"hf:{json.loads(existing.read_text())['model_path']}"
    config = ctx.config
    corpus = (
        load_question_corpus(config.sft_corpus)
        if config.sft_corpus
        else world_question_corpus(config.sft_questions, config.k, config.world_seed)
    )
    k = config.k
    rows = sft_rows([(s, qs[:k]) for s, qs in corpus], ctx.prompts, k)
    recipe = questioner_recipe("sft", config.sft_recipe, config.questioner, config.sft_overrides)
    result = finetune_questioner(recipe, rows, out)
    ctx.info["sft"] = {"training": {"steps": result.steps, "rows": len(rows), "losses": result.losses[-3:]}}
    return trained_questioner_spec(result)


def sft(ctx: ProbeContext, method: str = "sft") -> list[dict[str, Any]]:
    """SFT on the question corpus, then an evaluation round."""
    return ctx.eval_round(method, sft_questioner(ctx))


# -- expert iteration -----------------------------------------------------------------------------------
def failure_rows(records: Sequence[dict[str, Any]], k: int) -> list[tuple[str, list[str]]]:
    """Training targets of k verified failures each: a sample's failures (all generations, distinct, in
    order) cut into groups of k; a remainder shorter than k is left out.

    Why whole groups: the questioner is asked for k questions, and a target with fewer teaches it to stop
    early. Measured in the world (k=2): with one row per questioner output, often holding a single
    failure, half of the questions were missing after 5 rounds (validity 36.7% against 63% zero-shot,
    though 73% of the questions it did write were valid).
    """
    pooled: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r["valid"] and r["failed"] and r.get("judged", True) and r["question"] not in pooled[r["sample"]]:
            pooled[r["sample"]].append(r["question"])
    return [
        (sample, questions[start : start + k])
        for sample, questions in pooled.items()
        for start in range(0, len(questions) - k + 1, k)
    ]


def expert_iteration(ctx: ProbeContext, method: str = "expert_iteration") -> list[dict[str, Any]]:
    """Rounds of generate -> keep verified failures -> fine-tune; then the last model's evaluation round."""
    config, spec = ctx.config, ctx.config.questioner
    samples = {s.key: s for s in ctx.samples}
    rounds = []
    for index in range(config.expert_iteration_rounds):
        records = ctx.eval_round(method, spec, round_index=index, phase="train")
        failures = failure_rows(records, config.k)
        verified = sum(bool(r["valid"] and r["failed"]) for r in records)
        rounds.append(
            {"round": index, "questions": len(records), "failures": verified, "rows": len(failures)}
        )
        if not failures:  # nothing to learn from: the questioner stays as it is
            continue
        out = ctx.out_dir / method / f"round{index}"
        finished = out / "metrics.json"
        if finished.is_file() and json.loads(finished.read_text()).get("model_path"):
            spec = f"hf:{json.loads(finished.read_text())['model_path']}"
            continue
        rows = sft_rows([(samples[s], qs) for s, qs in failures], ctx.prompts, config.k)
        recipe = questioner_recipe(
            "sft", config.sft_recipe, spec, config.sft_overrides, base=config.questioner
        )
        spec = trained_questioner_spec(finetune_questioner(recipe, rows, out))
    ctx.info[method] = {"rounds": rounds}
    return ctx.eval_round(method, spec, round_index=config.expert_iteration_rounds)


__all__ = [
    "conme",
    "conme_turns",
    "expert_iteration",
    "failure_rows",
    "load_question_corpus",
    "sft",
    "sft_questioner",
    "world_question_corpus",
    "zero_shot",
]
