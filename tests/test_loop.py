"""The closed loop end to end on a random-weight world-size model (CPU): measure, synthesize, train,
measure again; the table's figures come from the run directories it wrote; a re-run resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scotoma.loop import LoopConfig, Measurement, compare, format_table, worst_skills


def _measurement(items, nlvr=(80, 100), failure=None, asked=None) -> Measurement:
    from scotoma.loop.measure import tally

    records = [{"skills": s, "correct": c, "subtask": f} for s, c, f in items]
    return Measurement(
        "m", tally(records, "subtask"), tally(records, "skills"), nlvr, failure or {}, asked or {}, 0.5,
        [(list(s), c, f) for s, c, f in items],
    )  # fmt: skip


def test_compare_by_hand() -> None:
    # counting items: 2 of 4 right before, 3 of 4 after -> failure 0.5 -> 0.25, a relative drop of 1/2
    def items(counting: list[bool], existence: list[bool]):
        return [(["counting"], ok, "counting") for ok in counting] + [
            (["existence"], ok, "existence") for ok in existence
        ]

    before = _measurement(items([True, True, False, False], [True, True]))
    after = _measurement(items([True, True, True, False], [True, False]), nlvr=(79, 100))
    table = compare(before, after, ["counting"])
    assert table["targeted_failure"] == {"before": 0.5, "after": 0.25, "n": 4}
    assert table["targeted_relative_drop"] == pytest.approx(0.5)
    assert table["families"]["existence"] == {"before": 1.0, "after": 0.5, "n": 2, "targeted": False}
    assert table["families"]["counting"]["targeted"]
    assert table["verdicts"] == {
        "targeted_failure_drops_a_third": True,
        "no_other_family_loses_2_points": False,  # existence fell 50 points
        "nlvr1_within_1_point": True,  # 80% -> 79%
    }
    assert table["largest_untargeted_loss"] == ("existence", 0.5)
    assert "PASS  targeted_failure_drops_a_third" in format_table(table)


def test_nlvr_change_is_paired_by_statement_with_the_share_called_true_and_balanced_accuracy() -> None:
    from scotoma.loop.measure import StatementAnswer as A

    # 4 statements, a and d true, b and c false. Before: right on a, c; said yes, yes, no, (unread).
    # After: right on a, b, c; said yes, no, no, no. Accuracy 50% -> 75%; called true 2/3 -> 1/4;
    # balanced accuracy (true 1/2, false 1/2) 50% -> (true 1/2, false 2/2) 75%.
    before = _measurement([], nlvr=(2, 4))
    before.nlvr_answers = dict(
        a=A(True, True, True), b=A(False, True, False), c=A(True, False, False), d=A(False, None, True)
    )
    after = _measurement([], nlvr=(3, 4))
    after.nlvr_answers = dict(
        a=A(True, True, True), b=A(True, False, False), c=A(True, False, False), d=A(False, False, True)
    )
    table = compare(before, after, [])
    nlvr = table["nlvr1"]
    assert nlvr["change"] == pytest.approx(0.25)
    assert nlvr["change_low"] <= 0.25 <= nlvr["change_high"] and nlvr["change_high"] <= 1.0
    assert nlvr["yes_before"] == pytest.approx(2 / 3) and nlvr["yes_after"] == pytest.approx(1 / 4)
    assert nlvr["balanced_before"] == pytest.approx(0.5) and nlvr["balanced_after"] == pytest.approx(0.75)
    assert nlvr["balanced_change_low"] <= 0.25 <= nlvr["balanced_change_high"]
    text = format_table(table)
    assert "change +25.0 points, 95% CI" in text and "called true 66.7% -> 25.0%" in text
    assert "balanced accuracy 50.0% -> 75.0%" in text
    # one statement changes, upward: no resample's change is negative
    assert nlvr["change_low"] >= 0.0 and nlvr["balanced_change_low"] >= 0.0


def test_balanced_accuracy_of_one_class_is_its_accuracy() -> None:
    from scotoma.loop.measure import StatementAnswer as A

    # every statement true: balanced accuracy is plain accuracy, 1/3 -> 2/3
    before, after = _measurement([], nlvr=(1, 3)), _measurement([], nlvr=(2, 3))
    before.nlvr_answers = dict(a=A(True, True, True), b=A(False, False, True), c=A(False, False, True))
    after.nlvr_answers = dict(a=A(True, True, True), b=A(True, True, True), c=A(False, False, True))
    nlvr = compare(before, after, [])["nlvr1"]
    assert nlvr["balanced_before"] == pytest.approx(1 / 3) and nlvr["balanced_after"] == pytest.approx(2 / 3)


def test_worst_skills_rank_by_probe_failure_among_well_asked_skills() -> None:
    m = _measurement(
        [], failure={"a": 0.9, "b": 0.5, "c": 0.7, "d": 1.0}, asked={"a": 30, "b": 40, "c": 25, "d": 3}
    )
    assert worst_skills(m, 2, 20) == ["a", "c"]  # d has too few questions to count
    with pytest.raises(ValueError, match="no skill with more than 50"):
        worst_skills(m, 2, 50)
    with pytest.raises(ValueError, match="unknown target skills"):
        LoopConfig(targets=["juggling"])


def test_world_question_rows_with_turns_are_conversations_about_one_image_set(tmp_path: Path) -> None:
    from scotoma.loop.data import world_question_rows
    from scotoma.train.data import to_dataset
    from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler

    config = QuestionConfig(skills=("arithmetic",))
    rows = world_question_rows(config, 3, 4, tmp_path, turns=3)
    sampler = QuestionSampler(config, seed=3)
    for index, row in enumerate(rows):
        sample = sampler.sample(index)
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * 3
        first = row["messages"][0]["content"]
        assert [b["type"] for b in first] == ["image"] * len(sample.images) + ["text"]
        assert len(row["images"]) == len(sample.images)
        assert all((tmp_path / path).is_file() for path in row["images"])
        more = sampler.follow_ups(sample, 2)
        asked = [(sample.question, sample.answer)] + [(s.question, s.answer) for s in more]
        said = [m["content"][-1]["text"] for m in row["messages"]]
        assert said == [text for pair in asked for text in pair]
        # the follow-ups are text only: the images come once, with the first question
        assert all(b["type"] == "text" for m in row["messages"][1:] for b in m["content"])
    single = world_question_rows(config, 3, 4, tmp_path, turns=1)
    assert [row["messages"][:2] for row in rows] == [row["messages"] for row in single]
    to_dataset([{**row, "images": [str(tmp_path / p) for p in row["images"]]} for row in rows], "sft")


def test_primitive_questions_ask_the_one_object_families_for_what_the_targets_build_on(
    tmp_path: Path,
) -> None:
    from scotoma.loop.data import build_training_data
    from scotoma.world import judge
    from scotoma.world.programs.skills import PRIMITIVE_FAMILIES
    from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler

    config = LoopConfig(chains=0, pairs=0, targeted_questions=0, replay_questions=0, primitive_questions=12)
    data = build_training_data(["arithmetic"], "scripted:unused", config, tmp_path)
    assert data.dpo is None and data.counts == {
        "chains": 0, "pairs": 0, "targeted": 0, "primitive": 12, "replay": 0,
    }  # fmt: skip
    rows = [json.loads(line) for line in data.sft.read_text().splitlines()]
    # the loop's own sampler: counting questions (arithmetic's prerequisite) of the one-object families
    sampler = QuestionSampler(
        QuestionConfig(families=PRIMITIVE_FAMILIES, skills=("counting",)), seed=config.data_seed + 2
    )
    for index, row in enumerate(rows):
        sample = sampler.sample(index)
        assert sample.family in PRIMITIVE_FAMILIES and "counting" in sample.skills
        assert row["messages"][0]["content"][-1]["text"] == sample.question
        assert row["messages"][1]["content"][0]["text"] == judge(sample.question, sample.scene).answer
    assert {sampler.sample(i).family for i in range(12)} == {"counting", "localized"}
    # sequence matching has no one-object form: no primitive rows, and no error
    nothing = build_training_data(["sequence:change"], "scripted:unused", config, tmp_path / "seq")
    assert nothing.sft is None and nothing.counts["primitive"] == 0


@pytest.mark.slow  # ~1 minute on an idle 2-core machine: two benches, two probes, synthesis, SFT and DPO
def test_loop_runs_end_to_end_and_resumes(tmp_path: Path, monkeypatch, small_loop_config) -> None:
    from scotoma.loop import run_loop
    from scotoma.models.tiny import save_tiny_vlm
    from scotoma.world_models.training import build_world_model

    monkeypatch.setenv("SCOTOMA_CACHE_DIR", str(tmp_path / "cache"))
    folder = save_tiny_vlm(*build_world_model(seed=1), tmp_path / "target")
    spec = f"hf:{folder}"
    config = small_loop_config(spec)
    result = run_loop(config, tmp_path / "loop")
    metrics = result.metrics
    assert result.targets == ["counting"] and metrics["targets"] == ["counting"]
    assert result.model.startswith("hf:") and result.model != spec
    data = metrics["data"]
    assert data["targeted"] == 6 and data["replay"] == 6 and data["chains"] + data["pairs"] >= 1
    assert data["primitive"] == 4
    sft_rows = (tmp_path / "loop" / "data" / "sft.jsonl").read_text().splitlines()
    assert len(sft_rows) == 16 + 2 * data["chains"] + data["pairs"]
    assert metrics["training"]["sft"]["steps"] == 2
    # two questions per world row, both answers trained
    assert len(json.loads(sft_rows[-1])["messages"]) == 4
    sft_spec = json.loads((tmp_path / "loop" / "train_sft" / "spec.json").read_text())
    assert sft_spec["config"]["recipe"]["loss_on"] == "assistant"
    assert sum(row["n"] for row in metrics["families"].values()) == 11
    assert metrics["nlvr1"]["n"] == 4 and set(metrics["verdicts"]) == {
        "targeted_failure_drops_a_third", "no_other_family_loses_2_points", "nlvr1_within_1_point",
    }  # fmt: skip
    # the figures are the run directories' own
    world = [json.loads(line) for line in (tmp_path / "loop" / "after" / "bench_world" / "records.jsonl")
             .read_text().splitlines()]  # fmt: skip
    after_counting = [r["correct"] for r in world if "counting" in r["skills"]]
    assert metrics["targeted_failure"]["after"] == 1 - sum(after_counting) / len(after_counting)
    again = run_loop(config, tmp_path / "loop")  # everything is reused
    assert again.model == result.model and again.metrics["training"]["sft"]["reused"]
    assert again.metrics["families"] == metrics["families"]


def test_slice_targets_are_accepted_chosen_and_matched(tmp_path: Path) -> None:
    from scotoma.loop.data import slice_filter, world_question_rows
    from scotoma.loop.measure import worst_slices
    from scotoma.world.sampling.questions import QuestionConfig

    assert LoopConfig(targets=["color:yellow", "objects>=4", "counting"]).targets[0] == "color:yellow"
    with pytest.raises(ValueError, match="slice predicates"):
        LoopConfig(targets=["color:"])
    with pytest.raises(ValueError, match="choose='worst'"):
        LoopConfig(choose="worst")
    m = _measurement([])
    m.probe_slices = ["color:yellow", "skill:counting", "image:last"]
    assert worst_slices(m, 2) == ["color:yellow", "skill:counting"]
    rows = world_question_rows(QuestionConfig(), 3, 12, tmp_path, keep=slice_filter(["color:yellow"]))
    assert len(rows) == 12 and all("yellow" in r["messages"][0]["content"][-1]["text"] for r in rows)
    rare = world_question_rows(QuestionConfig(), 3, 5, tmp_path, keep=slice_filter(["skill:spatial:right"]))
    assert all("right" in r["messages"][0]["content"][-1]["text"] for r in rare)
    # a predicate target selects the held-out items that carry it, like a skill
    before = _measurement(
        [(["counting", "color:yellow"], False, "counting"), (["counting"], True, "counting")]
    )
    after = _measurement([(["counting", "color:yellow"], True, "counting"), (["counting"], True, "counting")])
    assert compare(before, after, ["color:yellow"])["targeted_failure"] == {
        "before": 1.0,
        "after": 0.0,
        "n": 1,
    }


def test_own_replay_keeps_only_what_the_target_answers_right(tmp_path: Path) -> None:
    from scotoma.loop.data import build_training_data
    from scotoma.world.programs.answers import is_correct

    with pytest.raises(ValueError, match="replay_labels='mine': use truth or own"):
        LoopConfig(replay_labels="mine")
    with pytest.raises(ValueError, match="set questions_per_row=1"):
        LoopConfig(replay_labels="own", questions_per_row=2)
    config = LoopConfig(replay_questions=6, replay_labels="own", targeted_questions=0, batch_size=4)
    data = build_training_data([], "scripted:yes", config, tmp_path)
    rows = [json.loads(line) for line in data.sft.read_text().splitlines()]
    # a target that always says yes keeps exactly the replay questions whose answer means yes
    labels = [row["messages"][-1]["content"][0]["text"] for row in rows]
    assert len(rows) == 6 and data.counts["replay"] == 6 and all(is_correct("yes", a) for a in labels)
    truth = build_training_data([], "scripted:yes", LoopConfig(replay_questions=6, targeted_questions=0),
                                tmp_path / "truth")  # fmt: skip
    truth_labels = [
        json.loads(line)["messages"][-1]["content"][0]["text"] for line in truth.sft.read_text().splitlines()
    ]
    assert not all(is_correct("yes", a) for a in truth_labels)  # true labels of every kind otherwise


def test_held_out_items_carry_every_slice_predicate() -> None:
    from scotoma.loop.measure import item_predicates

    predicates = item_predicates(LoopConfig(eval_items=6))
    assert len(predicates) == 6
    for found in predicates.values():
        assert any(p.startswith("skill:") for p in found) and any(p.startswith("family:") for p in found)
