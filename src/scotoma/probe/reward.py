"""The questioner's reward, paper 000 Eq. 2-5, as a plain reward function for TRL's GRPOTrainer.

For question q on image set I, with V the validity and C the correctness the verifier decides:

    R_q = lambda_scale * Delta_q * V * (1 - C) - lambda_penalty * (1 - V)                  (Eq. 2, 5)
    delta_emb   = 1 - max_{q' in H_I} cos(e(q), e(q'))        (Eq. 3; 1 when H_I is empty)
    delta_ifreq = 1 / (1 + Count(prefix_L(q), H))              (Eq. 4)
    Delta_q     = delta_emb + delta_ifreq (Eq. 5) over the enabled terms; 1 when both are switched off

Choices the paper leaves open, all `RewardConfig` fields:

- Delta is the *sum* of the two terms, as Eq. 5 writes it, so a novel failure earns up to 2 * lambda_scale
  against an invalid question's lambda_penalty. Eq. 2 states Delta in [0, 1]; `novelty="mean"` keeps it
  there (Eq. 5 with lambda_scale halved while both terms are on). A lone term (Table 4) is the same in both
  forms; with both off Delta is 1 (R = V(1 - C) - P). The cosine is clipped at 0, so delta_emb is in [0, 1].
  lambda_scale = lambda_penalty = 1.
- TRL needs one number per completion; the completion holds k questions. Their rewards are combined by
  `combine`, the *mean* by default (the sum would make k trade off against the penalty; the mean keeps
  the reward's scale for every k of Table 5). Unjudged questions (a judge that never gave a readable
  verdict) are left out of the mean and counted; a completion with none judged gets 0.
- A missing question slot is an invalid question (V = 0): malformed output is penalised, never a crash.
- The banks are read as they stood before this batch; question i is also compared with the failures
  among questions 1..i-1 of its own completion (they were written before it). The batch then enters the
  banks (all ranks' questions, `MemoryBanks.update`), so group members are scored on equal terms. L and
  the prefix bank's source are the banks' (`MemoryBanks`), so the reward cannot disagree with them.

Each call logs its components through TRL's `log_metric` (averaged per logging step): reward,
question_reward, valid, fdr (failures among valid), missing, unjudged, delta_emb and delta_ifreq (means
over failures), penalty, bank sizes and the seconds spent. Scored questions go to `sink` as records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scotoma.distributed import process_rank
from scotoma.models.messages import completion_text
from scotoma.probe.banks import BankEntry, MemoryBanks
from scotoma.probe.core import Probe, question_record
from scotoma.probe.samples import ProbeSample

COMBINES = ("mean", "sum", "min", "max")
NOVELTY_FORMS = ("sum", "mean")


@dataclass(frozen=True)
class RewardConfig:
    """The reward's switches (Table 4) and weights; k is the Probe's (Table 5), L the banks' (Table 6)."""

    semantic: bool = True
    lexical: bool = True
    penalty: bool = True
    lambda_scale: float = 1.0
    lambda_penalty: float = 1.0
    novelty: str = "sum"
    combine: str = "mean"

    def __post_init__(self) -> None:
        if self.novelty not in NOVELTY_FORMS:
            raise ValueError(f"novelty={self.novelty!r} must be one of {', '.join(NOVELTY_FORMS)}")
        if self.combine not in COMBINES:
            raise ValueError(f"combine={self.combine!r} must be one of {', '.join(COMBINES)}")


def question_reward(
    valid: bool, failed: bool, delta_emb: float | None, delta_ifreq: float | None, config: RewardConfig
) -> float:
    """Eq. 5 for one question. The diversity terms matter only for a failure (valid, answered wrongly);
    a term that is switched off, or not needed, may be None."""
    reward = 0.0
    if valid and failed:
        terms = [d for d, on in ((delta_emb, config.semantic), (delta_ifreq, config.lexical)) if on]
        if any(t is None for t in terms):
            raise ValueError("an enabled diversity term needs its value for a failure")
        delta = sum(terms) if terms else 1.0  # type: ignore[arg-type]
        if config.novelty == "mean" and terms:
            delta /= len(terms)
        reward = config.lambda_scale * delta
    if config.penalty and not valid:
        reward -= config.lambda_penalty
    return reward


def combine(values: Sequence[float], how: str) -> float:
    """One completion's reward from its judged questions' rewards (0 when there are none)."""
    if not values:
        return 0.0
    return {
        "mean": float(np.mean(values)),
        "sum": float(sum(values)),
        "min": min(values),
        "max": max(values),
    }[how]


class ProbeReward:
    """`(prompts, completions, sample_key, **columns) -> list[float]`: Eq. 5 through the backends.

    Args:
        probe: answerer, verifier, prompts and k (its questioner is not used: the trainer samples).
        samples: the samples by key; the dataset's `sample_key` column names each row's sample.
        banks: the memory banks, updated on every call.
        config: the switches and weights.
        sink: receives the scored questions' records (on rank 0 only), e.g. a RunDir's append.
        on_update: called after each update on rank 0, e.g. to save the banks.
        attempt: tags record keys, so a rerun of an interrupted training writes new keys.
        record_fields: added to every record, e.g. {"method": "rl", "phase": "train"}.
        key_prefix: records are keyed <key_prefix>/a<attempt>/c<call>/<n>.
    """

    __name__ = "probe_reward"  # TRL names the reward's metrics after it: rewards/probe_reward/mean

    def __init__(
        self,
        probe: Probe,
        samples: Mapping[str, ProbeSample],
        banks: MemoryBanks,
        config: RewardConfig | None = None,
        sink: Callable[[list[dict[str, Any]]], None] | None = None,
        on_update: Callable[[MemoryBanks], None] | None = None,
        attempt: int = 0,
        record_fields: Mapping[str, Any] | None = None,
        key_prefix: str = "train",
    ) -> None:
        self.probe = probe
        self.samples = samples
        self.banks = banks
        self.config = config or RewardConfig()
        self.sink = sink
        self.on_update = on_update
        self.attempt = attempt
        self.record_fields = dict(record_fields or {})
        self.key_prefix = key_prefix
        self.calls = 0
        self.seconds = 0.0
        self.last_metrics: dict[str, float] = {}

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        sample_key: Sequence[str] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        trainer_state: Any = None,
        **columns: Any,
    ) -> list[float]:
        """One reward per completion; see the module docstring."""
        started = time.perf_counter()
        if sample_key is None:
            raise ValueError("the probe reward needs a `sample_key` column naming each row's sample")
        unknown = sorted({key for key in sample_key if key not in self.samples})
        if unknown:
            raise ValueError(f"sample_key values not among the probe's samples: {unknown[:5]}")
        pairs = [
            (self.samples[key], completion_text(c)) for key, c in zip(sample_key, completions, strict=True)
        ]
        scored = self.probe.score(pairs)
        step = getattr(trainer_state, "global_step", None)
        rewards, records = self._rewards(scored, step)
        gathered = self.banks.gather(records)  # every rank's records, rank order: the same banks everywhere
        self.banks.add([_entry(r) for r in gathered if r["question"] is not None and r["judged"]])
        self.calls += 1
        if process_rank() == 0:
            for n, record in enumerate(gathered):
                record["key"] = f"{self.key_prefix}/a{self.attempt}/c{self.calls:06d}/{n:04d}"
                record["attempt"] = self.attempt
            if self.sink is not None:
                self.sink(gathered)
            if self.on_update is not None:
                self.on_update(self.banks)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        self._log(records, rewards, elapsed, log_metric)
        return rewards

    def _rewards(self, scored: list[Any], step: int | None) -> tuple[list[float], list[dict[str, Any]]]:
        config, L = self.config, self.banks.prefix_length
        failed_texts = [q.question for s in scored for q in s.questions if q.judged and q.failed]
        vectors = (
            dict(zip(failed_texts, self.banks.embedder.encode(failed_texts), strict=True))
            if config.semantic and failed_texts
            else {}
        )
        rewards, records = [], []
        for row, completion in enumerate(scored):
            sample = completion.sample.key
            bank = self.banks.vectors(sample) if config.semantic else None
            earlier: list[np.ndarray] = []  # this completion's failures so far
            earlier_prefixes: list[str] = []
            values = []
            for question in completion.questions:
                record = question_record(completion, question, L, step=step, row=row, **self.record_fields)
                d_emb = d_ifreq = None
                if question.judged and question.failed:
                    if config.semantic:
                        vector = vectors[question.question]
                        others = [m for m in (bank, np.array(earlier)) if m is not None and len(m)]
                        nearest = max((float(np.max(m @ vector)) for m in others), default=0.0)
                        d_emb = 1.0 - min(1.0, max(0.0, nearest))
                        earlier.append(vector)
                    if config.lexical:
                        count = self.banks.prefix_count(record["prefix"]) + earlier_prefixes.count(
                            record["prefix"]
                        )
                        d_ifreq = 1.0 / (1.0 + count)
                if (
                    question.question is not None
                    and question.judged
                    and self.banks.enters_prefix_bank(_entry(record))
                ):
                    earlier_prefixes.append(record["prefix"])
                reward = None
                if question.judged:
                    reward = question_reward(question.valid, question.failed, d_emb, d_ifreq, config)
                    values.append(reward)
                records.append(record | {"delta_emb": d_emb, "delta_ifreq": d_ifreq, "reward": reward})
            rewards.append(combine(values, config.combine))
            for record in records[-len(completion.questions) :]:
                record["completion_reward"] = rewards[-1]
        return rewards, records

    def _log(
        self,
        records: list[dict[str, Any]],
        rewards: list[float],
        seconds: float,
        log_metric: Callable[[str, float], None] | None,
    ) -> None:
        judged = [r for r in records if r["judged"]]
        valid = [r for r in judged if r["valid"]]
        failed = [r for r in valid if r["failed"]]
        metrics = {
            "probe/reward": float(np.mean(rewards)) if rewards else 0.0,
            "probe/missing": sum(r["question"] is None for r in records) / max(1, len(records)),
            "probe/unjudged": (len(records) - len(judged)) / max(1, len(records)),
            "probe/bank_failures": float(self.banks.size["failures"]),
            "probe/bank_prefixes": float(self.banks.size["distinct_prefixes"]),
            "probe/reward_seconds": seconds,
        }
        if judged:
            metrics["probe/question_reward"] = float(np.mean([r["reward"] for r in judged]))
            metrics["probe/valid"] = len(valid) / len(judged)
            metrics["probe/penalty"] = (
                self.config.lambda_penalty * (len(judged) - len(valid)) / len(judged)
                if self.config.penalty
                else 0.0
            )
        if valid:
            metrics["probe/fdr"] = len(failed) / len(valid)
        for name in ("delta_emb", "delta_ifreq"):
            values = [r[name] for r in failed if r[name] is not None]
            if values:
                metrics[f"probe/{name}"] = float(np.mean(values))
        self.last_metrics = metrics
        if log_metric is not None:
            for name, value in metrics.items():
                log_metric(name, value)


def _entry(record: Mapping[str, Any]) -> BankEntry:
    return BankEntry(
        record["sample"], record["question"], record["prefix"], record["valid"], record["failed"]
    )


__all__ = ["COMBINES", "NOVELTY_FORMS", "ProbeReward", "RewardConfig", "combine", "question_reward"]
