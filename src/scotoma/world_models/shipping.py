"""Shipping a trained world model into the package: `src/scotoma/world_models/shipped/<name>/`.

The folder gets the final weights (safetensors only, at most 25 MB), config, tokenizer and processor
files, `eval.json` (the full evaluation, plus the small fixed `test_set` evaluation that
tests/test_world_models.py re-runs) and a README.md recording the commands, seed, data size, training time
and the accuracy tables. `builtin:<name>` then resolves to it through the ordinary `hf` backend.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from scotoma.models.builtin import builtin_models_root

MAX_WEIGHTS_BYTES = 25 * 1024 * 1024
CURVE = "curve.png"
#: In a run folder: the launches that made the weights it started from (`init_from`), one per line.
INIT_COMMANDS = "init_commands.txt"
COMMANDS = "commands.txt"  # every launch of a run, appended by the CLI
#: The files a saved world model needs (others, such as a stray pytorch_model.bin, are not shipped).
SHIPPED_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "processor_config.json",
    "preprocessor_config.json",
)


def ship_model(
    run_dir: str | Path, name: str, evaluation: dict[str, Any], root: str | Path | None = None
) -> Path:
    """Copy `run_dir/model` into the package as builtin:`name` with its README and eval.json.

    Args:
        run_dir: a folder written by `train_world_model` (holds model/, spec.json, metrics.json).
        name: "answerer" or "questioner" (the builtin name).
        evaluation: the result of `world_eval` evaluations to record (see `scotoma world eval-model`).
        root: where builtin models live; default the package's `scotoma/world_models/shipped/`.

    Raises:
        FileNotFoundError: the run has no final model/ or no safetensors weights.
        ValueError: the weights exceed 25 MB.
    """
    run_dir = Path(run_dir)
    source = run_dir / "model"
    weights = source / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{weights} is missing; train with `scotoma world train-{name} --out {run_dir}` until it ends "
            "(the final model is saved when the budget is spent)"
        )
    if weights.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ValueError(
            f"{weights} is {weights.stat().st_size / 2**20:.1f} MB; shipped weights must be <= 25 MB"
        )
    target = Path(root) if root is not None else builtin_models_root()
    target = target / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for file in SHIPPED_FILES:
        if (source / file).is_file():
            shutil.copy2(source / file, target / file)
    if (run_dir / CURVE).is_file():  # the learning curve travels with the weights
        shutil.copy2(run_dir / CURVE, target / CURVE)
    spec = json.loads((run_dir / "spec.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    commands = run_commands(run_dir)
    record = {"name": name, "spec": spec, "training": metrics, "commands": commands, "evaluation": evaluation}
    (target / "eval.json").write_text(json.dumps(record, indent=1, default=str))
    (target / "README.md").write_text(model_readme(record))
    return target


def run_commands(run_dir: Path) -> list[str]:
    """Every launch that made the run's weights: those of the weights it started from (`init_from`) first."""
    return [
        line
        for name in (INIT_COMMANDS, COMMANDS)
        if (run_dir / name).is_file()
        for line in (run_dir / name).read_text().splitlines()
    ]


def source_commands(source: Path) -> list[str]:
    """The launches recorded for weights `source`: a run folder's, or a shipped model folder's eval.json."""
    record = source / "eval.json"
    if (source / COMMANDS).is_file() or not record.is_file():
        return run_commands(source)
    return list(json.loads(record.read_text()).get("commands", []))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def accuracy_rows(table: dict[str, dict[str, float]]) -> list[str]:
    """Markdown rows "| name | accuracy | majority | n |" of an accuracy table."""
    return [f"| {k} | {_pct(v['accuracy'])} | {_pct(v['majority'])} | {v['n']} |" for k, v in table.items()]


def model_readme(record: dict[str, Any]) -> str:
    """The README.md of a shipped world model, from its eval.json record."""
    spec, training, evaluation = record["spec"], record["training"], record["evaluation"]
    config = spec["config"]
    lines = [
        f"# builtin:{record['name']}",
        "",
        "A tiny Idefics3 VLM trained from random weights on the shapes world by scotoma itself "
        "(see `src/scotoma/world_models/training.py`). Load it with `get_model('builtin:"
        + record["name"]
        + "')`.",
        "",
        "## How it was trained",
        "",
        "```",
        *(record["commands"] or [f"scotoma {spec['command']} --seed {spec['seed']}"]),
        "```",
        "",
        f"- seed {spec['seed']}; {training['samples']:,} fresh samples in {training['steps']:,} steps "
        f"of batch {config['batch_size']}; {training['train_seconds'] / 3600:.2f} h of training"
        + (
            f", starting from the weights of {config['init_from']} (made by the launches before this run's)"
            if config.get("init_from")
            else ""
        ),
        f"- versions: {json.dumps(spec.get('versions', {}))}",
        f"- config: `{json.dumps(config)}`",
        "",
    ]
    final = evaluation.get("heldout", {})
    if "qa" in final:
        qa = final["qa"]
        lines += ["## Held-out world questions (greedy, direct answers)", ""]
        overall = qa["overall"]
        lines += [
            f"{overall['n']} questions; accuracy {_pct(overall['accuracy'])}%, "
            f"majority answer {_pct(overall['majority'])}%.",
            "",
        ]
        for title, key in (("family", "family"), ("skill", "skill")):
            lines += [
                f"| {title} | accuracy % | majority % | n |",
                "|---|---|---|---|",
                *accuracy_rows(qa[key]),
                "",
            ]
        if "describe_exact" in final:
            lines += [f"Descriptions exactly right: {_pct(final['describe_exact'])}%.", ""]
        if "chain" in final:
            lines += [f"Describe first, then answer: {_pct(final['chain']['overall']['accuracy'])}%.", ""]
        lines += [f"Generation: {final['answers_per_s']:.0f} answers/s (CPU, batches of 64).", ""]
    if "validity_rate" in final:
        lines += ["## Questions it writes (held-out scenes, greedy)", ""]
        lines += [
            f"- validity under the world oracle: {_pct(final['validity_rate'])}% of "
            f"{final['questions']} questions",
            f"- well-formed `<response_i>` tags: {_pct(final['well_formed'])}%; distinct: "
            f"{_pct(final['distinct_rate'])}%",
            f"- generation: {final['samples_per_s']:.1f} prompts/s",
            *(
                [
                    f"- sampled at temperature 1: validity {_pct(final['sampled']['validity_rate'])}%, "
                    f"distinct {_pct(final['sampled']['distinct_rate'])}%"
                ]
                if "sampled" in final
                else []
            ),
            "",
        ]
    nlvr = evaluation.get("nlvr")
    if nlvr:
        lines += [
            "## NLVR1 dev (true/false statements, three boxes)",
            "",
            f"{nlvr['examples']} examples: accuracy {_pct(nlvr['accuracy'])}% in the original box order, "
            f"{_pct(nlvr['accuracy_all_orders'])}% over the six orders (majority class "
            f"{_pct(nlvr['majority'])}%); the answer changes across the orders for "
            f"{_pct(nlvr['answer_changes_across_orders'])}% of examples (`{nlvr['measured_by']}`).",
            "",
        ]
    lines += ["## Learning curve", "", f"![held-out figures against samples seen]({CURVE})", ""]
    return "\n".join(lines)


__all__ = ["MAX_WEIGHTS_BYTES", "SHIPPED_FILES", "model_readme", "run_commands", "ship_model"]
