"""The seeds' training claims, measured where truth is exact: one learned scotoma repaired several ways.

A learned target `builtin:answerer-NAME` (`scotoma.loop.scotoma_answerers`) fails most questions of its
planted region. Each arm repairs it with the same number of training rows, all drawn from the region
(the planted question's oracle answer on T(scene) differs from the one on the scene), labels from the
true scene, through the loop's TRL recipes:

- `direct`: world questions, the direct answer as target (SFT);
- `chains`: focus-centric chains (paper 001) whose composite question lies in the region, two SFT rows
  each as in the loop (`chain_rows`: the chain, and its direct form);
- `s2h_dpo_flat`: S2H preference pairs (paper 003) whose question lies in the region, a third of each
  level, rejected = the planted model's own answer (L1, L3) or S2H's exact one-image count (L2); DPO
  with the levels shuffled into one pool;
- `s2h_dpo_curriculum`: the same pairs, L1 then L2 then L3 (paper 003, Table 3, finds flat better).

An L3 pair ("Describe the image that contains a blue circle") has no world program: it lies in the
region when the scotoma changes the described image (its caption on T(scene) differs). L3's similarity
filter (the top quartile of chosen/rejected similarity dropped) is not applied: it needs the embedding
model and would change the row count between arms.

Each arm is then measured the way the learned target was: the held-out world bench (`world:n=2200`,
seed 2,000,003) split by the planted region (`region_figures`). Every arm writes `figures.json` in its
own folder and is skipped when that file exists, so a stopped run resumes at the arm it was in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scotoma.loop.data import LAYOUT, chain_rows, pair_rows, world_question_rows, write_rows
from scotoma.loop.scotoma_answerers import ScotomaTrainConfig, region_figures
from scotoma.models import Model, get_model
from scotoma.models.builtin import builtin_models_root
from scotoma.synth.records import PreferencePair
from scotoma.synth.s2h import S2HConfig, complete
from scotoma.synth.s2h_world import S2HWorld
from scotoma.synth.stages import StageTimer, SynthDrop
from scotoma.synth.world_chains import WorldChainConfig, WorldChainSynth
from scotoma.train.launch import train_from_files
from scotoma.world.programs.nodes import from_dict
from scotoma.world.sampling.questions import QuestionConfig
from scotoma.world.sampling.records import WorldSample
from scotoma.world.scenes.captions import caption_box
from scotoma.world.scenes.scene import Scene
from scotoma.world.scenes.scotomas import Scotoma, get_scotoma, in_region

ARMS = ("direct", "chains", "s2h_dpo_flat", "s2h_dpo_curriculum")
S2H_LEVELS = ("L1", "L2", "L3")
MAX_DRAWS = 100  # drawn samples per kept one before a maker gives up


@dataclass
class ClaimsConfig:
    """One comparison of training data formats on one learned scotoma."""

    rows: int = field(default=1200, metadata={"help": "Training rows of every arm, all inside the region."})
    arms: list[str] = field(
        default_factory=lambda: list(ARMS), metadata={"help": "Which arms to run: " + ", ".join(ARMS)}
    )
    sft_recipe: str = field(default="world_tiny/sft.yaml", metadata={"help": "SFT recipe (the loop's)."})
    dpo_recipe: str = field(default="world_tiny/dpo.yaml", metadata={"help": "DPO recipe (the loop's)."})
    # one pass over the rows in every arm, as the SFT recipe does: the DPO recipe's 3 epochs would show
    # the DPO arms each row three times
    dpo_overrides: list[str] = field(
        default_factory=lambda: ["num_train_epochs=1"], metadata={"help": "key=value DPO recipe overrides."}
    )
    data_seed: int = field(default=6_000_029, metadata={"help": "Seed of the training data (no bench item)."})
    batch_size: int = field(default=64, metadata={"help": "Prompts per model call (S2H's rejected)."})
    eval_items: int = field(default=2200, metadata={"help": "Held-out world bench items (the loop's)."})
    eval_seed: int = field(default=2_000_003, metadata={"help": "Seed of the held-out bench (the loop's)."})

    def __post_init__(self) -> None:
        unknown = sorted(set(self.arms) - set(ARMS))
        if unknown or not self.arms:
            raise ValueError(f"unknown arms {unknown or '(none)'}; choose from {', '.join(ARMS)}")
        if self.rows < 2 * len(S2H_LEVELS):
            raise ValueError(f"rows={self.rows}: give at least {2 * len(S2H_LEVELS)} (two per S2H level)")


def region_filter(scotoma: Scotoma) -> Callable[[WorldSample], bool]:
    """Whether a sampled world question lies in the planted region."""
    return lambda sample: in_region(scotoma, sample.program, sample.scene)


def direct_rows(scotoma: Scotoma, n: int, seed: int, folder: Path) -> list[dict[str, Any]]:
    """`n` SFT rows of world questions inside the region, the true answer as target."""
    return world_question_rows(QuestionConfig(), seed, n, folder, keep=region_filter(scotoma))


def chain_rows_in_region(scotoma: Scotoma, n: int, seed: int, folder: Path) -> list[dict[str, Any]]:
    """`n` SFT rows (n // 2 chains, two rows each) of exact focus chains whose composite question lies in
    the region."""
    synth = WorldChainSynth(WorldChainConfig(layout=LAYOUT, images_per_sample=(3, 4)), seed)
    rows: list[dict[str, Any]] = []
    for index in range(n * MAX_DRAWS):
        try:
            sample = synth.sample(index)
        except SynthDrop:
            continue
        scene = Scene.from_nlvr(sample.meta["scene"])
        if in_region(scotoma, from_dict(sample.meta["program"]), scene):
            rows += chain_rows(sample, folder)
            if len(rows) >= n:
                return rows[:n]
    raise ValueError(f"{scotoma.name}: {n * MAX_DRAWS} chains held only {len(rows)} rows in the region")


def pair_in_region(scotoma: Scotoma, pair: PreferencePair) -> bool:
    """Whether an S2H pair's question lies in the region; for L3, whether the scotoma changes the image
    it asks to describe."""
    scene = Scene.from_nlvr(pair.meta["scene"])
    if pair.level == "L3":
        target = scotoma.see(scene).boxes[pair.meta["target"] - 1]
        return caption_box(target) != pair.chosen
    return in_region(scotoma, from_dict(pair.meta["program"]), scene)


def s2h_pairs_in_region(
    scotoma: Scotoma, model: Model, n: int, seed: int, batch_size: int = 64
) -> dict[str, list[PreferencePair]]:
    """S2H pairs inside the region, a third of `n` per level (the remainder to the first levels), the
    rejected answers of L1 and L3 from `model` (the planted target).

    Raises:
        ValueError: `n * MAX_DRAWS` drafts did not fill every level (a scotoma that no question of some
            level touches).
    """
    config = S2HConfig(layout=LAYOUT)
    world = S2HWorld(config, seed, l3_model=True)
    quota = {level: n // len(S2H_LEVELS) + (i < n % len(S2H_LEVELS)) for i, level in enumerate(S2H_LEVELS)}
    pairs: dict[str, list[PreferencePair]] = {level: [] for level in S2H_LEVELS}
    timer = StageTimer()
    indices = iter(range(n * MAX_DRAWS))
    while any(len(pairs[k]) < quota[k] for k in S2H_LEVELS):
        drafts = []
        for index in indices:
            level = config.level_of(index)
            if len(pairs[level]) >= quota[level]:
                continue
            try:
                draft = world.draft(index, level)
            except SynthDrop:
                continue
            if pair_in_region(scotoma, draft.pair):
                drafts.append(draft)
                if len(drafts) == batch_size:
                    break
        if not drafts:
            have = {k: len(v) for k, v in pairs.items()}
            raise ValueError(
                f"{scotoma.name}: {n * MAX_DRAWS} S2H drafts made {have} pairs in the region, not {quota}; "
                "leave the S2H arms out for this scotoma"
            )
        for made in complete(drafts, model, config, timer, seed=seed):
            if isinstance(made, PreferencePair) and len(pairs[made.level]) < quota[made.level]:
                pairs[made.level].append(made)
    return pairs


def dpo_rows(pairs: list[PreferencePair], folder: Path) -> list[dict[str, Any]]:
    """TRL DPO rows of `pairs`, images stored under `folder` (`loop.data.pair_rows`)."""
    return [pair_rows(p, folder)[1] for p in pairs]


def planted_figures(name: str) -> dict[str, Any]:
    """The shipped learned target's eval.json: its figures ("after") and builtin:answerer's ("base") on
    the same held-out bench, split by the region."""
    path = builtin_models_root() / f"answerer-{name}" / "eval.json"
    if not path.is_file():
        raise ValueError(
            f"builtin:answerer-{name} is not shipped; make it: python -m scotoma.loop.scotoma_answerers"
        )
    return json.loads(path.read_text())


def _data(arm: str, scotoma: Scotoma, planted: str, config: ClaimsConfig, folder: Path) -> list[Path]:
    """Write the arm's training files (several for S2H: one per level, mixed by the recipe)."""
    if arm == "direct":
        return [write_rows(folder / "sft.jsonl", direct_rows(scotoma, config.rows, config.data_seed, folder))]
    if arm == "chains":
        rows = chain_rows_in_region(scotoma, config.rows, config.data_seed, folder)
        return [write_rows(folder / "sft.jsonl", rows)]
    pairs = s2h_pairs_in_region(scotoma, get_model(planted), config.rows, config.data_seed, config.batch_size)
    return [write_rows(folder / f"dpo_{level}.jsonl", dpo_rows(pairs[level], folder)) for level in S2H_LEVELS]


def run_arm(name: str, arm: str, out: Path, config: ClaimsConfig) -> dict[str, Any]:
    """Make the arm's rows, train the planted target on them and measure it; reuses a finished arm."""
    root = out / name / arm
    done = root / "figures.json"
    if done.is_file():
        return json.loads(done.read_text())
    scotoma, planted = get_scotoma(name), f"builtin:answerer-{name}"
    root.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    files = _data(arm, scotoma, planted, config, root / "data")
    data_s = time.perf_counter() - tick
    stage = "sft" if arm in ("direct", "chains") else "dpo"
    recipe = config.sft_recipe if stage == "sft" else config.dpo_recipe
    overrides = config.dpo_overrides if stage == "dpo" else []
    mixing = ["mixing=curriculum"] if arm == "s2h_dpo_curriculum" else ["mixing=flat"]
    settings = [f"model={planted}", "merge_lora=true", *mixing, *overrides]
    tick = time.perf_counter()
    result = train_from_files(stage, recipe, files, root / "train", settings, overwrite=True)
    train_s = time.perf_counter() - tick
    tick = time.perf_counter()
    bench = ScotomaTrainConfig(eval_items=config.eval_items, eval_seed=config.eval_seed)
    figures = region_figures(f"hf:{result.model_path}", scotoma, root / "eval", bench)
    eval_s = time.perf_counter() - tick
    record = {
        "scotoma": name,
        "arm": arm,
        "stage": stage,
        "rows": sum(1 for path in files for _ in path.open(encoding="utf-8")),
        "files": [path.name for path in files],
        "steps": result.steps,
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "figures": figures,
        "seconds": {"data": data_s, "train": train_s, "eval": eval_s},
        "config": asdict(config),
    }
    done.write_text(json.dumps(record, indent=1))
    return record


def run_claims(name: str, out: str | Path, config: ClaimsConfig | None = None) -> dict[str, Any]:
    """Every arm of `config` on the learned scotoma `name`, with the planted model and builtin:answerer
    as reference rows (from the shipped eval.json, the same bench)."""
    config = config or ClaimsConfig()
    shipped = planted_figures(name)
    arms = {arm: run_arm(name, arm, Path(out), config) for arm in config.arms}
    return {"scotoma": name, "answerer": shipped["base"], "planted": shipped["after"], "arms": arms}


__all__ = [
    "ARMS",
    "ClaimsConfig",
    "chain_rows_in_region",
    "direct_rows",
    "dpo_rows",
    "pair_in_region",
    "planted_figures",
    "run_arm",
    "run_claims",
    "s2h_pairs_in_region",
]
