"""Training data: JSONL in TRL's conversational vision format, read into `datasets.Dataset`.

One record per line, images as paths (relative to the JSONL file's folder) or, in memory, PIL images:

- SFT: {"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "..."}]},
  {"role": "assistant", "content": "..."}], "images": ["a.png"]}
- DPO: {"prompt": [...messages...] or "text", "chosen": [...] or "text", "rejected": ..., "images": [...]}
- GRPO: {"prompt": [...] or "text", "images": [...], plus any columns the rewards read, e.g. "answer"}

Every message's content becomes a list of {"type": "image"} / {"type": "text", "text": ...} blocks (one
Arrow schema for all rows); a string prompt gets its images first, as TRL does. The number of image blocks
must equal the number of images. `drop_over_budget` counts each sample's tokens exactly as TRL's collators
will see them, image tokens included, and drops the ones over budget; nothing is ever truncated, because a
cut through image tokens breaks the image-feature alignment. Several sources combine with `mix`: flat
(one shuffled pool) or as a curriculum (each source in order, all its epochs before the next one).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from scotoma.progress import library_bars_hidden
from scotoma.types import ImageRef

if TYPE_CHECKING:
    from datasets import Dataset

CONVERSATION_COLUMNS = {"sft": ("messages",), "dpo": ("prompt", "chosen", "rejected"), "grpo": ("prompt",)}
ROLES = ("system", "user", "assistant")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file, image paths made absolute against the file's folder.

    Raises:
        ValueError: a line is not a JSON object (the message names the line).
    """
    path = Path(path)
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} line {number} is not JSON: {error}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path} line {number} is a {type(record).__name__}, not a JSON object")
        images = record.get("images") or ([record.pop("image")] if record.get("image") is not None else [])
        record["images"] = [str(path.parent / image) if isinstance(image, str) else image for image in images]
        records.append(record)
    return records


def to_dataset(records: Iterable[dict[str, Any]], stage: str, source: str = "records") -> Dataset:
    """Validate and normalise records of `stage` ("sft", "dpo", "grpo") into a Dataset.

    Images may be paths, `PIL.Image.Image` or `scotoma.types.ImageRef`; the "images" column decodes to PIL.
    An "answer" column is turned into strings (gold answers may be numbers in JSON).

    Raises:
        ValueError: a missing column, a bad role, an SFT conversation without a final assistant turn, or a
            record whose image blocks do not match its images; the message names the record.
    """
    from datasets import Dataset, Image, List

    if stage not in CONVERSATION_COLUMNS:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(CONVERSATION_COLUMNS)}")
    rows = [_normalize(record, stage, f"{source} record {i}") for i, record in enumerate(records)]
    if not rows:
        raise ValueError(f"{source} holds no {stage} records")
    with library_bars_hidden():  # datasets' "Casting the dataset" bar would cut into the job's
        return Dataset.from_list(rows).cast_column("images", List(Image()))


def load_jsonl(path: str | Path, stage: str) -> Dataset:
    """`to_dataset(read_jsonl(path), stage)`."""
    return to_dataset(read_jsonl(path), stage, source=str(path))


def _normalize(record: dict[str, Any], stage: str, where: str) -> dict[str, Any]:
    missing = [column for column in CONVERSATION_COLUMNS[stage] if column not in record]
    if missing:
        raise ValueError(
            f"{where} lacks {missing} for {stage} (has {sorted(record)}); see scotoma.train.data"
        )
    images = [_image_cell(image, where) for image in record.get("images") or []]
    row = {key: value for key, value in record.items() if key not in ("image", "images")}
    if stage == "sft":
        row["messages"] = [_message(m, where) for m in record["messages"]]
        if not row["messages"] or row["messages"][-1]["role"] != "assistant":
            raise ValueError(f"{where}: an SFT conversation must end with an assistant turn to learn from")
    else:
        row["prompt"] = _prompt(record["prompt"], len(images), where)
    for column in ("chosen", "rejected", "completion"):
        if column in record:
            value = record[column]
            row[column] = (
                [_message({"role": "assistant", "content": value}, where)]
                if isinstance(value, str)
                else [_message(m, where) for m in value]
            )
    if "answer" in row and row["answer"] is not None:
        row["answer"] = str(row["answer"])
    prompt_side = row["messages"] if stage == "sft" else row["prompt"]
    blocks = sum(block["type"] == "image" for m in prompt_side for block in m["content"])
    if blocks != len(images):
        raise ValueError(
            f"{where} has {blocks} image blocks but {len(images)} images; they must match, in order"
        )
    row["images"] = images
    return row


