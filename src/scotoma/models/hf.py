"""`hf:` backend: any transformers image-text-to-text checkpoint, batched with left padding.

A request is split into chunks of `batch_size` conversations; each chunk is one `generate` call. Images are
shrunk to `max_pixels` before the processor so the image-token count per prompt stays bounded, and each
conversation becomes the processor's chat-template messages with an {"type": "image"} part at each
image's place, the images passed in the same order. Text that spells out one of the tokenizer's special
tokens ("<|image_pad|>", "<|im_end|>") loses it, as it would otherwise be read as the token. Decoding
follows `GenConfig` alone (the checkpoint's own sampling defaults, e.g. Qwen's top_k=1 and
repetition_penalty, are not applied), so the same config means the same thing here as in the other
backends.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scotoma.models.base import ModelError, check_image_count
from scotoma.models.hf_image_features import (
    PIXEL_KEYS,
    distinct_image_features,
    supports_precomputed_features,
)
from scotoma.models.hf_options import HFOptions
from scotoma.models.hf_processor import (
    control_tokens,
    drop_control_tokens,
    fit_pixels,
    load_processor,
    set_pixel_budget,
)
from scotoma.progress import library_bars_hidden
from scotoma.types import Completion, Conversation, GenConfig, ImagePart, cut_at_stop


class HFModel:
    """A transformers VLM behind the `Model` protocol.

    Args:
        target: a saved folder or a hub id already in the local Hugging Face cache; nothing is downloaded.
        options: spec options as strings; see `HFOptions`.
        spec: the spec string this model answers to (part of cache keys); defaults to "hf:<target>".
    """

    def __init__(self, target: str, options: dict[str, str] | None = None, spec: str | None = None) -> None:
        from transformers import AutoModelForImageTextToText

        parsed = HFOptions.parse(options or {})
        device = _resolve_device(parsed.device)
        if not Path(target).is_dir() and (target.startswith((".", "/", "~")) or Path(target).exists()):
            raise ModelError(
                f"no model folder at {target}; give a saved checkpoint folder or a cached hub id"
            )
        # local_files_only everywhere: a hub id must already be in the local cache, nothing is downloaded
        processor = load_processor(target, local_files_only=True)
        extra = {"attn_implementation": parsed.attn_implementation}
        try:
            with library_bars_hidden():  # transformers' "Loading weights" bar would cut into the job's
                model = AutoModelForImageTextToText.from_pretrained(
                    target,
                    dtype=_resolve_dtype(parsed.dtype, device),
                    use_safetensors=True,
                    local_files_only=True,
                    **{k: v for k, v in extra.items() if v is not None},
                )
        except (OSError, ValueError) as error:
            raise ModelError(
                f"cannot load model weights from {target}: {error}. scotoma loads safetensors only; "
                "a hub id must already be in the local cache (it is never fetched at run time), "
                "or pass a saved folder"
            ) from error
        self._attach(model, processor, parsed, spec or f"hf:{target}", device)

    @classmethod
    def from_objects(
        cls, model: Any, processor: Any, options: dict[str, str] | None = None, spec: str = "hf:in-memory"
    ) -> HFModel:
        """Serve a model and processor already in memory (built from config, or being trained).

        The model is moved to the `device` option and put in eval mode; its dtype changes only when the
        `dtype` option is given. The processor's tokenizer is switched to left padding.

        Args:
            model: an image-text-to-text transformers model.
            processor: its processor.
            options: spec options as strings; see `HFOptions`.
            spec: the spec string this model answers to (part of cache keys).
        """
        parsed = HFOptions.parse(options or {})
        device = _resolve_device(parsed.device)
        if parsed.dtype != "auto":
            model = model.to(_resolve_dtype(parsed.dtype, device))
        self = cls.__new__(cls)
        self._attach(model, processor, parsed, spec, device)
        return self

    def _attach(self, model: Any, processor: Any, options: HFOptions, spec: str, device: Any) -> None:
        if options.threads is not None:
            import torch

            torch.set_num_threads(options.threads)  # process-wide, as torch has no per-model setting
        self.options = options
        self.spec = spec
        self.max_images = options.max_images
        self.device = device
        self.processor = processor
        if options.max_pixels is not None:
            set_pixel_budget(processor, options.max_pixels)
        self.tokenizer = processor.tokenizer
        self.tokenizer.padding_side = "left"  # generation appends on the right, so prompts must end aligned
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.control_tokens = control_tokens(self.tokenizer)
        self.model = model.to(device).eval()
        self.dtype = model.dtype
        self.share_images = options.share_images and supports_precomputed_features(model)
        self.eos_token_ids = _eos_ids(model.generation_config.eos_token_id, self.tokenizer.eos_token_id)

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        """Answer each conversation, `config.n` completions each, conversation-major.

        Raises:
            TooManyImagesError: a prompt carries more than `max_images` images (before any work).
            ImageError: an image cannot be read; the message names the file.
        """
        check_image_count(self, conversations)
        out: list[Completion] = []
        size = self.options.batch_size
        for start in range(0, len(conversations), size):
            out.extend(self._generate_chunk(conversations[start : start + size], config))
        return out

    def _generate_chunk(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        import torch

        started = time.perf_counter()
        images = [
            [fit_pixels(ref.load(), self.options.max_pixels) for ref in c.images] for c in conversations
        ]
        inputs = self._encode(conversations, images).to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        if self.share_images and (config.n == 1 or config.temperature == 0):
            keys = [[ref.sha256 for ref in c.images] for c in conversations]
            features = distinct_image_features(self.model, self.processor, images, keys, self.dtype)
            if features is not None:
                for key in PIXEL_KEYS:
                    inputs.pop(key, None)
                inputs["mm_encoder_outputs"] = features
        prompt_length = inputs["input_ids"].shape[1]
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        rng_devices = []
        if self.device.type == "cuda":
            rng_devices = [
                self.device.index if self.device.index is not None else torch.cuda.current_device()
            ]
        with torch.random.fork_rng(devices=rng_devices), torch.inference_mode():
            torch.manual_seed(config.seed)  # the same seed and batch give the same samples
            sequences = self.model.generate(**inputs, generation_config=self._generation_config(config))
        # sampling returns n rows per prompt; greedy decoding is deterministic, so it runs once per prompt
        # (transformers refuses num_return_sequences > 1 without sampling) and its answer is repeated n times
        rows_per_prompt = config.n if config.temperature > 0 else 1
        new_tokens = sequences[:, prompt_length:].tolist()
        latency = (time.perf_counter() - started) / (len(conversations) * config.n)
        out = []
        for row, tokens in enumerate(new_tokens):
            completion = self._completion(tokens, prompt_tokens[row // rows_per_prompt], latency, config)
            out.extend([completion] * (config.n // rows_per_prompt))
        return out

    def _encode(self, conversations: Sequence[Conversation], images: list[list[Any]]) -> Any:
        """Chat-template text and the images (already shrunk to max_pixels), batched with left padding."""
        texts = []
        for conversation in conversations:
            messages = [
                {
                    "role": m.role,
                    "content": [
                        {"type": "image"}
                        if isinstance(p, ImagePart)
                        else {"type": "text", "text": drop_control_tokens(p.text, self.control_tokens)}
                        for p in m.content
                    ],
                }
                for m in conversation.messages
            ]
            # a trailing assistant turn is a prefill to continue, not a finished turn
            prefill = conversation.messages[-1].role == "assistant"
            texts.append(
                self.processor.apply_chat_template(
                    messages,
                    tokenize=False,
                    add_generation_prompt=not prefill,
                    continue_final_message=prefill,
                )
            )
        has_images = any(images)
        return self.processor(
            text=texts, images=images if has_images else None, padding=True, return_tensors="pt"
        )

    def _generation_config(self, config: GenConfig) -> Any:
        from transformers import GenerationConfig

        settings: dict[str, Any] = {
            "max_new_tokens": config.max_new_tokens,
            "num_return_sequences": config.n if config.temperature > 0 else 1,
            "eos_token_id": self.eos_token_ids,
            "pad_token_id": self.tokenizer.pad_token_id,
            "bos_token_id": self.model.generation_config.bos_token_id,
            "do_sample": config.temperature > 0,
        }
        if config.temperature > 0:
            settings |= {"temperature": config.temperature, "top_p": config.top_p, "top_k": 0}
        if self.options.ignore_eos:
            settings["min_new_tokens"] = config.max_new_tokens  # EOS is masked out until the last step
        if self.options.cache_implementation:
            settings["cache_implementation"] = self.options.cache_implementation
        return GenerationConfig(**settings)

    def _completion(
        self, tokens: list[int], prompt_tokens: int, latency: float, config: GenConfig
    ) -> Completion:
        ended = next((i for i, token in enumerate(tokens) if token in self.eos_token_ids), None)
        generated = tokens if ended is None else tokens[:ended]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        text, stopped = cut_at_stop(text, config.stop)
        return Completion(
            text=text,
            prompt_tokens=int(prompt_tokens),
            # tokens the model produced, the EOS included; padding after an early EOS is not counted
            completion_tokens=len(tokens) if ended is None else ended + 1,
            latency_s=latency,
            finish_reason="stop" if ended is not None or stopped else "length",
        )


def _resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(
            f"model option device={name!r} is not a device; use auto, cpu, cuda or cuda:N"
        ) from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(f"device={name} was asked for but CUDA is not available; use device=cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(
                f"device={name} does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
            )
    return device


def _resolve_dtype(name: str, device: Any) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, name)  # HFOptions.parse allows only the names in DTYPES


def _eos_ids(model_eos: int | list[int] | None, tokenizer_eos: int | None) -> list[int]:
    ids = [model_eos] if isinstance(model_eos, int) else list(model_eos or [])
    if tokenizer_eos is not None and tokenizer_eos not in ids:
        ids.append(tokenizer_eos)
    if not ids:
        raise ModelError("the checkpoint defines no end-of-sequence token (generation_config or tokenizer)")
    return ids


__all__ = ["HFModel", "HFOptions"]
