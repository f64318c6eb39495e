"""Prompts of the probe and the questioner's `<response_i>` output, read leniently.

The questioner writes all k questions in one sequence, each inside numbered tags (paper 000, 3.2.1):
`<response_1>...</response_1><response_2>...</response_2>`, so question i is conditioned on those before
it. `parse_questions` never raises: a missing or empty slot is None (the probe counts it as an invalid
question), an unclosed tag runs to the next tag or the end (a completion cut at max_new_tokens), a
repeated index keeps its first question, indices beyond k are counted and dropped. Tags may come back
with spaces inside ("< response _ 1 >", how a word-level tokenizer decodes them). An output with no tag at
all is split into sentences instead, unless `strict` asks for tags.

Prompt templates are text files: shipped ones under scotoma/probe/prompts/ by name (questioner_v1, ...) or
any file by path. Fields are written {name}: {images} is where the images go (each after the image label,
e.g. "Image 1: "; at the start when absent), {k}, {k_word} ("two"), {question_noun} ("question" or
"questions"), {image_noun} ("image" or "images", by the sample's image count), {format} (the tag lines to
fill), {question}, {answers}. The world prompt is the built-in questioner's training prompt word for
word: "ask two questions about the images .". With "auto", a model's checkpoint folder may ship the
prompt it was trained with (questioner_prompt.txt, answerer_prompt.txt, conme_prompt.txt); otherwise
the shipped world prompts are used for builtin: models (their tokenizer knows only the world's words,
and images carry no labels) and the v1 prompts for every other backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.models.builtin import builtin_models_root
from scotoma.models.spec import ModelSpec
from scotoma.prompts import load_prompt
from scotoma.types import Conversation, ImageRef
from scotoma.world.programs.lexicon import NUMBER_WORDS

_OPEN = re.compile(r"<\s*response\s*_?\s*(\d+)\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*response\s*_?\s*(\d+)\s*>", re.IGNORECASE)
_SENTENCE = re.compile(r"[^?.!\n]*[^?.!\n\s][^?.!\n]*(?:[?.!]+|$)", re.MULTILINE)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
DEFAULT_IMAGE_LABEL = "Image {n}: "
#: The built-in questioner's prompt, word for word what `scotoma.world_models` trains it on.
WORLD_QUESTIONER_PROMPT = "questioner_world_v1"


@dataclass(frozen=True)
class ParsedQuestions:
    """The k question slots read from one questioner output.

    Attributes:
        questions: k entries, the question text or None for a missing or empty slot.
        mode: "tags", "untagged" (no tag found, split into sentences) or "empty".
        extra: questions beyond k (tags with a higher index, or surplus sentences), dropped.
    """

    questions: tuple[str | None, ...]
    mode: str
    extra: int = 0

    @property
    def found(self) -> int:
        """Slots that hold a question."""
        return sum(q is not None for q in self.questions)


def _clean(text: str) -> str | None:
    text = " ".join(_CLOSE.sub(" ", text).split())
    return text or None


def parse_questions(text: str, k: int, strict: bool = False) -> ParsedQuestions:
    """Read up to k questions from a questioner output; see the module docstring for the rules."""
    opens = list(_OPEN.finditer(text))
    slots: list[str | None] = [None] * k
    if opens:
        extra = 0
        for n, match in enumerate(opens):
            index = int(match.group(1))
            end = opens[n + 1].start() if n + 1 < len(opens) else len(text)
            body = text[match.end() : end]
            close = re.search(rf"<\s*/\s*response\s*_?\s*{index}\s*>", body, re.IGNORECASE)
            question = _clean(body[: close.start()] if close else body)
            if not 1 <= index <= k:
                extra += 1
            elif slots[index - 1] is None:
                slots[index - 1] = question
        return ParsedQuestions(tuple(slots), "tags", extra)
    sentences = [] if strict else [s.strip() for s in _SENTENCE.findall(_CLOSE.sub("\n", text)) if s.strip()]
    if not sentences:
        return ParsedQuestions(tuple(slots), "empty")
    for i, sentence in enumerate(sentences[:k]):
        slots[i] = _clean(sentence)
    return ParsedQuestions(tuple(slots), "untagged", max(0, len(sentences) - k))


def format_questions(questions: list[str]) -> str:
    """Questions in the questioner's output format, one tagged question per line (SFT targets)."""
    return "\n".join(f"<response_{i}>{q}</response_{i}>" for i, q in enumerate(questions, start=1))


def questioner_fields(k: int, n_images: int) -> dict[str, Any]:
    """The fields of a questioner template for k questions about n images."""
    return {
        "k": k,
        "k_word": NUMBER_WORDS[k] if k < len(NUMBER_WORDS) else str(k),
        "question_noun": "question" if k == 1 else "questions",
        "image_noun": "image" if n_images == 1 else "images",
        "format": tag_format(k),
    }


