"""Learned scotoma targets: `builtin:answerer-NAME`, the world answerer taught a planted blind spot.

`builtin:answerer` is fine-tuned through the same TRL SFT path as the loop (`world_tiny/sft.yaml`: LoRA on
the language model, merged, so the result is a plain HF folder the size of the answerer) on world
questions labelled from T(scene) (`scotoma.world.scenes.scotomas.seen_answer`): inside the planted region the
label is what the scotoma sees, outside it the true answer. Half the rows are drawn from the region (it
is 7-34% of world questions), so the blind spot is learned and everything else is replayed.

The held-out measurement is the loop's world bench (`world:n=2200`, seed 2,000,003, never a training
item: the rows use `data_seed`) split by the planted region: the failure rate inside it and the accuracy
outside it, for the fine-tune and for `builtin:answerer`. The issue's bar: at least 70% failure inside,
outside within 3 points of the answerer.

    python -m scotoma.loop.scotoma_answerers yellow-unseen --out runs/scotoma_answerers
    python -m scotoma.loop.scotoma_answerers yellow-unseen --out runs/scotoma_answerers --ship

`--ship` copies the model with its README (command, figures) and eval.json into the package as
`builtin:answerer-NAME`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scotoma.bench import BenchConfig, load_benchmark, run_bench
from scotoma.bench.metrics import read_records
from scotoma.models.builtin import builtin_models_root
from scotoma.synth.export import store_image
from scotoma.synth.formats import trl_sft
from scotoma.train.launch import train_from_files
from scotoma.types import user_turn
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.scenes.scotomas import Scotoma, get_scotoma, in_region, seen_answer

LAYOUT = "bare"  # the layout the built-in models were trained on (as in the loop)
MIN_IN_REGION_FAILURE = 0.70
MAX_OUTSIDE_LOSS = 0.03


@dataclass
class ScotomaTrainConfig:
    """How one learned scotoma target is made and measured."""

    base: str = field(default="builtin:answerer", metadata={"help": "The model taught the blind spot."})
    rows: int = field(default=12000, metadata={"help": "SFT rows (one question each)."})
    region_share: float = field(default=0.5, metadata={"help": "Share of rows inside the planted region."})
    recipe: str = field(default="world_tiny/sft.yaml", metadata={"help": "The SFT recipe (the loop's)."})
    overrides: list[str] = field(default_factory=list, metadata={"help": "key=value recipe overrides."})
    data_seed: int = field(default=5_000_011, metadata={"help": "Seed of the training questions."})
    eval_items: int = field(default=2200, metadata={"help": "Held-out world bench items."})
    eval_seed: int = field(default=2_000_003, metadata={"help": "Seed of the held-out bench (the loop's)."})


def scotoma_rows(
    scotoma: Scotoma, config: ScotomaTrainConfig, folder: Path
) -> tuple[list[dict[str, Any]], int]:
    """SFT rows labelled from T(scene), `region_share` of them inside the planted region; also how many
    questions were drawn to fill the quota."""
    sampler = QuestionSampler(QuestionConfig(), seed=config.data_seed)
    inside_quota = round(config.rows * config.region_share)
    quota = {True: inside_quota, False: config.rows - inside_quota}
    rows: list[dict[str, Any]] = []
    drawn = 0
    for sample in sampler.samples(config.rows * 50):
        drawn += 1
        region = in_region(scotoma, sample.program, sample.scene)
        if quota[region] == 0:
            continue
        quota[region] -= 1
        paths = [str(store_image(image, folder).uri) for image in sample.images]
        label = seen_answer(scotoma, sample.program, sample.scene)
        rows.append(trl_sft(user_turn(sample.images, sample.question, LAYOUT), label, paths))
        if len(rows) == config.rows:
            return rows, drawn
    raise ValueError(f"{scotoma.name}: {drawn} questions did not fill {config.rows} rows; lower region_share")


def region_figures(model: str, scotoma: Scotoma, out: Path, config: ScotomaTrainConfig) -> dict[str, Any]:
    """The held-out world bench of `model` (run in `out`, resumed when there) split by the planted region
    (`region_split`)."""
    bench = load_benchmark(f"world:n={config.eval_items}", seed=config.eval_seed)
    run = run_bench(BenchConfig(bench, model, n_boot=200, seed=config.eval_seed), out)
    return region_split(run.run_dir, scotoma, config)


def region_split(run_dir: Path, scotoma: Scotoma, config: ScotomaTrainConfig) -> dict[str, Any]:
    """A finished run of the held-out world bench (`world:n=eval_items`, seed `eval_seed`; the loop's
    `bench_world` is one) split by the planted region: correct and total inside and outside it, the
    failure rate inside and the accuracy outside."""
    bench = load_benchmark(f"world:n={config.eval_items}", seed=config.eval_seed)
    region = {item.id: in_region(scotoma, item.meta["program"], item.meta["scene"]) for item in bench.items}
    counts = {True: [0, 0], False: [0, 0]}
    for record in read_records(run_dir):
        tally = counts[region[record["item_id"]]]
        tally[0] += bool(record["correct"])
        tally[1] += 1
    (c_in, n_in), (c_out, n_out) = counts[True], counts[False]
    if n_in + n_out != len(bench.items):
        raise ValueError(f"{run_dir} holds {n_in + n_out} of the bench's {len(bench.items)} items; finish it")
    return {
        "inside": [c_in, n_in],
        "outside": [c_out, n_out],
        "inside_failure": 1 - c_in / n_in if n_in else None,  # None: no item lies in the region
        "outside_accuracy": c_out / n_out if n_out else None,
    }


def train_scotoma_answerer(name: str, out: str | Path, config: ScotomaTrainConfig) -> dict[str, Any]:
    """Make, train and measure `builtin:answerer-NAME` under `out/NAME`; returns the figures."""
    scotoma = get_scotoma(name)
    root = Path(out) / name
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = root / "data"
    data.mkdir(exist_ok=True)
    rows, drawn = scotoma_rows(scotoma, config, data)
    (data / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    synth_s = time.perf_counter() - started
    tick = time.perf_counter()
    settings = [f"model={config.base}", "merge_lora=true", *config.overrides]
    result = train_from_files(
        "sft", config.recipe, [data / "sft.jsonl"], root / "train", settings, overwrite=True
    )
    train_s = time.perf_counter() - tick
    model = f"hf:{result.model_path}"
    tick = time.perf_counter()
    after = region_figures(model, scotoma, root / "eval_after", config)
    base = region_figures(config.base, scotoma, Path(out) / "eval_base", config)  # one run, resumed
    eval_s = time.perf_counter() - tick
    figures = {
        "scotoma": name,
        "kind": scotoma.kind,
        "description": scotoma.description,
        "model": str(result.model_path),
        "base": base,
        "after": after,
        "passes": {
            "inside_failure_at_least_70": after["inside_failure"] >= MIN_IN_REGION_FAILURE,
            "outside_within_3_points": base["outside_accuracy"] - after["outside_accuracy"]
            <= MAX_OUTSIDE_LOSS,
        },
        "rows": len(rows),
        "questions_drawn": drawn,
        "train_steps": result.steps,
        "seconds": {"data": synth_s, "train": train_s, "eval": eval_s},
        "config": asdict(config),
        "command": "python -m scotoma.loop.scotoma_answerers " + " ".join(sys.argv[1:]),
    }
    (root / "figures.json").write_text(json.dumps(figures, indent=1))
    return figures


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _figures_row(model: str, figures: dict[str, Any]) -> str:
    failed = figures["inside"][1] - figures["inside"][0]
    return (
        f"| {model} | {_pct(figures['inside_failure'])} ({failed}/{figures['inside'][1]}) | "
        f"{_pct(figures['outside_accuracy'])} ({figures['outside'][0]}/{figures['outside'][1]}) |"
    )


def readme(figures: dict[str, Any]) -> str:
    """The shipped model's README: how it was made and its figures inside and outside the region."""
    name, config, passes = figures["scotoma"], figures["config"], figures["passes"]
    met = {True: "met", False: "NOT met"}
    return "\n".join([
        f"# builtin:answerer-{name}", "",
        f"`builtin:answerer` taught a planted blind spot, scotoma `{name}` ({figures['kind']}: "
        f"{figures['description']}; `scotoma.world.scenes.scotomas`). Made by",
        "`scotoma.loop.scotoma_answerers`:",
        "",
        "```", figures["command"], "```", "",
        f"{figures['rows']} SFT rows ({100 * config['region_share']:.0f}% inside the planted region, labels "
        f"from T(scene)), {figures['train_steps']} steps of the loop's recipe `{config['recipe']}` (LoRA, "
        f"merged), {figures['seconds']['train'] / 60:.1f} min on CPU.", "",
        f"Held-out world bench (`world:n={config['eval_items']}`, seed {config['eval_seed']}), split by the "
        "planted region:", "",
        "| model | failure inside the region | accuracy outside |", "|---|---|---|",
        _figures_row("builtin:answerer", figures["base"]),
        _figures_row(f"builtin:answerer-{name}", figures["after"]),
        "",
        f"Bars (issue 18): failure inside >= 70%: {met[passes['inside_failure_at_least_70']]}; accuracy "
        f"outside within 3 points of builtin:answerer: {met[passes['outside_within_3_points']]}.", "",
    ])  # fmt: skip


