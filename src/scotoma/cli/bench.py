"""`scotoma bench`: run a benchmark under the MMRA protocol, and compare two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scotoma.engines.config import ENGINE_HELP


def bench(
    benchmark: Annotated[
        str,
        typer.Argument(
            help="Benchmark name or jsonl:FILE, several comma-separated (world,nlvr1); or 'list' (the "
            "benchmarks), or 'compare RUN_A RUN_B'."
        ),
    ],
    runs: Annotated[
        list[Path] | None, typer.Argument(help="With 'compare': the two run directories.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model under test, e.g. builtin:answerer or hf:PATH.")
    ] = None,
    setting: Annotated[
        list[str] | None, typer.Option(help="Input settings IQ, DQ, IDQ, QO; repeat or comma-separate.")
    ] = None,
    permute: Annotated[
        str | None, typer.Option(help="Variants: 'images', 'options' or 'images,options'.")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="The benchmark's local copy (folder or file).")] = None,
    captioner: Annotated[
        str | None,
        typer.Option(
            help="Model spec that describes images for DQ and IDQ, or 'oracle': the exact captions of "
            "world-suite and NLVR1 images."
        ),
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="Model spec that reads answers the rules leave unparsed.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Keep the first N items.")] = None,
    max_image_orders: Annotated[int, typer.Option(min=0, help="Most image orders per item (0 = all).")] = 6,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Variants per request to the model and per write to records.jsonl; an hf: model splits a "
            "request into its own batches (hf:PATH?batch_size=N, default 16).",
        ),
    ] = 64,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed for generated suites, order sampling and bootstrap.")
    ] = 0,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/bench/NAME--MODEL).")] = None,
    html: Annotated[bool, typer.Option(help="Also write results.html into the run directory.")] = True,
    n_boot: Annotated[
        int, typer.Option(min=0, help="Bootstrap replicates of the confidence intervals (0: none).")
    ] = 1000,
    force: Annotated[bool, typer.Option("--force", help="Start over in an existing run directory.")] = False,
    chain: Annotated[
        bool, typer.Option("--chain", help="Ask in focus-chain style (paper 001) and score the final answer.")
    ] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    max_new_tokens: Annotated[
        int | None, typer.Option(min=1, help="Tokens per answer [default: 32; 512 with --chain].")
    ] = None,
    temperature: Annotated[float, typer.Option(min=0, help="Sampling temperature; 0 is greedy.")] = 0.0,
    split: Annotated[
        str | None,
        typer.Option(help="The split to read where --data holds several (nlvr1: dev, test, train)."),
    ] = None,
) -> None:
    """Run a multi-image benchmark under the MMRA protocol; re-running the same command resumes.

    `scotoma bench NAME --model SPEC [--setting IQ,DQ] [--permute images,options]` runs one
    (`NAME1,NAME2` runs each, into --out/NAME when --out is given);
    `scotoma bench compare RUN_A RUN_B` compares two runs on the same items; `scotoma bench list` lists them.
    """
    if benchmark == "list":
        return _list()
    if benchmark == "compare":
        if not runs or len(runs) != 2:
            raise typer.BadParameter("compare takes two run directories: scotoma bench compare RUN_A RUN_B")
        return _compare(runs[0], runs[1], n_boot)
    if runs:
        raise typer.BadParameter(f"unexpected arguments after the benchmark name: {' '.join(map(str, runs))}")
    if model is None:
        raise typer.BadParameter(
            "give the model under test, e.g. --model builtin:answerer", param_hint="--model"
        )
    from scotoma.bench import BenchConfig, print_results, run_bench, write_html
    from scotoma.cli.summary_line import echo_summary

    names = [name.strip() for name in benchmark.split(",") if name.strip()]
    if len(names) > 1 and data is not None:
        raise typer.BadParameter("--data names one local copy; with several benchmarks write NAME:PATH each")
    if len(set(names)) < len(names):
        raise typer.BadParameter(f"a benchmark is named twice in {benchmark!r}")
    settings = ",".join(setting) if setting else "IQ"
    for name in names:
        config = BenchConfig(
            benchmark=name,
            model=model,
            settings=settings,
            permute=permute,
            max_image_orders=max_image_orders or None,
            captioner=captioner,
            judge=judge,
            data=data,
            split=split,
            limit=limit,
            chain=chain,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            batch_size=batch_size,
            n_boot=n_boot,
            engine=engine,
            overwrite=force,
        )
        result = run_bench(
            config, out / name.partition(":")[0] if out is not None and len(names) > 1 else out
        )
        print_results(result.metrics)
        if html:
            write_html(Path(result.run_dir) / "results.html", metrics=result.metrics)
        typer.echo(
            f"{result.n_variants} variants ({result.n_new} new) in {result.seconds:.1f} s -> {result.run_dir}"
        )
        echo_summary(Path(result.run_dir), Path(result.run_dir) / "results.html" if html else None)
        if result.n_errors:
            typer.echo(
                f"warning: {result.n_errors} variants failed and were not written (e.g. "
                f"{result.metrics['first_error']}); run the same command again to retry them",
                err=True,
            )


def _compare(run_a: Path, run_b: Path, n_boot: int) -> None:
    """Paired comparison of two runs on the same items: difference B - A with a clustered 95% CI."""
    from scotoma.bench import compare_runs, print_comparison

    print_comparison(compare_runs(run_a, run_b, n_boot=n_boot))


def _list() -> None:
    """List the registered benchmarks with their versions."""
    from scotoma.bench import benchmark_info, benchmark_names

    for name in benchmark_names():
        info = benchmark_info(name)
        typer.echo(f"{name:12} v{info.version}  {info.description}")
