"""Exporters: every synthesized sample in the data formats of TRL, LLaMA-Factory, ms-swift and EasyR1.

    out/
      images/<sha256>.png         every image once, by content hash (shared by all formats)
      trl/sft.jsonl dpo.jsonl grpo.jsonl dpo_L1.jsonl ...   what scotoma.train.data reads
      llamafactory/sft.json dpo.json dataset_info.json      --dataset_dir out/llamafactory
      swift/sft.jsonl dpo.jsonl                             swift sft|rlhf --dataset out/swift/...
      easyr1/train.jsonl                                    data.train_files=out/easyr1/train.jsonl

EasyR1 rows carry the prompt as `problem` and `prompt` (its example configs read the first, its default
config the second) and are written only where a rule grader can score the answer: S2H L3's answers are
whole descriptions, so those rows are left out of easyr1/ and counted in the report (`left_out`).

Chains become SFT rows (target: the rendered chain) and RL rows (answer: the final answer); preference
pairs become DPO rows, SFT rows of the chosen response (paper 003's SFT ablation) and RL rows. Image
paths are relative to the file that names them (LLaMA-Factory resolves them against its dataset_dir;
ms-swift against the working directory, then ROOT_IMAGE_DIR: run it from the format's folder, set
ROOT_IMAGE_DIR to it, or export absolute paths).

Before writing, L3 pairs go through S2H's similarity filter, and rows are ordered by the mixture: "flat"
shuffles them (seeded), "curriculum" keeps L1, then L2, then L3. Every file is then read back and each
row checked by its format's schema (`verify_export`).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.synth import formats
from scotoma.synth.records import ChainSample, PreferencePair
from scotoma.synth.similarity import keep_dissimilar, similarity_threshold
from scotoma.types import ImageRef, check_layout, user_turn

FORMATS = ("trl", "llamafactory", "swift", "easyr1")
IMAGES = "images"
_LEVEL_ORDER = {"L1": 0, "L2": 1, "L3": 2}
Sample = ChainSample | PreferencePair


@dataclass(frozen=True)
class ExportConfig:
    """How samples are exported."""

    formats: tuple[str, ...] = field(
        default=FORMATS, metadata={"help": "formats to write: " + ", ".join(FORMATS)}
    )
    layout: str = field(default="labelled", metadata={"help": "prompt layout: labelled or bare"})
    mixture: str = field(default="flat", metadata={"help": "row order: flat (shuffled) or curriculum"})
    similarity_quantile: float | None = field(
        default=0.75, metadata={"help": "drop L3 pairs above this quantile of chosen/rejected similarity"}
    )
    absolute_image_paths: bool = field(default=False, metadata={"help": "write absolute image paths"})
    name: str = field(default="scotoma", metadata={"help": "dataset name prefix in dataset_info.json"})
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", tuple(self.formats))
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown export formats {sorted(unknown)}; choose from {FORMATS}")
        if self.mixture not in ("flat", "curriculum"):
            raise ValueError(f"mixture {self.mixture!r} must be flat or curriculum")
        check_layout(self.layout)


def _suffix(image: ImageRef) -> str:
    suffix = Path(image.uri).suffix.lower() if image.uri else ""
    return suffix if suffix in (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp") else ".png"


def store_images(sample: Sample, out_dir: str | Path, root: str | Path | None = None) -> Sample:
    """Write the sample's images to out_dir/images/<sha256><suffix> once per hash; return the sample with
    uris relative to out_dir. `root` resolves relative uris of images read back from another run."""
    refs = [store_image(image, out_dir, root) for image in sample.images]
    return type(sample).from_dict({**sample.to_dict(), "images": [r.to_dict() for r in refs]})


def store_image(image: ImageRef, out_dir: str | Path, root: str | Path | None = None) -> ImageRef:
    """Write one image to out_dir/images/<sha256><suffix> unless it is there; the ref with its uri
    relative to out_dir. `root` resolves a relative uri of an image read back from another run."""
    folder = Path(out_dir) / IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{image.sha256}{_suffix(image)}"
    if not (folder / name).exists():
        source = image
        if image.data is None and image.uri and root is not None and not Path(image.uri).is_absolute():
            source = ImageRef(image.sha256, str(Path(root) / image.uri), image.width, image.height)
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(source.read_bytes())
        os.replace(tmp, folder / name)  # a killed run never leaves half an image under its final name
    return ImageRef(image.sha256, f"{IMAGES}/{name}", image.width, image.height)


def filter_similar(samples: Sequence[Sample], quantile: float | None) -> tuple[list[Sample], dict[str, Any]]:
    """Drop L3 pairs whose similarity is above the `quantile` of all L3 similarities; report what went."""
    l3 = [
        s for s in samples if isinstance(s, PreferencePair) and s.level == "L3" and s.similarity is not None
    ]
    if quantile is None or not l3:
        return list(samples), {"l3_scored": len(l3), "l3_dropped": 0, "threshold": None}
    keep = keep_dissimilar([s.similarity for s in l3], quantile)  # type: ignore[misc]
    dropped = {s.key for s, k in zip(l3, keep, strict=True) if not k}
    tau = similarity_threshold([s.similarity for s in l3], quantile)  # type: ignore[misc]
    report = {"l3_scored": len(l3), "l3_dropped": len(dropped), "threshold": tau, "quantile": quantile}
    return [s for s in samples if s.key not in dropped], report


def order_samples(samples: Sequence[Sample], mixture: str, seed: int) -> list[Sample]:
    """Flat: a seeded shuffle. Curriculum: stable by level (chains first), L1 before L2 before L3."""
    if mixture == "curriculum":
        return sorted(samples, key=lambda s: _LEVEL_ORDER.get(getattr(s, "level", ""), -1))
    out = list(samples)
    random.Random(seed).shuffle(out)
    return out


def _clean(text: str) -> str:
    """A response must not hold an image placeholder of its own (it would count as an image)."""
    return text.replace(formats.PLACEHOLDER, "[image]")


class _Writer:
    """Collects rows per (format, file) and writes them; checks each row before it is kept."""

    def __init__(self, out_dir: Path, config: ExportConfig) -> None:
        self.out_dir, self.config = out_dir, config
        self.rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.left_out: Counter[str] = Counter()  # file -> rows its consumer could not use

    def image_paths(self, sample: Sample, fmt: str) -> list[str]:
        paths = []
        for image in sample.images:
            if image.uri is None:
                raise ValueError(f"sample {sample.key} has an image without a uri; store_images first")
            where = self.out_dir / image.uri
            paths.append(
                str(where.resolve())
                if self.config.absolute_image_paths
                else os.path.relpath(where, self.out_dir / fmt)
            )
        return paths

    def add(self, fmt: str, name: str, row: dict[str, Any]) -> None:
        self.rows.setdefault((fmt, name), []).append(row)

    def write(self) -> dict[str, int]:
        counts = {}
        for (fmt, name), rows in sorted(self.rows.items()):
            path = self.out_dir / fmt / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".jsonl"):
                text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            else:
                text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            counts[f"{fmt}/{name}"] = len(rows)
        return counts


def _add_rows(writer: _Writer, sample: Sample, formats_: tuple[str, ...], layout: str) -> None:
    prompt = user_turn(sample.images, sample.prompt, layout)
    paths = {fmt: writer.image_paths(sample, fmt) for fmt in formats_}
    if isinstance(sample, ChainSample):
        target, answer, chosen, rejected = _clean(sample.target), sample.answer, None, None
    else:
        target, answer = _clean(sample.chosen), sample.answer
        chosen, rejected = _clean(sample.chosen), _clean(sample.rejected)
    if "trl" in formats_:
        writer.add("trl", "sft.jsonl", formats.trl_sft(prompt, target, paths["trl"]))
        writer.add("trl", "grpo.jsonl", formats.trl_grpo(prompt, answer, paths["trl"]))
        if chosen is not None:
            row = formats.trl_dpo(prompt, chosen, rejected, paths["trl"])  # type: ignore[arg-type]
            writer.add("trl", "dpo.jsonl", row)
            writer.add("trl", f"dpo_{sample.level}.jsonl", row)  # type: ignore[union-attr]
    if "llamafactory" in formats_:
        writer.add(
            "llamafactory", "sft.json", formats.llamafactory_sft(prompt, target, paths["llamafactory"])
        )
        if chosen is not None:
            row = formats.llamafactory_dpo(prompt, chosen, rejected, paths["llamafactory"])  # type: ignore[arg-type]
            writer.add("llamafactory", "dpo.json", row)
    if "swift" in formats_:
        writer.add("swift", "sft.jsonl", formats.swift_sft(prompt, target, paths["swift"]))
        if chosen is not None:
            writer.add("swift", "dpo.jsonl", formats.swift_dpo(prompt, chosen, rejected, paths["swift"]))  # type: ignore[arg-type]
    if "easyr1" in formats_:
        if formats.gradable(answer):
            writer.add("easyr1", "train.jsonl", formats.easyr1_row(prompt, answer, paths["easyr1"]))
        else:  # no reward EasyR1 ships can score a whole description: counted, not written
            writer.left_out["easyr1/train.jsonl"] += 1


def dataset_info(name: str, files: Sequence[str]) -> dict[str, Any]:
    """LLaMA-Factory dataset_info.json entries for the sft.json / dpo.json written."""
    info: dict[str, Any] = {}
    if "sft.json" in files:
        info[f"{name}_sft"] = {
            "file_name": "sft.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "images": "images"},
        }
    if "dpo.json" in files:
        info[f"{name}_dpo"] = {
            "file_name": "dpo.json",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {
                "messages": "conversations",
                "chosen": "chosen",
                "rejected": "rejected",
                "images": "images",
            },
        }
    return info


def export_all(
    samples: Sequence[Sample], out_dir: str | Path, config: ExportConfig | None = None
) -> dict[str, Any]:
    """Write every format of `config.formats` under out_dir, then read each file back and check it.

    Samples must have their images stored under out_dir (`store_images`). Returns a report: rows per
    file, checked rows per file, the similarity filter's counts, and rows per level.
    """
    config = config or ExportConfig()
    out_dir = Path(out_dir)
    kept, similarity = filter_similar(samples, config.similarity_quantile)
    ordered = order_samples(kept, config.mixture, config.seed)
    writer = _Writer(out_dir, config)
    for sample in ordered:
        _add_rows(writer, sample, config.formats, config.layout)
    written = writer.write()
    if "llamafactory" in config.formats and written:
        files = [name.split("/", 1)[1] for name in written if name.startswith("llamafactory/")]
        info_path = out_dir / "llamafactory" / "dataset_info.json"
        info_path.write_text(json.dumps(dataset_info(config.name, files), indent=2) + "\n", encoding="utf-8")
    levels = Counter(getattr(s, "level", "chain") for s in ordered)
    return {
        "files": written,
        "left_out": dict(writer.left_out),
        "checked": verify_export(out_dir, config.formats),
        "similarity_filter": similarity,
        "rows_by_level": dict(sorted(levels.items())),
        "mixture": config.mixture,
    }


def _read(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


CHECKS: dict[str, Callable[[str], Callable[[dict[str, Any]], None]]] = {
    "trl": lambda name: lambda row: formats.check_trl(row, name.split(".")[0].split("_")[0]),
    "llamafactory": lambda name: lambda row: formats.check_llamafactory(row, ranking=name.startswith("dpo")),
    "swift": lambda name: lambda row: formats.check_swift(row, name.split(".")[0]),
    "easyr1": lambda name: formats.check_easyr1,
}


def verify_export(out_dir: str | Path, formats_: Sequence[str] = FORMATS) -> dict[str, int]:
    """Read every exported file back and check each row by its format's schema and that its images exist.

    Raises:
        formats.FormatError: a row that breaks its schema (the message names file and row).
    """
    out_dir, checked = Path(out_dir), {}
    for fmt in formats_:
        for path in sorted((out_dir / fmt).glob("*.json*")):
            if path.name == "dataset_info.json":
                _check_dataset_info(path)
                continue
            check = CHECKS[fmt](path.name)
            for number, row in enumerate(_read(path), start=1):
                try:
                    check(row)
                    missing = [p for p in row["images"] if not (path.parent / p).is_file()]
                    if missing:
                        raise formats.FormatError(f"image file not found: {missing[0]}")
                except formats.FormatError as error:
                    raise formats.FormatError(f"{path} row {number}: {error}") from None
                checked[f"{fmt}/{path.name}"] = number
    return checked


def _check_dataset_info(path: Path) -> None:
    info = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in info.items():
        if not (path.parent / entry.get("file_name", "")).is_file() or entry.get("formatting") != "sharegpt":
            raise formats.FormatError(f"{path}: entry {name} must name an existing sharegpt file")
        if name.endswith("_dpo") and entry.get("ranking") is not True:
            raise formats.FormatError(f"{path}: preference entry {name} needs ranking: true")