def ship(figures: dict[str, Any]) -> Path:
    """Copy the trained model into the package as `builtin:answerer-NAME`, with its README and eval.json."""
    name = figures["scotoma"]
    target = builtin_models_root() / f"answerer-{name}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(figures["model"], target, ignore=shutil.ignore_patterns("training_args.bin", "*.md"))
    (target / "README.md").write_text(readme(figures), encoding="utf-8")
    (target / "eval.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="the scotoma (scotoma.world.scenes.scotomas.SCOTOMAS)")
    parser.add_argument("--out", default="runs/scotoma_answerers", help="where the runs go")
    parser.add_argument("--ship", action="store_true", help="copy the result into the package")
    parser.add_argument("--ship-only", action="store_true", help="ship a finished run without training")
    parser.add_argument("overrides", nargs="*", help="ScotomaTrainConfig fields as key=value")
    args = parser.parse_intermixed_args(argv)
    values: dict[str, Any] = {}
    for item in args.overrides:
        key, _, value = item.partition("=")
        if key not in ScotomaTrainConfig.__dataclass_fields__:
            parser.error(
                f"unknown setting {key!r}; one of {', '.join(ScotomaTrainConfig.__dataclass_fields__)}"
            )
        values[key] = (
            value.split(",") if key == "overrides" else type(getattr(ScotomaTrainConfig(), key))(value)
        )
    if args.ship_only:
        figures = json.loads((Path(args.out) / args.name / "figures.json").read_text())
        print(f"shipped to {ship(figures)}")
        return
    figures = train_scotoma_answerer(args.name, args.out, ScotomaTrainConfig(**values))
    for who in ("base", "after"):
        f = figures[who]
        print(f"{who}: failure inside {_pct(f['inside_failure'])} (n={f['inside'][1]}), "
              f"accuracy outside {_pct(f['outside_accuracy'])} (n={f['outside'][1]})")  # fmt: skip
    print(f"passes: {figures['passes']}; seconds: {figures['seconds']}")
    if args.ship:
        print(f"shipped to {ship(figures)}")


if __name__ == "__main__":
    main()
