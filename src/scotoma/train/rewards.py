"""Rule-based rewards for GRPO: plain functions `(prompts, completions, **columns) -> list[float | None]`.

TRL calls each reward function with the prompts, the completions (strings, or one-message lists
`[{"role": "assistant", "content": ...}]` for conversational data) and every other dataset column as a
keyword list, one entry per completion. The same functions score saved completions in evaluation.

`correctness_reward` is the rule-based reward of S2H's GRPO variant (paper 003, section 5: "similarity
between the generated output and the gold reference answer"), made exact: the completion's final answer
is compared with the `answer` column after normalising yes/no, numbers and option letters. S2H also uses a
length reward (optimal length 20 tokens; `length_reward`) and a format reward whose structure the paper does
not give, so it is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from scotoma.models.messages import completion_text

_WORDS_TO_TWENTY = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {word: index for index, word in enumerate(_WORDS_TO_TWENTY.split())}
YES_NO = {"yes": "yes", "true": "yes", "correct": "yes", "no": "no", "false": "no", "incorrect": "no"}
# Where a completion states its final answer: VISC chains ("Final_answer: ..."), "<answer>" tags, "Answer:".
_FINAL_MARKERS = re.compile(r"final[_ ]answer\s*[:：]|<answer>|\banswer\s*(?:is\s*)?[:：]", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?|\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
_LETTER = re.compile(
    r"^\(?([a-z])(?:[).:\]]|\s|$)|\b(?:option|choice|answer is)\s*\(?([a-z])\b", re.IGNORECASE
)
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def final_answer(text: str) -> str:
    """The part of `text` after its last final-answer marker (the whole text when it has none)."""
    markers = list(_FINAL_MARKERS.finditer(text))
    tail = text[markers[-1].end() :] if markers else text
    return tail.split("</answer>")[0].strip()


def _number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if match is None:
        return None
    token = match.group(0).lower()
    return float(NUMBER_WORDS[token]) if token in NUMBER_WORDS else float(token)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:\.\d+)?", text.lower())


def answer_kind(gold: str) -> str:
    """How `gold` is compared: "yesno", "number", "letter" or "text"."""
    words = _words(gold)
    if len(words) == 1 and words[0] in YES_NO:
        return "yesno"
    if len(words) == 1 and _number(gold) is not None and _NUMBER.fullmatch(gold.strip().rstrip(".")):
        return "number"
    if re.fullmatch(r"\(?[a-zA-Z][).]?", gold.strip()):
        return "letter"
    return "text"


def normalize_text(text: str) -> str:
    """Lower case, punctuation and articles dropped, whitespace collapsed."""
    return " ".join(_ARTICLES.sub(" ", " ".join(_words(text))).split())


def answers_match(prediction: str, gold: str) -> bool:
    """Whether the final answer in `prediction` equals `gold` under the rules of `gold`'s kind.

    yes/no: the first word of the answer (true/false and correct/incorrect count too); number: the
    first number in the answer, digits or a word up to twenty, equal within 1e-6; letter: a leading
    "(B)", "B.", "B)" or "option B"; text: equal after `normalize_text`.
    """
    answer = final_answer(prediction)
    kind = answer_kind(gold)
    if kind == "yesno":
        words = _words(answer)
        return bool(words) and YES_NO.get(words[0]) == YES_NO[_words(gold)[0]]
    if kind == "number":
        predicted, expected = _number(answer), _number(gold)
        return (
            predicted is not None and expected is not None and math.isclose(predicted, expected, abs_tol=1e-6)
        )
    if kind == "letter":
        match = _LETTER.search(answer.strip())
        letter = next((group for group in match.groups() if group), None) if match else None
        return letter is not None and letter.lower() == gold.strip("().").lower()
    return normalize_text(answer) == normalize_text(gold)


def correctness_reward(
    prompts: Sequence[Any], completions: Sequence[Any], answer: Sequence[Any] | None = None, **columns: Any
) -> list[float | None]:
    """1.0 when a completion's final answer matches the row's `answer` column, else 0.0.

    Rows whose answer is None get None (TRL then skips this reward for them).

    Raises:
        ValueError: the dataset has no `answer` column.
    """
    if answer is None:
        raise ValueError(
            "correctness_reward needs an `answer` column in the GRPO dataset (the gold answer per prompt)"
        )
    return [
        None if gold is None else float(answers_match(completion_text(completion), str(gold)))
        for completion, gold in zip(completions, answer, strict=True)
    ]


def length_reward(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    completion_ids: Sequence[Sequence[int]] | None = None,
    target_tokens: int = 20,
    **columns: Any,
) -> list[float]:
    """S2H's length reward: 1 at `target_tokens` (20, the paper's optimum), falling linearly to 0 at 0
    and at twice the target. Counts tokens when TRL passes `completion_ids`, words otherwise."""
    lengths = (
        [len(ids) for ids in completion_ids]
        if completion_ids is not None
        else [len(completion_text(c).split()) for c in completions]
    )
    return [max(0.0, 1.0 - abs(n - target_tokens) / target_tokens) for n in lengths]


RewardFunction = Callable[..., list[float | None]]
REWARDS: dict[str, RewardFunction] = {"correctness": correctness_reward, "length": length_reward}


def reward_functions(names: Sequence[str]) -> list[RewardFunction]:
    """The reward functions of `names` (keys of REWARDS); a clear error for unknown names."""
    unknown = [name for name in names if name not in REWARDS]
    if unknown:
        raise ValueError(f"unknown reward(s) {unknown}; known rewards: {', '.join(REWARDS)}")
    return [REWARDS[name] for name in names]


__all__ = [
    "REWARDS",
    "RewardFunction",
    "answer_kind",
    "answers_match",
    "correctness_reward",
    "final_answer",
    "length_reward",
    "normalize_text",
    "reward_functions",
]
