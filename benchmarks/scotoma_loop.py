"""The closed loop verified where truth is exact: `scotoma loop` on a learned scotoma target, no hint.

    python benchmarks/scotoma_loop.py yellow-unseen                    # one learned target
    python benchmarks/scotoma_loop.py yellow-unseen count-cap-3 targeted_questions=4000   # LoopConfig fields

For each NAME: `run_loop` on `builtin:answerer-NAME` with `choose=slices` (the probe's top failure slices
pick the targets; nothing names the scotoma), then the held-out world bench split by the planted region
(`scotoma.loop.scotoma_answerers.region_split`) for the planted model and the fixed one (the loop's own
benches before and after) and `builtin:answerer` (one run, shared by every NAME). The issue's checks,
each PASS or FAIL:

- the loop's targets include a predicate that defines the planted region (`Scotoma.defining`);
- the failure rate inside the region falls by at least two thirds of the gap between the planted model
  and `builtin:answerer`;
- no family loses more than 2 points and NLVR1 dev moves by at most 1 point (the loop's own verdicts);
- the loop took at most 30 minutes.

Results go to <out>/NAME/scotoma_loop.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from scotoma.loop import LoopConfig, run_loop
from scotoma.loop.run import nlvr_details
from scotoma.loop.scotoma_answerers import ScotomaTrainConfig, region_figures, region_split
from scotoma.world.scenes.scotomas import get_scotoma

GAP_SHARE = 2 / 3
MAX_MINUTES = 30


def nlvr_check(nlvr: dict) -> str:
    """The NLVR1 check's text: the move, then its paired interval, the share of statements called true
    (what moves a near-chance model's accuracy most) and balanced accuracy, which that share alone does
    not move (`scotoma.loop.run.nlvr_details`)."""
    move = 100 * (nlvr["after"] - nlvr["before"])
    return f"NLVR1 dev moves {move:+.1f} points{nlvr_details(nlvr)}, within 1 point"


def verify(name: str, out: Path, overrides: list[str]) -> dict:
    scotoma = get_scotoma(name)
    planted = f"builtin:answerer-{name}"
    config = LoopConfig(answerer=planted, choose="slices").with_overrides(overrides)
    started = time.perf_counter()
    result = run_loop(config, out / "loop")
    minutes = (time.perf_counter() - started) / 60
    eval_config = ScotomaTrainConfig(eval_items=config.eval_items, eval_seed=config.eval_seed)
    figures = {
        "planted": region_split(out / "loop" / "before" / "bench_world", scotoma, eval_config),
        "fixed": region_split(out / "loop" / "after" / "bench_world", scotoma, eval_config),
        # the same bench of the same model for every NAME: run once beside them, split anew
        "answerer": region_figures("builtin:answerer", scotoma, out.parent / "region_answerer", eval_config),
    }
    gap = figures["planted"]["inside_failure"] - figures["answerer"]["inside_failure"]
    fall = figures["planted"]["inside_failure"] - figures["fixed"]["inside_failure"]
    verdicts = result.metrics["verdicts"]
    checks = {
        f"targets {result.targets} include a defining predicate of {name}": bool(
            set(result.targets) & {*scotoma.defining, *(p.removeprefix("skill:") for p in scotoma.defining)}
        ),
        f"in-region failure falls {100 * fall:.1f} points >= 2/3 of the gap {100 * gap:.1f}": fall
        >= GAP_SHARE * gap,
        "no family loses more than 2 points": verdicts["no_other_family_loses_2_points"],
        nlvr_check(result.metrics["nlvr1"]): abs(
            result.metrics["nlvr1"]["after"] - result.metrics["nlvr1"]["before"]
        )
        <= 0.01 + 1e-9,
        f"loop took {minutes:.1f} min <= {MAX_MINUTES}": minutes <= MAX_MINUTES,
    }
    report = {"scotoma": name, "targets": result.targets, "figures": figures, "minutes": minutes,
              "loop_metrics": result.metrics, "checks": checks}  # fmt: skip
    (out / "scotoma_loop.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\n{name}: targets {result.targets}; {minutes:.1f} min")
    for model, f in figures.items():
        print(f"  {model:9} failure inside {100 * f['inside_failure']:.1f}% (n={f['inside'][1]}), "
              f"accuracy outside {100 * f['outside_accuracy']:.1f}% (n={f['outside'][1]})")  # fmt: skip
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="+", help="scotoma names, then any LoopConfig field as key=value")
    parser.add_argument("--out", default="runs/bench_scotoma_loop", help="where the loop runs go")
    args = parser.parse_args()
    names = [n for n in args.names if "=" not in n]
    overrides = [n for n in args.names if "=" in n]
    for name in names:
        verify(name, Path(args.out) / name, overrides)


if __name__ == "__main__":
    main()
