"""Paper 000 in the shapes world: the default probe on 1 and 3 seeds, the reward ablations, GRPO timing.

    python benchmarks/probe_world.py                      # builtin questioner vs builtin answerer, oracle
    python benchmarks/probe_world.py --seeds 0            # one seed
    python benchmarks/probe_world.py --stand-in           # before the built-in models ship (see below)
    python benchmarks/probe_world.py --no-ablations k=4   # any ProbeConfig field as key=value

For each seed: `run_probe` with methods rl and zero_shot (world seed = seed). Printed: the metric table of
seed 0 and the mean (and spread) over the seeds; the ablation table of Table 4 on seed 0 (full reward;
no lexical term; no semantic and no lexical term; no penalty); the time of one GRPO step and the share
spent in the reward. Then the claims of issue 5, each PASS or FAIL:

- the RL questioner's FDR is at least 1.3x the zero-shot questioner's (paper: 47.58% vs 32.20%),
- at a validity rate within 5 points of it,
- with lexical diversity at least the zero-shot's,
- and without the lexical term LD drops while FDR rises (the paper's reward hacking, Table 4 row 3),
- the reward takes under 15% of a GRPO step.

`--stand-in` replaces the built-in models, for use before they are trained: a tiny Idefics3 questioner
fine-tuned here for a minute or two on world questions in the <response_i> format (it knows the world's
language but nothing of the target), and an exact target with a planted blind spot, `scotoma:NAME`
(`--scotoma`, default count-cap-3: at most three objects of each box seen; see scotoma.world.scenes.scotomas).
The numbers then say whether RL finds that blind spot, not how a trained VLM behaves (benchmarks/
scotoma_recall.py scores the finding against the planted region). Results go to <out>/benchmark.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

from scotoma.models import get_model
from scotoma.probe import ProbeConfig, run_probe
from scotoma.probe.config import parse_overrides

ABLATIONS = {  # Table 4: name -> reward switches
    "full": {},
    "no lexical": {"lexical": False},
    "no semantic, no lexical": {"semantic": False, "lexical": False},
    "no penalty": {"penalty": False},
}
COLUMNS = ("qvr", "fdr", "semantic_diversity", "lexical_diversity", "number_of_skills")


def stand_in_questioner(out: Path, rows: int = 3000) -> str:
    """A tiny Idefics3 fine-tuned on world questions in the questioner's format; returns its spec."""
    from scotoma.models.tiny import build_tiny_vlm, save_tiny_vlm
    from scotoma.probe.baselines import world_question_corpus
    from scotoma.probe.prompts import PromptSet
    from scotoma.probe.training import sft_rows
    from scotoma.train import SFTRecipe, to_dataset, train_sft
    from scotoma.world_models.data import RESPONSE_TAGS
    from scotoma.world_models.training import world_vocabulary_words

    model_dir = out / "sft" / "model"
    if (model_dir / "config.json").is_file():
        return f"hf:{model_dir}"
    sizes = {"text_hidden_size": 128, "text_intermediate_size": 256, "text_layers": 2, "text_heads": 4}
    # the built-in models' vocabulary and <response_i> tags (ordinary tokens), at a smaller size
    model, processor = build_tiny_vlm("idefics3", world_vocabulary_words(), lowercase=True, **sizes)
    processor.tokenizer.add_tokens(list(RESPONSE_TAGS))
    model.resize_token_embeddings(len(processor.tokenizer), mean_resizing=False)
    base = save_tiny_vlm(model, processor, out / "base")
    prompts = PromptSet.resolve("builtin:questioner", "builtin:answerer")
    data = to_dataset(sft_rows(world_question_corpus(rows, 2, seed=7), prompts, 2), "sft")
    recipe = SFTRecipe(
        model=f"hf:{base}", lora=False, learning_rate=2e-3, num_train_epochs=2, warmup_ratio=0.02,
        per_device_train_batch_size=32, max_tokens=1024, device="cpu",
    )  # fmt: skip
    started = time.perf_counter()
    result = train_sft(recipe, data, out / "sft", overwrite=True)
    print(f"stand-in questioner: {result.steps} SFT steps in {time.perf_counter() - started:.0f} s")
    return f"hf:{result.model_path}"


def run(config: ProbeConfig, out: Path, models: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    result = run_probe(config, out, models=models, quiet=True)
    print(f"  {out.name}: {time.perf_counter() - started:.0f} s")
    return result.metrics


def fmt(value: float | None, key: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}" if key in ("qvr", "fdr") else f"{value:.2f}"


def table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}\n{'':28}" + "".join(f"{c:>20}" for c in COLUMNS))
    for name, values in rows.items():
        print(f"{name:28}" + "".join(f"{fmt(values.get(c), c):>20}" for c in COLUMNS))


