"""The bench runner end to end on the MMRA fixture with scripted models: counts, batching, resume, cache,
descriptions, judge extraction, failed calls, paired comparison and the tables."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from scotoma.bench import (
    BenchConfig,
    compare_runs,
    html_page,
    load_benchmark,
    print_comparison,
    print_results,
    read_records,
    run_bench,
)
from scotoma.models import ScriptedModel, TooManyImagesError
from scotoma.runlog import RunDirError
from scotoma.types import Completion, Conversation, GenConfig

MMRA_MINI = Path(__file__).parent / "fixtures" / "mmra_mini"
# variants of the fixture with permute=images,options: image orders x option rotations per item
IQ_VARIANTS, IQ_ORIGINAL_ORDER = 69, 37


@pytest.fixture(scope="module")
def mmra():
    return load_benchmark("mmra", data=MMRA_MINI)


def order_sensitive(benchmark, sorry_without_images: bool = True):
    """A model that knows every answer when the images come in their original order, picks the next
    option (or the opposite yes/no) when they are swapped, and apologizes when it sees no image."""
    by_image = {item.images[0].sha256: item for item in benchmark.items}
    by_question = {item.question: item for item in benchmark.items}

    def respond(conversation: Conversation) -> str:
        text = conversation.messages[-1].text
        shown = conversation.images
        if not shown and sorry_without_images:
            return "I'm sorry, but I can't answer without seeing the images."
        question = re.search(r"Question: (.*)\n", text).group(1)
        item = by_question[question]
        swapped = bool(shown) and shown[0].sha256 not in by_image
        if item.kind == "yes_no":
            return {("yes", False): "Yes.", ("yes", True): "No.", ("no", False): "No.", ("no", True): "Yes."}[
                (item.answer, swapped)
            ]
        letters = [letter for letter, _ in item.options]
        pick = letters[(letters.index(item.answer) + swapped) % len(letters)]
        wanted = item.option_map[pick]
        shown_letter = re.search(rf"^([A-Z])\. {re.escape(wanted)}$", text, re.M).group(1)
        return f"The correct answer is ({shown_letter})."

    return respond


def test_run_counts_batches_and_figures(tmp_path: Path, mmra) -> None:
    model = ScriptedModel(order_sensitive(mmra), spec="scripted:order-sensitive")
    config = BenchConfig(
        mmra,
        model,
        ["IQ", "QO"],
        "images,options",
        batch_size=16,
        cache=tmp_path / "cache.sqlite",
        n_boot=200,
    )
    result = run_bench(config, tmp_path / "run")
    qo_variants = IQ_ORIGINAL_ORDER  # QO: option rotations only
    assert result.n_variants == IQ_VARIANTS + qo_variants and result.n_new == result.n_variants
    assert model.calls == -(-result.n_variants // 16)  # one model call per batch of 16 variants
    iq = result.metrics["settings"]["IQ"]
    assert iq["accuracy"]["value"] == pytest.approx(IQ_ORIGINAL_ORDER / IQ_VARIANTS)
    assert iq["original_order_accuracy"]["value"] == 1.0
    # 10 of 12 items can be swapped ("the first image" and "Image 1 / Image 2" pin the other two)
    assert iq["order_sensitivity"] == {"value": 1.0, "n_items": 10}
    assert iq["option_sensitivity"]["value"] == 0.0  # the same option whatever its letter
    assert iq["group_accuracy"]["value"] == pytest.approx(2 / 12)
    assert set(iq["by_level"]) == {"entity", "image"} and len(iq["by_subtask"]) == 11
    assert iq["by_images"]["1-2"]["n"] == IQ_VARIANTS
    assert (
        iq["by_variant"]["original"]["value"] == 1.0 and iq["by_variant"]["options rotated"]["value"] == 1.0
    )
    assert iq["by_variant"]["images permuted"]["value"] == 0.0  # the sequence test, in one line
    qo = result.metrics["settings"]["QO"]
    assert qo["accuracy"]["value"] == 0 and qo["unparsed_rate"] == 1.0 and qo["methods"] == {"refusal": 37}
    assert result.metrics["n_missing"] == 0 and result.metrics["benchmark_version"] == "1"
    strict = json.loads((result.run_dir / "metrics.json").read_text(), parse_constant=pytest.fail)
    assert strict["settings"]["QO"]["order_sensitivity"] == {"value": None, "n_items": 0}

    records = read_records(result.run_dir)
    first = records[0]
    assert first["key"] == f"{first['item_id']}|IQ|img=0-1|opt=ABCD" and first["identity"]
    assert first["output"] == f"The correct answer is ({first['target']})." and first["correct"]
    assert {"extracted", "answer_original", "parsed", "method", "prompt_tokens", "cached"} <= set(first)
    spec = json.loads((result.run_dir / "spec.json").read_text())
    assert spec["config"]["model"] == "scripted:order-sensitive"
    assert spec["config"]["permute"] == {"images": True, "options": True, "max_image_orders": 6}

    console = Console(file=io.StringIO(), width=200)
    print_results(result.metrics, console)
    shown = console.file.getvalue()
    assert "Accuracy [95% CI]" in shown and "53.6 [" in shown and "RelativePosition" in shown
    page = html_page(result.metrics)
    assert page.startswith("<!doctype html>") and "<table>" in page and "<script" not in page


def test_resume_skips_done_variants_and_the_cache_answers_lost_ones(tmp_path: Path, mmra) -> None:
    cache = tmp_path / "cache.sqlite"
    model = ScriptedModel(order_sensitive(mmra), spec="scripted:resume")
    run_dir = tmp_path / "run"
    config = BenchConfig(mmra, model, "IQ", "images", cache=cache, n_boot=50)
    run_bench(config, run_dir)
    calls = model.calls
    again = run_bench(config, run_dir)
    assert (again.n_skipped, again.n_new, model.calls) == (again.n_variants, 0, calls)

    # a crash that lost the last 5 records: the re-run writes them again, from the cache
    lines = (run_dir / "records.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "records.jsonl").write_text("".join(lines[:-5]))
    repaired = run_bench(config, run_dir)
    assert (repaired.n_new, repaired.cache_hits, model.calls) == (5, 5, calls)
    assert len(read_records(run_dir)) == repaired.n_variants

    with pytest.raises(RunDirError, match="different config"):
        run_bench(BenchConfig(mmra, model, "QO", cache=cache), run_dir)


def test_too_many_images_fails_before_any_call(tmp_path: Path, mmra) -> None:
    small = ScriptedModel("A", spec="scripted:one-image", max_images=1)
    with pytest.raises(TooManyImagesError, match="use the DQ or QO setting"):
        run_bench(BenchConfig(mmra, small, "IQ", cache=tmp_path / "c.sqlite"), tmp_path / "run")
    assert small.calls == 0
    assert run_bench(BenchConfig(mmra, small, "QO", cache=tmp_path / "c.sqlite"), tmp_path / "qo").n_new == 12


class FlakyModel:
    """Fails every request whose text contains `marker` the first time it sees it."""

    def __init__(self, inner: ScriptedModel, marker: str) -> None:
        self.inner, self.marker, self.failed = inner, marker, set()
        self.spec, self.max_images = inner.spec, None

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        out = []
        for conversation, completion in zip(
            conversations, self.inner.generate(conversations, config), strict=True
        ):
            text = conversation.messages[-1].text
            if self.marker in text and text not in self.failed:
                self.failed.add(text)
                out.append(Completion("", finish_reason="error", error="server busy"))
            else:
                out.append(completion)
        return out


def test_failed_calls_are_left_for_the_rerun(tmp_path: Path, mmra) -> None:
    model = FlakyModel(ScriptedModel(order_sensitive(mmra), spec="scripted:flaky"), "furniture layout")
    config = BenchConfig(mmra, model, "IQ", cache=tmp_path / "c.sqlite", n_boot=50)
    first = run_bench(config, tmp_path / "run")
    assert (first.n_errors, first.n_new, first.metrics["n_missing"]) == (1, 11, 1)
    second = run_bench(config, tmp_path / "run")
    assert (second.n_errors, second.n_new, second.metrics["n_missing"]) == (0, 1, 0)


def test_descriptions_and_judge_extraction(tmp_path: Path, mmra) -> None:
    described: list[str] = []

    def captioner(image) -> str:
        described.append(image.sha256)
        return f"a photo {image.sha256[:6]}"

    def vague(conversation: Conversation) -> str:
        assert conversation.images == [] and "Image1 description: a photo " in conversation.messages[-1].text
        return "Hmm, hard to say, maybe the second one?"

    judge = ScriptedModel(
        lambda c: "NONE" if "Yes or No" in c.messages[-1].text else "B", spec="scripted:judge"
    )
    config = BenchConfig(
        mmra, ScriptedModel(vague, spec="scripted:vague"), "DQ", "images",
        captioner=captioner, judge=judge, cache=tmp_path / "c.sqlite", n_boot=50,
    )  # fmt: skip
    result = run_bench(config, tmp_path / "run")
    assert sorted(described) == sorted({i.sha256 for item in mmra.items for i in item.images})  # once each
    dq = result.metrics["settings"]["DQ"]
    choice_variants = sum(
        2 if "first image" not in i.question else 1 for i in mmra.items if i.kind == "choice"
    )
    assert (
        dq["judge_extracted"] == choice_variants
        and dq["methods"]["judge_none"] == result.n_variants - choice_variants
    )
    assert judge.calls == 1  # all unparsed outputs of the one batch went to the judge together
    assert result.metrics["judge"] == "scripted:judge" and result.metrics["captioner"].startswith("function:")
    with pytest.raises(ValueError, match="need image descriptions"):
        BenchConfig(mmra, ScriptedModel("A"), "IDQ")


def test_chain_mode_asks_for_a_chain_and_scores_its_final_answer(tmp_path: Path, mmra) -> None:
    from scotoma.judge.chain_inference import chain_instruction

    direct = order_sensitive(mmra)

    def chained(conversation: Conversation) -> str:
        text = conversation.messages[-1].text
        assert text.endswith(chain_instruction())
        # the distractor "(A)" in the step must not be read: only the final answer counts
        unchained = Conversation.user(*conversation.images, text.removesuffix("\n" + chain_instruction()))
        final = direct(unchained)
        return f"Step_1: Is (A) right?\nFocus: Image1\nAnswer: (A) maybe\nFinal_answer: {final}"

    plain = run_bench(
        BenchConfig(mmra, ScriptedModel(direct, spec="scripted:d"), n_boot=50), tmp_path / "plain"
    )
    chain = BenchConfig(mmra, ScriptedModel(chained, spec="scripted:c"), n_boot=50, chain=True)
    result = run_bench(chain, tmp_path / "chain")
    assert result.metrics["chain"] is True and result.metrics["gen"].max_new_tokens == 512
    accuracy = [r.metrics["settings"]["IQ"]["accuracy"]["value"] for r in (result, plain)]
    assert accuracy == [1.0, 1.0]
    records = [json.loads(line) for line in (tmp_path / "chain" / "records.jsonl").read_text().splitlines()]
    assert all(r["output"].startswith("Step_1: Is (A) right?") for r in records)


def test_compare_runs(tmp_path: Path, mmra) -> None:
    cache = tmp_path / "c.sqlite"
    sensitive = ScriptedModel(order_sensitive(mmra), spec="scripted:a")
    # B always sees the item's first image first, so it is always right
    steady = ScriptedModel(lambda c: order_sensitive(mmra)(_original_first(c, mmra)), spec="scripted:b")
    run_a = run_bench(BenchConfig(mmra, sensitive, "IQ", "images", cache=cache, n_boot=50), tmp_path / "a")
    run_b = run_bench(BenchConfig(mmra, steady, "IQ", "images", cache=cache, n_boot=50), tmp_path / "b")
    assert run_b.metrics["settings"]["IQ"]["accuracy"]["value"] == 1.0
    comparison = compare_runs(run_a.run_dir, run_b.run_dir, n_boot=200)
    iq = comparison["settings"]["IQ"]
    n = run_a.n_variants
    assert comparison["n_paired"] == n and iq["difference"]["value"] == pytest.approx(10 / n)
    assert iq["b_right_a_wrong"] == 10 and iq["a_right_b_wrong"] == 0 and iq["difference"]["ci_low"] > 0
    console = Console(file=io.StringIO(), width=200)
    print_comparison(comparison, console)
    assert "B - A [95% CI]" in console.file.getvalue()


def _original_first(conversation: Conversation, benchmark) -> Conversation:
    """The same question with the images put back in their original order."""
    originals = {item.images[1].sha256: item for item in benchmark.items}
    shown = conversation.images
    if shown and shown[0].sha256 in originals:
        item = originals[shown[0].sha256]
        return Conversation.user(*item.images, conversation.messages[-1].text)
    return conversation


def test_a_model_retrained_in_the_same_folder_is_not_resumed(tmp_path: Path, mmra, monkeypatch) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights v1")
    monkeypatch.setattr(
        "scotoma.bench.runner.get_model", lambda spec: ScriptedModel(order_sensitive(mmra), spec=spec)
    )
    spec, run_dir = f"hf:{folder}", tmp_path / "run"
    config = BenchConfig(mmra, spec, "IQ", "images", cache=tmp_path / "cache.sqlite", limit=2, n_boot=10)
    run_bench(config, run_dir)
    recorded = json.loads((run_dir / "spec.json").read_text())["config"]["weights"]
    assert recorded.startswith(f"{spec}#")
    (folder / "model.safetensors").write_bytes(b"weights v2")  # a second training into the same folder
    with pytest.raises(RunDirError):
        run_bench(config, run_dir)