def _prompt(prompt: str | Sequence[dict[str, Any]], n_images: int, where: str) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": prompt}]
        return [_message({"role": "user", "content": content}, where)]
    return [_message(m, where) for m in prompt]


def _message(message: dict[str, Any], where: str) -> dict[str, Any]:
    role = message.get("role")
    if role not in ROLES:
        raise ValueError(f"{where}: message role {role!r} is not one of {', '.join(ROLES)}")
    content = message.get("content")
    if isinstance(content, str):
        return {"role": role, "content": [{"type": "text", "text": content}]}
    blocks = []
    for block in content or []:
        if block.get("type") == "image":
            blocks.append({"type": "image", "text": None})
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            blocks.append({"type": "text", "text": block["text"]})
        else:
            raise ValueError(f"{where}: content block {block!r:.80} is neither an image nor a text block")
    return {"role": role, "content": blocks}


def _image_cell(image: Any, where: str) -> dict[str, Any]:
    """The form `datasets.Image` stores: a path, or PNG bytes for in-memory images."""
    if isinstance(image, str | Path):
        if not Path(image).is_file():
            raise ValueError(f"{where}: image file not found: {image}")
        return {"path": str(image), "bytes": None}
    if isinstance(image, ImageRef):
        return {"path": image.uri, "bytes": image.read_bytes()}
    if isinstance(image, Image.Image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return {"path": None, "bytes": buffer.getvalue()}
    raise ValueError(
        f"{where}: an image must be a path, a PIL image or an ImageRef, not {type(image).__name__}"
    )


def _rendered(example: dict[str, Any], processor: Any) -> tuple[str, list[str]]:
    """A row as TRL's collators render it: the context text (conversation or prompt) and the completions."""
    from trl.data_utils import apply_chat_template

    keys = ("messages", "prompt", "completion", "chosen", "rejected")
    rendered = apply_chat_template({key: example[key] for key in keys if key in example}, processor)
    context = rendered.get("text", rendered.get("prompt", ""))
    return context, [rendered[key] for key in ("completion", "chosen", "rejected") if key in rendered]


def _text_tokens(text: str, processor: Any) -> int:
    return len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])


def _tail_tokens(example: dict[str, Any], tails: list[str], processor: Any, completion_tokens: int) -> int:
    if tails:
        return max(_text_tokens(tail, processor) for tail in tails)
    return 0 if "messages" in example else completion_tokens


def token_length(example: dict[str, Any], processor: Any, completion_tokens: int = 0) -> int:
    """Tokens of the longest sequence a training row becomes, image tokens included.

    The row is rendered with TRL's own `apply_chat_template` and tokenised by the processor with its
    images, as TRL's collators do: "messages" counts the whole conversation; "prompt" + "completion" or
    + "chosen"/"rejected" counts the prompt plus the longest completion; a prompt alone (GRPO) counts the
    prompt plus `completion_tokens`.
    """
    images = list(example.get("images") or [])
    context, tails = _rendered(example, processor)
    encoded = processor(text=[context], images=[images] if images else None, add_special_tokens=False)
    return len(encoded["input_ids"][0]) + _tail_tokens(example, tails, processor, completion_tokens)


class _ImageTokens:
    """Tokens an image adds beyond its placeholder, by image size, measured once per size.

    A VLM processor expands each image placeholder by the image's dimensions alone (Qwen2-VL's patch
    grid, Idefics3's tiles), so this is the processor's own count, without resizing every image.
    """

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.placeholder = getattr(processor, "image_token", None)
        self.by_size: dict[tuple[int, int], int] = {}

    def __call__(self, size: tuple[int, int]) -> int:
        if size not in self.by_size:
            blank = Image.new("RGB", size)
            encoded = self.processor(text=[self.placeholder], images=[[blank]], add_special_tokens=False)
            self.by_size[size] = len(encoded["input_ids"][0]) - _text_tokens(self.placeholder, self.processor)
        return self.by_size[size]


def _image_size(cell: dict[str, Any]) -> tuple[int, int]:
    """An undecoded image cell's (width, height), from the file header alone."""
    with Image.open(cell["path"] if cell.get("bytes") is None else io.BytesIO(cell["bytes"])) as image:
        return image.size


