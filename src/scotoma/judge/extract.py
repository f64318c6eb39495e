"""Answer extraction: read the answer out of a free-form model output, restricted to what the item allows.

Rules, in order of trust (the first that finds an answer wins):

1. explicit cues, the last one of the strongest kind: "the answer is (B)", "Answer: C) a red car",
   "B is correct", "final answer: yes", then "I'd pick B", "Therefore, B";
2. a leading answer: "B.", "(C)", "**A**", "Yes, they are.", "3" (not when the output starts by echoing
   the option list);
3. for multiple choice: one option named as "option B" / "it's B", then the last "(X)", then (unless the
   output is a refusal) the one option whose text it names, then the last bare capital option letter;
   for yes/no, the last yes/no/true/false; for numbers, the last number that is not an image label.

Yes/no also reads hedged answers, after the explicit cues: a hedge ("I think", "I believe", "probably",
"most likely", "maybe", ...) directly followed by so / not / yes / no that ends its clause ("I think
not.", "Probably yes, the circle is blue", "I believe so"), and "I don't think so" (no). A hedge without
one of those words ("Probably.", "I'm not sure") answers nothing. When the hedged answers disagree with
each other or with a leading answer ("No, I think yes", "Maybe yes, maybe no") the output is unparsed
(method "conflict"): it says both, and picking one would be a guess.

Only the item's valid letters count, so "The correct answer is (B)." is B and never "T". A refusal
("I'm sorry, I cannot see the images") or an output that picks nothing is *unparsed*, which callers count
apart from a wrong answer. Optional judge-based extraction for the unparsed rest lives in `extract_judge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scotoma.judge.normalize import (
    ANSWER_KINDS,
    NUMBER_PATTERN,
    NUMBER_WORDS,
    AnswerKind,
    clean_output,
    normalize_number,
    normalize_text,
    normalize_yes_no,
)

EXTRACTOR_VERSION = "rules-v2"  # v2: hedged yes/no ("I think not", "I believe so")

# Cues before an answer, in tiers: "answer" phrases beat "I choose" phrases, which beat "option X" mentions.
_ANSWER_CUES = [
    re.compile(
        r"\b(?:(?:final|correct|right|best|my)\s+)?answer\b"
        r"(?:\s*(?:is|would be|should be|will be|must be|=|:|-))*",
        re.I,
    ),
    re.compile(r"\b(?:correct|right|best)\s+(?:option|choice|one)\s+(?:is|would be)\b", re.I),
    re.compile(r"\bstatement\s+is\b", re.I),
]
_CHOOSE_CUES = [
    re.compile(r"\bi(?:'d|\s+would|\s+will)?\s+(?:choose|pick|select|go with)\b", re.I),
    re.compile(r"\b(?:therefore|thus|hence)\b,?", re.I),
]
_MENTION_CUES = [re.compile(r"\b(?:option|choice|it's|it is)\b", re.I)]
_IS_CORRECT = re.compile(
    r"(?:\b(option|choice)\s+)?([\(\[])?\b([A-Za-z])\b[\)\]]?\s+(?:is|seems|would be)\s+(?:the\s+)?"
    r"(?:correct|right|best|answer)\b",
    re.I,
)
_REFUSAL = re.compile(
    r"\b(?:i'?m sorry|i am sorry|i apologi[sz]e|i can(?:no|')t|i am unable|i'?m unable|unable to "
    r"(?:determine|answer|tell|see|view|identify)|cannot (?:be )?(?:determine|answer|tell|see|identify)|"
    r"can't (?:determine|answer|tell|see)|not possible to (?:determine|tell)|"
    r"impossible to (?:determine|tell)|"
    r"as an ai|not enough information|insufficient information|no images? (?:was|were|is|are) "
    r"(?:provided|shown|attached)|none of the (?:above|options|choices))\b",
    re.I,
)
_NEGATION = re.compile(
    r"(?:\bnot|n't|\bnor|\bexcept|\brather than|\binstead of|\bnever)\s*(?:option\s+)?$", re.I
)
# a hedge, then the word that carries the polarity, ending its clause ("I think not." but not "I think
# not all of them", nor the determiner of "probably no circles")
_HEDGE = re.compile(
    r"\b(?:i\s+(?:really\s+)?(?:think|believe|suppose|guess|expect|reckon)|i(?:'d|\s+would)\s+say|"
    r"i(?:'m|\s+am)\s+(?:fairly|pretty|quite|almost)\s+(?:sure|certain)|(?:most|very|quite)\s+likely|likely|"
    r"probably|maybe|perhaps|presumably|apparently)"
    r"\s*,?\s+(so|not|yes|no)(?=\s*(?:[\.,;:!]|$))",
    re.I,
)
_HEDGED_NO = re.compile(r"\bi\s+(?:do\s+not|don'?t)\s+(?:think|believe|suppose|expect|reckon)\s+so\b", re.I)
_Found = tuple[int, str]
_LETTER_FOLLOWERS = {"is", "was", "seems", "because", "since", "as", "and", "or", "would", "fits", "matches"}


@dataclass(frozen=True)
class Extraction:
    """The answer read from one output.

    Attributes:
        answer: canonical answer (an option letter, "yes"/"no", a number as text, normalized text) or
            None when unparsed.
        method: which rule found it ("explicit", "leading", "hedged", "paren", "option_text",
            "last_letter", "mention", "last_number", "text", "judge"), or why nothing was found ("empty",
            "refusal", "conflict", "none").
    """

    answer: str | None
    method: str

    @property
    def parsed(self) -> bool:
        """True when an answer was found."""
        return self.answer is not None


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 16) : start]))


def _letter_at(span: str, letters: set[str], options: Mapping[str, str]) -> str | None:
    """The option named at the very start of `span` (the text after a cue), by letter or by text."""
    span = re.sub(r"^[\s:=\-\"']*(?:(?:option|choice|letter)\b\s*)?", "", span, flags=re.I)
    if re.match(r"not\b", span, re.I):
        return None
    by_text = _option_text_at(span, options)
    match = re.match(r"([\(\[])?([A-Za-z])(?:[\)\]]|(?=$|[\s\.,:;!\?\"']))", span)
    if not match or match.group(2).upper() not in letters:
        return by_text
    letter, rest = match.group(2), span[match.end() :]
    delimited = bool(match.group(1)) or match.group(0).endswith((")", "]")) or not re.match(r"\s+\w", rest)
    if letter in "aAiI" and not delimited:
        # "A red car" or "a cat": an article or pronoun unless the next word makes it a label ("A is right")
        follower = re.match(r"\s+(\w+)", rest)
        if by_text or (follower and follower.group(1).lower() not in _LETTER_FOLLOWERS):
            return by_text
    return letter.upper()


def _option_text_at(span: str, options: Mapping[str, str]) -> str | None:
    head = normalize_text(span)
    for letter, text in sorted(options.items(), key=lambda kv: -len(normalize_text(kv[1]))):
        norm = normalize_text(text)
        if norm and (head == norm or head.startswith(norm + " ") or head.startswith(norm + ".")):
            return letter
    return None


def _after_cues(
    text: str, cues: list[re.Pattern[str]], answer_at: Callable[[str], str | None]
) -> list[_Found]:
    """(position, answer) for every cue in `text` directly followed by an answer; negated cues skipped."""
    found = []
    for cue in cues:
        for match in cue.finditer(text):
            answer = answer_at(text[match.end() :])
            if answer is not None and not _negated(text, match.start()):
                found.append((match.start(), answer))
    return sorted(found)


def _cued(text: str, answer_at: Callable[[str], str | None], extra: Sequence[_Found] = ()) -> str | None:
    """The answer after the last cue of the strongest tier that has one."""
    for cues in (_ANSWER_CUES, _CHOOSE_CUES):
        found = _after_cues(text, cues, answer_at) + (list(extra) if cues is _ANSWER_CUES else [])
        if found:
            return max(found)[1]
    return None


def extract_choice(text: str, options: Mapping[str, str]) -> Extraction:
    """Pick one option letter out of `text`; only the keys of `options` are valid answers."""
    options = {k.upper(): v for k, v in options.items()}
    letters = set(options)
    text = clean_output(text)
    if not text:
        return Extraction(None, "empty")

    def answer_at(span: str) -> str | None:
        return _letter_at(span, letters, options)

    # "B is correct", "option b is the answer", "(c) is right"; a bare lower-case letter is too weak
    correct = [
        (m.start(), m.group(3).upper())
        for m in _IS_CORRECT.finditer(text)
        if m.group(3).upper() in letters and (m.group(3).isupper() or m.group(1) or m.group(2))
        and not _negated(text, m.start())
    ]  # fmt: skip
    if (answer := _cued(text, answer_at, correct)) is not None:
        return Extraction(answer, "explicit")
    # an output that opens by echoing the options ("(A) red car (B) blue truck ...") has no leading answer
    labels = {m.group(1) for m in re.finditer(r"\(([A-Z])\)", text)}
    labels |= {m.group(1) for m in re.finditer(r"(?m)^\s*([A-Z])[\)\.:]\s", text)}
    if len(labels & letters) < 2 and (answer := answer_at(text)) is not None:
        return Extraction(answer, "leading")
    mentioned = {answer for _, answer in _after_cues(text, _MENTION_CUES, answer_at)}
    if len(mentioned) == 1:
        return Extraction(mentioned.pop(), "mention")
    parens = [m for m in re.finditer(r"\(([A-Za-z])\)", text) if m.group(1).upper() in letters]
    parens = [m for m in parens if not _negated(text, m.start())]
    if parens:
        return Extraction(parens[-1].group(1).upper(), "paren")
    if _REFUSAL.search(text):
        return Extraction(None, "refusal")
    if (answer := _named_option(text, options)) is not None:
        return Extraction(answer, "option_text")
    bare = [m for m in re.finditer(r"(?<![\w'])([A-Z])(?![\w'])", text) if m.group(1) in letters]
    bare = [m for m in bare if not _negated(text, m.start()) and not _article(text, m)]
    if bare:
        return Extraction(bare[-1].group(1), "last_letter")
    return Extraction(None, "none")


def _article(text: str, match: re.Match[str]) -> bool:
    """A capital "A" or "I" used as a word: "A dog sits", "I think"."""
    if match.group(1) not in "AI":
        return False
    follower = re.match(r"\s+([a-z]\w*)", text[match.end() :])
    return bool(follower and follower.group(1) not in _LETTER_FOLLOWERS)


def _named_option(text: str, options: Mapping[str, str]) -> str | None:
    """The one option whose text the output names (not negated); longer texts hide the shorter they hold."""
    norm = normalize_text(text)
    hits: dict[str, list[tuple[int, int]]] = {}
    for letter, option in options.items():
        target = normalize_text(option)
        if len(target) < 3 and norm != target:
            continue  # "2" or "no" inside a sentence is not a choice
        for m in re.finditer(rf"(?<!\w){re.escape(target)}(?!\w)", norm):
            if not _negated(norm, m.start()):
                hits.setdefault(letter, []).append(m.span())
    spans = {(letter, span) for letter, found in hits.items() for span in found}
    kept = {
        letter
        for letter, (start, end) in spans
        if not any(o != letter and s <= start and end <= e and (e - s) > (end - start) for o, (s, e) in spans)
    }
    return kept.pop() if len(kept) == 1 else None


def extract_yes_no(text: str) -> Extraction:
    """Read "yes" or "no" (true/false, correct/incorrect count too)."""
    text = clean_output(text)
    if not text:
        return Extraction(None, "empty")
    words = r"(yes|no|true|false|correct|incorrect|yeah|yep|nope)"

    def at(span: str) -> str | None:
        match = re.match(rf"[\s:=\-\"']*(not\s+)?{words}\b", span, re.I)
        if not match:
            return None
        polarity = normalize_yes_no(match.group(2))
        return ("no" if polarity == "yes" else "yes") if match.group(1) else polarity

    if (answer := _cued(text, at)) is not None:
        return Extraction(answer, "explicit")
    hedged = _hedged(text)
    if (answer := at(text)) is not None:
        return Extraction(answer, "leading") if hedged <= {answer} else Extraction(None, "conflict")
    if hedged:
        return Extraction(hedged.pop(), "hedged") if len(hedged) == 1 else Extraction(None, "conflict")
    if _REFUSAL.search(text):
        return Extraction(None, "refusal")
    # "no" inside a sentence is usually a determiner ("there is no cat"); only a standalone "no." counts
    mentions = []
    for m in re.finditer(r"\b(yes|true|false|not true|isn't true|no(?=\s*[\.,;!]|\s*$))\b", text, re.I):
        word = m.group(1).lower()
        mentions.append("no" if word in ("not true", "isn't true") else normalize_yes_no(word))
    if mentions:
        return Extraction(mentions[-1], "mention")
    return Extraction(None, "none")


def _hedged(text: str) -> set[str]:
    """The answers of the hedges in `text`: "I think so" is yes, "I think not" and "I don't think so" no."""
    polarity = {"so": "yes", "yes": "yes", "not": "no", "no": "no"}
    answers = {polarity[m.group(1).lower()] for m in _HEDGE.finditer(text) if not _negated(text, m.start())}
    return answers | ({"no"} if _HEDGED_NO.search(text) else set())


def extract_number(text: str) -> Extraction:
    """Read a number; digits or number words, "1,000" and "3.0" normalized; image labels are skipped."""
    text = clean_output(text)
    if not text:
        return Extraction(None, "empty")
    # "none" counts as zero, but "none of the above" is a refusal to pick
    words = "|".join(w if w != "none" else r"none(?!\s+of)" for w in NUMBER_WORDS)
    token = rf"({NUMBER_PATTERN}|{words})\b"

    def at(span: str) -> str | None:
        match = re.match(rf"[\s:=\-\"']*(?:about|approximately|around|exactly)?\s*{token}", span, re.I)
        return normalize_number(match.group(1)) if match else None

    if (answer := _cued(text, at)) is not None:
        return Extraction(answer, "explicit")
    if (answer := at(text)) is not None and not re.match(r"\s*\d+\s*(?:st|nd|rd|th)\b", text):
        return Extraction(answer, "leading")
    if _REFUSAL.search(text):
        return Extraction(None, "refusal")
    found = [
        m
        for m in re.finditer(rf"(?<![\w\.]){token}", text, re.I)
        if not re.search(
            r"(?:image|picture|photo|box|frame|panel|option|step)\s*#?\s*$", text[: m.start()], re.I
        )
    ]
    if found:
        return Extraction(normalize_number(found[-1].group(1)), "last_number")
    return Extraction(None, "none")


def extract_text(text: str) -> Extraction:
    """Open answers: the text after an explicit cue, else the first line, normalized."""
    text = clean_output(text)
    if not text:
        return Extraction(None, "empty")
    match = re.search(r"\banswer(?:\s+is)?\s*[:=\-]?\s*", text, re.I)
    body = text[match.end() :] if match else text
    first = normalize_text(body.splitlines()[0]) if body.strip() else ""
    return Extraction(first or None, "text" if first else "none")


def extract_answer(text: str, kind: AnswerKind, options: Mapping[str, str] | None = None) -> Extraction:
    """Dispatch on the answer kind.

    Args:
        text: the raw model output.
        kind: "choice", "yes_no", "number" or "text".
        options: letter -> option text; required for "choice".
    """
    if kind == "choice":
        if not options:
            raise ValueError("a multiple-choice extraction needs the item's options (letter -> text)")
        return extract_choice(text, options)
    if kind == "yes_no":
        return extract_yes_no(text)
    if kind == "number":
        return extract_number(text)
    if kind == "text":
        return extract_text(text)
    raise ValueError(f"unknown answer kind {kind!r}; use one of {', '.join(ANSWER_KINDS)}")
