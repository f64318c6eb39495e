"""The built-in world models' pipeline: fast collation, curriculum, short training, exact resume, shipping."""

from __future__ import annotations

import dataclasses
import json
import math
import shlex
import shutil
from pathlib import Path

import pytest

from scotoma.probe.prompts import format_questions
from scotoma.world.programs.oracle import judge
from scotoma.world.scenes.captions import caption_scene
from scotoma.world_models.curriculum import (
    CurriculumConfig,
    WorldTasks,
    chain_answer,
    questions_prompt,
)
from scotoma.world_models.evaluation import TEST_SET, accuracy_table, asked_questions
from scotoma.world_models.training import WorldTrainConfig, lr_factor


@pytest.fixture(scope="module")
def world_model():
    from scotoma.world_models.training import build_world_model

    return build_world_model(seed=0)


def _tiny_config(**overrides) -> WorldTrainConfig:
    settings = {
        "batch_size": 4,
        "pool_batches": 2,
        "warmup_steps": 1,
        "eval_every_samples": 0,
        "log_every_steps": 2,
        "curriculum": CurriculumConfig(describe_only_samples=8, images_per_sample=(1, 2)),
    }
    return WorldTrainConfig(**{**settings, **overrides})


# -- data -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text_first", [True, False], ids=["text-first", "images-first"])
def test_fast_collation_equals_the_processor(world_model, text_first: bool) -> None:
    import torch

    from scotoma.world.scenes.render import render_box
    from scotoma.world_models.data import WorldCollator
    from scotoma.world_models.training import build_world_model

    _, processor = build_world_model(seed=0, text_first=True) if text_first else world_model
    tasks = WorldTasks(CurriculumConfig(describe_only_samples=0), seed=3)
    examples = [tasks.qa(0), tasks.describe(1), tasks.qa(5, chain=True), tasks.questioner_example(2)]
    assert len({len(e.scene.boxes) for e in examples}) > 1  # rows with different image counts get padded
    collator = WorldCollator(processor)
    assert collator.text_first == text_first
    batch = collator(examples)
    texts = [
        processor.apply_chat_template(
            [
                {
                    "role": "user",
                    "content": [{"type": "image"}] * len(e.scene.boxes)
                    + [{"type": "text", "text": e.prompt}],
                },
                {"role": "assistant", "content": [{"type": "text", "text": e.target}]},
            ]
        )
        for e in examples
    ]
    images = [[render_box(box) for box in e.scene.boxes] for e in examples]
    reference = processor(text=texts, images=images, padding=True, return_tensors="pt")
    assert torch.equal(batch["pixel_values"], reference["pixel_values"])
    assert torch.equal(batch["pixel_attention_mask"], reference["pixel_attention_mask"].to(torch.int64))
    eos = processor.tokenizer.eos_token_id
    for row in range(len(examples)):
        ours = batch["input_ids"][row][batch["attention_mask"][row].bool()].tolist()
        theirs = reference["input_ids"][row][reference["attention_mask"][row].bool()].tolist()
        assert ours == theirs
        labels = [t for t in batch["labels"][row].tolist() if t != -100]
        target = processor.tokenizer(" " + examples[row].target, add_special_tokens=False)["input_ids"]
        assert labels == [*target, eos] and ours[-len(labels) :] == labels  # the loss covers the answer only


def test_response_tags_are_single_plain_tokens_after_a_reload(tmp_path: Path, world_model) -> None:
    from scotoma.models.hf_processor import load_processor

    _, processor = world_model
    processor.save_pretrained(tmp_path)
    tokenizer = load_processor(str(tmp_path), local_files_only=True).tokenizer
    text = "<response_1> Is there a circle? </response_1>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids) == [
        "<response_1>",
        "is",
        "there",
        "a",
        "circle",
        "?",
        "</response_1>",
    ]
    # not special: the hf backend decodes with skip_special_tokens and must keep them
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<response_1> is there a circle ? </response_1>"
    assert (
        tokenizer.unk_token_id
        not in tokenizer("describe the images . ask two questions about the image .")["input_ids"]
    )


def test_pixel_values_of_a_padded_image_are_zero() -> None:
    from scotoma.world_models.data import pixel_values

    tasks = WorldTasks(CurriculumConfig(), seed=0)
    one, three = tasks.describe(0).scene, tasks.describe(2).scene
    values, mask = pixel_values([one, three])
    assert values.shape[:2] == (2, max(len(one.boxes), len(three.boxes)))
    assert values[0, len(one.boxes) :].abs().sum() == 0 and mask[0, len(one.boxes) :].sum() == 0
    assert values[0, 0, 0, 0, 0].item() == pytest.approx(211 / 255 * 2 - 1)  # the light grey background


