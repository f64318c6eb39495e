"""Generated question sets on disk: a run directory of `WorldSample` records and their PNG images.

    out/
      spec.json             the command, the QuestionConfig and seed, package versions
      records.jsonl         one `WorldSample.to_dict()` per line; image uris are relative to out/
      metrics.json          counts per family, skill, structure and answer; majority share per family
      images/<sha256>.png   every distinct image once (near duplicates and repeats share a file)

Writing is resumable: samples are deterministic per index, so a re-run with the same config and seed
skips the keys already written and produces the same records it would have written the first time; a
larger `n` extends the set. `summarize` computes the metrics from records alone.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from scotoma.progress import progress_bar
from scotoma.runlog import RECORDS, RunDir
from scotoma.types import ImageRef
from scotoma.world.sampling.balance import meets
from scotoma.world.sampling.questions import QuestionSampler
from scotoma.world.sampling.records import WorldSample

IMAGES = "images"
_TRUTH = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}


def _write_png(path: Path, data: bytes) -> None:
    """Write through a temp file and a rename, so a killed run never leaves half a PNG."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_images(sample: WorldSample, out_dir: str | Path, written: set[str] | None = None) -> WorldSample:
    """Write the sample's PNGs to out_dir/images/<sha256>.png (once per hash); return the sample with
    image uris relative to out_dir.

    Args:
        sample: a sample whose images hold their bytes in memory.
        out_dir: the dataset folder.
        written: hashes known to be on disk already (updated), to skip a stat per image.
    """
    folder = Path(out_dir) / IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    written = set() if written is None else written
    refs = []
    for image in sample.images:
        name = f"{image.sha256}.png"
        if image.sha256 not in written:
            if not (folder / name).exists():
                _write_png(folder / name, image.read_bytes())
            written.add(image.sha256)
        refs.append(ImageRef(image.sha256, f"{IMAGES}/{name}", image.width, image.height))
    return sample.with_images(tuple(refs))


def write_samples(
    sampler: QuestionSampler,
    n: int,
    out_dir: str | Path,
    command: str = "world generate",
    config: Any = None,
    overwrite: bool = False,
    start: int = 0,
    batch_size: int = 64,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate samples start .. start + n - 1 into a run directory and return its metrics.

    Args:
        sampler: the question sampler (its seed is the run's seed).
        n: how many samples the directory should hold from `start` on.
        out_dir: the run directory; created if missing, resumed if it holds the same request.
        command: what is run, stored in spec.json and compared on resume.
        config: the settings stored in spec.json and compared on resume; default the sampler's config.
            Leave `n` out of it, so that a larger n extends a finished run.
        overwrite: delete the records and metrics already in out_dir and start over.
        start: the first sample index.
        batch_size: records written (and fsynced) together.
        workers: processes drawing samples; samples depend only on their index, so the records are
            the same for any number of workers (this process writes them, in index order).

    Raises:
        RunDirError: out_dir holds a run of another command, config or seed (use overwrite).
    """
    config = sampler.config if config is None else config
    written: set[str] = set()
    with RunDir.open(out_dir, command, config, sampler.seed, overwrite=overwrite) as run:
        todo = [i for i in range(start, start + n) if sampler.key(i) not in run.done]
        with progress_bar("world generate", total=n) as bar:
            bar.advance(n - len(todo))
            batch: list[dict[str, Any]] = []
            for sample in _draw_all(sampler, todo, workers, batch_size):
                batch.append(save_images(sample, run.path, written).to_dict())
                if len(batch) >= batch_size:
                    run.append(batch)
                    bar.advance(len(batch))
                    batch = []
            run.append(batch)
            bar.advance(len(batch))
        metrics = summarize(run.records())
        run.write_metrics(metrics)
    return metrics


def _draw_all(
    sampler: QuestionSampler, indices: list[int], workers: int, chunk: int
) -> Iterator[WorldSample]:
    """The samples at `indices`, in order, drawn here or by a pool of `workers` processes."""
    if workers <= 1 or len(indices) < 2 * chunk:
        yield from map(sampler.sample, indices)
        return
    with multiprocessing.get_context().Pool(workers, _start_worker, (sampler.config, sampler.seed)) as pool:
        yield from pool.imap(_worker_sample, indices, chunksize=max(1, chunk // 4))


_worker_sampler: QuestionSampler | None = None  # one per worker process, built by _start_worker


def _start_worker(config: Any, seed: int) -> None:
    global _worker_sampler
    _worker_sampler = QuestionSampler(config, seed)


def _worker_sample(index: int) -> WorldSample:
    return _worker_sampler.sample(index)  # type: ignore[union-attr]


def read_samples(out_dir: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a dataset folder, in order (dicts; see `WorldSample.from_dict`).

    Raises:
        FileNotFoundError: out_dir holds no records.jsonl.
    """
    path = Path(out_dir) / RECORDS
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; write samples first: scotoma world generate --out {out_dir}"
        )
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_sample(out_dir: str | Path, which: str | int | None = None) -> WorldSample:
    """One sample of a dataset folder: by key ("0-17"), by index (17 or "17"), or the first one.

    Raises:
        KeyError: no record has that key or index.
    """
    for record in read_samples(out_dir):
        if which is None or record["key"] == str(which) or str(record.get("index")) == str(which):
            return WorldSample.from_dict(record, root=out_dir)
    raise KeyError(f"no sample with key or index {which!r} in {out_dir}; keys look like '<seed>-<index>'")


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts and balance of a set of sample records.

    Returns:
        n; counts per family, skill, structure and images per sample; the answers per family; per
        family the majority answer and its share (the accuracy of always answering the prior), the
        share of yes (or true) among yes/no answers, and the balancing misses (answer != target).
    """
    n = 0
    families, skills, structures, sizes = Counter(), Counter(), Counter(), Counter()
    answers: dict[str, Counter] = defaultdict(Counter)
    misses: Counter = Counter()
    for record in records:
        n += 1
        family = record["family"]
        families[family] += 1
        skills.update(record["skills"])
        structures[record["structure"]] += 1
        sizes[str(len(record["images"]))] += 1
        answers[family][record["answer"]] += 1
        target = record.get("target")
        if target is not None and not meets(record["answer"], target):
            misses[family] += 1
    majority, yes_share = {}, {}
    for family, counts in answers.items():
        answer, count = counts.most_common(1)[0]
        majority[family] = {"answer": answer, "share": count / families[family]}
        truth: Counter = Counter()
        for a, c in counts.items():
            if a in _TRUTH:
                truth[_TRUTH[a]] += c
        if truth:
            yes_share[family] = truth["yes"] / (truth["yes"] + truth["no"])
    return {
        "n": n,
        "families": dict(sorted(families.items())),
        "skills": dict(sorted(skills.items())),
        "structures": dict(sorted(structures.items())),
        "images_per_sample": dict(sorted(sizes.items())),
        "answers": {f: dict(c.most_common()) for f, c in sorted(answers.items())},
        "majority": dict(sorted(majority.items())),
        "yes_share": dict(sorted(yes_share.items())),
        "misses": {f: misses[f] for f in sorted(families)},
    }
