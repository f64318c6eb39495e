"""Plain-typed entry points for the CLI: `scotoma synth visc|s2h --out DIR [--model SPEC] [--n N] ...`.

Each takes only str / int / bool / Path / list[str] arguments (what typer parses), builds the typed
config and calls `run_synth`; `summary` turns the result into lines to print.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from scotoma.overrides import override_values
from scotoma.synth.export import FORMATS, ExportConfig
from scotoma.synth.run import SynthResult, run_synth
from scotoma.synth.s2h import S2HConfig
from scotoma.synth.visc_model import ModelChainConfig
from scotoma.synth.world_chains import WorldChainConfig


def _listed(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """["a,b", "c"] or "a,b" -> ("a", "b", "c")."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(part.strip() for item in items for part in item.split(",") if part.strip())


def synth_visc(
    out: Path,
    model: str | None = None,
    n: int = 100,
    skills: Sequence[str] | str | None = None,
    images: Path | None = None,
    roles: Sequence[str] | None = None,
    seed: int = 0,
    max_chain_images: int = 4,
    layout: str = "labelled",
    instruction: bool = True,
    batch_size: int = 32,
    force: bool = False,
    engine: str | None = None,
    export_formats: Sequence[str] | str | None = None,
    absolute_paths: bool = False,
    overrides: Sequence[str] = (),
) -> SynthResult:
    """Focus-centric chains: exact from the world without --model and --images, else model-backed.

    Args:
        out: the run directory.
        model: the backend playing all four stage roles (omit for exact world chains).
        n: samples (world) or image sets (folder) to draw.
        skills: keep only world chains needing one of these skills (comma-separated or repeated).
        images: a folder of image sets for model-backed chains.
        roles: "role=SPEC" entries giving a stage its own model (extractor, connector, annotator,
            questioner); --model plays the roles not named.
        seed: seeds every draw.
        max_chain_images: most images a chain visits.
        layout: prompt layout, labelled or bare.
        instruction: append the chain instruction to each question.
        batch_size: indices per model request and per write (see `run_synth`).
        force: delete what `out` holds and start over.
        engine: where model calls run: local (default), ray or ray:OPTIONS (scotoma.engines).
        export_formats: the export formats to write (default all: trl, llamafactory, swift, easyr1).
        absolute_paths: write absolute image paths in the exports (else relative to each file).
        overrides: "key=value" for fields of the chain config, "export.key=value" for ExportConfig.
    """
    wanted = _listed(skills)
    stage_models = dict(_role(entry) for entry in _listed(roles))
    if model is None and images is None and not stage_models:
        config: WorldChainConfig | ModelChainConfig = WorldChainConfig(
            max_chain_images=max_chain_images, skills=wanted, layout=layout, instruction=instruction
        )
    else:
        if wanted:
            raise ValueError("--skills selects world chains; model-backed chains carry no skill labels")
        config = ModelChainConfig(max_chain_images=max_chain_images, layout=layout, instruction=instruction)
    config, export = _configured("visc", config, seed, export_formats, absolute_paths, overrides)
    return run_synth(
        "visc",
        config,
        out,
        model,
        n=n,
        seed=seed,
        images_dir=images,
        stage_models=stage_models or None,
        export=export,
        batch_size=batch_size,
        overwrite=force,
        engine=engine,
    )


def _configured(
    kind: str,
    config: WorldChainConfig | ModelChainConfig | S2HConfig,
    seed: int,
    export_formats: Sequence[str] | str | None,
    absolute_paths: bool,
    overrides: Sequence[str],
) -> tuple[WorldChainConfig | ModelChainConfig | S2HConfig, ExportConfig]:
    """The job's config and the export's, with "key=value" (job) and "export.key=value" overrides."""
    export_items = [item.removeprefix("export.") for item in overrides if item.startswith("export.")]
    config = dataclasses.replace(
        config, **override_values(type(config), [o for o in overrides if not o.startswith("export.")])
    )
    export = ExportConfig(
        formats=_listed(export_formats) or FORMATS,
        layout=config.layout,
        mixture=getattr(config, "mixture", "flat"),
        absolute_image_paths=absolute_paths,
        name=f"scotoma_{kind}",
        seed=seed,
    )
    return config, dataclasses.replace(export, **override_values(ExportConfig, export_items))


def _role(entry: str) -> tuple[str, str]:
    role, sep, spec = entry.partition("=")
    if not sep or not role.strip() or not spec.strip():
        raise ValueError(f"--roles takes role=SPEC entries, e.g. annotator=hf:PATH; got {entry!r}")
    return role.strip(), spec.strip()


def synth_s2h(
    out: Path,
    model: str | None = None,
    n: int = 100,
    skills: Sequence[str] | str | None = None,
    levels: Sequence[str] | str = "L1,L2,L3",
    distractors: int = 3,
    mixture: str = "flat",
    relations: Path | None = None,
    layout: str = "labelled",
    seed: int = 0,
    batch_size: int = 32,
    force: bool = False,
    engine: str | None = None,
    export_formats: Sequence[str] | str | None = None,
    absolute_paths: bool = False,
    overrides: Sequence[str] = (),
) -> SynthResult:
    """S2H preference pairs (L1 needs --model; L3's rejected captions come from it when given).

    Args:
        out: the run directory.
        model: the target whose wrong L1 answers are rejected, and L3's captioner.
        n: pairs to draw (before drops), plus one per line of --relations.
        skills: keep only pairs needing one of these skills.
        levels: levels to draw, e.g. "L2,L3".
        distractors: distractor images beside the target (paper: 3 is best).
        mixture: flat (paper: best) or curriculum.
        relations: a JSONL of relation-labelled images for L2 (scotoma.synth.s2h_relations).
        layout: prompt layout, labelled or bare.
        seed: seeds every draw.
        batch_size: pairs per model request and per write (see `run_synth`).
        force: delete what `out` holds and start over.
        engine: where model calls run: local (default), ray or ray:OPTIONS (scotoma.engines).
        export_formats: the export formats to write (default all: trl, llamafactory, swift, easyr1).
        absolute_paths: write absolute image paths in the exports (else relative to each file).
        overrides: "key=value" for fields of S2HConfig, "export.key=value" for ExportConfig.
    """
    config = S2HConfig(
        levels=_listed(levels),
        distractors=distractors,
        mixture=mixture,
        skills=_listed(skills),
        relations=None if relations is None else str(relations),
        layout=layout,
    )
    config, export = _configured("s2h", config, seed, export_formats, absolute_paths, overrides)
    return run_synth(
        "s2h",
        config,
        out,
        model,
        n=n,
        seed=seed,
        export=export,
        batch_size=batch_size,
        overwrite=force,
        engine=engine,
    )


def summary(result: SynthResult) -> list[str]:
    """Lines for the terminal: counts, drops, throughput, and where the exports are."""
    m = result.metrics
    lines = [
        f"{m['samples']} samples ({', '.join(f'{k} {v}' for k, v in m['samples_by_group'].items())}); "
        f"{m['dropped']} indices dropped; {result.n_new} new, {result.n_skipped} already there",
    ]
    for stage, stats in m["stages"].items():
        rate = f", {stats['items_per_s']}/s" if stats["items_per_s"] else ""
        lines.append(f"  {stage}: {stats['items']} items in {stats['seconds']} s{rate}")
    lines.append(
        f"exports in {result.run_dir}: " + ", ".join(f"{k} ({v})" for k, v in m["export"]["files"].items())
    )
    for name, count in (m["export"].get("left_out") or {}).items():
        lines.append(f"  left out of {name}: {count} rows whose answer no rule grader can score")
    return lines