# -- curriculum -------------------------------------------------------------------------------------------
def test_examples_are_a_pure_function_of_seed_and_index() -> None:
    a = WorldTasks(CurriculumConfig(describe_only_samples=2), seed=7)
    b = WorldTasks(CurriculumConfig(describe_only_samples=2), seed=7)
    assert [b.answerer_example(i) for i in (40, 3, 0)] == [a.answerer_example(i) for i in (40, 3, 0)]
    assert a.answerer_example(0).task == "describe" and a.answerer_example(1).task == "describe"
    assert {a.answerer_example(i).task for i in range(2, 200)} == {"describe", "qa", "chain"}


def test_focus_families_take_their_share_of_the_samples() -> None:
    config = CurriculumConfig(
        describe_only_samples=0, describe_share=0.2, chain_share=0.0,
        focus_families=("existence",), focus_share=0.5,
    )  # fmt: skip
    examples = [WorldTasks(config, seed=0).answerer_example(i) for i in range(400)]
    existence = sum(e.family == "existence" for e in examples)
    # 50% focus + 30% uniform QA over 11 families: 0.5 + 0.3 / 11 = 52.7% existence, 20% describe
    assert 0.45 < existence / 400 < 0.61
    assert 0.14 < sum(e.task == "describe" for e in examples) / 400 < 0.26
    # the focus sampler is balanced on its own: about as many yes as no
    answers = [e.answer for e in examples if e.family == "existence"]
    assert abs(answers.count("yes") - answers.count("no")) <= 0.2 * len(answers)
    with pytest.raises(ValueError, match=r"needs CurriculumConfig\.focus_families"):
        WorldTasks(CurriculumConfig(), seed=0).qa(0, focus=True)
    with pytest.raises(ValueError, match="focus_share needs focus_families"):
        CurriculumConfig(focus_share=0.3)
    with pytest.raises(ValueError, match="sum to at most 1"):
        CurriculumConfig(describe_share=0.5, chain_share=0.2, focus_families=("existence",), focus_share=0.4)
    with pytest.raises(ValueError, match="not among the trained families"):
        CurriculumConfig(families=("counting",), focus_families=("existence",))


def test_focus_skills_narrow_the_focus_questions() -> None:
    config = CurriculumConfig(
        describe_only_samples=0, describe_share=0.0, chain_share=0.0,
        focus_families=("existence", "attribute"), focus_share=1.0, focus_skills=("spatial:edge",),
    )  # fmt: skip
    examples = [WorldTasks(config, seed=1).answerer_example(i) for i in range(60)]
    assert all("spatial:edge" in e.skills for e in examples)
    families = [e.family for e in examples]
    assert families.count("existence") == families.count("attribute") == 30  # still one family each turn
    answers = [e.answer for e in examples if e.family == "existence"]
    assert abs(answers.count("yes") - answers.count("no")) <= 4
    halves = WorldTasks(dataclasses.replace(config, focus_skills_share=0.5), seed=1)
    edge = sum("spatial:edge" in halves.answerer_example(i).skills for i in range(200))
    # half held to the skill, half any existence or attribute question (of which some touch an edge)
    assert 100 <= edge < 160
    with pytest.raises(ValueError, match="focus_skills_share"):
        CurriculumConfig(focus_skills_share=1.5)
    with pytest.raises(ValueError, match="unknown focus_skills"):
        CurriculumConfig(focus_families=("existence",), focus_skills=("spatial:edges",))
    with pytest.raises(ValueError, match="focus_skills needs focus_families"):
        CurriculumConfig(focus_skills=("spatial:edge",))


def test_describe_and_chain_targets() -> None:
    tasks = WorldTasks(CurriculumConfig(), seed=0)
    describe = tasks.describe(4)
    assert describe.target == caption_scene(describe.scene)
    chain = tasks.qa(9, chain=True)
    assert chain.prompt.endswith("describe first , then answer .")
    assert chain.target == f"{caption_scene(chain.scene)} answer : {chain.answer}"
    assert chain_answer(chain.target) == chain.answer
    assert chain_answer("image 1 : small blue circle answer : yes") == "yes"
    assert chain_answer("no marker") == "no marker"


