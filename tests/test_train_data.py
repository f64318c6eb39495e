"""Training data: TRL-format records, normalisation, mixing, curriculum order, the token budget."""

import json

import pytest
from PIL import Image

from scotoma.train.data import (
    curriculum_order,
    drop_over_budget,
    load_jsonl,
    load_training_data,
    mix,
    read_jsonl,
    split_every_turn,
    split_last_turn,
    to_dataset,
    token_length,
)

QUESTION = "is there a blue circle ?"


def image(color: str = "blue") -> Image.Image:
    return Image.new("RGB", (100, 100), color)


def sft_record(n_images: int, answer: str = "yes") -> dict:
    content = [{"type": "image"}] * n_images + [{"type": "text", "text": QUESTION}]
    return {
        "messages": [{"role": "user", "content": content}, {"role": "assistant", "content": answer}],
        "images": [image()] * n_images,
    }


def test_read_jsonl_resolves_image_paths_against_the_file(tmp_path):
    (tmp_path / "imgs").mkdir()
    image().save(tmp_path / "imgs" / "a.png")
    path = tmp_path / "pairs.jsonl"
    row = {"prompt": QUESTION, "chosen": "yes", "rejected": "no", "image": "imgs/a.png"}
    path.write_text(json.dumps(row) + "\n\n")
    (record,) = read_jsonl(path)
    assert record["images"] == [str(tmp_path / "imgs" / "a.png")]
    dataset = load_jsonl(path, "dpo")
    assert dataset[0]["images"][0].size == (100, 100)  # decoded to PIL


def test_to_dataset_normalises_to_trl_conversational_blocks():
    dataset = to_dataset([{"prompt": QUESTION, "images": [image(), image()], "answer": 3}], "grpo")
    row = dataset[0]
    # a string prompt becomes one user turn with its images first, as TRL does
    assert [block["type"] for block in row["prompt"][0]["content"]] == ["image", "image", "text"]
    assert row["prompt"][0]["content"][2]["text"] == QUESTION
    assert row["answer"] == "3"  # gold answers become strings
    pairs = to_dataset([{"prompt": QUESTION, "chosen": "yes", "rejected": "no", "images": []}], "dpo")
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": [{"type": "text", "text": "yes"}]}]


@pytest.mark.parametrize(
    ("record", "stage", "message"),
    [
        (
            {"prompt": [{"role": "user", "content": [{"type": "image"}]}], "images": []},
            "grpo",
            "1 image blocks",
        ),
        ({"prompt": QUESTION}, "dpo", "lacks"),
        ({"messages": [{"role": "user", "content": QUESTION}]}, "sft", "must end with an assistant turn"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "sft", "role 'robot'"),
        ({"prompt": QUESTION, "images": ["missing.png"]}, "grpo", "image file not found"),
    ],
)
def test_bad_records_are_refused_with_the_reason(record, stage, message):
    with pytest.raises(ValueError, match=message):
        to_dataset([record], stage)


def test_mix_flat_shuffles_all_sources_into_one_pool():
    a = to_dataset([{"prompt": f"a{i}", "answer": "yes"} for i in range(3)], "grpo")
    b = to_dataset([{"prompt": f"b{i}", "answer": "no"} for i in range(3)], "grpo")
    flat = mix([a, b], "flat", seed=1)
    texts = [row["prompt"][0]["content"][0]["text"] for row in flat]
    assert sorted(texts) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert texts == [row["prompt"][0]["content"][0]["text"] for row in mix([a, b], "flat", seed=1)]
    assert "curriculum_stage" not in flat.column_names
    with pytest.raises(ValueError, match="different columns"):
        mix([a, b.remove_columns("answer")])


def test_curriculum_runs_every_epoch_of_a_stage_before_the_next():
    easy = to_dataset([{"prompt": f"easy{i}"} for i in range(2)], "grpo")
    hard = to_dataset([{"prompt": f"hard{i}"} for i in range(3)], "grpo")
    staged = mix([easy, hard], "curriculum")
    assert staged["curriculum_stage"] == [0, 0, 1, 1, 1]
    ordered = curriculum_order(staged, epochs=2, seed=0)
    texts = [row["prompt"][0]["content"][0]["text"] for row in ordered]
    # 2 epochs x 2 easy rows, then 2 epochs x 3 hard rows; each pass holds every row of its stage once
    assert [t[:4] for t in texts] == ["easy"] * 4 + ["hard"] * 6
    assert sorted(texts[:2]) == sorted(texts[2:4]) == ["easy0", "easy1"]
    assert sorted(texts[4:7]) == sorted(texts[7:]) == ["hard0", "hard1", "hard2"]
    assert "curriculum_stage" not in ordered.column_names
    assert len(curriculum_order(staged, epochs=1.5, seed=0)) == 2 + 1 + 3 + 2  # half a pass: round(n/2)


def test_load_training_data_mixes_several_files(tmp_path):
    paths = []
    for name in ("l1", "l2"):
        paths.append(tmp_path / f"{name}.jsonl")
        paths[-1].write_text(json.dumps({"prompt": name, "chosen": "yes", "rejected": "no"}) + "\n")
    assert len(load_training_data(paths, "dpo", "curriculum")) == 2
    assert load_training_data(paths, "dpo", "curriculum")["curriculum_stage"] == [0, 1]
    with pytest.raises(ValueError, match="at least one"):
        load_training_data([], "dpo")


@pytest.mark.integration
def test_token_budget_counts_image_tokens_and_drops_without_truncating(tiny_vlm_dir):
    from scotoma.models.hf_processor import load_processor

    processor = load_processor(str(tiny_vlm_dir("idefics3")), local_files_only=True)
    dataset = to_dataset([sft_record(1), sft_record(2), sft_record(3)], "sft")
    # Idefics3 tiny: "<|begin_of_text|>User:" 3 tokens; each image 28 (<fake_token_around_image>
    # <global-img>, 25 x <image> = (100/10)^2 / 2^2, <fake_token_around_image>); the 6 question words;
    # <end_of_utterance>; "Assistant: yes<end_of_utterance>" 4. One image: 3 + 28 + 6 + 1 + 4 = 42.
    assert [token_length(row, processor) for row in dataset] == [42, 70, 98]
    # prompt/completion form (completion-only loss) counts the same tokens
    assert [token_length(row, processor) for row in split_last_turn(dataset)] == [42, 70, 98]
    kept, dropped = drop_over_budget(dataset, processor, max_tokens=70)  # the budget is inclusive
    assert (len(kept), dropped) == (2, 1)
    assert [len(row["images"]) for row in kept] == [1, 2]  # whole samples kept, nothing cut
    # a prompt alone (GRPO) counts the completion budget on top
    prompt_only = to_dataset([{"prompt": QUESTION, "images": [image()]}], "grpo")
    assert token_length(prompt_only[0], processor, completion_tokens=10) == 3 + 28 + 6 + 1 + 2 + 10
    with pytest.raises(ValueError, match="shortest: 42 tokens"):
        drop_over_budget(dataset, processor, max_tokens=41)


@pytest.mark.integration
@pytest.mark.parametrize("family", ["idefics3", "qwen2_5_vl", "qwen3_vl"])
def test_token_lengths_without_decoding_match_the_processor_row_by_row(
    tiny_vlm_dir, tmp_path, monkeypatch, family
):
    """The fast count (image tokens by image size, measured once per size) equals the exact one, over
    images of several sizes, in files and in memory, in SFT, DPO and GRPO rows; were it ever wrong, the
    check on the first row of each image count sends every row to the exact count."""
    from scotoma.models.hf_processor import load_processor
    from scotoma.train import data
    from scotoma.train.data import token_lengths

    processor = load_processor(str(tiny_vlm_dir(family)), local_files_only=True)
    sizes = [(100, 100), (200, 120), (56, 300)]
    for k, size in enumerate(sizes):
        Image.new("RGB", size, "yellow").save(tmp_path / f"{k}.png")
    files = [str(tmp_path / f"{k}.png") for k in range(3)]
    records = []
    for n in (1, 2, 3):
        records.append(sft_record(n) | {"images": files[:n]})
        records.append(
            sft_record(n) | {"images": [Image.new("RGB", sizes[-k], "blue") for k in range(1, n + 1)]}
        )
    dataset = to_dataset(records, "sft")
    assert token_lengths(dataset, processor) == [token_length(row, processor) for row in dataset]
    if family != "idefics3":  # Qwen's grid follows the image size (the tiny Idefics3 resizes to 100 px)
        assert len({*token_lengths(dataset, processor)}) > 3
    pairs = to_dataset(
        [{"prompt": QUESTION, "chosen": "yes", "rejected": "no no", "images": files[:2]}], "dpo"
    )
    assert token_lengths(pairs, processor) == [token_length(pairs[0], processor)]
    prompts = to_dataset([{"prompt": QUESTION, "images": files[1:]}], "grpo")
    assert token_lengths(prompts, processor, 7) == [token_length(prompts[0], processor, 7)]
    exact = [token_length(row, processor) for row in dataset]
    monkeypatch.setattr(data._ImageTokens, "__call__", lambda self, size: 1)
    assert token_lengths(dataset, processor) == exact


def test_split_every_turn_makes_a_row_per_answer_with_the_images_its_prompt_shows():
    first = [{"type": "image"}, {"type": "text", "text": QUESTION}]
    second = [{"type": "image"}, {"type": "text", "text": "how many ?"}]
    record = {
        "messages": [
            {"role": "user", "content": first},
            {"role": "assistant", "content": "yes"},
            {"role": "user", "content": second},
            {"role": "assistant", "content": "two"},
        ],
        "images": [image("blue"), image("yellow")],
        "source": "world",
    }
    rows = split_every_turn(to_dataset([record, sft_record(1, "no")], "sft"))
    assert len(rows) == 3 and sorted(rows.column_names) == ["completion", "images", "prompt", "source"]
    assert [len(row["prompt"]) for row in rows] == [1, 3, 1]
    assert [row["completion"][0]["content"][0]["text"] for row in rows] == ["yes", "two", "no"]
    assert [[im.getpixel((0, 0)) for im in row["images"]] for row in rows] == [
        [(0, 0, 255)],
        [(0, 0, 255), (255, 255, 0)],
        [(0, 0, 255)],
    ]
    assert rows["source"] == ["world", "world", None]
