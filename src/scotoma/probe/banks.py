"""The reward's two memory banks (paper 000, Eq. 3-4), persisted with the run and kept equal across ranks.

- The image-level bank H_I: per sample, the questions the target already failed (valid, answered
  wrongly). A new question is rewarded for being far from its nearest neighbour there (delta_emb).
- The global prefix bank H: how often each question prefix (its first L words, "how many") was seen.
  A new question is rewarded for a rare prefix (delta_ifreq). The paper calls H a dataset-level memory
  bank without saying what enters it; here, by default, the same failures as H_I ("failures": the
  templates that already found failures are the ones to move away from); "valid" or "all" questions
  are options.

The banks change as training goes (the reward is non-stationary). `update` adds one reward call's
entries: under torch.distributed every rank sends its entries to every other (all_gather_object) and all
ranks add the same list in rank order, so every rank holds the same banks. `save`/`load` write and read
a small JSON file (questions and counts; embeddings are recomputed), so a resumed run continues with the
banks it had.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scotoma.distributed import process_group
from scotoma.models.embed import Embedder
from scotoma.runlog import write_json_atomic

PREFIX_SOURCES = ("failures", "valid", "all")
BANKS_VERSION = 1


@dataclass(frozen=True)
class BankEntry:
    """One scored question, as the banks see it.

    Attributes:
        sample: the sample (image set) key.
        question: the question text.
        prefix: its first L words.
        valid: the verifier found it valid.
        failed: valid and answered wrongly by the target.
    """

    sample: str
    question: str
    prefix: str
    valid: bool
    failed: bool


def gather_across_ranks(entries: list[BankEntry]) -> list[BankEntry]:
    """Every rank's entries in rank order when torch.distributed runs with several processes, else
    `entries` itself (scotoma.distributed: torch is not imported to ask)."""
    group = process_group()
    if group is None or group.get_world_size() == 1:
        return entries
    gathered: list[Any] = [None] * group.get_world_size()
    group.all_gather_object(gathered, entries)
    return [entry for part in gathered for entry in part]


def check_prefix_settings(prefix_length: int, prefix_source: str) -> None:
    """Raise ValueError unless L >= 1 and the source is one of PREFIX_SOURCES (the probe config checks
    its own fields with it when it is built, long before the banks are)."""
    if prefix_length < 1:
        raise ValueError(f"prefix_length L must be >= 1, got {prefix_length}")
    if prefix_source not in PREFIX_SOURCES:
        raise ValueError(f"prefix_source={prefix_source!r} must be one of {', '.join(PREFIX_SOURCES)}")


class MemoryBanks:
    """H_I (failed questions per sample, with their embeddings) and H (prefix counts).

    Args:
        embedder: embeds questions for H_I (unit rows).
        prefix_length: L, words per prefix (Table 6; 2 by default).
        prefix_source: which questions enter H: "failures" (default), "valid" or "all".
        gather: how entries travel between ranks; `gather_across_ranks` unless a test injects one.
    """

    def __init__(
        self,
        embedder: Embedder,
        prefix_length: int = 2,
        prefix_source: str = "failures",
        gather: Callable[[list[BankEntry]], list[BankEntry]] = gather_across_ranks,
    ) -> None:
        check_prefix_settings(prefix_length, prefix_source)
        self.embedder = embedder
        self.prefix_length = prefix_length
        self.prefix_source = prefix_source
        self.gather = gather
        self.failures: dict[str, list[str]] = {}
        self.prefixes: Counter[str] = Counter()
        self.updates = 0
        self._vectors: dict[str, np.ndarray] = {}

    # -- reading -------------------------------------------------------------------------------------
    def vectors(self, sample: str) -> np.ndarray:
        """Embeddings of the failed questions of `sample`, shape (m, d); m may be 0."""
        questions = self.failures.get(sample, [])
        cached = self._vectors.get(sample)
        if cached is None or len(cached) != len(questions):
            cached = self.embedder.encode(questions) if questions else np.zeros((0, 1), dtype=np.float32)
            self._vectors[sample] = cached
        return cached

    def prefix_count(self, prefix: str) -> int:
        """Count(prefix, H)."""
        return self.prefixes[prefix]

    def enters_prefix_bank(self, entry: BankEntry) -> bool:
        """Whether `entry` is counted in H under this bank's prefix_source."""
        if self.prefix_source == "failures":
            return entry.failed
        return entry.valid if self.prefix_source == "valid" else True

    @property
    def size(self) -> dict[str, int]:
        """Failed questions in H_I, samples with any, entries in H and distinct prefixes."""
        return {
            "failures": sum(map(len, self.failures.values())),
            "samples": len(self.failures),
            "prefixes": sum(self.prefixes.values()),
            "distinct_prefixes": len(self.prefixes),
        }

    # -- writing -------------------------------------------------------------------------------------
    def add(self, entries: Sequence[BankEntry]) -> None:
        """Add entries on this rank only (use `update` during training)."""
        for entry in entries:
            if entry.failed:
                self.failures.setdefault(entry.sample, []).append(entry.question)
            if self.enters_prefix_bank(entry):
                self.prefixes[entry.prefix] += 1
        self.updates += 1

    def update(self, entries: list[BankEntry]) -> list[BankEntry]:
        """Gather every rank's entries, add them all in rank order, and return them."""
        everything = self.gather(entries)
        self.add(everything)
        return everything

    # -- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The persisted state: settings, failed questions per sample, prefix counts."""
        return {
            "version": BANKS_VERSION,
            "prefix_length": self.prefix_length,
            "prefix_source": self.prefix_source,
            "updates": self.updates,
            "failures": self.failures,
            "prefixes": dict(self.prefixes),
        }

    def load_dict(self, state: dict[str, Any], where: str = "bank state") -> None:
        """Replace this bank's contents with a saved state.

        Raises:
            ValueError: the state was saved with another L or prefix source (its counts would mean
                something else).
        """
        for name in ("prefix_length", "prefix_source"):
            if state.get(name) != getattr(self, name):
                raise ValueError(
                    f"{where} was saved with {name}={state.get(name)!r}, this run uses "
                    f"{getattr(self, name)!r}; start a new run directory or keep the setting"
                )
        self.failures = {k: list(v) for k, v in state.get("failures", {}).items()}
        self.prefixes = Counter(state.get("prefixes", {}))
        self.updates = int(state.get("updates", 0))
        self._vectors = {}

    def save(self, path: str | Path) -> None:
        """Write the state to `path` atomically (JSON)."""
        write_json_atomic(Path(path), self.to_dict())

    def load(self, path: str | Path) -> bool:
        """Restore the state saved at `path`; False (banks left empty) when there is no such file."""
        path = Path(path)
        if not path.is_file():
            return False
        self.load_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
        return True


def entry_dict(entry: BankEntry) -> dict[str, Any]:
    """An entry as JSON."""
    return asdict(entry)


__all__ = ["BANKS_VERSION", "PREFIX_SOURCES", "BankEntry", "MemoryBanks", "entry_dict", "gather_across_ranks"]
