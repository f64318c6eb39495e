"""The local engine against the ray engine on one `bench world` run, side by side, as a ratio.

    python benchmarks/scale_out.py                    # 720 items x image orders (~2,000 variants), 2 actors
    python benchmarks/scale_out.py --items 300 --actors 4 --address auto   # on a running Ray cluster

Both sides run the same variants of the world suite (`--permute images`, setting IQ) with
builtin:answerer, greedy, each into its own run directory and its own fresh response cache, so every
answer is a model call. The local side loads the model in this process (torch uses every core); the ray
side starts a pool of `--actors` actors, each holding one replica with `--cpus-per-actor` cores (Ray sets
each actor's thread count to its cores). The local side runs twice: with torch's default intra-op threads
(one per core) and with one thread, since on a shared machine the thread count, not Ray, can decide the
ratio. Startup (loading the model, starting the actors) is timed apart from answering, and both are
reported; the ratios are of the answering rates. Then the records of the runs are compared, wall-clock
fields left out.

What limits the ratio on one machine: the actors share its cores with each other, with the driver
(which builds conversations, ships image bytes to the actors, scores and writes) and with whatever else
runs; a ratio above 1 at equal threads needs cores (or GPUs) the local engine does not already use.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from scotoma.bench import BenchConfig, run_bench
from scotoma.engines import EngineConfig, open_model
from scotoma.models import get_model


def records(run_dir: Path) -> list[dict]:
    lines = (run_dir / "records.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "latency_s"} for line in lines]


def side(name: str, open_it, root: Path, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    model = open_it()
    startup = time.perf_counter() - started
    try:
        config = BenchConfig(
            "world",
            model,
            permute="images",
            data=f"n={args.items}",
            cache=root / f"{name}.sqlite",
            batch_size=args.batch_size,
            n_boot=10,
        )
        result = run_bench(config, root / name)
    finally:
        close = getattr(model, "close", None)
        if callable(close):
            close()
    return {
        "variants": result.n_new,
        "startup_s": startup,
        "answer_s": result.seconds,
        "variants_per_s": result.n_new / result.seconds,
        "end_to_end_per_s": result.n_new / (startup + result.seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=720, help="world items (x image orders = variants)")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--cpus-per-actor", type=float, default=1.0)
    parser.add_argument(
        "--batch-size", type=int, default=64, help="variants per model call (split over actors)"
    )
    parser.add_argument("--address", default=None, help="a Ray cluster to join; default: start one here")
    args = parser.parse_args()

    import ray

    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    engine = EngineConfig(kind="ray", actors=args.actors, cpus=args.cpus_per_actor)
    print(f"cores: {os.cpu_count()}, Ray cluster: {ray.cluster_resources()}")
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures = {
            f"local, {threads} threads": side("local", lambda: get_model("builtin:answerer"), root, args)
        }
        torch.set_num_threads(1)
        figures["local, 1 thread"] = side("local1", lambda: get_model("builtin:answerer"), root, args)
        torch.set_num_threads(threads)
        figures[f"ray, {args.actors} actors"] = side(
            "ray", lambda: open_model("builtin:answerer", engine), root, args
        )
        equal = records(root / "local") == records(root / "ray") == records(root / "local1")
    for name, row in figures.items():
        print(
            f"{name:18} {row['variants']} variants: startup {row['startup_s']:.1f} s, answering "
            f"{row['answer_s']:.1f} s = {row['variants_per_s']:.1f} variants/s "
            f"({row['end_to_end_per_s']:.1f}/s with startup)"
        )
    on_ray = figures[f"ray, {args.actors} actors"]
    for name, row in list(figures.items())[:2]:
        print(
            f"ray / {name}: {on_ray['variants_per_s'] / row['variants_per_s']:.2f}x answering, "
            f"{on_ray['end_to_end_per_s'] / row['end_to_end_per_s']:.2f}x with startup"
        )
    print(f"records equal (all three runs): {equal}")


if __name__ == "__main__":
    main()
