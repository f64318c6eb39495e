"""Chain inference: ask a target in focus-chain style and read its final answer (for bench and probe).

    answers = run_chain_inference(model, [(images, "How many blue circles are there in all images?")])
    answers[0].final        # "4", the text after Final_answer:
    answers[0].chain.steps  # what it asked, looked at and answered on the way

The prompt is the question plus the versioned instruction prompts/chain_v1.txt (the same text chain
samples carry, so a model trained on them is asked as it was taught). The final answer is the text
after the last "Final_answer:"; an output that stops before writing one falls back to its last step's
answer (method "last_step"), and one with neither is unparsed. `extract_chain_answer` then reads a
canonical answer (an option letter, yes/no, a number) out of that span with scotoma.judge's rules, and
`final_answer_completion` hands bench's scorer a completion whose text is only that span.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scotoma.judge.chains import ParsedChain, parse_chain
from scotoma.judge.extract import AnswerKind, Extraction, extract_answer
from scotoma.models import Model
from scotoma.prompts import load_prompt
from scotoma.types import Completion, Conversation, GenConfig, ImageRef, TextPart, user_turn

CHAIN_PROMPT_VERSION = "chain_v1"
DEFAULT_GEN = GenConfig(max_new_tokens=512)  # chains run long; paper 001 decodes greedily


@dataclass(frozen=True)
class ChainAnswer:
    """A model's chain-style answer.

    Attributes:
        text: the raw output.
        chain: the steps read from it.
        final: the final answer span, or None when nothing could be read.
        method: "final_answer", "last_step" or "none".
        completion: the backend's completion (tokens, latency, cache flag).
    """

    text: str
    chain: ParsedChain
    final: str | None
    method: str
    completion: Completion

    @property
    def parsed(self) -> bool:
        return self.final is not None


def chain_instruction() -> str:
    """The focus-chain instruction appended to questions (prompts/chain_v1.txt)."""
    return load_prompt("judge", CHAIN_PROMPT_VERSION)


def chain_prompt(question: str, instruction: bool = True) -> str:
    """The user text: the question, then the chain instruction (unless `instruction` is False)."""
    return f"{question.strip()}\n{chain_instruction()}" if instruction else question.strip()


def with_chain_instruction(conversation: Conversation) -> Conversation:
    """The conversation with the chain instruction after its last text (bench's prompts, in chain style)."""
    messages = list(conversation.messages)
    last = messages[-1]
    parts = list(last.content)
    at = max((i for i, p in enumerate(parts) if isinstance(p, TextPart)), default=None)
    if at is None:
        parts.append(TextPart(chain_instruction()))
    else:
        parts[at] = TextPart(chain_prompt(parts[at].text))
    messages[-1] = dataclasses.replace(last, content=tuple(parts))
    return dataclasses.replace(conversation, messages=tuple(messages))


def chain_conversation(
    images: Sequence[ImageRef], question: str, layout: str = "labelled", instruction: bool = True
) -> Conversation:
    """The conversation that asks `question` of `images` in chain style."""
    return user_turn(images, chain_prompt(question, instruction), layout)


def final_answer_text(text: str) -> tuple[str | None, str, ParsedChain]:
    """(final answer span, method, parsed chain) of one output; see the module docstring."""
    chain = parse_chain(text)
    if chain.final_answer:
        return chain.final_answer, "final_answer", chain
    answered = [step.answer for step in chain.steps if step.answer]
    if answered:
        return answered[-1], "last_step", chain
    return None, "none", chain


def extract_chain_answer(text: str, kind: AnswerKind, options: Mapping[str, str] | None = None) -> Extraction:
    """A canonical answer from a chain-style output: judge's rules applied to its final answer span.

    The method is prefixed "chain:" (e.g. "chain:leading"); an output without a final answer or any
    step answer is unparsed with method "chain:none".
    """
    span, method, _ = final_answer_text(text)
    if span is None:
        return Extraction(None, "chain:none")
    found = extract_answer(span, kind, options)
    return Extraction(
        found.answer, f"chain:{found.method}" if method == "final_answer" else "chain:last_step"
    )


def final_answer_completion(completion: Completion) -> Completion:
    """The completion with its text cut to the final answer span (the whole text when none is found),
    for scorers that read `completion.text`."""
    span, _, _ = final_answer_text(completion.text)
    return dataclasses.replace(completion, text=span) if span is not None else completion


def run_chain_inference(
    model: Model,
    items: Sequence[tuple[Sequence[ImageRef], str]],
    gen: GenConfig | None = None,
    layout: str = "labelled",
    instruction: bool = True,
    batch_size: int = 32,
) -> list[ChainAnswer]:
    """Ask every (images, question) in chain style and read the answers.

    Args:
        model: any backend; wrap it in a CachedModel to reuse answers across runs.
        items: (images in order, question) pairs.
        gen: generation settings; default greedy with 512 new tokens. n must be 1.
        layout: "labelled" or "bare" (see scotoma.synth.prompting).
        instruction: append the chain instruction to each question.
        batch_size: conversations per model call.
    """
    gen = gen or DEFAULT_GEN
    if gen.n != 1:
        raise ValueError("chain inference reads one completion per question; use GenConfig(n=1)")
    conversations = [chain_conversation(images, q, layout, instruction) for images, q in items]
    out: list[ChainAnswer] = []
    for start in range(0, len(conversations), batch_size):
        for completion in model.generate(conversations[start : start + batch_size], gen):
            final, method, chain = final_answer_text(completion.text)
            out.append(ChainAnswer(completion.text, chain, final, method, completion))
    return out
