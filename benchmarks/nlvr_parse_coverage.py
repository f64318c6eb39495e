"""How much of NLVR1's dev set the world parser reads, and how often the oracle then agrees with the label.

    python benchmarks/nlvr_parse_coverage.py              # the two figures
    python benchmarks/nlvr_parse_coverage.py --show 30    # also 30 sentences it reads, with the verdicts
    python benchmarks/nlvr_parse_coverage.py --missed 30  # and 30 it does not read

Data: `$SCOTOMA_NLVR1_DIR/dev/dev.json`, by default `../shared/data/nlvr1` next to the repository
(NLVR1, Suhr et al. 2017, CC-BY-4.0). The world language was not written to cover NLVR1; the parse-only
templates in `scotoma.world.programs.statements` read its most common phrasings. A sentence counts as read
when it parses to a Statement; agreement is measured on those whose program the oracle judges valid.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from scotoma.world.programs.nodes import Statement
from scotoma.world.programs.oracle import judge
from scotoma.world.programs.parse import ParseError, parse
from scotoma.world.scenes.scene import Scene


def nlvr_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nlvr1"
    return Path(os.environ.get("SCOTOMA_NLVR1_DIR", default))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=0, help="print this many read sentences with verdicts")
    parser.add_argument("--missed", type=int, default=0, help="print this many sentences it cannot read")
    args = parser.parse_args()
    path = nlvr_dir() / "dev" / "dev.json"
    if not path.exists():
        raise SystemExit(f"{path} not found; set SCOTOMA_NLVR1_DIR to the folder holding dev/dev.json")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    read = judged = agree = 0
    shown, missed = [], []
    for row in rows:
        try:
            program = parse(row["sentence"])
        except ParseError:
            missed.append(row["sentence"])
            continue
        if not isinstance(program, Statement):
            missed.append(row["sentence"])
            continue
        read += 1
        verdict = judge(program, Scene.from_nlvr(row["structured_rep"]))
        if verdict.valid:
            judged += 1
            agree += verdict.answer == row["label"]
        shown.append((row["sentence"], row["label"], verdict.answer or verdict.reason))
    print(f"sentences: {len(rows)}")
    print(f"read by the parser: {read} ({read / len(rows):.1%})")
    print(f"oracle answer equals the label: {agree} of {judged} judged valid ({agree / max(judged, 1):.1%})")
    for sentence, label, got in shown[: args.show]:
        print(f"  label={label:5s} oracle={got:9s} {sentence}")
    for sentence in missed[: args.missed]:
        print(f"  unread: {sentence}")


if __name__ == "__main__":
    main()
