"""Options of the `hf` backend, parsed from spec strings ("hf:PATH?device=cpu&batch_size=8")."""

from __future__ import annotations

from dataclasses import dataclass

from scotoma.models.spec import option

DTYPES = ("auto", "float32", "bfloat16", "float16")


def boolean(value: str) -> bool:
    """Parse an option flag: 1/true/yes/on or 0/false/no/off."""
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


@dataclass(frozen=True)
class HFOptions:
    """Options of the `hf` backend, given in the spec string ("hf:PATH?device=cpu&batch_size=8").

    Attributes:
        device: "auto" (first CUDA device if any, else CPU), "cpu", "cuda" or "cuda:N".
        dtype: "auto" (bfloat16 on GPU, float32 on CPU), "float32", "bfloat16" or "float16".
        max_pixels: largest width*height of an image given to the processor; larger images are shrunk
            keeping their aspect ratio. None keeps the processor's own limit.
        batch_size: conversations per `generate` call; bigger requests are split into chunks.
        max_images: most images one prompt may carry (TooManyImagesError beyond); None for no limit.
        attn_implementation: passed to from_pretrained ("sdpa", "eager", "flash_attention_2"); None = default.
        cache_implementation: passed to generate, e.g. "static" for a compile-friendly KV cache.
        ignore_eos: keep generating to max_new_tokens even after EOS (for benchmarks, as vLLM's ignore_eos).
        threads: torch CPU threads for this process (torch.set_num_threads); None leaves torch's default.
            On a busy 2-core machine one thread was measured 2-5x faster than two for the tiny models.
        share_images: run the vision tower once per distinct image of a batch (`hf_image_features`);
            false encodes every copy, as plain `generate` does.
    """

    device: str = "auto"
    dtype: str = "auto"
    max_pixels: int | None = None
    batch_size: int = 16
    max_images: int | None = None
    attn_implementation: str | None = None
    cache_implementation: str | None = None
    ignore_eos: bool = False
    threads: int | None = None
    share_images: bool = True

    @classmethod
    def parse(cls, options: dict[str, str]) -> HFOptions:
        """Read spec options; unknown names and bad values raise ValueError naming them."""
        known = cls.__dataclass_fields__.keys()
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown hf backend option(s) {unknown}; known options: {', '.join(known)}")
        parsed = cls(
            device=option(options, "device", "auto"),
            dtype=option(options, "dtype", "auto"),
            max_pixels=option(options, "max_pixels", None, int),
            batch_size=option(options, "batch_size", 16, int),
            max_images=option(options, "max_images", None, int),
            attn_implementation=option(options, "attn_implementation", None),
            cache_implementation=option(options, "cache_implementation", None),
            ignore_eos=option(options, "ignore_eos", False, boolean),
            threads=option(options, "threads", None, int),
            share_images=option(options, "share_images", True, boolean),
        )
        if parsed.dtype not in DTYPES:
            raise ValueError(f"model option dtype={parsed.dtype!r} must be one of {', '.join(DTYPES)}")
        for name in ("max_pixels", "batch_size", "max_images", "threads"):
            value = getattr(parsed, name)
            if value is not None and value < 1:
                raise ValueError(f"model option {name}={value} must be >= 1")
        return parsed
