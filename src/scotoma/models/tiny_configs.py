"""Configs and processors of the tiny VLM families, from `TinyVLMSizes` and a tokenizer (word-level or BPE).

Each family's quirks live here: Qwen-VL text configs need an `mrope_section` summing to head_dim / 2,
Qwen3-VL needs a square position-embedding grid and deepstack layers inside the vision depth, Idefics3's
image_seq_len must equal (image_size / patch_size)**2 / scale_factor**2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scotoma.models.tiny import TinyVLMSizes


def mrope_section(head_dim: int) -> list[int]:
    """Split head_dim / 2 rotary frequencies over (time, height, width) like Qwen's 16/24/24 of 64."""
    half = head_dim // 2
    time = half // 4
    height = (half - time) // 2
    return [time, height, half - time - height]


def build_config(family: str, size: TinyVLMSizes, tokenizer: Any) -> Any:
    """The model config of `family` at `size`, with token ids taken from `tokenizer`."""
    ids = tokenizer.convert_tokens_to_ids
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": size.text_hidden_size,
        "intermediate_size": size.text_intermediate_size,
        "num_hidden_layers": size.text_layers,
        "num_attention_heads": size.text_heads,
        "num_key_value_heads": size.text_kv_heads,
        "max_position_embeddings": size.max_position_embeddings,
        "initializer_range": size.initializer_range,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "tie_word_embeddings": size.tie_word_embeddings,
    }
    if family == "idefics3":
        from transformers import Idefics3Config

        vision = {
            "hidden_size": size.vision_hidden_size,
            "intermediate_size": size.vision_intermediate_size,
            "num_hidden_layers": size.vision_layers,
            "num_attention_heads": size.vision_heads,
            "image_size": size.image_size,
            "patch_size": size.patch_size,
            "initializer_range": size.initializer_range,
        }
        return Idefics3Config(
            text_config={"model_type": "llama", "rms_norm_eps": 1e-5, **text},
            vision_config=vision,
            scale_factor=size.merge_size,
            image_token_id=ids("<image>"),
            pad_token_id=tokenizer.pad_token_id,
        )
    head_dim = size.text_hidden_size // size.text_heads
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope_section(head_dim)}
    qwen_ids = {
        "image_token_id": ids("<|image_pad|>"),
        "video_token_id": ids("<|video_pad|>"),
        "vision_start_token_id": ids("<|vision_start|>"),
        "vision_end_token_id": ids("<|vision_end|>"),
    }
    vision = {
        "depth": size.vision_layers,
        "hidden_size": size.vision_hidden_size,
        "num_heads": size.vision_heads,
        "patch_size": size.patch_size,
        "spatial_merge_size": size.merge_size,
        "temporal_patch_size": 2,
        "initializer_range": size.initializer_range,
    }
    if family == "qwen2_vl":
        from transformers import Qwen2VLConfig

        # Qwen2-VL's vision tower names its width embed_dim and its output (the text width) hidden_size
        vision |= {
            "embed_dim": size.vision_hidden_size,
            "hidden_size": size.text_hidden_size,
            "mlp_ratio": max(1, size.vision_intermediate_size // size.vision_hidden_size),
        }
        return Qwen2VLConfig(text_config={**text, "rope_parameters": rope}, vision_config=vision, **qwen_ids)
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig

        vision |= {
            "intermediate_size": size.vision_intermediate_size,
            "out_hidden_size": size.text_hidden_size,
            # windows of 2x2 merged tokens; the last block attends over the whole image as in the real model
            "window_size": 2 * size.patch_size * size.merge_size,
            "fullatt_block_indexes": [size.vision_layers - 1],
        }
        return Qwen2_5_VLConfig(
            text_config={**text, "rope_parameters": rope}, vision_config=vision, **qwen_ids
        )
    if family == "qwen3_vl":
        from transformers import Qwen3VLConfig

        grid = size.image_size // size.patch_size
        vision |= {
            "intermediate_size": size.vision_intermediate_size,
            "out_hidden_size": size.text_hidden_size,
            "num_position_embeddings": grid * grid,
            "deepstack_visual_indexes": [0],
        }
        rope |= {"mrope_interleaved": True}
        text |= {"head_dim": head_dim, "rope_parameters": rope}
        # Qwen3-VL reads the tie from the outer config, not the text config
        return Qwen3VLConfig(
            text_config=text, vision_config=vision, tie_word_embeddings=size.tie_word_embeddings, **qwen_ids
        )
    raise ValueError(f"unknown tiny VLM family {family!r}")


def build_processor(family: str, size: TinyVLMSizes, tokenizer: Any) -> Any:
    """The family's processor with PIL image processing (no torchvision) around `tokenizer`."""
    from scotoma.models.hf_processor import image_only_class

    if family == "idefics3":
        from transformers import Idefics3Processor
        from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

        edge = {"longest_edge": size.image_size}
        image_processor = Idefics3ImageProcessorPil(size=edge, max_image_size=edge, do_image_splitting=False)
        tokens_per_image = (size.image_size // size.patch_size) ** 2 // size.merge_size**2
        return Idefics3Processor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            image_seq_len=tokens_per_image,
            chat_template=tokenizer.chat_template,
        )
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    processor_class = {
        "qwen2_vl": "Qwen2VLProcessor",
        "qwen2_5_vl": "Qwen2_5_VLProcessor",
        "qwen3_vl": "Qwen3VLProcessor",
    }[family]
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=size.patch_size,
        merge_size=size.merge_size,
        temporal_patch_size=2,
        min_pixels=size.min_pixels or (size.patch_size * size.merge_size) ** 2,
        max_pixels=size.max_pixels or 4 * size.image_size**2,
    )
    return image_only_class(getattr(transformers, processor_class))(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )
