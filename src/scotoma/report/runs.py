"""What the report reads: a run directory loaded into typed rows. The one place that knows the layout of
probe, bench and taxonomy run directories, read-only (no lock is taken, a torn last line is skipped).

A run's kind comes from the first word of spec.json's "command" ("probe ...", "bench ...",
"taxonomy"), else from its first record. Probe records need `key`, `question` and `valid`; everything
else is optional and read when present:

    judged (default true)      failed (else: not `correct`)    correct
    method (else spec config "method", else the directory name)     phase ("train", "eval")
    step (training step)       answer (the target's)            reason / justification (the verifier's)
    reference (right answer)   skills (exact skills, world)     questioner, answerer (else spec config)
    images: [{sha256, uri, width, height}]; a relative uri is relative to the run directory; without
    images, a record's "sample" is looked up in the run's samples.jsonl ({"key", "images"} per line).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scotoma.probe.loop import without_abandoned_attempts
from scotoma.runlog import METRICS, RECORDS, SPEC
from scotoma.taxonomy import EMBEDDINGS_FILE, TaxonomyQuestion, question_id
from scotoma.types import ImageRef

KINDS = ("probe", "bench", "taxonomy")


class RunError(ValueError):
    """A directory that is not a readable run; the message says what to give instead."""


@dataclass(frozen=True)
class ProbeRow:
    """One question slot of a probe run.

    Attributes:
        key: the record's key.
        question: the text (None for a slot the questioner left empty).
        judged: the verifier reached a verdict.
        valid: the question passed the validity criteria.
        failed: the target answered wrongly (None unless judged and valid).
        method: the method that asked it.
        phase: "train", "eval" or None.
        step: the training step, or None.
        order: position in records.jsonl.
        images: the images, in order.
        answer: the target's answer.
        reason: the verifier's justification.
        reference: the right answer, when the verifier gives one.
        skills: the exact skills (world), else empty.
        questioner: the questioner model.
        answerer: the target model.
    """

    key: str
    question: str | None
    judged: bool
    valid: bool
    failed: bool | None
    method: str
    phase: str | None = None
    step: int | None = None
    order: int = 0
    images: tuple[ImageRef, ...] = ()
    answer: str | None = None
    reason: str | None = None
    reference: str | None = None
    skills: tuple[str, ...] = ()
    questioner: str = ""
    answerer: str = ""

    @property
    def question_id(self) -> str:
        """The taxonomy's id of this question (text and image hashes)."""
        return question_id(self.question or "", [image.sha256 for image in self.images])


@dataclass
class ProbeRun:
    """A probe run directory."""

    path: Path
    spec: dict[str, Any]
    metrics: dict[str, Any] | None
    rows: list[ProbeRow]


@dataclass
class BenchRun:
    """A bench run directory (metrics as `scotoma.bench.metrics.summarize` lays them out)."""

    path: Path
    spec: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.metrics.get('benchmark', self.path.name)} - {self.metrics.get('model', '')}"


@dataclass
class TaxonomyRun:
    """A taxonomy run directory: records by question id, the taxonomy, question embeddings if saved."""

    path: Path
    spec: dict[str, Any]
    metrics: dict[str, Any]
    records: dict[str, dict[str, Any]]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def meta_of(self) -> dict[str, str]:
        """Skill -> meta-skill."""
        return {s: v.get("meta_skill") or "Other" for s, v in self.metrics.get("skills", {}).items()}


Run = ProbeRun | BenchRun | TaxonomyRun


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{path} is not valid JSON ({error}); the run directory is damaged") from None


def read_records(path: Path) -> list[dict[str, Any]]:
    """records.jsonl of a run directory; a torn last line (a run still writing, or killed) is skipped."""
    lines = (path / RECORDS).read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise RunError(
                f"{path / RECORDS} line {number} is not JSON; the run directory is damaged"
            ) from None
    return records


