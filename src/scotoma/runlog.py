"""Run directories: one per command, self-describing, append-only, resumable.

A run directory holds

- `spec.json`: what was asked (command, config, seed), package versions and the git commit;
- `records.jsonl`: one JSON record per line, each with a unique string "key"; written a batch at a time,
  flushed and fsynced, so a run killed with SIGKILL loses at most the batch in flight;
- `metrics.json`: summary numbers, replaced atomically (temp file + `os.replace`).

Opening the same directory again with the same command, config and seed resumes: `run.done` holds the
keys already written and `pending` skips them. Jobs that turn items into records a batch at a time (bench,
synth, probe) do it through `run.todo(items, key).work(...)`: skip what is written, batch the rest, append
each batch's records, count the items whose work failed (not written, so a re-run retries them), and show
progress. Reports read these files and nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Generic, TypeVar

from scotoma.credentials import HOW, find_credential
from scotoma.errors import ScotomaError
from scotoma.progress import progress_bar

try:  # POSIX only; elsewhere a run directory is simply not guarded against a second writer
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SPEC, RECORDS, METRICS, LOCK = "spec.json", "records.jsonl", "metrics.json", ".lock"
# Read through importlib.metadata so that writing a spec never imports torch (seconds per process).
VERSIONED_PACKAGES = (
    "scotoma",
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "vllm",
    "ray",
    "deepspeed",
    "pillow",
    "numpy",
)

T = TypeVar("T")


class RunDirError(ScotomaError, RuntimeError):
    """A run directory that cannot be opened or written as asked; the message says what to do."""


def to_jsonable(obj: Any) -> Any:
    """`json.dumps` default: dataclasses via their `to_dict` (or `asdict`), paths, sets, enums, numpy."""
    to_dict = getattr(type(obj), "to_dict", None)
    if callable(to_dict):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=repr)
    if isinstance(obj, enum.Enum):
        return obj.value
    if type(obj).__module__ == "numpy":  # numpy scalars and arrays, without importing numpy
        return obj.tolist()
    raise TypeError(
        f"cannot write {type(obj).__name__} to a run log; give it a to_dict() or convert it first"
    )


def dumps(obj: Any, **kwargs: Any) -> str:
    """JSON text with `to_jsonable` for anything json does not know."""
    return json.dumps(obj, default=to_jsonable, ensure_ascii=False, **kwargs)


def package_versions() -> dict[str, str]:
    """Python and the installed versions of the packages that decide results; absent ones are left out."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def git_commit(where: str | Path = ".") -> dict[str, Any] | None:
    """The commit checked out at `where` and whether the tree has changes; None outside a git repo."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=where, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):  # no git binary, not a repo, no commit yet, too slow
        return None
    return {"commit": commit, "dirty": dirty}


def _fsync_dir(path: Path) -> None:
    """Make a rename inside `path` survive a crash (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside `path`, fsync it, then `os.replace`: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps(data, indent=2, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _repair_records(path: Path) -> list[str]:
    """Read the keys in records.jsonl, cutting off a torn last line left by a killed writer.

    Every complete record ends in a newline, so only the text after the last newline can be torn. It is
    kept if it parses (the kill came just before the newline) and cut off otherwise; a bad line anywhere
    else is not a torn write and raises.
    """
    data = path.read_bytes()
    *complete, tail = data.split(b"\n")
    keys: list[str] = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            keys.append(_key_of(json.loads(line)))
        except (ValueError, TypeError):
            raise RunDirError(
                f"{path} line {number} is not a JSON record with a string 'key', and it is not a torn last "
                "line from a killed run; fix or delete that line, or start a new run directory"
            ) from None
    if tail.strip():
        with open(path, "r+b") as f:
            try:
                keys.append(_key_of(json.loads(tail)))
                f.seek(0, os.SEEK_END)
                f.write(b"\n")  # the record is whole; the kill came just before its newline
            except (ValueError, TypeError):
                f.truncate(len(data) - len(tail))  # the batch in flight when the writer died
            f.flush()
            os.fsync(f.fileno())
    if len(set(keys)) != len(keys):
        raise RunDirError(
            f"{path} holds the same key twice; it was not written by RunDir, so start a new run"
        )
    return keys


def _key_of(record: Any) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("key"), str):
        raise TypeError("not a record")
    return record["key"]


class RunDir:
    """One run directory; create or resume it with `RunDir.open`."""

    def __init__(
        self,
        path: Path,
        spec: dict[str, Any],
        keys: list[str],
        lock_file: Any,
        made: tuple[bool, bool] = (False, False),
    ) -> None:
        self.path = path
        self.spec = spec
        self._done = set(keys)
        self._lock_file = lock_file  # kept open: the lock lives as long as this object or `close()`
        self._made_dir, self._made_spec = made  # what this open created, so a failed start can take it back

    @classmethod
    def open(
        cls,
        path: str | Path,
        command: str,
        config: dict[str, Any],
        seed: int,
        overwrite: bool = False,
        own_files: Collection[str] = (),
    ) -> RunDir:
        """Create a run directory, or resume the one at `path` if it was started by the same request.

        Args:
            path: the directory; created with its parents if missing.
            command: what is run, e.g. "bench mmra" or the CLI line.
            config: the settings of the run (dataclasses and paths are converted to JSON).
            seed: the run's random seed.
            overwrite: start over, deleting the records and metrics already in `path`.
            own_files: names the caller wrote into `path` itself before opening (e.g. a command log);
                any other file in a folder without spec.json makes it someone else's folder.

        Raises:
            RunDirError: `path` is a file, or a non-empty folder that is not a run directory (whatever
                `overwrite` says: scotoma removes only files it wrote); `path` holds a run of a different
                command, config or seed (and overwrite is False), another process is writing it, or
                records.jsonl is corrupt beyond a torn last line.
        """
        path = Path(path)
        credential = find_credential(dumps({"command": command, "config": config}))
        if credential is not None:  # checked before the folder is made: a secret is never written
            raise RunDirError(f"the run's settings hold a secret ({credential}); {HOW}")
        cls.check_path(path, own_files)
        made_dir = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        lock_file = cls._lock(path)
        # Round-trip through JSON so that tuples, dataclasses and paths compare the way they are stored.
        asked = json.loads(dumps({"command": command, "config": config, "seed": seed}))
        spec_path = path / SPEC
        made_spec = False
        if spec_path.exists() and not overwrite:
            spec = json.loads(spec_path.read_text(encoding="utf-8"))
            stored = {k: spec.get(k) for k in asked}
            if stored != asked:
                differ = ", ".join(k for k in asked if stored[k] != asked[k])
                lock_file.close()
                raise RunDirError(
                    f"{path} holds a run with a different {differ} (stored: {dumps(stored)}); use a new "
                    "directory, or --force / overwrite=True to delete its records and start over"
                )
        else:
            made_spec = not spec_path.exists()
            for name in (RECORDS, METRICS):
                (path / name).unlink(missing_ok=True)
            spec = {
                **asked,
                "versions": package_versions(),
                "git": git_commit(),
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            write_json_atomic(spec_path, spec)
        records = path / RECORDS
        records.touch()
        return cls(path, spec, _repair_records(records), lock_file, (made_dir, made_spec))

    @staticmethod
    def check_path(path: str | Path, own_files: Collection[str] = ()) -> None:
        """Refuse a path that cannot become a run directory, before any work: a file, or a non-empty
        folder without spec.json (someone else's folder; hidden entries and `own_files` aside).

        Raises:
            RunDirError: saying what to give instead.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} is a file, not a folder; give a new folder for the run directory")
        if path.is_dir() and not (path / SPEC).exists():
            foreign = sorted(
                e.name for e in path.iterdir() if not e.name.startswith(".") and e.name not in own_files
            )
            if foreign:
                raise RunDirError(
                    f"{path} is not a scotoma run directory (no {SPEC}) and holds {len(foreign)} other "
                    f"entries (e.g. {foreign[0]!r}); give a new or empty folder (scotoma removes only what "
                    "it wrote)"
                )

    @staticmethod
    def _lock(path: Path) -> Any:
        """Refuse a second writing process. POSIX locks are per process, so reopening in-process works."""
        lock_file = open(path / LOCK, "a+")  # noqa: SIM115 - held for the RunDir's life
        if fcntl is not None:
            try:
                fcntl.lockf(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock_file.close()
                raise RunDirError(
                    f"{path} is being written by another process; wait for it or use another directory"
                ) from None
        return lock_file

    @property
    def done(self) -> AbstractSet[str]:
        """The keys of the records already written (a live read-only view)."""
        return self._done

    def __len__(self) -> int:
        return len(self._done)

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write a batch of records, then flush and fsync; nothing is written if any key is bad.

        Raises:
            RunDirError: a record has no string "key", or its key is already written or repeated in the batch.
        """
        lines, batch_keys = [], set()
        for record in records:
            try:
                key = _key_of(record)
            except TypeError:
                raise RunDirError(
                    f"every record must be a dict with a string 'key'; got {record!r:.200}"
                ) from None
            if key in self._done or key in batch_keys:
                raise RunDirError(
                    f"record key {key!r} is already in {self.path / RECORDS}; skip done keys with pending()"
                )
            batch_keys.add(key)
            lines.append(dumps(record) + "\n")
        if not lines:
            return
        # One write per batch: a kill lands between batches or tears the last line, which open() removes.
        with open(self.path / RECORDS, "a", encoding="utf-8") as f:
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
        self._done |= batch_keys

    def todo(self, items: Iterable[T], key: Callable[[T], str]) -> Todo[T]:
        """The items whose key is not written yet, in order, each key once: the work left in this run.

        Load models only when the result is not empty, then call its `work` to do it a batch at a time.
        """
        items = list(items)
        left = list(pending(items, key, self))
        return Todo(self, left, len(items) - len(left))

    def records(self) -> Iterator[dict[str, Any]]:
        """The records written so far, in order."""
        with open(self.path / RECORDS, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Replace metrics.json atomically."""
        write_json_atomic(self.path / METRICS, metrics)

    def read_metrics(self) -> dict[str, Any] | None:
        """metrics.json, or None if no metrics were written yet."""
        path = self.path / METRICS
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def close(self, failed: bool = False) -> None:
        """Release the directory for other processes (also happens when the process ends).

        Args:
            failed: the run stopped on an error. If this open started the run and nothing was written
                since, the run is taken back (spec.json, records.jsonl, the lock, the folder if it made
                it), so a re-run starts clean instead of finding a run that never ran.
        """
        if failed and self._made_spec and not self._done and not (self.path / METRICS).exists():
            self._discard()
        if not self._lock_file.closed:
            self._lock_file.close()

    def _discard(self) -> None:
        ours = {SPEC, RECORDS, LOCK}
        if any(e.name not in ours for e in self.path.iterdir()):
            return  # something else was written meanwhile (sub-runs, images): keep it resumable
        for name in (SPEC, RECORDS):
            (self.path / name).unlink(missing_ok=True)
        self._lock_file.close()
        (self.path / LOCK).unlink(missing_ok=True)
        if self._made_dir:
            with contextlib.suppress(OSError):
                self.path.rmdir()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)


# What a job does with one batch: the records to write, and one message for each item whose work failed
# (a model call that errored): such an item writes no record, so a re-run of the same command retries it.
BatchWork = Callable[[list[T]], tuple[list[dict[str, Any]], list[str]]]


@dataclass
class Todo(Generic[T]):
    """The items of a run not written yet (`RunDir.todo`), and what `work` made of them.

    Attributes:
        run: the run directory receiving the records.
        items: the items left, in the order given.
        n_skipped: items given that are not left: written before (resume) or repeating an earlier key.
        failures: one message per item whose work failed in `work` (not written).
    """

    run: RunDir
    items: list[T]
    n_skipped: int
    failures: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def n_failed(self) -> int:
        """Items whose work failed; not written, so a re-run retries them."""
        return len(self.failures)

    @property
    def first_error(self) -> str | None:
        """The message of the first failed item, or None."""
        return self.failures[0] if self.failures else None

    def work(self, do: BatchWork[T], batch_size: int, label: str) -> None:
        """Do the items `batch_size` at a time: `do(batch)` returns the batch's records and the messages of
        its failed items; the records are appended (flushed and fsynced) before the next batch, so a crash
        loses at most the batch in flight, and the progress bar `label` advances by the batch.

        Raises:
            ValueError: batch_size is below 1.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not self.items:
            return
        with progress_bar(label, total=len(self.items)) as bar:
            for start in range(0, len(self.items), batch_size):
                batch = self.items[start : start + batch_size]
                records, failures = do(batch)
                self.run.append(records)
                self.failures.extend(failures)
                bar.advance(len(batch))


def pending(items: Iterable[T], key_fn: Callable[[T], str], run: RunDir) -> Iterator[T]:
    """Yield the items whose key is not written yet, each key once; checked lazily, so appending while
    iterating is fine."""
    seen: set[str] = set()
    for item in items:
        key = key_fn(item)
        if key not in run.done and key not in seen:
            seen.add(key)
            yield item
