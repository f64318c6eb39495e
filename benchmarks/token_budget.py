"""The token-budget check before training: the fast count (`token_lengths`) against the exact one.

    python benchmarks/token_budget.py              # 2,000 world SFT rows of 1-4 images, builtin:answerer
    python benchmarks/token_budget.py --n 500 --turns 8

Every training script drops the rows over its token budget before TRL sees them, which means counting
every row's tokens, image tokens included. The exact count (`token_length`) renders each row and runs the
processor on its decoded images; `token_lengths` tokenises the text and adds each image's tokens by its
size (read from the file header). Both run side by side on the same rows, in one process; the figures
are rows per second and their ratio, and the two counts must agree row for row.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from scotoma.loop.data import world_question_rows
from scotoma.models import get_model
from scotoma.train.data import load_jsonl, token_length, token_lengths
from scotoma.world.sampling.questions import QuestionConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="rows")
    parser.add_argument("--turns", type=int, default=1, help="questions per row")
    parser.add_argument("--model", default="builtin:answerer")
    args = parser.parse_args()
    processor = get_model(args.model).processor
    with tempfile.TemporaryDirectory() as folder:
        rows = world_question_rows(QuestionConfig(), 0, args.n, Path(folder), args.turns)
        path = Path(folder) / "sft.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        dataset = load_jsonl(path, "sft")
        tick = time.perf_counter()
        exact = [token_length(row, processor) for row in dataset]
        exact_s = time.perf_counter() - tick
        tick = time.perf_counter()
        fast = token_lengths(dataset, processor)
        fast_s = time.perf_counter() - tick
    assert fast == exact, "the fast count disagrees with the processor"
    print(f"{args.n} rows ({args.turns} question(s) each, {sum(exact) / len(exact):.0f} tokens on average)")
    print(f"exact (processor on decoded images): {args.n / exact_s:8.0f} rows/s")
    print(f"fast (image tokens by size):         {args.n / fast_s:8.0f} rows/s")
    print(f"speed-up: {exact_s / fast_s:.1f}x; counts agree on every row")


if __name__ == "__main__":
    main()
