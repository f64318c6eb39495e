"""Exporters: each format re-read by its own schema, TRL round-tripped through scotoma.train.data,
placeholders matching images in order, images written once per hash, the L3 filter and the mixture."""

import copy
import json
from pathlib import Path

import pytest

from scotoma.synth import (
    ExportConfig,
    FormatError,
    PreferencePair,
    WorldChainSynth,
    export_all,
    verify_export,
)
from scotoma.synth.export import store_images
from scotoma.synth.formats import check_easyr1, check_llamafactory, check_swift, check_trl
from scotoma.synth.prompting import placeholder_text
from scotoma.types import user_turn
from scotoma.world import Box, WorldObject, box_image_ref


def _image(x: int, color: str = "blue"):
    return box_image_ref(Box((WorldObject("circle", color, 20, x, 10),)))


def _pair(key, level, images, chosen="yes", rejected="no", similarity=None):
    return PreferencePair(
        key,
        level,
        "test",
        tuple(images),
        f"In Image 1, is there a circle? ({key})",
        chosen,
        rejected,
        chosen,
        similarity=similarity,
    )


@pytest.fixture()
def exported(tmp_path):
    shared = _image(0)
    chain = WorldChainSynth(seed=0).sample(0)
    samples = [
        chain,
        _pair("L3-a", "L3", [_image(10), shared], "small blue circle", "two images of circles", 0.10),
        _pair("L1-a", "L1", [shared, _image(20), _image(30)], rejected="no <image> here"),
        _pair("L3-b", "L3", [shared, _image(40)], "a circle", "circles", 0.20),
        _pair("L2-a", "L2", [_image(50), shared], "3", "2"),
        _pair("L3-c", "L3", [_image(60), shared], "a circle", "a circle too", 0.95),  # too alike: filtered
        _pair("L3-d", "L3", [_image(70), shared], "a circle", "boxes", 0.30),
    ]
    stored = [store_images(s, tmp_path) for s in samples]
    report = export_all(stored, tmp_path, ExportConfig(mixture="curriculum"))
    return tmp_path, stored, report


def _rows(path):
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]


def test_every_format_is_written_and_checked(exported):
    out, _, report = exported
    assert report["similarity_filter"] == {
        "l3_scored": 4,
        "l3_dropped": 1,
        "threshold": pytest.approx(0.4625),
        "quantile": 0.75,
    }
    assert report["files"] == {
        "easyr1/train.jsonl": 6,
        "llamafactory/dpo.json": 5,
        "llamafactory/sft.json": 6,
        "swift/dpo.jsonl": 5,
        "swift/sft.jsonl": 6,
        "trl/dpo.jsonl": 5,
        "trl/dpo_L1.jsonl": 1,
        "trl/dpo_L2.jsonl": 1,
        "trl/dpo_L3.jsonl": 3,
        "trl/grpo.jsonl": 6,
        "trl/sft.jsonl": 6,
    }
    assert report["checked"] == report["files"]
    assert verify_export(out) == report["files"]


def test_images_are_written_once_per_hash(exported):
    out, stored, _ = exported
    hashes = {image.sha256 for s in stored for image in s.images}
    assert sorted(p.stem for p in (out / "images").iterdir()) == sorted(hashes)


def test_placeholders_match_images_in_order(exported):
    out, stored, _ = exported
    by_prompt = {s.prompt: s for s in stored}
    for row in _rows(out / "swift" / "dpo.jsonl"):
        sample = by_prompt[row["messages"][0]["content"].split("\n")[-1]]
        assert row["messages"][0]["content"].count("<image>") == len(row["images"]) == len(sample.images)
        assert [p.split("/")[-1][:64] for p in row["images"]] == [i.sha256 for i in sample.images]
        assert row["messages"][0]["content"].startswith("Image1: <image>\nImage2: <image>\n")
    rejected = [r["rejected_response"] for r in _rows(out / "swift" / "dpo.jsonl")]
    assert "no [image] here" in rejected  # a placeholder inside a response would count as an image


def test_curriculum_orders_levels_and_filter_drops_the_alike_pair(exported):
    out, _, _ = exported
    prompts = [r["prompt"][0]["content"][-1]["text"] for r in _rows(out / "trl" / "dpo.jsonl")]
    levels = [p.split("(")[1][:2] for p in prompts]
    assert levels == ["L1", "L2", "L3", "L3", "L3"]
    assert not any("L3-c" in p for p in prompts)


def test_llamafactory_dataset_info(exported):
    out, _, _ = exported
    info = json.loads((out / "llamafactory" / "dataset_info.json").read_text())
    assert info["scotoma_dpo"] == {
        "file_name": "dpo.json",
        "formatting": "sharegpt",
        "ranking": True,
        "columns": {
            "messages": "conversations",
            "chosen": "chosen",
            "rejected": "rejected",
            "images": "images",
        },
    }
    assert info["scotoma_sft"]["columns"] == {"messages": "conversations", "images": "images"}
    row = _rows(out / "llamafactory" / "dpo.json")[0]
    assert [t["from"] for t in row["conversations"]] == ["human"] and row["chosen"]["from"] == "gpt"


@pytest.mark.integration
def test_trl_files_round_trip_through_scotoma_train(exported):
    from scotoma.train.data import load_jsonl

    out, stored, _ = exported
    chain = stored[0]
    sft = load_jsonl(out / "trl" / "sft.jsonl", "sft")
    dpo = load_jsonl(out / "trl" / "dpo.jsonl", "dpo")
    grpo = load_jsonl(out / "trl" / "grpo.jsonl", "grpo")
    assert (len(sft), len(dpo), len(grpo)) == (6, 5, 6)
    first = next(r for r in sft if r["messages"][-1]["content"][0]["text"] == chain.target)
    assert len(first["images"]) == len(chain.images) and first["images"][0].size == (100, 100)
    assert sum(b["type"] == "image" for b in first["messages"][0]["content"]) == len(chain.images)
    assert sorted(grpo["answer"])[0] in {s.answer for s in stored}
    assert dpo[0]["chosen"][0]["role"] == "assistant"


def test_the_same_rows_as_json_lines_are_checked_by_each_schema(exported):
    out, _, _ = exported
    check_trl(_rows(out / "trl" / "grpo.jsonl")[0], "grpo")
    check_llamafactory(_rows(out / "llamafactory" / "sft.json")[0], ranking=False)
    check_swift(_rows(out / "swift" / "sft.jsonl")[0], "sft")
    check_easyr1(_rows(out / "easyr1" / "train.jsonl")[0])


def _broken(out, fmt, name, change):
    row = copy.deepcopy(_rows(out / fmt / name)[0])
    change(row)
    return row


@pytest.mark.parametrize(
    ("fmt", "name", "change", "check", "message"),
    [
        ("trl", "sft.jsonl", lambda r: r["images"].pop(), lambda r: check_trl(r, "sft"), "image blocks"),
        (
            "trl",
            "dpo.jsonl",
            lambda r: r["chosen"][0].update(role="user"),
            lambda r: check_trl(r, "dpo"),
            "assistant",
        ),
        ("trl", "grpo.jsonl", lambda r: r.pop("answer"), lambda r: check_trl(r, "grpo"), "answer"),
        (
            "llamafactory",
            "sft.json",
            lambda r: r["conversations"].reverse(),
            lambda r: check_llamafactory(r, False),
            "alternate",
        ),
        (
            "llamafactory",
            "dpo.json",
            lambda r: r["chosen"].update({"from": "human"}),
            lambda r: check_llamafactory(r, True),
            "chosen",
        ),
        (
            "swift",
            "dpo.jsonl",
            lambda r: r.pop("rejected_response"),
            lambda r: check_swift(r, "dpo"),
            "rejected_response",
        ),
        (
            "swift",
            "sft.jsonl",
            lambda r: r["images"].append("x.png"),
            lambda r: check_swift(r, "sft"),
            "placeholders",
        ),
        (
            "easyr1",
            "train.jsonl",
            lambda r: r.update(prompt=r["prompt"] + "<image>"),
            check_easyr1,
            "placeholders",
        ),
    ],
)
def test_each_schema_check_catches_a_broken_row(exported, fmt, name, change, check, message):
    out, _, _ = exported
    with pytest.raises(FormatError, match=message):
        check(_broken(out, fmt, name, change))


