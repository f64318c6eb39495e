"""How fast the world oracle judges a question on a 3-image sample, from a program and from English.

    python benchmarks/oracle_speed.py              # 5000 random programs on NLVR1 dev scenes
    python benchmarks/oracle_speed.py --n 20000

Scenes come from `$SCOTOMA_NLVR1_DIR/dev/dev.json` (default `../shared/data/nlvr1`), three boxes each.
"From English" is measured twice: with the parse caches cleared (every text new) and warm (the same
texts again, as when a probe asks a question it asked before).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

from scotoma.world.programs import parse as parse_module
from scotoma.world.programs.language import render
from scotoma.world.programs.oracle import judge
from scotoma.world.sampling.random_programs import random_program
from scotoma.world.scenes.scene import Scene


def _times(pairs: list) -> list[float]:
    out = []
    for question, scene in pairs:
        start = time.perf_counter()
        judge(question, scene)
        out.append(time.perf_counter() - start)
    return out


def _report(label: str, times: list[float]) -> None:
    times = sorted(times)
    mean, p50, p99 = statistics.fmean(times), times[len(times) // 2], times[int(len(times) * 0.99)]
    print(f"{label:28s} mean {mean * 1e6:6.1f} us  p50 {p50 * 1e6:6.1f} us  p99 {p99 * 1e6:6.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="questions to judge")
    args = parser.parse_args()
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nlvr1"
    path = Path(os.environ.get("SCOTOMA_NLVR1_DIR", default)) / "dev" / "dev.json"
    if not path.exists():
        raise SystemExit(f"{path} not found; set SCOTOMA_NLVR1_DIR to the folder holding dev/dev.json")
    scenes = [
        Scene.from_nlvr(json.loads(line)["structured_rep"]) for line in path.read_text().splitlines() if line
    ]
    rng = random.Random(0)
    pairs = []
    for _ in range(args.n):
        scene = rng.choice(scenes)
        pairs.append((random_program(rng, len(scene.boxes), scene=scene), scene))
    texts = [(render(program, rng.randrange(6)), scene) for program, scene in pairs]
    _times(pairs[:200])  # warm up imports and caches of the program walkers
    _report("program", _times(pairs))
    parse_module._parse_text.cache_clear()
    parse_module._parse_tokens.cache_clear()
    _report("English, first time", _times(texts))
    _report("English, asked again", _times(texts))


if __name__ == "__main__":
    main()
