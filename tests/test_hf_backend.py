"""The `hf:` backend on tiny random-weight VLMs of every supported family (CPU, offline).

Random weights make the text meaningless but the mechanics exact: batching with left padding must not
change greedy output, image tokens must be counted, options must bound what they promise.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from scotoma.models import ModelError, TooManyImagesError, get_model
from scotoma.models.hf import HFModel, HFOptions
from scotoma.models.hf_processor import fit_pixels
from scotoma.models.weights import weights_digest
from scotoma.types import Conversation, GenConfig, ImageError, ImageRef

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl", "idefics3")
QWEN_FAMILIES = FAMILIES[:3]
QUESTIONS = (
    "is there a blue circle ?",
    "how many",
    "which image has a large yellow square above a tower ?",
    "yes",
)


def shape_image(index: int, size: tuple[int, int] = (100, 100)) -> ImageRef:
    """A distinct little drawing per index, so every image in a batch differs."""
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    colour = [(0, 153, 255), (0, 0, 0), (255, 220, 0)][index % 3]
    x = 8 + (index * 17) % 60
    draw.ellipse((x, 10 + index % 5 * 9, x + 25, 35 + index % 5 * 9), fill=colour)
    draw.rectangle((60 - index % 4 * 10, 60, 90, 90), fill=[(0, 0, 0), (255, 220, 0)][index % 2])
    return ImageRef.from_pil(image)


def conversations_with(images_per_prompt: list[int]) -> list[Conversation]:
    """One conversation per entry, images interleaved with text ("Image1: <img> Image2: <img> question")."""
    out, next_image = [], 0
    for row, count in enumerate(images_per_prompt):
        parts: list = []
        for k in range(count):
            parts += [f"image {['one', 'two', 'three', 'four'][k]} :", shape_image(next_image)]
            next_image += 1
        out.append(Conversation.user(*parts, QUESTIONS[row % len(QUESTIONS)]))
    return out


def summary(completions) -> list[tuple]:
    return [(c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) for c in completions]


@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("images_per_prompt", [1, 2, 3])
def test_batched_greedy_equals_one_at_a_time(tiny_hf_model, family, images_per_prompt):
    model = tiny_hf_model(family)
    conversations = conversations_with([images_per_prompt] * 4)
    config = GenConfig(max_new_tokens=8)
    batched = model.generate(conversations, config)  # batch_size 4: one generate call, left padded
    single = [model.generate([c], config)[0] for c in conversations]
    assert summary(batched) == summary(single)
    assert len({c.prompt_tokens for c in batched}) > 1, "prompts of different length exercise the padding"
    assert any(c.text for c in batched)


@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
def test_mixed_image_counts_and_chunking(tiny_hf_model, family):
    model = tiny_hf_model(family)
    conversations = conversations_with([3, 0, 1, 2, 1, 0])  # six prompts: chunks of 4 and 2
    config = GenConfig(max_new_tokens=6)
    assert summary(model.generate(conversations, config)) == summary(
        [model.generate([c], config)[0] for c in conversations]
    )


@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
def test_shared_image_features_equal_encoding_every_copy(tiny_vlm_dir, family):
    import functools
    import itertools

    from scotoma.models.hf_image_features import distinct_image_features

    boxes = [shape_image(i) for i in range(3)]
    # the six orders of three images (as NLVR1's), a text-only prompt, an image twice in one prompt
    conversations = [
        Conversation.user(*order, "is there a blue circle ?") for order in itertools.permutations(boxes)
    ]
    conversations += [Conversation.user("how many"), Conversation.user(boxes[0], boxes[0], "yes")]
    shared = HFModel(str(tiny_vlm_dir(family)), {"device": "cpu", "batch_size": "8"})
    plain = HFModel(str(tiny_vlm_dir(family)), {"device": "cpu", "batch_size": "8", "share_images": "false"})
    assert shared.share_images and not plain.share_images
    config = GenConfig(max_new_tokens=8)
    assert summary(shared.generate(conversations, config)) == summary(plain.generate(conversations, config))
    calls = []
    encode = shared.model.get_image_features
    counted = functools.wraps(encode)(lambda **kw: calls.append(kw["pixel_values"].shape) or encode(**kw))
    shared.model.get_image_features = counted
    shared.generate(conversations, config)
    assert len(calls) == 1  # one encoder call for the whole batch, over the three distinct images only
    images = [[ref.load() for ref in c.images] for c in conversations[:2]]
    keys = [[ref.sha256 for ref in c.images] for c in conversations[:2]]
    assert distinct_image_features(shared.model, shared.processor, images[:1], keys[:1], shared.dtype) is None


@pytest.mark.integration
@pytest.mark.parametrize(
    ("family", "expected"),
    [
        # <|im_start|> user <|vision_start|> 25 x <|image_pad|> <|vision_end|> is there a circle ? <|im_end|>
        # <|im_start|> assistant
        ("qwen2_vl", 1 + 1 + 1 + 25 + 1 + 5 + 1 + 1 + 1),
        ("qwen2_5_vl", 37),
        ("qwen3_vl", 37),
        # <|begin_of_text|> User : <fake> <global-img> 25 x <image> <fake> is there a circle ?
        # <end_of_utterance> Assistant :
        ("idefics3", 1 + 1 + 1 + 1 + 1 + 25 + 1 + 5 + 1 + 1 + 1),
    ],
)
def test_prompt_tokens_count_image_tokens(tiny_hf_model, family, expected):
    model = tiny_hf_model(family)
    [completion] = model.generate([Conversation.user(shape_image(0), "is there a circle ?")], GenConfig(4))
    assert completion.prompt_tokens == expected
    assert 1 <= completion.completion_tokens <= 4
    assert completion.latency_s > 0


@pytest.mark.integration
def test_trailing_assistant_turn_is_continued_not_closed(tiny_hf_model):
    model = tiny_hf_model("qwen2_vl")
    prefill = Conversation.user("is there").then("assistant", "yes")
    # <|im_start|> user is there <|im_end|> <|im_start|> assistant yes  (no <|im_end|>, no new header)
    assert model.generate([prefill], GenConfig(2))[0].prompt_tokens == 8


@pytest.mark.integration
@pytest.mark.parametrize("family", QWEN_FAMILIES)
def test_max_pixels_bounds_image_tokens(tiny_vlm_dir, tiny_hf_model, family):
    big = Conversation.user(shape_image(1, (200, 200)), "is there")
    text_only = tiny_hf_model(family).generate([Conversation.user("is there")], GenConfig(1))[0].prompt_tokens
    full = tiny_hf_model(family).generate([big], GenConfig(1))[0].prompt_tokens
    capped_model = HFModel(str(tiny_vlm_dir(family)), {"max_pixels": "10000"})
    capped = capped_model.generate([big], GenConfig(1))[0].prompt_tokens
    # vision_start + vision_end + image pads: 200x200 / (10*2)^2 = 100 pads, 100x100 -> 25 pads
    assert full - text_only == 2 + 100
    assert capped - text_only == 2 + 25
    wide = Conversation.user(shape_image(2, (600, 100)), "is there")
    assert capped_model.generate([wide], GenConfig(1))[0].prompt_tokens - text_only - 2 <= 25


def test_fit_pixels_keeps_aspect_within_budget():
    wide = Image.new("RGB", (300, 100))
    # scale sqrt(10000 / 30000) = 0.5774: floor(173.2) x floor(57.7)
    assert fit_pixels(wide, 10_000).size == (173, 57)
    assert fit_pixels(wide, 30_000) is wide
    assert fit_pixels(wide, None) is wide
    assert fit_pixels(Image.new("RGB", (7, 5)), 1).size == (1, 1)


@pytest.mark.integration
def test_sampling_n_completions_reproducible_by_seed(tiny_hf_model):
    model = tiny_hf_model("qwen2_5_vl")
    conversations = conversations_with([1, 2])
    config = GenConfig(max_new_tokens=6, temperature=1.0, n=3, seed=7)
    first = model.generate(conversations, config)
    assert len(first) == 6
    # conversation-major: three completions of the first prompt, then three of the second
    assert [c.prompt_tokens for c in first[:3]] == [first[0].prompt_tokens] * 3
    assert [c.prompt_tokens for c in first[3:]] == [first[3].prompt_tokens] * 3
    assert first[0].prompt_tokens != first[3].prompt_tokens
    assert summary(model.generate(conversations, config)) == summary(first)
    other_seed = model.generate(conversations, GenConfig(max_new_tokens=6, temperature=1.0, n=3, seed=8))
    assert summary(other_seed) != summary(first)
    assert len({c.text for c in first}) > 1, "samples of one prompt differ at temperature 1"
    greedy = model.generate(conversations, GenConfig(max_new_tokens=6, n=2))
    single = [model.generate([c], GenConfig(max_new_tokens=6))[0] for c in conversations]
    assert summary(greedy) == summary([single[0], single[0], single[1], single[1]])


@pytest.mark.integration
def test_stop_strings_cut_and_finish_reasons(tiny_vlm_dir, tiny_hf_model):
    model = tiny_hf_model("idefics3")
    conversation = conversations_with([1])
    [plain] = model.generate(conversation, GenConfig(max_new_tokens=8))
    words = plain.text.split()
    assert len(words) >= 2, plain
    [cut] = model.generate(conversation, GenConfig(max_new_tokens=8, stop=(words[1],)))
    assert cut.text == plain.text[: plain.text.index(words[1])]
    assert cut.finish_reason == "stop"
    forced = HFModel(str(tiny_vlm_dir("idefics3")), {"ignore_eos": "true"})
    outs = forced.generate(conversations_with([1, 2, 0]), GenConfig(max_new_tokens=5))
    assert [(c.completion_tokens, c.finish_reason) for c in outs] == [(5, "length")] * 3
    for c in model.generate(conversations_with([1, 2, 3, 0]), GenConfig(max_new_tokens=5)):
        assert c.finish_reason == ("length" if c.completion_tokens == 5 else "stop")


@pytest.mark.integration
def test_image_errors_through_the_backend_name_the_file(tiny_hf_model, tmp_path):
    model = tiny_hf_model("qwen2_vl")
    deleted = tmp_path / "deleted.png"
    shape_image(3).load().save(deleted)
    ref = ImageRef.from_path(deleted)
    deleted.unlink()
    with pytest.raises(ImageError, match=r"deleted\.png"):
        model.generate([Conversation.user(ref, "is there")], GenConfig(2))
    png = shape_image(4).read_bytes()
    for name, data in [("corrupt.png", png[: len(png) // 2]), ("notes.png", b"not an image at all\n")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageError, match=re.escape(name)):
            ImageRef.from_path(path)
        # a reference whose bytes hash fine but do not decode fails in the backend, naming the file
        ref = ImageRef(hashlib.sha256(data).hexdigest(), str(path), 100, 100)
        with pytest.raises(ImageError, match=re.escape(name)):
            model.generate([Conversation.user(ref, "is there")], GenConfig(2))
    with pytest.raises(ImageError, match=r"missing\.png"):
        ImageRef.from_path(tmp_path / "missing.png")


@pytest.mark.integration
def test_too_many_images_fails_before_reading_any(tiny_vlm_dir):
    model = get_model(f"hf:{tiny_vlm_dir('qwen2_vl')}?max_images=2")
    assert model.max_images == 2
    unreadable = ImageRef("0" * 64, "no/such/file.png", 100, 100)  # would raise ImageError if read
    with pytest.raises(TooManyImagesError, match="3 images"):
        model.generate([Conversation.user(unreadable, unreadable, unreadable, "q")], GenConfig())


@pytest.mark.integration
def test_get_model_round_trip(tiny_vlm_dir, tiny_hf_model):
    folder = tiny_vlm_dir("qwen3_vl")
    spec = f"hf:{folder}?device=cpu&batch_size=2"
    model = get_model(spec)
    assert isinstance(model, HFModel) and model.spec == f"{spec}#{weights_digest(folder)}"
    assert model.options.batch_size == 2
    conversations = conversations_with([2, 1, 1])
    config = GenConfig(max_new_tokens=6)
    assert summary(model.generate(conversations, config)) == summary(
        tiny_hf_model("qwen3_vl").generate(conversations, config)
    )
    assert model.generate([], config) == []


def test_unknown_specs_and_options_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="unknown model kind"):
        get_model(f"huggingface:{tmp_path}")
    with pytest.raises(ValueError, match="bogus"):
        get_model(f"hf:{tmp_path}?bogus=1")
    with pytest.raises(ValueError, match="batch_size"):
        HFOptions.parse({"batch_size": "many"})
    with pytest.raises(ValueError, match="batch_size"):
        HFOptions.parse({"batch_size": "0"})
    with pytest.raises(ValueError, match="dtype"):
        HFOptions.parse({"dtype": "int8"})
    with pytest.raises(ValueError, match="device='gpu0' is not a device"):
        HFModel.from_objects(None, None, {"device": "gpu0"})
    with pytest.raises(ValueError, match="ignore_eos='maybe' is not a valid boolean"):
        HFOptions.parse({"ignore_eos": "maybe"})
    assert HFOptions.parse({"ignore_eos": "yes", "max_pixels": "200704"}) == HFOptions(
        max_pixels=200704, ignore_eos=True
    )
    assert HFOptions.parse({"threads": "1"}).threads == 1
    with pytest.raises(ValueError, match="threads"):
        HFOptions.parse({"threads": "0"})


def test_threads_option_sets_torch_threads(tiny_vlm_dir):
    import torch

    before = torch.get_num_threads()
    try:
        get_model(f"hf:{tiny_vlm_dir('idefics3')}?threads=1")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_missing_model_folder_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no model folder"):
        HFModel(str(tmp_path / "nothing-here"))
    with pytest.raises(ModelError, match="processor"):
        HFModel(str(tmp_path))  # a folder, but not a checkpoint


@pytest.mark.integration
def test_cuda_device_without_cuda_says_so(tiny_vlm_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ModelError, match="CUDA is not available"):
        HFModel(str(tiny_vlm_dir("qwen2_vl")), {"device": "cuda:1"})


@pytest.mark.gpu
@pytest.mark.parametrize("family", ["qwen2_5_vl", "idefics3"])
def test_tiny_model_on_cuda_in_bfloat16(tiny_vlm_dir, family):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    model = HFModel(str(tiny_vlm_dir(family)), {"device": "cuda"})
    assert model.model.dtype == torch.bfloat16 and model.device.type == "cuda"
    out = model.generate(conversations_with([2, 1, 3]), GenConfig(max_new_tokens=6))
    assert len(out) == 3 and all(1 <= c.completion_tokens <= 6 for c in out)
    sampled = model.generate(conversations_with([1]), GenConfig(max_new_tokens=6, temperature=1.0, n=2))
    assert len(sampled) == 2


@pytest.mark.integration
def test_loader_reads_the_layout_of_released_qwen_checkpoints(tiny_vlm_dir, tiny_hf_model, tmp_path):
    """Hub folders keep the image settings in preprocessor_config.json, the template in chat_template.json."""
    import json
    import shutil

    folder = shutil.copytree(tiny_vlm_dir("qwen2_5_vl"), tmp_path / "released")
    settings = json.loads((folder / "processor_config.json").read_text())
    image_settings = {**settings.pop("image_processor"), "processor_class": "Qwen2_5_VLProcessor"}
    (folder / "preprocessor_config.json").write_text(json.dumps(image_settings))
    (folder / "processor_config.json").unlink()
    template = (folder / "chat_template.jinja").read_text()
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": template}))
    (folder / "chat_template.jinja").unlink()
    released = HFModel(str(folder))
    assert released.processor.chat_template == template
    conversations = conversations_with([2, 1])
    config = GenConfig(max_new_tokens=6)
    assert summary(released.generate(conversations, config)) == summary(
        tiny_hf_model("qwen2_5_vl").generate(conversations, config)
    )


def test_builtin_names_resolve_inside_the_package(monkeypatch, tmp_path):
    import scotoma
    from scotoma.models import builtin

    assert builtin.builtin_models_root() == Path(scotoma.__file__).parent / "world_models" / "shipped"
    monkeypatch.setattr(builtin, "builtin_models_root", lambda: tmp_path)
    (tmp_path / "answerer").mkdir()
    (tmp_path / "answerer" / "config.json").write_text("{}")
    (tmp_path / "half-trained").mkdir()  # no config.json: not a model
    assert builtin.builtin_path("answerer") == tmp_path / "answerer"
    with pytest.raises(ModelError) as error:
        builtin.builtin_path("questioner")
    message = str(error.value)
    assert "builtin:questioner is not trained yet" in message
    assert "Available builtin models: answerer." in message
    assert "scotoma world train-answerer" in message and "scotoma world train-questioner" in message
    for bad in ("nope", "../answerer", ""):
        with pytest.raises(ModelError, match="is not a builtin model"):
            builtin.builtin_path(bad)


@pytest.mark.integration
def test_builtin_spec_loads_through_the_hf_path(monkeypatch, tiny_vlm_dir):
    from scotoma.models import builtin

    monkeypatch.setattr(builtin, "builtin_models_root", lambda: tiny_vlm_dir("idefics3").parent)
    model = get_model("builtin:idefics3?max_images=4")
    digest = weights_digest(tiny_vlm_dir("idefics3"))
    assert isinstance(model, HFModel) and model.spec == f"builtin:idefics3?max_images=4#{digest}"
    assert model.max_images == 4
    assert model.options.batch_size == 64  # builtin.DEFAULT_OPTIONS, where the spec says nothing
    assert get_model("builtin:idefics3?batch_size=8").options.batch_size == 8  # the spec wins
    assert len(model.generate(conversations_with([2]), GenConfig(max_new_tokens=3))) == 1
