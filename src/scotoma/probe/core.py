"""`Probe(questioner, answerer, verifier, prompts, k)`: ask, answer, verify, each as one batched call.

The same scoring serves the probe loop (evaluation, baselines) and the GRPO reward (training), so a
question means the same thing in both:

1. `ask`: the questioner writes one output per sample (n each), all samples in one call;
2. `score`: every output is parsed into k slots; the verifier screens the questions found (the oracle
   judges an invalid question without any answer), every other question goes to the target in one
   batched call, then every (question, answer) to the verifier in one batched call.

A slot without a question is invalid ("missing"). An answer the backend failed to produce (finish reason
"error") leaves its question unjudged ("answer_error") rather than wrongly counted as a failure.

With a base model (differential testing, as DeepXplore compares models): every question the target got
wrong goes to the base model too, in one more batched call, and a failure counts only where the base
model answers it right. A fine-tune probed against its base model then finds what the fine-tune
broke, not what both models never could do; the record keeps the target's own correctness beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scotoma.judge.chain_inference import final_answer_completion, with_chain_instruction
from scotoma.judge.verifiers import Judgement, Verifier
from scotoma.models.base import Model
from scotoma.probe.prompts import (
    ParsedQuestions,
    PromptSet,
    answerer_conversation,
    parse_questions,
    question_prefix,
    questioner_conversation,
)
from scotoma.probe.samples import ProbeSample
from scotoma.types import GenConfig

# How an unjudged question's detail starts when the answerer's call failed (it is not a failure found).
ANSWERER_ERROR = "answerer_error"
# ... and when the base model's call failed: whether the failure is the target's own is unknown.
BASE_ERROR = "base_error"


@dataclass(frozen=True)
class ScoredQuestion:
    """One question slot of one questioner output, answered and judged.

    Attributes:
        slot: its 1-based position i in the output (`<response_i>`).
        question: the text, or None when the slot was missing.
        answer: the target's answer (None when the slot was missing, or the question was screened out as
            invalid before the target was asked).
        judgement: the verifier's decision (None when the slot was missing).
        base_answer: the base model's answer, asked only when the target answered wrongly.
        shared: whether the base model got it wrong too (None when it was not asked).
    """

    slot: int
    question: str | None
    answer: str | None = None
    judgement: Judgement | None = None
    base_answer: str | None = None
    shared: bool | None = None

    @property
    def judged(self) -> bool:
        """False when the verifier (or the answerer) left it undecided; a missing slot is decided: invalid."""
        return self.judgement is None or self.judgement.judged

    @property
    def valid(self) -> bool:
        return self.judgement is not None and self.judgement.valid

    @property
    def wrong(self) -> bool:
        """Valid and answered wrongly by the target."""
        return self.valid and self.judgement is not None and self.judgement.correct is False

    @property
    def failed(self) -> bool:
        """A discovered failure: answered wrongly, and (with a base model) not wrongly by the base model."""
        return self.wrong and self.shared is not True

    @property
    def reason(self) -> str | None:
        return "missing" if self.judgement is None else self.judgement.reason


@dataclass(frozen=True)
class ScoredCompletion:
    """One questioner output about one sample, with its k scored questions."""

    sample: ProbeSample
    output: str
    parsed: ParsedQuestions
    questions: tuple[ScoredQuestion, ...]


@dataclass
class Probe:
    """The three models of paper 000 and how they talk.

    Attributes:
        questioner: writes questions (None while a trainer samples the questioner itself).
        answerer: the target whose failures are sought; frozen.
        verifier: decides validity and correctness.
        prompts: the templates (see scotoma.probe.prompts).
        k: questions per output (Table 5; 2 by default).
        question_config: the questioner's sampling (temperature 1: the policy GRPO samples from).
        answer_config: the target's decoding (greedy, short).
        strict_tags: accept only `<response_i>` tags (no sentence-splitting fallback).
        chain: ask the target in focus-chain style; its final answer span is what is verified and logged.
        base: a model asked what the target got wrong (e.g. the model it was fine-tuned from); a failure
            it shares does not count.
    """

    questioner: Model | None
    answerer: Model
    verifier: Verifier
    prompts: PromptSet
    k: int = 2
    question_config: GenConfig = field(default_factory=lambda: GenConfig(max_new_tokens=128, temperature=1.0))
    answer_config: GenConfig = field(default_factory=lambda: GenConfig(max_new_tokens=16))
    strict_tags: bool = False
    chain: bool = False
    base: Model | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k (questions per image) must be >= 1, got {self.k}")

    def ask(self, samples: Sequence[ProbeSample], n: int = 1, seed: int = 0) -> list[list[str]]:
        """n questioner outputs per sample, in one call."""
        if self.questioner is None:
            raise ValueError("this Probe has no questioner model; give one to ask questions")
        config = GenConfig(**{**self.question_config.to_dict(), "n": n, "seed": seed})
        conversations = [questioner_conversation(self.prompts, s.images, self.k) for s in samples]
        outputs = self.questioner.generate(conversations, config)
        return [[c.text for c in outputs[i * n : (i + 1) * n]] for i in range(len(samples))]

    def score(self, pairs: Sequence[tuple[ProbeSample, str]]) -> list[ScoredCompletion]:
        """Parse, answer and verify every (sample, questioner output) pair."""
        parsed = [parse_questions(output, self.k, self.strict_tags) for _, output in pairs]
        asked = [
            (row, slot, question)
            for row, p in enumerate(parsed)
            for slot, question in enumerate(p.questions, start=1)
            if question is not None
        ]
        results: dict[tuple[int, int], ScoredQuestion] = {}
        # Questions invalid whatever the answer (the oracle knows before any answer) skip the target.
        screened = self.verifier.screen([pairs[row][0].item(q, "") for row, _, q in asked]) if asked else []
        for (row, slot, question), judgement in zip(asked, screened, strict=True):
            if judgement is not None:
                results[row, slot] = ScoredQuestion(slot, question, None, judgement)
        todo = [(row, slot, q) for (row, slot, q), j in zip(asked, screened, strict=True) if j is None]
        if todo:
            conversations = [
                answerer_conversation(self.prompts, pairs[row][0].images, q) for row, _, q in todo
            ]
            if self.chain:
                conversations = [with_chain_instruction(c) for c in conversations]
            answers = self._answers(self.answerer, conversations)
            to_verify = [i for i, a in enumerate(answers) if a.finish_reason != "error"]
            items = [pairs[todo[i][0]][0].item(todo[i][2], answers[i].text) for i in to_verify]
            judgements = dict(zip(to_verify, self.verifier.verify(items) if items else [], strict=True))
            for i, (row, slot, question) in enumerate(todo):
                judgement = judgements.get(i) or Judgement.unjudged(f"{ANSWERER_ERROR}: {answers[i].error}")
                results[row, slot] = ScoredQuestion(slot, question, answers[i].text, judgement)
            if self.base is not None:
                self._compare(self.base, pairs, todo, conversations, results)
        return [
            ScoredCompletion(
                sample,
                output,
                parsed[row],
                tuple(results.get((row, s), ScoredQuestion(s, None)) for s in range(1, self.k + 1)),
            )
            for row, (sample, output) in enumerate(pairs)
        ]

    def _answers(self, model: Model, conversations: list[Any]) -> list[Any]:
        """One batched call of `model` in the probe's answer style (focus chain: the final answer span)."""
        answers = model.generate(conversations, self.answer_config)
        return [final_answer_completion(a) for a in answers] if self.chain else answers

    def _compare(
        self,
        base: Model,
        pairs: Sequence[tuple[ProbeSample, str]],
        todo: list[tuple[int, int, str]],
        conversations: list[Any],
        results: dict[tuple[int, int], ScoredQuestion],
    ) -> None:
        """Ask `base` the questions of `todo` the target got wrong; mark each failure shared or the
        target's own. A base call that failed leaves its question unjudged."""
        wrong = [i for i, (row, slot, _) in enumerate(todo) if results[row, slot].wrong]
        if not wrong:
            return
        answers = self._answers(base, [conversations[i] for i in wrong])
        ok = [(i, a) for i, a in zip(wrong, answers, strict=True) if a.finish_reason != "error"]
        items = [pairs[todo[i][0]][0].item(todo[i][2], a.text) for i, a in ok]
        verdicts = dict(zip([i for i, _ in ok], self.verifier.verify(items) if items else [], strict=True))
        for i, answer in zip(wrong, answers, strict=True):
            row, slot, _ = todo[i]
            scored = results[row, slot]
            verdict = verdicts.get(i)
            if verdict is None or verdict.correct is None:
                detail = answer.error if verdict is None else verdict.detail
                judgement = Judgement.unjudged(f"{BASE_ERROR}: {detail}")
                results[row, slot] = replace(scored, judgement=judgement, base_answer=answer.text)
            else:
                results[row, slot] = replace(scored, base_answer=answer.text, shared=not verdict.correct)


def question_record(
    scored: ScoredCompletion, question: ScoredQuestion, prefix_length: int = 2, **fields: Any
) -> dict[str, Any]:
    """The logged form of one scored question (plus `fields`, e.g. key, method, step)."""
    judgement = question.judgement
    text = question.question
    return {
        **fields,
        "sample": scored.sample.key,
        "slot": question.slot,
        "question": text,
        "prefix": question_prefix(text, prefix_length) if text else None,
        "answer": question.answer,
        "judged": question.judged,
        "valid": question.valid,
        "correct": None if judgement is None else judgement.correct,
        "failed": question.failed,
        **(
            {"base_answer": question.base_answer, "shared": question.shared}
            if question.shared is not None or question.base_answer is not None
            else {}
        ),
        "reason": question.reason,
        "reference": None if judgement is None else judgement.reference,
        "skills": [] if judgement is None else list(judgement.skills),
        "family": "" if judgement is None else judgement.family,
        "detail": "" if judgement is None else judgement.detail,
        "parse_mode": scored.parsed.mode,
        "output": scored.output,
    }


__all__ = ["ANSWERER_ERROR", "BASE_ERROR", "Probe", "ScoredCompletion", "ScoredQuestion", "question_record"]
