"""Shapes-world samples per second on one core: scenes generated, rendered to PNG bytes, questions answered.

    python benchmarks/world_throughput.py                 # 2000 samples of 3 images
    python benchmarks/world_throughput.py --n 5000 --images 2

First each stage alone, on the same scenes: drawing K boxes (`SceneSampler.boxes`), rendering them to
in-memory PNGs (`box_image_ref`), drawing a valid random question program and answering it with the
oracle (`random_valid_program` + `judge`), and writing its English (`render`). Then the whole sampler,
`QuestionSampler.sample` (a scene, its PNGs, a question the oracle answered, its English), balanced and
unbalanced side by side, with the accuracy of always giving each family's majority answer.

Rates are given in wall-clock time and in CPU time of this process (`time.process_time`): on a machine
shared with other jobs the CPU-time rate is the fairer single-core figure. Target (issue 3): 2,000
samples/s for generation, render and oracle.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable

from scotoma.world.programs.language import render
from scotoma.world.programs.oracle import judge
from scotoma.world.sampling.dataset import summarize
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.sampling.random_programs import random_valid_program
from scotoma.world.scenes.render import box_image_ref


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def rates(batches: list[tuple[float, float]], size: int) -> str:
    """Samples/s of the best batch and the median batch, in CPU time and wall time."""
    cpu = sorted(size / c for _, c in batches)
    wall = sorted(size / w for w, _ in batches)
    return f"{cpu[-1]:8.0f} {cpu[len(cpu) // 2]:8.0f} {wall[-1]:8.0f} {wall[len(wall) // 2]:8.0f}"


HEADER = f"{'':24s} {'CPU best':>8s} {'median':>8s} {'wall best':>8s} {'median':>8s}   (samples/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="samples per measurement")
    parser.add_argument("--batches", type=int, default=5, help="the n samples are timed in this many batches")
    parser.add_argument("--images", type=int, default=3, help="images (boxes) per sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n, k, size = args.n, args.images, args.n // args.batches
    print(
        f"{n} samples of {k} images in {args.batches} batches; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )

    rng = random.Random(args.seed)
    scenes_sampler = SceneSampler()
    samplers = {
        label: QuestionSampler(QuestionConfig(images_per_sample=k, balance=balance), seed=args.seed)
        for label, balance in (("balanced", True), ("unbalanced", False))
    }
    stages: dict[str, list[tuple[float, float]]] = {}
    drawn: dict[str, list] = {label: [] for label in samplers}
    # Batches interleave every measurement, so that a busy moment of a shared machine hits them alike.
    for b in range(args.batches):
        wall, cpu, scenes = timed(lambda: [scenes_sampler.boxes(rng, k).scene for _ in range(size)])
        stages.setdefault("scene generation", []).append((wall, cpu))
        wall, cpu, _ = timed(lambda scenes=scenes: [[box_image_ref(b) for b in s.boxes] for s in scenes])
        stages.setdefault(f"render {k} PNGs", []).append((wall, cpu))
        wall, cpu, programs = timed(lambda scenes=scenes: [random_valid_program(rng, s) for s in scenes])
        stages.setdefault("valid program (any)", []).append((wall, cpu))
        pairs = list(zip(programs, scenes, strict=True))
        wall, cpu, _ = timed(lambda pairs=pairs: [judge(p, s) for p, s in pairs])
        stages.setdefault("oracle answer", []).append((wall, cpu))
        wall, cpu, _ = timed(lambda programs=programs: [render(p, None, rng) for p in programs])
        stages.setdefault("English question", []).append((wall, cpu))
        for label, sampler in samplers.items():
            wall, cpu, batch = timed(lambda sampler=sampler, b=b: list(sampler.samples(size, start=b * size)))
            stages.setdefault(label, []).append((wall, cpu))
            drawn[label] += batch  # type: ignore[arg-type]
    print("\nstages alone, on the same scenes\n" + HEADER)
    names = [name for name in stages if name not in samplers]
    for name in names:
        print(f"{name:24s} {rates(stages[name], size)}")
    together = [
        tuple(map(sum, zip(*parts, strict=True))) for parts in zip(*(stages[n] for n in names), strict=True)
    ]
    print(f"{'all stages together':24s} {rates(together, size)}")  # type: ignore[arg-type]
    print(
        "\nQuestionSampler.sample: a scene, its PNGs, a question, its oracle answer, its English\n" + HEADER
    )
    for label in samplers:
        print(f"{label:24s} {rates(stages[label], size)}")
    results = {label: summarize(s.to_dict() for s in samples) for label, samples in drawn.items()}

    print("\nmajority answer share per family (the accuracy of always answering the prior)")
    print(f"  {'family':14s} {'n':>5s}  {'balanced':22s} {'unbalanced':22s} yes share  misses")
    balanced, unbalanced = results["balanced"], results["unbalanced"]
    for family, count in balanced["families"].items():
        b, u = balanced["majority"][family], unbalanced["majority"][family]
        yes = balanced["yes_share"].get(family)
        print(
            f"  {family:14s} {count:5d}  {b['share']:.3f} {b['answer']!r:16s} {u['share']:.3f} "
            f"{u['answer']!r:16s} {'-' if yes is None else f'{yes:.3f}':>9s}  {balanced['misses'][family]:6d}"
        )


if __name__ == "__main__":
    main()