def token_lengths(dataset: Dataset, processor: Any, completion_tokens: int = 0) -> list[int]:
    """`token_length` of every row, without decoding or resizing any image: the rendered text is
    tokenised with its image placeholders, and each image adds what an image of its size adds
    (`_ImageTokens`). The first row of each image count is checked against `token_length`; on any
    difference (a processor whose expansion depends on more than the size) every row is counted exactly.
    """
    from datasets import Image as ImageFeature
    from datasets import List

    if "images" not in dataset.column_names or getattr(processor, "image_token", None) is None:
        return [token_length(row, processor, completion_tokens) for row in dataset]
    undecoded = dataset.cast_column("images", List(ImageFeature(decode=False)))
    image_tokens, checked, lengths = _ImageTokens(processor), set(), []
    for index, row in enumerate(undecoded):
        context, tails = _rendered(row, processor)
        cells = row["images"] or []
        tokens = _text_tokens(context, processor) + sum(image_tokens(_image_size(cell)) for cell in cells)
        tokens += _tail_tokens(row, tails, processor, completion_tokens)
        if len(cells) not in checked:
            checked.add(len(cells))
            if tokens != token_length(dataset[index], processor, completion_tokens):
                return [token_length(row, processor, completion_tokens) for row in dataset]
        lengths.append(tokens)
    return lengths


def drop_over_budget(
    dataset: Dataset, processor: Any, max_tokens: int, completion_tokens: int = 0
) -> tuple[Dataset, int]:
    """Keep the rows whose `token_length` is at most `max_tokens`; return them and how many were dropped.

    Raises:
        ValueError: every row is over budget (the message gives the shortest length found).
    """
    lengths = token_lengths(dataset, processor, completion_tokens)
    keep = [i for i, length in enumerate(lengths) if length <= max_tokens]
    if lengths and not keep:
        raise ValueError(
            f"all {len(lengths)} samples exceed the token budget max_tokens={max_tokens} (shortest: "
            f"{min(lengths)} tokens, image tokens included); raise max_tokens or lower the model's max_pixels"
        )
    dropped = len(lengths) - len(keep)
    return (dataset.select(keep) if dropped else dataset), dropped


MESSAGE_COLUMNS = ("messages", "prompt", "completion", "chosen", "rejected")


def without_control_tokens(dataset: Dataset, processor: Any) -> Dataset:
    """`dataset` with every text block cleared of the special tokens it spells out (`control_tokens`).

    Rendered through the chat template, a literal "<|image_pad|>" in a question would be read as an image
    slot (the processor refuses the row) and "<|im_end|>" as the end of the turn; the hf backend drops them
    from prompts the same way. A dataset that spells none is returned as it is.
    """
    from scotoma.models.hf_processor import control_tokens, drop_control_tokens

    tokens = control_tokens(processor.tokenizer)
    columns = [column for column in MESSAGE_COLUMNS if column in dataset.column_names]

    def spelled(messages: list[dict[str, Any]]) -> bool:
        return any(
            token in (block.get("text") or "")
            for message in messages
            for block in message["content"]
            for token in tokens
        )

    text = dataset.select_columns(columns)  # the images are not decoded to look at the text
    if not any(spelled(row[column]) for row in text for column in columns):
        return dataset

    def clean(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                **message,
                "content": [
                    {**block, "text": drop_control_tokens(block["text"], tokens)}
                    if block.get("text")
                    else block
                    for block in message["content"]
                ],
            }
            for message in messages
        ]

    return dataset.map(
        lambda *values: {column: clean(value) for column, value in zip(columns, values, strict=True)},
        input_columns=columns,
    )


def split_last_turn(dataset: Dataset) -> Dataset:
    """SFT rows {"messages"} -> {"prompt": all but the last turn, "completion": the last (assistant) turn}.

    TRL then puts the loss on the completion only (the prompt and its images are context).
    """

    def split(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"prompt": messages[:-1], "completion": messages[-1:]}

    # input_columns: the images are not decoded just to be carried along
    return dataset.map(split, input_columns=["messages"], remove_columns=["messages"])