def test_verify_export_finds_a_missing_image(exported):
    out, stored, _ = exported
    (out / "images" / f"{stored[0].images[0].sha256}.png").unlink()
    with pytest.raises(FormatError, match="image file not found"):
        verify_export(out, ("easyr1",))


def test_a_prompt_holding_a_placeholder_is_refused():
    with pytest.raises(ValueError, match="placeholders"):
        placeholder_text(user_turn([_image(0)], "what is <image>?"))
    assert placeholder_text(user_turn([_image(0), _image(9)], "Q?", layout="bare")) == [
        ("user", "<image><image>Q?")
    ]


def test_absolute_paths_and_flat_shuffle(tmp_path):
    samples = [store_images(_pair(f"L2-{i}", "L2", [_image(i)]), tmp_path) for i in range(8)]
    report = export_all(
        samples, tmp_path, ExportConfig(formats=("easyr1",), absolute_image_paths=True, seed=1)
    )
    rows = _rows(tmp_path / "easyr1" / "train.jsonl")
    assert report["files"] == {"easyr1/train.jsonl": 8}
    assert all(row["images"][0].startswith("/") for row in rows)
    assert [r["prompt"] for r in rows] != [f"Image1: <image>\n{s.prompt}" for s in samples]  # shuffled


def test_cli_formats_paths_overrides_and_easyr1_rows_a_grader_can_score(tmp_path):
    """`scotoma synth s2h --formats ... --absolute-paths KEY=VALUE export.KEY=VALUE`: only the formats
    asked, absolute image paths, the overrides in the run's spec; EasyR1 rows carry `problem` and
    `prompt`, and L3's description answers are left out of easyr1/ and counted."""
    from typer.testing import CliRunner

    from scotoma.cli import app
    from scotoma.synth.formats import gradable

    out = tmp_path / "s2h"
    command = ["synth", "s2h", "--out", str(out), "--n", "12", "--levels", "L2,L3", "--formats", "easyr1,trl"]
    result = CliRunner().invoke(app, [*command, "--absolute-paths", "distractors=2", "export.name=mine"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["easyr1", "images", "trl"]
    spec = json.loads((out / "spec.json").read_text())
    assert spec["config"]["config"]["distractors"] == 2 and spec["config"]["export"]["name"] == "mine"
    metrics = json.loads((out / "metrics.json").read_text())
    rows = _rows(out / "easyr1" / "train.jsonl")
    grpo = _rows(out / "trl" / "grpo.jsonl")  # every pair, gradable or not
    ungradable = sum(not gradable(r["answer"]) for r in grpo)
    assert ungradable > 0 and metrics["export"]["left_out"] == {"easyr1/train.jsonl": ungradable}
    assert (
        len(rows) == len(grpo) - ungradable
        and f"left out of easyr1/train.jsonl: {ungradable}" in result.output
    )
    assert all(r["problem"] == r["prompt"] and gradable(r["answer"]) for r in rows)
    assert all(Path(p).is_absolute() and Path(p).is_file() for r in rows for p in r["images"])


def test_gradable_answers_by_hand():
    from scotoma.synth.formats import gradable

    assert gradable("6") and gradable("no") and gradable("Image 2") and gradable("(B)")
    assert not gradable("large black square , small blue triangle") and not gradable("")
    assert not gradable("a small blue circle on top") and not gradable("the")
    # one answer kind, with or without a size: VISC's "difference" answers name an object either way
    assert gradable("the blue triangle") and gradable("the small black circle")


def test_easyr1_keeps_object_answers_that_needed_a_size(tmp_path):
    """A VISC chain answered "the small black circle" is written to easyr1/ like "the blue triangle"."""
    chain = store_images(WorldChainSynth(seed=0).sample(0), tmp_path)
    samples = [
        type(chain).from_dict({**chain.to_dict(), "key": key, "answer": answer})
        for key, answer in (("a", "the blue triangle"), ("b", "the small black circle"))
    ]
    report = export_all(samples, tmp_path, ExportConfig(formats=("easyr1",)))
    answers = sorted(row["answer"] for row in _rows(tmp_path / "easyr1" / "train.jsonl"))
    assert answers == ["the blue triangle", "the small black circle"] and report["left_out"] == {}
