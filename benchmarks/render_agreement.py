"""How exactly scotoma's renderer reproduces NLVR1's images, and how fast the world makes samples.

    python benchmarks/render_agreement.py                 # pixel agreement over every dev example
    python benchmarks/render_agreement.py --permutations  # also: which box order each shipped k shows
    python benchmarks/render_agreement.py --throughput 5  # also: 3-box samples/s (generate + PNG), one core

Agreement of an example: the share of the 400x100 strip's pixels whose RGB values are identical between
the shipped `dev-<identifier>-0.png` and `render_strip(Scene.from_nlvr(structured_rep))`. The data is
found as `scotoma.world.scenes.nlvr.find_root` does (--root, else $SCOTOMA_NLVR1_DIR, else
../shared/data/nlvr1).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

import numpy as np

from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.specs import SceneConfig
from scotoma.world.scenes.nlvr import (
    PERMUTATIONS,
    NLVRExample,
    load_nlvr1,
    match_permutation,
    pixel_agreement,
)
from scotoma.world.scenes.render import box_image_ref, render_strip_array


def strip_agreement(example: NLVRExample) -> float:
    return pixel_agreement(example.strip_array(0), render_strip_array(example.scene))


def report_agreement(examples: list[NLVRExample]) -> None:
    scores = sorted((strip_agreement(e), e.identifier) for e in examples)
    values = np.array([s for s, _ in scores])
    print(f"examples: {len(values)}")
    print(
        f"pixel agreement: mean {values.mean():.6f}  min {values.min():.6f}  exact {np.mean(values == 1):.3f}"
    )
    worst = ", ".join(f"{ident} {score:.5f} ({round((1 - score) * 40000)} px)" for score, ident in scores[:5])
    print(f"worst: {worst}")


def report_permutations(examples: list[NLVRExample]) -> None:
    found: dict[int, Counter] = {k: Counter() for k in range(len(PERMUTATIONS))}
    for example in examples:
        for k in found:
            found[k][match_permutation(example.box_arrays(k), example.scene)] += 1
    for k, counts in found.items():
        ties = counts.pop(None, 0)
        agree = counts.get(PERMUTATIONS[k], 0)
        others = sum(counts.values()) - agree
        print(
            f"k={k}: order {PERMUTATIONS[k]} fits {agree}, another order {others}, ties (equal boxes) {ties}"
        )


def report_throughput(seconds: float) -> None:
    sampler, rng = SceneSampler(SceneConfig(tower_prob=0.25)), random.Random(0)
    for structure in ("boxes", "sequence", "near_duplicates", "shared"):
        draw = getattr(sampler, structure)
        start, count = time.process_time(), 0
        while time.process_time() - start < seconds:
            sample = draw(rng, 3)
            [box_image_ref(box) for box in sample.scene.boxes]
            count += 1
        rate = count / (time.process_time() - start)
        print(
            f"throughput {structure}: {rate:.0f} 3-box samples/s (generate + render + PNG + hash, CPU time)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", default=None, help="NLVR1 folder holding dev/dev.json")
    parser.add_argument("--permutations", action="store_true", help="check the box order of k = 0..5")
    parser.add_argument("--throughput", type=float, default=0.0, help="seconds per structure to time")
    args = parser.parse_args()
    examples = load_nlvr1(args.root)
    report_agreement(examples)
    if args.permutations:
        report_permutations(examples)
    if args.throughput:
        report_throughput(args.throughput)


if __name__ == "__main__":
    main()
