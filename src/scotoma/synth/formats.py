"""Rows of the four training frameworks' data formats, and a schema check for each.

- trl: SFT {messages (image/text blocks), images}; DPO {prompt, chosen, rejected (messages), images};
  GRPO {prompt, images, answer}; exactly what scotoma.train.data reads;
- llamafactory (sharegpt): SFT {conversations [{from, value}], images}; DPO {conversations ending on
  the human turn, chosen {from: gpt, value}, rejected {...}, images} with ranking: true in dataset_info;
- swift: SFT {messages [{role, content}], images}; DPO the same ending in the chosen reply, plus
  rejected_response;
- easyr1: RL {problem (= prompt), prompt, answer, images}, only rows whose answer a rule grader can score.

In every row the images are listed in the order their placeholders (TRL image blocks, `<image>` in the
text formats) appear, one each. The checks re-read what was written by each format's own rules and
raise `FormatError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scotoma.synth.prompting import placeholder_text
from scotoma.types import Conversation, ImagePart

PLACEHOLDER = "<image>"
SHAREGPT_ROLES = {"user": "human", "assistant": "gpt", "system": "system"}


class FormatError(ValueError):
    """A row that breaks its format's schema; the message says which rule."""


# -- writing -------------------------------------------------------------------------------------------
def trl_message(role: str, conversation_or_text: Conversation | str) -> dict[str, Any]:
    """One TRL message: content blocks in order, {"type": "image"} where an image sits."""
    if isinstance(conversation_or_text, str):
        return {"role": role, "content": [{"type": "text", "text": conversation_or_text}]}
    (message,) = conversation_or_text.messages
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            blocks.append({"type": "image"})
        elif part.text and blocks and blocks[-1]["type"] == "text":  # one block per run of text
            blocks[-1]["text"] += part.text
        elif part.text:
            blocks.append({"type": "text", "text": part.text})
    return {"role": message.role, "content": blocks}


def trl_sft(
    prompt: Conversation, target: str, images: list[str], follow_ups: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """TRL SFT row: the user turn (image/text blocks) and the assistant target, then any follow-up
    (question, answer) turns about the same images, text only."""
    messages = [trl_message("user", prompt), trl_message("assistant", target)]
    for question, answer in follow_ups:
        messages += [trl_message("user", question), trl_message("assistant", answer)]
    return {"messages": messages, "images": images}


def trl_dpo(prompt: Conversation, chosen: str, rejected: str, images: list[str]) -> dict[str, Any]:
    """TRL DPO row: the prompt turn, chosen and rejected as assistant messages."""
    return {
        "prompt": [trl_message("user", prompt)],
        "chosen": [trl_message("assistant", chosen)],
        "rejected": [trl_message("assistant", rejected)],
        "images": images,
    }


def trl_grpo(prompt: Conversation, answer: str, images: list[str]) -> dict[str, Any]:
    """TRL GRPO row: the prompt turn and the gold answer the correctness reward reads."""
    return {"prompt": [trl_message("user", prompt)], "images": images, "answer": answer}


def _user_text(prompt: Conversation) -> str:
    ((_, text),) = placeholder_text(prompt, PLACEHOLDER)
    return text


def llamafactory_sft(prompt: Conversation, target: str, images: list[str]) -> dict[str, Any]:
    """LLaMA-Factory sharegpt SFT row: human turn with <image> placeholders, gpt turn."""
    return {
        "conversations": [{"from": "human", "value": _user_text(prompt)}, {"from": "gpt", "value": target}],
        "images": images,
    }


def llamafactory_dpo(prompt: Conversation, chosen: str, rejected: str, images: list[str]) -> dict[str, Any]:
    """LLaMA-Factory sharegpt preference row (ranking: true): the human turn, chosen and rejected."""
    return {
        "conversations": [{"from": "human", "value": _user_text(prompt)}],
        "chosen": {"from": "gpt", "value": chosen},
        "rejected": {"from": "gpt", "value": rejected},
        "images": images,
    }


def swift_sft(prompt: Conversation, target: str, images: list[str]) -> dict[str, Any]:
    """ms-swift SFT row: user and assistant messages with string content."""
    return {
        "messages": [
            {"role": "user", "content": _user_text(prompt)},
            {"role": "assistant", "content": target},
        ],
        "images": images,
    }


def swift_dpo(prompt: Conversation, chosen: str, rejected: str, images: list[str]) -> dict[str, Any]:
    """ms-swift DPO row: messages ending in the chosen reply, plus rejected_response."""
    return {**swift_sft(prompt, chosen, images), "rejected_response": rejected}


def easyr1_row(prompt: Conversation, answer: str, images: list[str]) -> dict[str, Any]:
    """EasyR1 RL row: the prompt text with <image> placeholders, answer, images.

    The prompt is written under both keys EasyR1 reads it from: `problem` (its example configs set
    data.prompt_key=problem) and `prompt` (the default of its DataConfig).
    """
    text = _user_text(prompt)
    return {"problem": text, "prompt": text, "answer": answer, "images": images}


ARTICLES = frozenset({"a", "an", "the"})


def gradable(answer: str) -> bool:
    """Whether a rule grader (EasyR1's math and exact-match rewards) can score the answer: a short final
    answer (a number, yes/no, a word, an option, one object such as "the small black circle"), not a
    whole description such as S2H L3's lists of objects, which no such grader can compare.

    Articles do not count towards the three words, so that one kind of answer is not split by whether
    its object needed a size ("the blue triangle", "the small black circle": both are kept)."""
    words = [word for word in answer.split() if word.lower() not in ARTICLES]
    return bool(words) and "," not in answer and len(words) <= 3


# -- checking ------------------------------------------------------------------------------------------
def _images(row: dict[str, Any]) -> list[str]:
    images = row.get("images")
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        raise FormatError(f"'images' must be a list of path strings, not {images!r:.80}")
    return images


def _placeholders(texts: Sequence[str], images: list[str]) -> None:
    found = sum(text.count(PLACEHOLDER) for text in texts)
    if found != len(images):
        raise FormatError(f"{found} {PLACEHOLDER} placeholders but {len(images)} images; they must match")


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"{what} must be a non-empty string, not {value!r:.80}")
    return value