def test_questioner_targets_are_valid_questions_in_tags() -> None:
    tasks = WorldTasks(CurriculumConfig(questions_per_sample=(3, 3)), seed=0)
    for index in range(6):
        example = tasks.questioner_example(index)
        questions = asked_questions(example.target)
        assert example.prompt == questions_prompt(len(questions), len(example.scene.boxes))
        assert 1 <= len(questions) <= 3 and len(set(questions)) == len(questions)
        assert all(judge(q, example.scene).valid for q in questions)
    assert questions_prompt(1, 1) == "ask one question about the image ."
    # one format: the probe's (`probe.prompts`); the targets are its lines, read back as the probe reads
    assert example.target == format_questions(questions)
    assert asked_questions("<response_1> x </response_1>< response _ 2 >y") == ["x", "y"]
    assert asked_questions("is there a circle ?") == []  # tags only: untagged text is no question here


def test_world_questioner_targets_tokenize_as_before() -> None:
    """The shared format writes one tag pair per line; the world tokenizer reads the same ids as from the
    spaced form the shipped questioner was trained on, so its training commands still reproduce it."""
    from transformers import AutoTokenizer

    from scotoma.models.builtin import builtin_path

    tokenizer = AutoTokenizer.from_pretrained(str(builtin_path("questioner")))
    spaced = "<response_1> is there a blue circle ? </response_1> <response_2> how many ? </response_2>"
    lines = format_questions(["is there a blue circle ?", "how many ?"])
    assert tokenizer(lines)["input_ids"] == tokenizer(spaced)["input_ids"]


def test_lr_schedule() -> None:
    config = WorldTrainConfig(warmup_steps=10, batch_size=10, schedule_samples=1100, min_lr_ratio=0.1)
    assert lr_factor(0, config) == pytest.approx(0.1)
    assert lr_factor(9, config) == pytest.approx(1.0)
    assert lr_factor(10, config) == pytest.approx(1.0)
    assert lr_factor(60, config) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(110, config) == pytest.approx(0.1) and lr_factor(10_000, config) == pytest.approx(0.1)


def test_accuracy_table_against_hand_counts() -> None:
    from scotoma.world_models.data import WorldExample

    scene = WorldTasks(CurriculumConfig(), seed=0).describe(0).scene
    rows = [("existence", "yes", ("existence",)), ("existence", "yes", ("existence",)),
            ("existence", "no", ("existence",)), ("counting", "3", ("counting", "existence"))]  # fmt: skip
    examples = [WorldExample(scene, "q", a, "qa", f, a, s) for f, a, s in rows]
    table = accuracy_table(examples, [True, False, True, True])
    assert table["family"]["existence"] == {"accuracy": 2 / 3, "majority": 2 / 3, "n": 3}
    assert table["family"]["counting"] == {"accuracy": 1.0, "majority": 1.0, "n": 1}
    assert table["skill"]["existence"]["accuracy"] == 3 / 4 and table["skill"]["existence"]["majority"] == 0.5
    assert table["overall"] == {"accuracy": 0.75, "majority": 0.75, "n": 4}


def test_evaluations_with_a_scripted_model() -> None:
    from scotoma.models.scripted import ScriptedModel
    from scotoma.world_models.evaluation import evaluate_answerer, evaluate_questioner, heldout_set

    tasks = WorldTasks(CurriculumConfig(), seed=5)
    examples = heldout_set(tasks, "questions", 2)
    # per prompt: one valid question (the target's first), one unparseable, one two-in-one question
    first = asked_questions(examples[0].target)[0]
    canned = f"<response_1> {first} </response_1><response_2> blue blue ? </response_2>"
    result = evaluate_questioner(ScriptedModel(canned), examples[:1])
    assert result["sampled"]["validity_rate"] == 0.5  # a scripted model samples the same text
    assert result["questions"] == 2 and result["validity_rate"] == 0.5
    assert result["reasons"] == {"valid": 1, "grammatical": 1}
    assert result["well_formed"] == (1.0 if len(asked_questions(examples[0].target)) == 2 else 0.0)

    qa = heldout_set(tasks, "qa", 2)
    oracle = evaluate_answerer(ScriptedModel([e.answer for e in qa]), tasks, 2)  # answers in request order
    assert oracle["qa"]["overall"]["accuracy"] == 1.0 and oracle["qa"]["overall"]["n"] == len(qa)
    always_yes = evaluate_answerer(ScriptedModel("yes"), tasks, 2)["qa"]["family"]["existence"]
    assert always_yes["accuracy"] == sum(e.answer == "yes" for e in qa if e.family == "existence") / 2