def split_every_turn(dataset: Dataset) -> Dataset:
    """SFT rows {"messages", "images"} -> one {"prompt", "completion"} row per assistant turn: the
    conversation up to that turn, and the turn; each row keeps the images its prompt shows (the first n,
    n its image parts) and the row's other columns.

    Every answer is then trained with TRL's completion loss, as `assistant_only_loss` would in one pass,
    for chat templates that cannot mark assistant turns (no {% generation %} markers, none TRL knows).
    """
    from datasets import Image as ImageFeature
    from datasets import List

    others = [c for c in dataset.column_names if c not in ("messages", "images")]

    def split(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"prompt": [], "completion": [], "images": [], **{c: [] for c in others}}
        for row, (messages, images) in enumerate(zip(batch["messages"], batch["images"], strict=True)):
            for index, message in enumerate(messages):
                if message["role"] != "assistant":
                    continue
                prompt = messages[:index]
                shown = sum(
                    part.get("type") == "image"
                    for turn in prompt
                    if isinstance(turn["content"], list)
                    for part in turn["content"]
                )
                out["prompt"].append(prompt)
                out["completion"].append([message])
                out["images"].append((images or [])[:shown])
                for column in others:
                    out[column].append(batch[column][row])
        return out

    # the images are carried along without decoding
    undecoded = dataset.cast_column("images", List(ImageFeature(decode=False)))
    rows = undecoded.map(split, batched=True, remove_columns=undecoded.column_names)
    return rows.cast_column("images", List(ImageFeature()))


def mix(datasets: Sequence[Dataset], mode: str = "flat", seed: int = 0) -> Dataset:
    """Combine data sources: "flat" shuffles them into one pool; "curriculum" keeps them in the order given.

    A curriculum dataset carries a `curriculum_stage` column (the source's index); the training scripts
    then run every epoch of stage 0 before stage 1, and so on (`curriculum_order`). S2H (paper 003,
    Table 3) finds flat mixing better, so flat is the default.

    Raises:
        ValueError: an unknown mode, no sources, or sources whose columns differ.
    """
    from datasets import concatenate_datasets

    if mode not in ("flat", "curriculum"):
        raise ValueError(f"mixing mode {mode!r} must be flat or curriculum")
    if not datasets:
        raise ValueError("mix needs at least one dataset")
    columns = [sorted(d.column_names) for d in datasets]
    if any(c != columns[0] for c in columns):
        raise ValueError(f"cannot mix sources with different columns: {columns}; give them the same columns")
    if mode == "flat":
        return concatenate_datasets(list(datasets)).shuffle(seed=seed)
    staged = [d.add_column("curriculum_stage", [stage] * len(d)) for stage, d in enumerate(datasets)]
    return concatenate_datasets(staged)


def curriculum_order(dataset: Dataset, epochs: float, seed: int = 0) -> Dataset:
    """Unroll a curriculum: each stage's rows `epochs` times (reshuffled each pass), stage after stage.

    Train the result for one epoch in order. A fractional last pass takes the first rows of a shuffle.
    A dataset without a `curriculum_stage` column is returned unchanged.
    """
    from datasets import concatenate_datasets

    if "curriculum_stage" not in dataset.column_names:
        return dataset
    stages = dataset["curriculum_stage"]
    parts = []
    for stage in sorted(set(stages)):
        rows = dataset.select([i for i, s in enumerate(stages) if s == stage])
        for epoch in range(math.ceil(epochs)):
            shuffled = rows.shuffle(seed=seed + epoch)
            share = min(1.0, epochs - epoch)
            parts.append(shuffled.select(range(round(share * len(rows)))))
    return concatenate_datasets(parts).remove_columns("curriculum_stage")


def load_training_data(
    paths: Sequence[str | Path], stage: str, mixing: str = "flat", seed: int = 0
) -> Dataset:
    """Read one or more JSONL files of `stage`; several are combined with `mix(…, mixing, seed)`."""
    if not paths:
        raise ValueError("give at least one training data file (--data FILE.jsonl)")
    datasets = [load_jsonl(path, stage) for path in paths]
    return datasets[0] if len(datasets) == 1 else mix(datasets, mixing, seed)


__all__ = [
    "CONVERSATION_COLUMNS",
    "curriculum_order",
    "drop_over_budget",
    "load_jsonl",
    "load_training_data",
    "mix",
    "read_jsonl",
    "split_every_turn",
    "split_last_turn",
    "to_dataset",
    "token_length",
    "without_control_tokens",
]
