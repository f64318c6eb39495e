"""Progress bars for long library work, over rich.progress, drawn on stderr so stdout stays clean.

Bars are silent when SCOTOMA_QUIET is set to anything but "" or "0", and when stderr is not a terminal
(pipes, CI logs, pytest's capture). Bars opened inside other bars share one live display: rich allows only
one at a time, and a bench loop over samples that calls a model with its own batch bar is the normal case.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

_lock = threading.Lock()
_shared: Progress | None = None  # the one live display, while any bar is open
_open_bars = 0


def is_quiet() -> bool:
    """True when SCOTOMA_QUIET asks for silence or there is no terminal to draw on."""
    if os.environ.get("SCOTOMA_QUIET", "") not in ("", "0"):
        return True
    return not Console(stderr=True).is_terminal


class ProgressBar:
    """One task on the shared display; counts even when nothing is drawn.

    Attributes:
        description: what the bar measures.
        total: the expected count, or None when unknown.
        completed: how much was advanced so far.
        status: the figures shown beside the description ("" for none).
    """

    def __init__(self, description: str, total: float | None, progress: Progress | None) -> None:
        self.description = description
        self.total = total
        self.completed = 0.0
        self.status = ""
        self._progress = progress
        self._task: TaskID | None = None
        if progress is not None:
            self._task = progress.add_task(description, total=total)

    def advance(self, n: float = 1) -> None:
        """Add `n` to the count."""
        self.completed += n
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def set_status(self, status: str) -> None:
        """Show `status` (latest figures, e.g. "reward 0.41  FDR 28%") right of the description."""
        self.status = status
        if self._progress is not None and self._task is not None:
            text = f"{self.description}  {status}" if status else self.description
            self._progress.update(self._task, description=text)

    def set_total(self, total: float | None) -> None:
        """Change the expected count, e.g. once it becomes known."""
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress_bar(description: str, total: float | None = None) -> Iterator[ProgressBar]:
    """A bar for work counted by hand.

    Args:
        description: shown left of the bar, e.g. "bench mmra".
        total: the expected count; None draws a pulsing bar.

    Example:
        with progress_bar("generate", total=len(batches)) as bar:
            for batch in batches:
                ...
                bar.advance()
    """
    global _shared, _open_bars
    if is_quiet():
        yield ProgressBar(description, total, None)
        return
    with _lock:
        if _shared is None:
            _shared = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            _shared.start()
        _open_bars += 1
        progress = _shared
        bar = ProgressBar(description, total, progress)
    try:
        yield bar
    finally:
        with _lock:
            _open_bars -= 1
            if _open_bars == 0:
                progress.stop()
                _shared = None
            elif bar._task is not None:
                progress.remove_task(bar._task)  # an inner bar leaves when done; the outer one stays


@contextmanager
def library_bars_hidden() -> Iterator[None]:
    """Hide the tqdm bars of datasets and transformers ("Map", "Casting the dataset", "Loading weights",
    "Writing model shards") for the duration, then restore them: a job shows its own progress, and
    theirs, drawn even into pipes and logs, would come between its bars."""
    import datasets
    from transformers.utils import logging as transformers_logging

    restore = []
    if not datasets.are_progress_bars_disabled():
        datasets.disable_progress_bars()
        restore.append(datasets.enable_progress_bars)
    if transformers_logging.is_progress_bar_enabled():
        transformers_logging.disable_progress_bar()
        restore.append(transformers_logging.enable_progress_bar)
    try:
        yield
    finally:
        for enable in restore:
            enable()


def track(iterable: Iterable[T], description: str, total: float | None = None) -> Iterator[T]:
    """Yield from `iterable`, advancing a bar by one per item.

    Args:
        iterable: the items.
        description: shown left of the bar.
        total: the item count; taken from len(iterable) when it has one.
    """
    if total is None and isinstance(iterable, Sized):
        total = len(iterable)
    with progress_bar(description, total) as bar:
        for item in iterable:
            yield item
            bar.advance()