def test_world_evaluation_measures_nlvr1_through_bench() -> None:
    """One NLVR1 evaluation: eval-model's figure is bench's (`bench nlvr1 --permute images`)."""
    from scotoma.world.scenes.nlvr import load_nlvr1
    from scotoma.world_models.evaluation import evaluate_nlvr

    labels = [e.label for e in load_nlvr1()[:3]]
    nlvr = evaluate_nlvr("scripted:true", limit=3)
    assert nlvr["examples"] == 3
    assert nlvr["accuracy"] == nlvr["accuracy_all_orders"] == sum(labels) / 3  # "true" in every order
    assert nlvr["majority"] == max(sum(labels), 3 - sum(labels)) / 3
    assert nlvr["answer_changes_across_orders"] == 0.0
    assert nlvr["measured_by"] == "scotoma bench nlvr1 --model scripted:true --permute images --limit 3"


# -- training ---------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_short_training_changes_parameters_and_lowers_loss(tmp_path: Path, world_model) -> None:
    import torch

    from scotoma.world_models.curriculum import ExampleStream
    from scotoma.world_models.data import WorldCollator
    from scotoma.world_models.training import build_world_model, sft_loss, train_world_model

    config = _tiny_config(lr=3e-3)
    _, processor = world_model
    batch = WorldCollator(processor)(ExampleStream(WorldTasks(config.curriculum, 0), "answerer", 4, 2)(0))
    before, _ = build_world_model(0)
    with torch.no_grad():
        loss_before = sft_loss(before, batch, "sample").item()
    result = train_world_model(config, tmp_path / "run", samples=48, threads=1, log=lambda _: None)
    assert (result.steps, result.samples) == (12, 48)
    from transformers import AutoModelForImageTextToText

    after = AutoModelForImageTextToText.from_pretrained(result.model_path, use_safetensors=True)
    with torch.no_grad():
        loss_after = sft_loss(after, batch, "sample").item()
    assert loss_after < loss_before - 1.0  # from ~5.4 (uniform over 231 tokens) to well below
    changed = [not torch.equal(p, q) for p, q in zip(before.parameters(), after.parameters(), strict=True)]
    assert all(changed)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "loss"] == [2, 4, 6, 8, 10, 12]