def _config_name(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if isinstance(value, Mapping):
        value = value.get("spec") or value.get("model") or value.get("name")
    return str(value) if value else ""


def _images(refs: Iterable[Mapping[str, Any]] | None, root: Path) -> tuple[ImageRef, ...]:
    out = []
    for ref in refs or ():
        uri = ref.get("uri")
        if uri and not uri.startswith(("file://", "/")) and "://" not in uri:
            uri = str(root / uri)
        out.append(ImageRef(ref["sha256"], uri, int(ref.get("width", 0)), int(ref.get("height", 0))))
    return tuple(out)


def _probe_rows(path: Path, spec: dict[str, Any], records: Sequence[dict[str, Any]]) -> list[ProbeRow]:
    config = spec.get("config") or {}
    samples: dict[str, Any] = {}
    if (path / "samples.jsonl").is_file():
        samples = {s["key"]: s.get("images") for s in map(json.loads, (path / "samples.jsonl").open())}
    rows = []
    for order, r in enumerate(without_abandoned_attempts(records)):
        missing = [name for name in ("key", "question", "valid") if name not in r]
        if missing:
            raise RunError(
                f"{path / RECORDS} record {order + 1} has no {', '.join(missing)}; a probe record needs key, "
                "question and valid (see scotoma.report.runs)"
            )
        judged, valid = bool(r.get("judged", True)), bool(r["valid"])
        failed = None
        if judged and valid:
            if r.get("failed") is not None:
                failed = bool(r["failed"])
            elif r.get("correct") is not None:
                failed = not r["correct"]
        step = r.get("step")
        rows.append(
            ProbeRow(
                key=r["key"],
                question=r["question"],
                judged=judged,
                valid=valid,
                failed=failed,
                method=str(r.get("method") or config.get("method") or path.name),
                phase=r.get("phase"),
                step=int(step) if isinstance(step, int | float) else None,
                order=order,
                images=_images(r.get("images") or samples.get(r.get("sample", "")), path),
                answer=r.get("answer"),
                reason=r.get("reason") or r.get("justification"),
                reference=r.get("reference"),
                skills=tuple(r.get("skills") or ()),
                questioner=str(r.get("questioner") or _config_name(config, "questioner")),
                answerer=str(r.get("answerer") or _config_name(config, "answerer")),
            )
        )
    return rows


def _kind(path: Path, spec: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    words = str(spec.get("command", "")).split()
    words = words[1:] if words[:1] == ["scotoma"] else words
    if words and words[0] in KINDS:
        return words[0]
    first = records[0] if records else {}
    if {"question", "valid"} <= first.keys():
        return "probe"
    if {"setting", "item_id"} <= first.keys():
        return "bench"
    raise RunError(
        f"{path} is a run of {spec.get('command')!r}, not of probe, bench or taxonomy; give a directory "
        "written by `scotoma probe`, `scotoma bench` or the taxonomy"
    )


def load_run(path: str | Path) -> Run:
    """Load one run directory.

    Raises:
        RunError: `path` is not a run directory (no spec.json or records.jsonl), or not a probe, bench or
            taxonomy run, or a record lacks a required field.
    """
    path = Path(path)
    if not (path / SPEC).is_file() or not (path / RECORDS).is_file():
        raise RunError(
            f"{path} is not a run directory (it needs {SPEC} and {RECORDS}); give a directory written by "
            "`scotoma probe`, `scotoma bench` or the taxonomy"
        )
    spec = _read_json(path / SPEC)
    metrics = _read_json(path / METRICS) if (path / METRICS).is_file() else None
    records = read_records(path)
    kind = _kind(path, spec, records)
    if kind == "probe":
        return ProbeRun(path, spec, metrics, _probe_rows(path, spec, records))
    if kind == "bench":
        if metrics is None or "settings" not in metrics:
            from scotoma.bench.metrics import summarize

            metrics = {
                **(spec.get("config") or {}),
                **summarize(records, n_boot=200, seed=spec.get("seed", 0)),
            }
        return BenchRun(path, spec, metrics)
    embeddings: dict[str, np.ndarray] = {}
    if (path / EMBEDDINGS_FILE).is_file():
        with np.load(path / EMBEDDINGS_FILE) as saved:
            embeddings = dict(zip(saved["ids"].tolist(), saved["vectors"].astype(np.float32), strict=True))
    return TaxonomyRun(path, spec, metrics or {}, {r["key"]: r for r in records}, embeddings)


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Load several run directories, in order."""
    return [load_run(p) for p in paths]


def taxonomy_questions(runs: Iterable[Run]) -> list[TaxonomyQuestion]:
    """The valid, judged questions of every probe run, as the taxonomy's input (with exact skills)."""
    return [
        TaxonomyQuestion(row.question, row.images, row.method, row.skills)
        for run in runs
        if isinstance(run, ProbeRun)
        for row in run.rows
        if row.judged and row.valid and row.question
    ]
