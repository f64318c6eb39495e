"""The seeds' training claims, measured where truth is exact: a learned scotoma repaired four ways.

    python benchmarks/scotoma_training_claims.py                       # yellow-unseen, triangle-as-square
    python benchmarks/scotoma_training_claims.py --scotomas mirror-lr rows=800 arms=direct,chains

For every learned scotoma `builtin:answerer-NAME` and every arm (`scotoma.loop.training_claims`): the
same number of training rows, all inside the planted region, labels from the true scene, given as
direct answers (SFT), focus chains (SFT, paper 001), S2H preference pairs mixed flat (DPO, paper 003)
or as a curriculum L1 -> L2 -> L3; the planted model trained on them, then the held-out world bench
split by the region. Printed: one table per scotoma (failure inside the region, accuracy outside, with
the planted model and builtin:answerer as references, and the seconds of each arm); written:
<out>/claims.json. Finished arms are reused, so a stopped run resumes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from scotoma.loop.training_claims import ClaimsConfig, run_claims
from scotoma.train.recipe_files import override_values


def _pct(value: float) -> str:
    return f"{100 * value:5.1f}%"


def table(result: dict[str, Any]) -> str:
    """One scotoma's table as text."""
    lines = [
        f"builtin:answerer-{result['scotoma']}",
        f"{'model / arm':<22} {'rows':>5} {'steps':>5} {'fail in':>8} {'acc out':>8} "
        f"{'data s':>7} {'train s':>8} {'eval s':>7}",
    ]
    for label, figures in (("builtin:answerer", result["answerer"]), ("planted", result["planted"])):
        lines.append(
            f"{label:<22} {'':>5} {'':>5} {_pct(figures['inside_failure']):>8} "
            f"{_pct(figures['outside_accuracy']):>8}"
        )
    for arm, record in result["arms"].items():
        figures, seconds = record["figures"], record["seconds"]
        lines.append(
            f"{arm:<22} {record['rows']:>5} {record['steps']:>5} {_pct(figures['inside_failure']):>8} "
            f"{_pct(figures['outside_accuracy']):>8} {seconds['data']:>7.0f} {seconds['train']:>8.0f} "
            f"{seconds['eval']:>7.0f}"
        )
    inside, outside = result["planted"]["inside"][1], result["planted"]["outside"][1]
    lines.append(f"(held-out bench: {inside} items inside the region, {outside} outside)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scotomas", default="yellow-unseen,triangle-as-square", help="comma-separated")
    parser.add_argument("--out", default="runs/bench_scotoma_training_claims", help="where the runs go")
    parser.add_argument("overrides", nargs="*", help="ClaimsConfig fields as key=value")
    args = parser.parse_args(argv)
    config = ClaimsConfig(**override_values(ClaimsConfig, args.overrides))
    out = Path(args.out)
    results = []
    for name in args.scotomas.split(","):
        results.append(run_claims(name, out, config))
        print(table(results[-1]), flush=True)
    (out / "claims.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'claims.json'}")


if __name__ == "__main__":
    main()