def _trl_messages(messages: Any, what: str) -> int:
    """Check TRL messages; return how many image blocks they hold."""
    if not isinstance(messages, list) or not messages:
        raise FormatError(f"{what} must be a non-empty list of messages")
    blocks = 0
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant") or not isinstance(
            message.get("content"), list
        ):
            raise FormatError(
                f"{what}: each message needs a role and a list of content blocks: {message!r:.80}"
            )
        for block in message["content"]:
            if block.get("type") == "image":
                blocks += 1
            elif block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise FormatError(f"{what}: a content block is an image or a text block, not {block!r:.80}")
    return blocks


def check_trl(row: dict[str, Any], stage: str) -> None:
    """TRL's conversational vision format as scotoma.train.data reads it (sft, dpo or grpo)."""
    images = _images(row)
    if stage == "sft":
        blocks = _trl_messages(row.get("messages"), "messages")
        if row["messages"][-1]["role"] != "assistant":
            raise FormatError("an SFT conversation must end with the assistant turn")
    else:
        blocks = _trl_messages(row.get("prompt"), "prompt")
        if stage == "dpo":
            for side in ("chosen", "rejected"):
                if _trl_messages(row.get(side), side) or row[side][-1]["role"] != "assistant":
                    raise FormatError(f"{side} must be image-free assistant messages")
        elif stage == "grpo":
            _string(row.get("answer"), "answer")
        else:
            raise FormatError(f"unknown TRL stage {stage!r}")
    if blocks != len(images):
        raise FormatError(f"{blocks} image blocks but {len(images)} images; they must match, in order")


def check_llamafactory(row: dict[str, Any], ranking: bool) -> None:
    """LLaMA-Factory's sharegpt format: human/gpt turns alternate; preference rows end on a human turn."""
    images = _images(row)
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise FormatError("'conversations' must be a non-empty list of {from, value} turns")
    for i, turn in enumerate(turns):
        expected = "human" if i % 2 == 0 else "gpt"
        if turn.get("from") != expected:
            raise FormatError(
                f"turn {i} is from {turn.get('from')!r}; human and gpt turns alternate, human first"
            )
        _string(turn.get("value"), f"turn {i} value")
    if ranking:
        if len(turns) % 2 != 1:
            raise FormatError("a preference row's conversations end with a human turn")
        for side in ("chosen", "rejected"):
            reply = row.get(side)
            if not isinstance(reply, dict) or reply.get("from") != "gpt":
                raise FormatError(f"{side} must be a {{'from': 'gpt', 'value': ...}} turn")
            _string(reply.get("value"), f"{side} value")
    elif len(turns) % 2 != 0:
        raise FormatError("an SFT row's conversations end with a gpt turn")
    _placeholders([t["value"] for t in turns], images)


def check_swift(row: dict[str, Any], stage: str) -> None:
    """ms-swift's standard format: messages with string content; DPO adds rejected_response."""
    images = _images(row)
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages or messages[-1].get("role") != "assistant":
        raise FormatError("'messages' must be a list of {role, content} ending with the assistant turn")
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant"):
            raise FormatError(f"unknown role {message.get('role')!r}")
        _string(message.get("content"), f"{message['role']} content")
    if stage == "dpo":
        _string(row.get("rejected_response"), "rejected_response")
    _placeholders([m["content"] for m in messages], images)


def check_easyr1(row: dict[str, Any]) -> None:
    """EasyR1's RL format: a prompt string with <image> placeholders, an answer, the images."""
    images = _images(row)
    _placeholders([_string(row.get("prompt"), "prompt")], images)
    if row.get("problem") != row["prompt"]:
        raise FormatError("'problem' must repeat 'prompt' (EasyR1 configs read either key)")
    if not gradable(_string(row.get("answer"), "answer")):
        raise FormatError(f"answer {row['answer']!r:.60} is not one a rule grader can score")
