"""Fast collation for the world models: token ids and pixel values built directly, no processor call.

A naive loop (render PIL images, call the Idefics3 processor twice per sample to find where the answer
starts) trained at ~11 samples/s on one thread; data preparation dominated. Here each part is built once
or vectorised:

- pixels come straight from `render_box_array` (uint8) with the image processor's own rescale and
  normalise, `(x / 255 - mean) / std` in float32; a 100x100 box needs no resize;
- the prompt is `[bos] user : <image block> x K  question <eou> assistant :` (or the question before the
  image blocks, as the model's chat template says) and the target is
  `answer <eou>`: the template pieces and the image block are tokenized once, the question and answer
  texts in one batched tokenizer call, so the answer span is known from the ids without a second pass.

`tests/test_world_models.py` checks that the ids, pixel values and masks equal the processor's output on
the chat template. The layout is Idefics3's (the shipped world models' family); other families are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scotoma.types import Conversation
from scotoma.world.scenes.render import box_image_ref, render_box_array
from scotoma.world.scenes.scene import BOX_SIZE, Scene

IGNORE_INDEX = -100  # label of prompt and padding positions: no loss there

#: Words the world models' prompts use beyond `world_vocabulary()` (describe, chain and questioner tasks).
PROMPT_WORDS = ("describe", "ask", "question", "questions", "about", "answer", "then", "first", "or")
#: The questioner's tags, one token each, for up to this many questions per sequence.
MAX_QUESTIONS = 8
RESPONSE_TAGS = tuple(
    tag for i in range(1, MAX_QUESTIONS + 1) for tag in (f"<response_{i}>", f"</response_{i}>")
)


@dataclass(frozen=True)
class WorldExample:
    """One training or evaluation example: the boxes shown (in order), the user text, the target text.

    The conversation is the boxes as images first, then `prompt`: the "bare" style of
    `scotoma.bench.settings`, which the world models are trained on.

    Attributes:
        scene: the boxes; image k is `scene.boxes[k - 1]`.
        prompt: the user text after the images.
        target: what the model should write (without the end-of-utterance token).
        task: "describe", "qa", "chain" (description, then answer) or "questions".
        family: the question family for "qa" and "chain", else "".
        answer: the oracle's canonical answer for "qa" and "chain", else "".
        skills: the question's skills for "qa" and "chain".
    """

    scene: Scene
    prompt: str
    target: str
    task: str
    family: str = ""
    answer: str = ""
    skills: tuple[str, ...] = ()

    def conversation(self) -> Conversation:
        """The user turn as the `hf` backend receives it: one PNG per box, then the prompt."""
        return Conversation.user(*(box_image_ref(box) for box in self.scene.boxes), self.prompt)


def pixel_values(scenes: Sequence[Scene], mean: float = 0.5, std: float = 0.5) -> tuple[Any, Any]:
    """Pixel values and pixel attention mask of a batch, as Idefics3's image processor makes them.

    Args:
        scenes: one scene per row; rows with fewer boxes are padded with all-zero images, which the
            model drops (it keeps only images that are not entirely zero).
        mean: the image processor's image_mean (the same for the three channels).
        std: its image_std.

    Returns:
        (pixel_values float32 (B, K, 3, 100, 100), pixel_attention_mask int64 (B, K, 100, 100)).
    """
    import torch

    most = max(len(scene.boxes) for scene in scenes)
    raw = np.zeros((len(scenes), most, BOX_SIZE, BOX_SIZE, 3), dtype=np.uint8)
    mask = torch.zeros((len(scenes), most, BOX_SIZE, BOX_SIZE), dtype=torch.int64)
    for row, scene in enumerate(scenes):
        for k, box in enumerate(scene.boxes):
            raw[row, k] = render_box_array(box)
        mask[row, : len(scene.boxes)] = 1
    values = torch.from_numpy(raw).permute(0, 1, 4, 2, 3).to(torch.float32)
    # the processor's order of float32 operations: rescale, then normalise (bit-identical results)
    values = (values / 255.0 - mean) / std
    # padding images must be exactly zero for the model to drop them
    values *= mask[:, :, None, :1, :1].to(torch.float32)
    return values.contiguous(), mask


class WorldCollator:
    """Turns `WorldExample`s into model inputs (input_ids, attention_mask, labels, pixels), right-padded.

    Args:
        processor: the world model's Idefics3 processor (its tokenizer and image processor settings are
            read once).

    Raises:
        ValueError: the processor is not an Idefics3 processor with a fixed single-tile image size.
    """

    def __init__(self, processor: Any) -> None:
        image_processor = processor.image_processor
        if type(processor).__name__ != "Idefics3Processor" or image_processor.do_image_splitting:
            raise ValueError(
                "WorldCollator builds Idefics3's token layout for unsplit 100x100 boxes; got "
                f"{type(processor).__name__} (do_image_splitting={image_processor.do_image_splitting}). "
                "Use scotoma.world_models.training.build_world_model, or the processor's own __call__"
            )
        self.tokenizer = tokenizer = processor.tokenizer
        self.mean = float(image_processor.image_mean[0])
        self.std = float(image_processor.image_std[0])
        encode = self._encode_one
        self.prefix = encode(tokenizer.bos_token + "User:")
        self.middle = encode(tokenizer.eos_token + "\nAssistant:")
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id
        # the image block exactly as the processor expands one "<image>" (fake, global-img, 25 x image, fake)
        blank = np.full((BOX_SIZE, BOX_SIZE, 3), 211, dtype=np.uint8)
        ids = processor(text=["<image>"], images=[[blank]], add_special_tokens=False)["input_ids"][0]
        self.image_block = [int(i) for i in ids]
        # the model's chat template decides whether a turn's text comes before its images
        probe = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}]
        rendered = processor.apply_chat_template(probe, tokenize=False)
        self.text_first = rendered.index(" x") < rendered.index("<image>")

    def _encode_one(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, example: WorldExample) -> list[int]:
        """The ids of the prompt, ending at "assistant :" (what generation starts from)."""
        return self._prompt(example, self._encode_one(" " + example.prompt))

    def _prompt(self, example: WorldExample, text_ids: list[int]) -> list[int]:
        images = self.image_block * len(example.scene.boxes)
        if self.text_first:
            return self.prefix + text_ids + images + self.middle
        return self.prefix + images + text_ids + self.middle

    def __call__(self, examples: Sequence[WorldExample]) -> dict[str, Any]:
        """Batch tensors for `model(**batch)`; labels are -100 except the target and its end token."""
        import torch

        texts = [" " + e.prompt for e in examples] + [" " + e.target for e in examples]
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        rows, labels = [], []
        for example, prompt_text, target in zip(
            examples, encoded[: len(examples)], encoded[len(examples) :], strict=True
        ):
            prompt = self._prompt(example, prompt_text)
            rows.append(prompt + target + [self.eos])
            labels.append([IGNORE_INDEX] * len(prompt) + target + [self.eos])
        width = max(map(len, rows))
        input_ids = torch.full((len(rows), width), self.pad, dtype=torch.int64)
        label_ids = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.int64)
        attention = torch.zeros((len(rows), width), dtype=torch.int64)
        for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
            input_ids[i, : len(row)] = torch.tensor(row)
            label_ids[i, : len(row)] = torch.tensor(label)
            attention[i, : len(row)] = 1
        values, mask = pixel_values([e.scene for e in examples], self.mean, self.std)
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": label_ids,
            "pixel_values": values,
            "pixel_attention_mask": mask,
        }


__all__ = [
    "IGNORE_INDEX",
    "MAX_QUESTIONS",
    "PROMPT_WORDS",
    "RESPONSE_TAGS",
    "WorldCollator",
    "WorldExample",
    "pixel_values",
]
