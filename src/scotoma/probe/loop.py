"""One probe round: the questioner writes k questions per sample, the target answers them all in one
batched call, the verifier judges them all, and the records are flushed to the run directory per batch.

Record keys are `<method>/r<round>/<sample>/g<generation>/s<slot>`. A sample's records are written in one
batch, so a re-run skips every sample whose first record is there (`RunDir.todo`): a killed
round resumes where it stopped, and the response cache answers whatever was asked before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from scotoma.probe.core import ANSWERER_ERROR, Probe, ScoredCompletion, question_record
from scotoma.probe.samples import ProbeSample
from scotoma.runlog import RunDir


def round_prefix(method: str, round_index: int = 0) -> str:
    """The key prefix of one method's round."""
    return f"{method}/r{round_index}"


def records_of(
    scored: Sequence[ScoredCompletion], prefix: str, n: int, prefix_length: int = 2, **fields: Any
) -> list[dict[str, Any]]:
    """Records of scored completions laid out sample-major with `n` generations each."""
    out = []
    for index, completion in enumerate(scored):
        generation = index % n
        for question in completion.questions:
            key = f"{prefix}/{completion.sample.key}/g{generation}/s{question.slot}"
            out.append(
                question_record(completion, question, prefix_length, key=key, generation=generation, **fields)
            )
    return out


def run_round(
    probe: Probe,
    samples: Sequence[ProbeSample],
    run: RunDir,
    method: str,
    *,
    round_index: int = 0,
    n: int = 1,
    seed: int = 0,
    batch_size: int = 16,
    prefix_length: int = 2,
    phase: str = "eval",
    ask: Callable[[Sequence[ProbeSample]], list[ScoredCompletion]] | None = None,
    answer_errors: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Probe every sample not done yet and write its records; return all records of this round.

    Args:
        probe: questioner, answerer, verifier, prompts and k.
        samples: what to probe.
        run: the run directory receiving the records.
        method: the method's name in the records ("zero_shot", "rl", ...).
        round_index: the round (expert iteration has several).
        n: questioner outputs per sample.
        seed: the questioner's sampling seed (part of the cache key).
        batch_size: samples per batch (each batch: one questioner, one answerer and one verifier request,
            one write to the run; an hf: model splits a request into its own hf:PATH?batch_size=N).
        prefix_length: words in a record's "prefix" field.
        phase: "eval", or "train" for the generation rounds of expert iteration.
        ask: replaces "ask then score" for a batch (ConMe's two turns); must return n completions per
            sample, sample-major.
        answer_errors: receives the error of every sample whose answerer call failed; such a sample's
            records are not written (a failed call is not a failure of the target), so a re-run asks it
            again, its questions from the response cache.
    """
    prefix = round_prefix(method, round_index)
    fields = {"method": method, "round": round_index, "phase": phase}

    def probe_batch(batch: list[ProbeSample]) -> tuple[list[dict[str, Any]], list[str]]:
        if ask is not None:
            scored = ask(batch)
        else:
            outputs = probe.ask(batch, n=n, seed=seed)
            scored = probe.score([(s, o) for s, group in zip(batch, outputs, strict=True) for o in group])
        records = records_of(scored, prefix, n, prefix_length, **fields)
        errors = {r["sample"]: r["detail"] for r in records if str(r["detail"]).startswith(ANSWERER_ERROR)}
        return [r for r in records if r["sample"] not in errors], list(errors.values())

    todo = run.todo(samples, lambda s: f"{prefix}/{s.key}/g0/s1")
    todo.work(probe_batch, batch_size, f"probe {method} round {round_index}")
    if answer_errors is not None:
        answer_errors.extend(todo.failures)
    return [r for r in run.records() if r["key"].startswith(prefix + "/")]


def method_records(run: RunDir, method: str, phase: str | None = "eval") -> list[dict[str, Any]]:
    """Every record of `method` in the run (of one phase: "eval", "train"; None for all), in order,
    less those of abandoned training attempts."""
    return [
        r
        for r in without_abandoned_attempts(run.records())
        if r.get("method") == method and (phase is None or r.get("phase") == phase)
    ]


_ATTEMPT_IN_KEY = re.compile(r"/train/a(\d+)/")


def attempt_of(record: dict[str, Any]) -> int | None:
    """The RL training attempt a record was scored in: its "attempt", else the a<N> of its key; None
    for records outside RL training."""
    if isinstance(record.get("attempt"), int):
        return record["attempt"]
    match = _ATTEMPT_IN_KEY.search(str(record.get("key", "")))
    return int(match.group(1)) if match else None


def without_abandoned_attempts(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records less the training questions of attempts that a later attempt replaced.

    A killed RL training is trained again from the start as attempt N+1 (scotoma.probe.rl); the questions
    of the killed attempt stay in records.jsonl (append-only) but are not part of the run's training, so
    the FDR curve over training questions and the report leave them out.
    """
    records = list(records)
    latest: dict[str, int] = {}
    for record in records:
        attempt = attempt_of(record)
        if attempt is not None:
            method = str(record.get("method"))
            latest[method] = max(attempt, latest.get(method, attempt))
    return [r for r in records if (a := attempt_of(r)) is None or a == latest[str(r.get("method"))]]


__all__ = [
    "attempt_of",
    "method_records",
    "records_of",
    "round_prefix",
    "run_round",
    "without_abandoned_attempts",
]