def tag_format(k: int) -> str:
    """The lines that show the questioner what to write, for the {format} field."""
    return "\n".join(f"<response_{i}>question {i}</response_{i}>" for i in range(1, k + 1))


def question_prefix(question: str, length: int) -> str:
    """The first `length` words, lowercased, punctuation dropped: a question's "type" ("how many")."""
    return " ".join(_WORD.findall(question.lower())[:length])


# -- templates -----------------------------------------------------------------------------------------
def shipped_prompt(name: str) -> str:
    """The text of a prompt shipped in scotoma/probe/prompts/ (`scotoma.prompts.load_prompt`)."""
    try:
        return load_prompt("probe", name)
    except ValueError as error:
        raise ValueError(f"{error}; or give a file path") from None


def checkpoint_folder(spec: str) -> Path | None:
    """The local folder of an hf: or builtin: model (where a trained model ships its prompts), else None."""
    parsed = ModelSpec.parse(spec)
    if parsed.kind == "builtin":
        folder = builtin_models_root() / parsed.target
    elif parsed.kind == "hf":
        folder = Path(parsed.target)
    else:
        return None
    return folder if folder.is_dir() else None


def _template(choice: str, role: str, spec: str) -> tuple[str, str]:
    """(text, where it came from) of the `role` prompt for the model `spec`."""
    if choice != "auto":
        path = Path(choice)
        return (
            (path.read_text(encoding="utf-8").rstrip(), str(path))
            if path.is_file()
            else (
                shipped_prompt(choice),
                choice,
            )
        )
    folder = checkpoint_folder(spec)
    own = folder / f"{role}_prompt.txt" if folder is not None else None
    if own is not None and own.is_file():
        return own.read_text(encoding="utf-8").rstrip(), f"{spec}/{own.name}"
    name = f"{role}_world_v1" if spec.startswith("builtin:") else f"{role}_v1"
    return shipped_prompt(name), name


@dataclass(frozen=True)
class PromptSet:
    """The templates a probe uses, and where each came from (recorded in the run's spec).

    Attributes:
        questioner: first-turn questioner template ({images}, {k}, {format}).
        answerer: answerer template ({images}, {question}).
        conme: ConMe second-turn template ({answers}, {k}, {format}).
        image_label: written before each image, {n} its 1-based position; "" for none.
        sources: role -> shipped name, file path or checkpoint file.
    """

    questioner: str
    answerer: str
    conme: str
    image_label: str
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def resolve(
        cls,
        questioner_spec: str,
        answerer_spec: str,
        questioner: str = "auto",
        answerer: str = "auto",
        conme: str = "auto",
        image_label: str = "auto",
    ) -> PromptSet:
        """Pick each template: a shipped name, a file path, or "auto" (see the module docstring)."""
        q_text, q_source = _template(questioner, "questioner", questioner_spec)
        a_text, a_source = _template(answerer, "answerer", answerer_spec)
        c_text, c_source = _template(conme, "conme", questioner_spec)
        if image_label == "auto":
            image_label = "" if questioner_spec.startswith("builtin:") else DEFAULT_IMAGE_LABEL
        sources = {"questioner": q_source, "answerer": a_source, "conme": c_source}
        return cls(q_text, a_text, c_text, image_label, sources)

    def to_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, "image_label": self.image_label}


def fill(template: str, images: tuple[ImageRef, ...], image_label: str, **fields: Any) -> list[Any]:
    """The template's parts with its fields filled: text pieces and images in order."""
    text = template
    for name, value in fields.items():
        text = text.replace("{" + name + "}", str(value))
    before, marker, after = text.partition("{images}")
    if not marker:
        before, after = "", text
    parts: list[Any] = [before] if before else []
    for n, image in enumerate(images, start=1):
        label = image_label.format(n=n)
        parts += [label, image] if label else [image]
    parts += [after] if after else []
    return parts


def questioner_conversation(prompts: PromptSet, images: tuple[ImageRef, ...], k: int) -> Conversation:
    """The questioner's first-turn request for one sample."""
    fields = questioner_fields(k, len(images))
    return Conversation.user(*fill(prompts.questioner, images, prompts.image_label, **fields))


def answerer_conversation(prompts: PromptSet, images: tuple[ImageRef, ...], question: str) -> Conversation:
    """The target's request for one question."""
    return Conversation.user(*fill(prompts.answerer, images, prompts.image_label, question=question))


__all__ = [
    "DEFAULT_IMAGE_LABEL",
    "WORLD_QUESTIONER_PROMPT",
    "ParsedQuestions",
    "PromptSet",
    "answerer_conversation",
    "checkpoint_folder",
    "fill",
    "format_questions",
    "parse_questions",
    "question_prefix",
    "questioner_conversation",
    "questioner_fields",
    "shipped_prompt",
    "tag_format",
]
