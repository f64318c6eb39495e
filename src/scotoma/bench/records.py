"""One record per answered variant: score the output by rules, ask the judge about the unparsed rest,
and lay out what is logged (what was asked, the raw output, the extracted answer, parsed, correct)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scotoma.bench.items import Benchmark, Score, Variant, score_extraction
from scotoma.judge import JudgeExtractor, JudgeRequest
from scotoma.judge.chain_inference import final_answer_completion
from scotoma.types import Completion, Conversation


def variant_record(
    variant: Variant, completion: Completion, score: Score, conversation: Conversation | None = None
) -> dict[str, Any]:
    """The logged record of one answered variant: what was asked (the prompt as sent, images by hash and
    uri, as lmms-eval and VLMEvalKit logs keep them), the raw output, how it scored."""
    item = variant.item
    return {
        "key": variant.key,
        "item_id": item.id,
        "setting": variant.setting,
        "image_order": list(variant.image_order),
        "option_order": "".join(variant.option_order),
        "identity": variant.is_identity,
        "subtask": item.subtask,
        "level": item.level,
        "n_images": item.n_images,
        "skills": list(item.meta.get("skills", ())),  # world items know the skills their program needs
        "kind": item.kind,
        "question": item.question,
        "images": [image.to_dict() for image in variant.images],  # in the order this variant shows them
        "prompt": conversation.to_dict()["messages"] if conversation is not None else None,
        "target": variant.answer,
        "output": completion.text,
        "extracted": score.extracted,
        "answer_original": variant.to_original(score.extracted),
        "parsed": score.parsed,
        "method": score.method,
        "correct": score.correct,
        "finish_reason": completion.finish_reason,
        "cached": completion.cached,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": completion.latency_s,
    }


def score_batch(
    bench: Benchmark,
    chunk: Sequence[Variant],
    completions: Sequence[Completion],
    judge: JudgeExtractor | None,
    chain: bool = False,
    conversations: Sequence[Conversation] | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Records for the answered variants of a batch, and the error of each failed call: its variant is
    not written, so a re-run asks it again (the shape of `RunDir.todo(...).work`).

    With `chain`, each output is scored on its final answer span (`final_answer_completion`); the record
    keeps the whole chain as the output. `conversations` are the prompts as sent, logged with each record.
    """
    sent = list(conversations) if conversations is not None else [None] * len(chunk)
    prompts = {v.key: conversation for v, conversation in zip(chunk, sent, strict=True)}
    answered = [(v, c) for v, c in zip(chunk, completions, strict=True) if c.finish_reason != "error"]
    read = final_answer_completion if chain else (lambda c: c)
    scores = [bench.scorer(read(c).text, v) for v, c in answered]
    if judge is not None:
        unparsed = [i for i, s in enumerate(scores) if not s.parsed and answered[i][1].text.strip()]
        requests = []
        for i in unparsed:
            variant, completion = answered[i]
            question = f"{variant.item.context}\n{variant.item.question}".strip()
            text = read(completion).text
            requests.append(JudgeRequest(question, variant.item.kind, dict(variant.options), text))
        for i, found in zip(unparsed, judge.extract_many(requests), strict=True):
            scores[i] = score_extraction(found, answered[i][0])
    records = [variant_record(v, c, s, prompts[v.key]) for (v, c), s in zip(answered, scores, strict=True)]
    failed = [c.error or "the model call failed" for c in completions if c.finish_reason == "error"]
    return records, failed