@pytest.mark.integration
def test_resume_continues_exactly_where_it_stopped(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from scotoma.world_models.training import train_world_model

    config = _tiny_config(kind="questioner", curriculum=CurriculumConfig(questions_per_sample=(1, 2)))
    quiet = {"threads": 1, "log": lambda _: None}
    train_world_model(config, tmp_path / "whole", samples=24, **quiet)
    first = train_world_model(config, tmp_path / "split", samples=12, **quiet)
    assert first.steps == 3
    second = train_world_model(config, tmp_path / "split", samples=24, **quiet)
    assert (second.steps, second.samples) == (6, 24)
    whole = load_file(tmp_path / "whole" / "model" / "model.safetensors")
    split = load_file(tmp_path / "split" / "model" / "model.safetensors")
    assert whole.keys() == split.keys()
    assert all((whole[k] == split[k]).all() for k in whole)
    with pytest.raises(Exception, match="different config"):
        train_world_model(_tiny_config(kind="questioner", lr=5e-4), tmp_path / "split", samples=30, **quiet)


def test_text_layers_sets_the_depth_of_the_language_model() -> None:
    from scotoma.world_models.training import build_world_model

    model, _ = build_world_model(seed=0, text_layers=2)
    assert model.config.text_config.num_hidden_layers == 2 == len(model.model.text_model.layers)
    assert WorldTrainConfig().text_layers == 3  # the shipped models' depth


def test_init_from_starts_from_another_runs_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from scotoma.world_models.training import train_world_model

    quiet = {"threads": 1, "log": lambda _: None}
    config = _tiny_config(kind="questioner", curriculum=CurriculumConfig(questions_per_sample=(1, 2)))
    train_world_model(config, tmp_path / "first", samples=8, **quiet)
    later = _tiny_config(kind="questioner", seed=1, lr=5e-4, init_from=str(tmp_path / "first"))
    train_world_model(later, tmp_path / "later", samples=0, **quiet)  # no step: the weights as loaded
    first = load_file(tmp_path / "first" / "model" / "model.safetensors")
    loaded = load_file(tmp_path / "later" / "model" / "model.safetensors")
    assert all((first[k] == loaded[k]).all() for k in first)
    train_world_model(_tiny_config(kind="questioner", seed=1), tmp_path / "fresh", samples=0, **quiet)
    fresh = load_file(tmp_path / "fresh" / "model" / "model.safetensors")
    assert any((first[k] != fresh[k]).any() for k in first)  # without init_from, seed 1's own weights
    with pytest.raises(FileNotFoundError, match="holds no training checkpoint"):
        train_world_model(
            _tiny_config(kind="questioner", init_from=str(tmp_path / "nowhere")),
            tmp_path / "x",
            samples=4,
            **quiet,
        )
    assert not (tmp_path / "x").exists()  # refused before a run folder is made


def test_init_from_a_saved_model_folder_records_its_commands(tmp_path: Path, monkeypatch) -> None:
    """A shipped folder (builtin:NAME) outlives a session's run folders: training continues from it."""
    from safetensors.torch import load_file

    from scotoma.models import builtin
    from scotoma.world_models.shipping import run_commands, ship_model
    from scotoma.world_models.training import train_world_model

    quiet = {"threads": 1, "log": lambda _: None}
    config = _tiny_config(kind="questioner", curriculum=CurriculumConfig(questions_per_sample=(1, 2)))
    train_world_model(config, tmp_path / "first", samples=8, **quiet)
    shipped = tmp_path / "models" / "questioner"
    shutil.copytree(tmp_path / "first" / "model", shipped)
    (shipped / "eval.json").write_text(json.dumps({"commands": ["train first", "train first again"]}))
    monkeypatch.setattr(builtin, "builtin_models_root", lambda: tmp_path / "models")
    later = _tiny_config(kind="questioner", seed=1, init_from="builtin:questioner")
    train_world_model(later, tmp_path / "later", samples=0, **quiet)
    first = load_file(shipped / "model.safetensors")
    loaded = load_file(tmp_path / "later" / "model" / "model.safetensors")
    assert all((first[k] == loaded[k]).all() for k in first)
    (tmp_path / "later" / "commands.txt").write_text("train later\n")
    shutil.rmtree(shipped)  # shipping the new run replaces the folder it started from
    assert run_commands(tmp_path / "later") == ["train first", "train first again", "train later"]
    evaluation = {"heldout": {"validity_rate": 0.5, "questions": 10, "well_formed": 1.0, "distinct_rate": 0.9,
                              "samples_per_s": 12.0}}  # fmt: skip
    target = ship_model(tmp_path / "later", "questioner", evaluation, root=tmp_path / "new")
    readme = (target / "README.md").read_text()
    assert "train first again\ntrain later\n" in readme and "from the weights of builtin:questioner" in readme
    with pytest.raises(ValueError, match="do not fit this model"):
        wider = _tiny_config(kind="questioner", text_layers=2, init_from=str(tmp_path / "first" / "model"))
        train_world_model(wider, tmp_path / "wider", samples=0, **quiet)


def test_a_continued_runs_commands_include_those_it_started_from(tmp_path: Path) -> None:
    from scotoma.world_models.shipping import run_commands
    from scotoma.world_models.training import train_world_model

    quiet = {"threads": 1, "log": lambda _: None}
    config = _tiny_config(kind="questioner", curriculum=CurriculumConfig(questions_per_sample=(1, 2)))
    train_world_model(config, tmp_path / "first", samples=4, **quiet)
    (tmp_path / "first" / "commands.txt").write_text("train first\ntrain first again\n")
    later = _tiny_config(kind="questioner", seed=1, init_from=str(tmp_path / "first"))
    train_world_model(later, tmp_path / "second", samples=4, **quiet)
    (tmp_path / "second" / "commands.txt").write_text("train second\n")
    shutil.rmtree(tmp_path / "first")  # the commands were kept when the weights were taken
    assert run_commands(tmp_path / "second") == ["train first", "train first again", "train second"]
    assert run_commands(tmp_path / "missing") == []


@pytest.mark.integration
def test_evaluation_records_form_the_learning_curve(tmp_path: Path, monkeypatch) -> None:
    from scotoma.world_models import evaluation as world_eval
    from scotoma.world_models.training import train_world_model

    monkeypatch.setitem(world_eval.MAX_NEW_TOKENS, "questions", 12)  # a random model never stops by itself

    config = _tiny_config(kind="questioner", eval_every_samples=8, eval_questions=2)
    train_world_model(config, tmp_path / "run", samples=16, threads=1, log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    assert [(r["samples"], r["step"], r["prompts"]) for r in evals] == [(0, 0, 2), (8, 2, 2), (16, 4, 2)]
    assert all(0 <= r["validity_rate"] <= 1 and "sampled" in r for r in evals)
    assert (tmp_path / "run" / "curve.png").stat().st_size > 1000


# -- shipping and the shipped models -----------------------------------------------------------------------
def test_ship_model_writes_weights_readme_and_eval(tmp_path: Path) -> None:
    from scotoma.world_models.shipping import ship_model
    from scotoma.world_models.training import train_world_model

    run = tmp_path / "run"
    train_world_model(_tiny_config(), run, samples=4, threads=1, log=lambda _: None)
    (run / "commands.txt").write_text("scotoma world train-answerer --out run --samples 4\n")
    (run / "curve.png").write_bytes(b"a plot")
    evaluation = {"heldout": {"validity_rate": 0.5, "questions": 10, "well_formed": 1.0, "distinct_rate": 0.9,
                              "samples_per_s": 12.0}}  # fmt: skip
    target = ship_model(run, "answerer", evaluation, root=tmp_path / "models")
    assert (target / "model.safetensors").is_file() and not list(target.glob("*.bin"))
    readme = (target / "README.md").read_text()
    assert "scotoma world train-answerer --out run --samples 4" in readme
    assert "validity under the world oracle: 50.0% of 10 questions" in readme
    assert json.loads((target / "eval.json").read_text())["training"]["samples"] == 4
    assert (target / "curve.png").read_bytes() == b"a plot" and "](curve.png)" in readme
    assert "starting from the weights" not in readme  # trained from random weights
    with pytest.raises(FileNotFoundError, match="train-questioner"):
        ship_model(tmp_path / "nothing", "questioner", evaluation, root=tmp_path / "models")


@pytest.mark.parametrize("name", ["answerer", "questioner"])
def test_shipped_model_matches_its_recorded_accuracy(name: str) -> None:
    from scotoma.models.builtin import available_builtin_models, builtin_path

    if name not in available_builtin_models():
        pytest.skip(f"builtin:{name} is not trained into the package yet (scotoma world train-{name})")
    from scotoma.models import get_model
    from scotoma.world_models.evaluation import (
        evaluate_answerer,
        evaluate_questioner,
        heldout_set,
        heldout_tasks,
    )

    record = json.loads((builtin_path(name) / "eval.json").read_text())
    recorded = record["evaluation"]["test_set"]
    model = get_model(f"builtin:{name}", device="cpu", batch_size="64")
    tasks = heldout_tasks(record["spec"]["seed"])
    if name == "answerer":
        got = evaluate_answerer(model, tasks, TEST_SET[name]["per_family"])["qa"]["overall"]["accuracy"]
        assert got == pytest.approx(recorded["accuracy"], abs=0.03)
    else:
        examples = heldout_set(tasks, "questions", TEST_SET[name]["prompts"])
        got = evaluate_questioner(model, examples, sampled=False)["validity_rate"]
        assert got == pytest.approx(recorded["validity_rate"], abs=0.05)


@pytest.mark.integration
def test_cli_trains_records_the_command_and_resumes(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from scotoma.cli.world_models import register

    app, world = typer.Typer(), typer.Typer()
    app.add_typer(world, name="world")
    register(world)
    out = tmp_path / "answerer"
    args = ["world", "train-answerer", "--out", str(out), "--batch-size", "4", "--eval-every-samples", "0",
            "--focus-families", "existence, attribute", "--focus-share", "0.2"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--samples", "4"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, [*args, "--samples", "8"])
    assert second.exit_code == 0, second.output
    assert "resumed from" in second.output and "8 samples, 2 steps" in second.output
    lines = (out / "commands.txt").read_text().splitlines()
    assert lines[1].startswith(
        f"scotoma world train-answerer --out {out} --samples 8 --threads 1 --device auto --seed 0"
    )
    assert "--no-text-first --vision-head linear" in lines[1] and "--init-from" not in lines[1]
    assert "--focus-share 0.2 --focus-families existence,attribute" in lines[1]
    replayed = CliRunner().invoke(app, shlex.split(lines[1])[1:])  # the recorded line runs as it stands
    assert replayed.exit_code == 0, replayed.output
    assert "8 samples, 2 steps" in replayed.output
    refused = CliRunner().invoke(app, ["world", "train-answerer", "--out", str(out)])
    assert refused.exit_code != 0 and "--minutes and/or --samples" in refused.output
