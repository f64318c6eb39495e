"""Training recipes: the papers' defaults, YAML loading, key=value overrides, every shipped recipe."""

import dataclasses

import pytest

from scotoma.train.config import RECIPES, DPORecipe, GRPORecipe, SFTRecipe, TrainRecipe, load_recipe
from scotoma.train.recipe_files import recipes_root, shipped_recipes, stage_of


def test_defaults_are_the_papers():
    sft = SFTRecipe()  # VISC, paper 001 appendix B
    assert (sft.lora, sft.lora_rank, sft.learning_rate, sft.warmup_ratio) == (True, 16, 1e-5, 0.05)
    assert (sft.lr_scheduler_type, sft.num_train_epochs, sft.max_tokens) == ("cosine", 1.0, 32768)
    assert sft.per_device_train_batch_size * sft.gradient_accumulation_steps == 8
    dpo = DPORecipe()  # S2H, paper 003 section 2.3
    assert (dpo.beta, dpo.learning_rate, dpo.num_train_epochs, dpo.mixing) == (0.1, 5e-5, 3.0, "flat")
    grpo = GRPORecipe()  # paper 000 Eq. 1: per-sequence mean, group-normalised advantages
    assert (grpo.loss_type, grpo.scale_rewards, grpo.rewards) == ("grpo", "group", ["correctness"])


def test_every_field_has_a_help_string():
    for cls in RECIPES.values():
        for field in dataclasses.fields(cls):
            assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help string"


def test_yaml_then_overrides_coerce_to_field_types(tmp_path):
    path = tmp_path / "grpo_test.yaml"
    # YAML 1.1 reads 1e-4 (no dot) as a string; the recipe still gets a float
    path.write_text("model: hf:some/folder\nlearning_rate: 1e-4\nrewards: [correctness, length]\n")
    recipe = GRPORecipe.from_yaml(
        path, ["lora=false", "num_generations=4", "reward_weights=1,0.5", "lora_target_modules=q_proj,v_proj"]
    )
    assert recipe.learning_rate == 1e-4 and isinstance(recipe.learning_rate, float)
    assert recipe.rewards == ["correctness", "length"]
    assert (recipe.lora, recipe.num_generations, recipe.reward_weights) == (False, 4, [1.0, 0.5])
    assert recipe.lora_target_modules == ["q_proj", "v_proj"]
    assert recipe.with_overrides(["reward_weights=none"]).reward_weights is None
    assert recipe.to_dict()["stage"] == "grpo"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learning_rat=1e-4", "did you mean learning_rate"),
        ("lora=maybe", "lora='maybe' is not a valid bool"),
        ("num_generations=2.5", "is not a valid int"),
        ("precision=fp8", "precision='fp8' must be one of"),
        ("no_equals_sign", "is not key=value"),
    ],
)
def test_bad_overrides_say_what_is_wrong(override, message):
    with pytest.raises(ValueError, match=message):
        GRPORecipe().with_overrides([override])


def test_sft_loss_on_is_one_of_three():
    assert SFTRecipe().loss_on == "completion"
    assert SFTRecipe().with_overrides(["loss_on=assistant"]).loss_on == "assistant"
    with pytest.raises(ValueError, match="loss_on='answers' must be one of completion, assistant, all"):
        SFTRecipe(loss_on="answers")


def test_a_stage_field_is_refused_in_another_stages_recipe(tmp_path):
    path = tmp_path / "sft_x.yaml"
    path.write_text("beta: 0.1\n")  # a DPO field
    with pytest.raises(ValueError, match="SFTRecipe has no field 'beta'"):
        SFTRecipe.from_yaml(path)


def test_unknown_recipe_name_lists_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match=r"world_tiny/sft\.yaml"):
        load_recipe("sft", "nowhere/sft.yaml")


def test_shipped_recipes_cover_each_model_and_stage():
    names = {str(p.relative_to(recipes_root())) for p in shipped_recipes()}
    assert {
        "qwen2_5_vl_3b/sft_visc.yaml",
        "qwen2_5_vl_3b/dpo_s2h.yaml",
        "qwen2_5_vl_3b/grpo_s2h.yaml",
        "world_tiny/sft.yaml",
        "world_tiny/dpo.yaml",
        "world_tiny/grpo.yaml",
    } <= names


@pytest.mark.parametrize("path", shipped_recipes(), ids=lambda p: str(p.relative_to(recipes_root())))
def test_every_shipped_recipe_parses_and_starts_with_its_launch_command(path):
    stage = stage_of(path)
    name = str(path.relative_to(recipes_root()))
    recipe = load_recipe(stage, name)  # unknown fields or bad values would raise here
    assert isinstance(recipe, TrainRecipe) and recipe.stage == stage
    header = path.read_text().splitlines()[0]
    if path.stem.endswith("_probe"):  # GRPO of a questioner: `scotoma probe` loads it (issue 5)
        assert header.startswith("# scotoma probe "), header
    else:
        assert header.startswith(f"# scotoma train {stage} --recipe {name} --data "), header
    assert " --out " in header
    assert recipe.model.startswith(("hf:", "builtin:"))
