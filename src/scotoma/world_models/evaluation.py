"""Evaluation of the world models, always through the `hf` backend's greedy generation.

- answerer: accuracy per family and per skill on a held-out set of fresh world questions (a seed the
  training stream never uses), against the majority answer of each family / skill on that same set;
  exact-match rate of descriptions; accuracy when asked to describe first, then answer (the chain form);
- questioner: how often its completions hold well-formed `<response_i>` tags, and the validity rate of
  the questions under the world oracle (paper 000's question validity rate);
- NLVR1 dev: through bench (`scotoma bench nlvr1 --permute images`, the one NLVR1 evaluation): accuracy
  in the original box order and over all six, and how often the answer changes across the orders;
- throughput: generated completions per second.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.probe.prompts import parse_questions
from scotoma.types import GenConfig
from scotoma.world.programs.answers import is_correct
from scotoma.world.programs.oracle import judge
from scotoma.world_models.curriculum import CurriculumConfig, WorldTasks, chain_answer
from scotoma.world_models.data import MAX_QUESTIONS, WorldExample

HELDOUT_SEED_OFFSET = 1_000_003  # held-out seed = training seed + this; the training stream never uses it
MAX_NEW_TOKENS = {"qa": 8, "describe": 192, "chain": 200, "questions": 192}
#: The small fixed evaluation recorded at shipping time and repeated by the shipped-model test.
TEST_SET: dict[str, dict[str, int]] = {"answerer": {"per_family": 10}, "questioner": {"prompts": 32}}


def heldout_tasks(seed: int, config: CurriculumConfig | None = None) -> WorldTasks:
    """The task stream of the held-out set for a model trained with `seed`."""
    return WorldTasks(config or CurriculumConfig(), seed + HELDOUT_SEED_OFFSET)


def heldout_set(tasks: WorldTasks, task: str, n: int) -> list[WorldExample]:
    """The first `n` held-out examples of `task`; for "qa" and "chain", n per family (families rotate)."""
    if task == "describe":
        return [tasks.describe(i) for i in range(n)]
    if task in ("qa", "chain"):
        return [tasks.qa(i, chain=task == "chain") for i in range(n * len(tasks.questions.families))]
    if task == "questions":
        return [tasks.questioner_example(i) for i in range(n)]
    raise ValueError(f"unknown task {task!r}; choose describe, qa, chain or questions")


def generate(
    model: Any, examples: Sequence[WorldExample], max_new_tokens: int, temperature: float = 0.0
) -> tuple[list[str], float]:
    """Completions of `examples` from an `HFModel` (greedy by default; seed 0), and completions per second."""
    started = time.perf_counter()
    config = GenConfig(max_new_tokens=max_new_tokens, temperature=temperature, seed=0)
    completions = model.generate([e.conversation() for e in examples], config)
    seconds = time.perf_counter() - started
    return [c.text for c in completions], len(examples) / max(seconds, 1e-9)


def accuracy_table(examples: Sequence[WorldExample], correct: Sequence[bool]) -> dict[str, Any]:
    """Accuracy overall, per family and per skill, each with the majority-answer baseline and count."""

    def group(keys_of: Any) -> dict[str, dict[str, float]]:
        hits, answers = defaultdict(list), defaultdict(list)
        for example, ok in zip(examples, correct, strict=True):
            for key in keys_of(example):
                hits[key].append(ok)
                answers[key].append(example.answer)
        table = {}
        for key in sorted(hits):
            majority, _ = Counter(answers[key]).most_common(1)[0]
            base = sum(is_correct(majority, a) for a in answers[key]) / len(answers[key])
            table[key] = {"accuracy": sum(hits[key]) / len(hits[key]), "majority": base, "n": len(hits[key])}
        return table

    overall = group(lambda e: ["all"])["all"]
    # the overall majority baseline answers each family's majority (a prior that knows the family)
    families = group(lambda e: [e.family])
    overall["majority"] = sum(v["majority"] * v["n"] for v in families.values()) / max(1, len(examples))
    return {"overall": overall, "family": families, "skill": group(lambda e: e.skills)}


def evaluate_answerer(
    model: Any, tasks: WorldTasks, per_family: int, describe: int = 0, chain_per_family: int = 0
) -> dict[str, Any]:
    """Held-out accuracy of an answerer `HFModel` (direct answers; optionally descriptions and chains)."""
    examples = heldout_set(tasks, "qa", per_family)
    texts, speed = generate(model, examples, MAX_NEW_TOKENS["qa"])
    correct = [is_correct(text, e.answer) for text, e in zip(texts, examples, strict=True)]
    result: dict[str, Any] = {"qa": accuracy_table(examples, correct), "answers_per_s": speed}
    result["qa_examples"] = [
        {"question": e.prompt, "answer": e.answer, "predicted": t, "family": e.family}
        for e, t in zip(examples[:8], texts[:8], strict=False)
    ]
    if describe:
        examples = heldout_set(tasks, "describe", describe)
        texts, _ = generate(model, examples, MAX_NEW_TOKENS["describe"])
        exact = [text.strip() == e.target for text, e in zip(texts, examples, strict=True)]
        result["describe_exact"] = sum(exact) / len(exact)
        result["describe_example"] = {"target": examples[0].target, "predicted": texts[0]}
    if chain_per_family:
        examples = heldout_set(tasks, "chain", chain_per_family)
        texts, _ = generate(model, examples, MAX_NEW_TOKENS["chain"])
        correct = [is_correct(chain_answer(t), e.answer) for t, e in zip(texts, examples, strict=True)]
        result["chain"] = accuracy_table(examples, correct)
    return result


def asked_questions(text: str) -> list[str]:
    """The questions of a questioner completion, read as the probe reads them (`probe.prompts`, tags only)."""
    return [q for q in parse_questions(text, MAX_QUESTIONS, strict=True).questions if q is not None]


def evaluate_questioner(model: Any, examples: Sequence[WorldExample], sampled: bool = True) -> dict[str, Any]:
    """Tag format rate, oracle validity rate, distinctness and families of a questioner's questions.

    The top-level numbers are of greedy decoding; with `sampled`, "sampled" holds the same for
    temperature 1 (seed 0), the way a probe draws questions: greedy decoding of a young questioner
    writes nearly the same questions for every image set, so its validity swings with that one question.
    """
    result = _questions_score(model, examples, 0.0)
    if sampled:
        result["sampled"] = _questions_score(model, examples, 1.0)
    return result


def _questions_score(model: Any, examples: Sequence[WorldExample], temperature: float) -> dict[str, Any]:
    texts, speed = generate(model, examples, MAX_NEW_TOKENS["questions"], temperature)
    asked = [len(asked_questions(e.target)) for e in examples]
    questions = [asked_questions(t) for t in texts]
    verdicts = [judge(q, e.scene) for e, qs in zip(examples, questions, strict=True) for q in qs]
    reasons = Counter(v.reason or "valid" for v in verdicts)
    flat = [q for qs in questions for q in qs]
    return {
        "prompts": len(examples),
        "well_formed": sum(len(q) == n for q, n in zip(questions, asked, strict=True)) / len(examples),
        "questions": len(flat),
        "validity_rate": reasons["valid"] / max(1, len(verdicts)),
        "reasons": dict(reasons),
        "distinct_rate": len(set(flat)) / max(1, len(flat)),
        "families": dict(Counter(v.family for v in verdicts if v.valid)),
        "samples_per_s": speed,
        "example": {"prompt": examples[0].prompt, "completion": texts[0]},
    }


def evaluate_nlvr(spec: str, limit: int | None = None, seed: int = 0) -> dict[str, Any]:
    """NLVR1 dev as `scotoma bench nlvr1 --permute images` measures it (the one NLVR1 evaluation; its
    records are not kept): accuracy over the six box orders, in the original order, and how often the
    answer changes across the orders.

    Args:
        spec: the answerer's model spec.
        limit: the first `limit` statements; None for all 989.
        seed: bench's seed (only the bootstrap uses it with every order asked).
    """
    import tempfile

    from scotoma.bench.config import BenchConfig
    from scotoma.bench.metrics import read_records
    from scotoma.bench.runner import run_bench

    with tempfile.TemporaryDirectory() as tmp:
        config = BenchConfig("nlvr1", spec, permute="images", seed=seed, limit=limit)
        result = run_bench(config, Path(tmp) / "nlvr1")
        targets = Counter(r["target"] for r in read_records(result.run_dir) if r["identity"])
    figures = result.metrics["settings"]["IQ"]
    return {
        "examples": figures["n_items"],
        "majority": max(targets.values()) / sum(targets.values()),
        "accuracy": figures["original_order_accuracy"]["value"],
        "accuracy_all_orders": figures["accuracy"]["value"],
        "answer_changes_across_orders": figures["order_sensitivity"]["value"],
        "measured_by": f"scotoma bench nlvr1 --model {spec} --permute images"
        + (f" --limit {limit}" if limit else ""),
    }


def world_evaluation(
    spec: str,
    kind: str = "answerer",
    per_family: int = 50,
    describe: int = 50,
    chain_per_family: int = 10,
    questions: int = 200,
    nlvr: int = 500,
    seed: int = 0,
    threads: int | None = 1,
) -> dict[str, Any]:
    """The full evaluation of a world model given by spec (what `scotoma world eval-model` prints).

    Returns a dict with "heldout" (the held-out evaluation), "test_set" (the small fixed evaluation that
    the shipped-model test repeats), for the answerer "nlvr" (unless nlvr=0), and the settings.
    """
    import torch

    from scotoma.models import get_model

    if kind not in TEST_SET:
        raise ValueError(f"kind={kind!r}: choose answerer or questioner")
    if threads:
        torch.set_num_threads(threads)
    model = get_model(spec, device="cpu", batch_size="64")
    tasks = heldout_tasks(seed)
    result: dict[str, Any] = {"model": spec, "kind": kind, "seed": seed}
    if kind == "answerer":
        result["heldout"] = evaluate_answerer(model, tasks, per_family, describe, chain_per_family)
        result["test_set"] = {
            **TEST_SET[kind],
            **evaluate_answerer(model, tasks, TEST_SET[kind]["per_family"])["qa"]["overall"],
        }
        if nlvr:
            result["nlvr"] = evaluate_nlvr(spec, None if nlvr < 0 else nlvr, seed)
    else:
        result["heldout"] = evaluate_questioner(model, heldout_set(tasks, "questions", questions))
        small = evaluate_questioner(model, heldout_set(tasks, "questions", TEST_SET[kind]["prompts"]), False)
        result["test_set"] = {**TEST_SET[kind], "validity_rate": small["validity_rate"]}
    return result


def headline(result: dict[str, Any]) -> str:
    """One line of an evaluation: overall and per-family accuracy, or the questioner's validity."""
    if not result:
        return "no held-out evaluation (eval_every_samples=0)"
    if "qa" in result:
        qa = result["qa"]
        families = " ".join(f"{k} {v['accuracy']:.2f}" for k, v in qa["family"].items())
        line = f"qa {qa['overall']['accuracy']:.3f} (majority {qa['overall']['majority']:.3f}) | {families}"
        if "describe_exact" in result:
            line += f" | describe exact {result['describe_exact']:.2f}"
        if "chain" in result:
            line += f" | chain {result['chain']['overall']['accuracy']:.3f}"
        return line
    line = (
        f"greedy: validity {result['validity_rate']:.3f} well-formed {result['well_formed']:.2f} "
        f"distinct {result['distinct_rate']:.2f} ({result['questions']} questions)"
    )
    if "sampled" in result:
        sampled = result["sampled"]
        line += (
            f" | sampled: validity {sampled['validity_rate']:.3f} well-formed {sampled['well_formed']:.2f} "
            f"distinct {sampled['distinct_rate']:.2f}"
        )
    return line


__all__ = [
    "HELDOUT_SEED_OFFSET",
    "TEST_SET",
    "accuracy_table",
    "asked_questions",
    "evaluate_answerer",
    "evaluate_nlvr",
    "evaluate_questioner",
    "generate",
    "headline",
    "heldout_set",
    "heldout_tasks",
    "world_evaluation",
]