def mean_over(seeds: list[dict[str, Any]], method: str) -> dict[str, str | float]:
    out: dict[str, Any] = {}
    for column in COLUMNS:
        values = [s["methods"][method][column] for s in seeds if not math.isnan(s["methods"][method][column])]
        out[column] = statistics.mean(values) if values else math.nan
    return out


def claims(seeds: list[dict[str, Any]], ablations: dict[str, dict[str, Any]]) -> list[tuple[str, bool]]:
    rl, zero = mean_over(seeds, "rl"), mean_over(seeds, "zero_shot")
    checks = [
        (f"FDR rl / zero_shot = {rl['fdr'] / max(zero['fdr'], 1e-9):.2f} >= 1.3",
         rl["fdr"] >= 1.3 * zero["fdr"]),
        (f"|QVR rl - zero_shot| = {100 * abs(rl['qvr'] - zero['qvr']):.1f} <= 5 points",
         abs(rl["qvr"] - zero["qvr"]) <= 0.05),
        (f"LD rl {rl['lexical_diversity']:.2f} >= zero_shot {zero['lexical_diversity']:.2f}",
         rl["lexical_diversity"] >= zero["lexical_diversity"]),
    ]  # fmt: skip
    if ablations:
        full, no_lex = ablations["full"], ablations["no lexical"]
        checks.append(
            (
                f"no lexical: LD {no_lex['lexical_diversity']:.2f} < {full['lexical_diversity']:.2f} and FDR "
                f"{100 * no_lex['fdr']:.1f} > {100 * full['fdr']:.1f}",
                no_lex["lexical_diversity"] < full["lexical_diversity"] and no_lex["fdr"] > full["fdr"],
            )
        )
    share = [s["info"]["rl"]["training"].get("reward_share") for s in seeds]
    share = [x for x in share if x is not None]
    if share:
        checks.append(
            (f"reward share of a GRPO step {100 * statistics.mean(share):.1f}% < 15%", max(share) < 0.15)
        )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--out", default="runs/bench_probe_world", help="where the run directories go")
    parser.add_argument("--no-ablations", action="store_true", help="skip the Table 4 ablations")
    parser.add_argument("--stand-in", action="store_true", help="stand-in questioner and target (see above)")
    parser.add_argument("--scotoma", default="count-cap-3", help="the stand-in target's planted scotoma")
    parser.add_argument("overrides", nargs="*", help="ProbeConfig fields as key=value")
    args = parser.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    base = ProbeConfig(methods=["rl", "zero_shot"], **parse_overrides(args.overrides))
    models: dict[str, Any] = {}
    if args.stand_in:
        spec = stand_in_questioner(out / "stand_in_questioner")
        target = f"scotoma:{args.scotoma}"
        models = {target: get_model(target)}
        base = ProbeConfig(
            **{**base.to_dict(), "questioner": spec, "answerer": target,
               "questioner_prompt": "questioner_world_v1", "answerer_prompt": "answerer_world_v1",
               "image_label": ""}
        )  # fmt: skip
    results = []
    for seed in seeds:
        config = ProbeConfig(**{**base.to_dict(), "seed": seed, "world_seed": seed})
        results.append(run(config, out / f"seed{seed}", models))
    first = results[0]
    table(f"seed {seeds[0]}", {m: first["methods"][m] for m in ("rl", "zero_shot")})
    if len(seeds) > 1:
        table(f"mean over seeds {seeds}", {m: mean_over(results, m) for m in ("rl", "zero_shot")})
    ablations: dict[str, dict[str, Any]] = {}
    if not args.no_ablations:
        ablations["full"] = first["methods"]["rl"]
        for name, switches in list(ABLATIONS.items())[1:]:
            settings = {**base.to_dict(), "seed": seeds[0], "world_seed": seeds[0], "methods": ["rl"]}
            config = ProbeConfig(**{**settings, **switches})
            ablations[name] = run(
                config, out / f"ablation-{name.replace(', ', '-').replace(' ', '_')}", models
            )["methods"]["rl"]
        table(f"Table 4 ablations (seed {seeds[0]})", ablations)
    training = first["info"]["rl"]["training"]
    print(
        f"\nGRPO step: {training['mean_step_time_s']:.2f} s mean over {training['steps']} steps; reward "
        f"{training.get('reward_seconds_per_step') or math.nan:.3f} s per step "
        f"({100 * (training.get('reward_share') or math.nan):.1f}%)"
    )
    print("\nclaims (mean over seeds):")
    checked = claims(results, ablations)
    for text, ok in checked:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    report = {"seeds": seeds, "results": results, "ablations": ablations, "claims": checked}
    (out / "benchmark.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
