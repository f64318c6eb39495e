"""The loop's training data for the targeted skills, in TRL's format (`scotoma.train.data`).

- focus chains (paper 001) from the world's exact chain synthesizer, kept when they need a targeted
  skill: each becomes two SFT rows, the chain itself (prompt with the chain instruction, target the
  rendered chain) and its direct form (the composite question, target the final answer), because the
  target is measured answering directly and the chain is how paper 001 teaches the decomposition;
- S2H preference pairs (paper 003) kept when they need a targeted skill, L1's rejected answers being
  the target's own wrong answers: DPO rows, and their chosen answers as SFT rows;
- exact world questions that need a targeted skill (the world's question stage run for those skills:
  the bulk of the targeted signal, since chains and pairs cover only some skills);
- simple questions on the primitive skills the targets are built from (`skills.prerequisites`: counting
  for arithmetic), asked by the one-object families: S2H's simple-to-hard (paper 003) within the world
  (on the world answerer, counting moves within minutes of LoRA while its compositions barely do:
  docs/world-models-training.md);
- replay: world questions of every family, so that the fine-tune does not trade the other skills away:
  with their true answers (`replay_labels=truth`) or only those the target already answers right
  (`own`), which keeps its behaviour where it is right and leaves the teaching to the targets' rows.

Every prompt uses the "bare" layout (images, then the text), which the built-in models were trained on;
for another target set `layout` in the synth configs to its own.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scotoma.engines import close_model, open_model
from scotoma.loop.config import LoopConfig
from scotoma.slices import world_predicates
from scotoma.synth import S2HConfig, WorldChainConfig, run_synth
from scotoma.synth.export import store_image
from scotoma.synth.formats import trl_dpo, trl_sft
from scotoma.synth.records import ChainSample, PreferencePair, read_record
from scotoma.synth.s2h_world import fitting_levels
from scotoma.synth.visc_compose import COMPOSITE_SKILLS
from scotoma.train.data import read_jsonl
from scotoma.types import GenConfig, ImageRef, user_turn
from scotoma.world.programs.answers import is_correct
from scotoma.world.programs.skills import PRIMITIVE_FAMILIES, SKILLS, prerequisites
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.sampling.records import WorldSample
from scotoma.world.scenes.render import box_image_ref

LAYOUT = "bare"
MAX_DRAWS = 100  # sampled questions per kept one when a slice filters them
REPLAY_TOKENS = 32  # the bench's answer length
SFT_FILE, DPO_FILE = "sft.jsonl", "dpo.jsonl"


@dataclass
class TrainingData:
    """Where the rows went and how many of each kind.

    Attributes:
        sft: the SFT file (None when empty).
        dpo: the DPO file (None when no pair was made).
        counts: samples per source: chains (two SFT rows each: the chain and its direct form), pairs (one
            DPO row and one SFT row of the chosen answer each), targeted, primitive and replay questions.
    """

    sft: Path | None
    dpo: Path | None
    counts: dict[str, int]


def _store(image: ImageRef, folder: Path, root: Path | None = None) -> str:
    """The image written once under `folder` (synth's image store); its path relative to `folder`."""
    return str(store_image(image, folder, root).uri)


def _synth_samples(run_dir: Path) -> list[Any]:
    """The samples (not the dropped records) of a synth run directory."""
    lines = (run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [sample for line in lines if (sample := read_record(json.loads(line))) is not None]


def world_question_rows(
    config: QuestionConfig,
    seed: int,
    n: int,
    folder: Path,
    turns: int = 1,
    keep: Callable[[WorldSample], bool] | None = None,
) -> list[dict[str, Any]]:
    """`n` SFT rows of exact world questions (the direct answer as target). With `turns` > 1 a row is a
    conversation: the sampled question, then `turns - 1` follow-up questions about the same images
    (`QuestionSampler.follow_ups`), each answered directly. `keep` filters the sampled questions (drawn
    until `n` are kept, at most `MAX_DRAWS` times as many)."""
    rows = []
    sampler = QuestionSampler(config, seed=seed)
    drawn = sampler.samples(n if keep is None else n * MAX_DRAWS)
    for sample in itertools.islice(drawn if keep is None else filter(keep, drawn), n):
        images = [box_image_ref(box) for box in sample.scene.boxes]
        paths = [_store(image, folder) for image in images]
        more = [(s.question, s.answer) for s in sampler.follow_ups(sample, turns - 1)]
        rows.append(trl_sft(user_turn(images, sample.question, LAYOUT), sample.answer, paths, more))
    if len(rows) < n:
        raise ValueError(f"only {len(rows)} of {n * MAX_DRAWS} sampled questions match; target a wider slice")
    return rows


def chain_rows(sample: ChainSample, folder: Path, root: Path | None = None) -> list[dict[str, Any]]:
    """The two SFT rows of a focus chain: the chain itself (its prompt carries the chain instruction,
    the target is the rendered chain) and its direct form (the composite question, the final answer),
    because the target is measured answering directly and the chain is how paper 001 teaches the
    decomposition. Images are stored under `folder` (`root`: where relative image paths lie)."""
    paths = [_store(image, folder, root) for image in sample.images]
    return [
        trl_sft(user_turn(sample.images, sample.prompt, LAYOUT), sample.target, paths),
        trl_sft(user_turn(sample.images, sample.question, LAYOUT), sample.answer, paths),
    ]


def pair_rows(
    pair: PreferencePair, folder: Path, root: Path | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An S2H pair as (its SFT row: the chosen answer as target, its DPO row). Images are stored under
    `folder` (`root`: where relative image paths lie)."""
    paths = [_store(image, folder, root) for image in pair.images]
    prompt = user_turn(pair.images, pair.prompt, LAYOUT)
    return trl_sft(prompt, pair.chosen, paths), trl_dpo(prompt, pair.chosen, pair.rejected, paths)


def slice_filter(predicates: Sequence[str]) -> Callable[[WorldSample], bool]:
    """Whether a sampled question is in any of the slices `predicates` (`scotoma.slices.world_predicates`)."""
    wanted = set(predicates)
    return lambda sample: bool(wanted & world_predicates(sample.program, sample.scene))


def build_training_data(targets: Sequence[str], answerer: str, config: LoopConfig, out: Path) -> TrainingData:
    """Synthesize and write the loop's SFT and DPO rows for the `targets` into `out`: world skills get
    every source; slice predicates (color:yellow, image:last, ...) get targeted questions drawn from the
    slice (the sampler's questions kept when their program and scene fall in it) and replay."""
    slices = tuple(t for t in targets if t not in SKILLS)
    targets = tuple(t for t in targets if t in SKILLS)
    out.mkdir(parents=True, exist_ok=True)
    sft: list[dict[str, Any]] = []
    dpo: list[dict[str, Any]] = []
    counts = dict.fromkeys(("chains", "pairs", "targeted", "primitive", "replay"), 0)
    common = {"seed": config.data_seed, "batch_size": config.batch_size, "engine": config.engine}
    # focus chains exist only for skills some composite question needs (arithmetic, sequences, ...)
    if config.chains and set(targets) & {s for skills in COMPOSITE_SKILLS.values() for s in skills}:
        chains = WorldChainConfig(skills=targets, layout=LAYOUT, images_per_sample=(3, 4))
        run = run_synth("visc", chains, out / "synth_visc", n=config.chains, **common)
        for sample in _synth_samples(run.run_dir):
            if not isinstance(sample, ChainSample):
                continue
            sft += chain_rows(sample, out, run.run_dir)
            counts["chains"] += 1
    levels = fitting_levels(S2HConfig(skills=targets))  # the S2H levels that can ask about the targets
    if config.pairs and levels and targets:
        pairs = S2HConfig(skills=targets, levels=levels, layout=LAYOUT)
        run = run_synth("s2h", pairs, out / "synth_s2h", answerer, n=config.pairs, **common)
        for sample in _synth_samples(run.run_dir):
            if not isinstance(sample, PreferencePair):
                continue
            sft_row, dpo_row = pair_rows(sample, out, run.run_dir)
            sft.append(sft_row)
            dpo.append(dpo_row)
            counts["pairs"] += 1
    if config.targeted_questions and targets:
        targeted = QuestionConfig(skills=targets)
        sft += world_question_rows(
            targeted, config.data_seed, config.targeted_questions, out, config.questions_per_row
        )
        counts["targeted"] = config.targeted_questions
    if config.targeted_questions and slices:
        sft += world_question_rows(
            QuestionConfig(), config.data_seed + 3, config.targeted_questions, out, config.questions_per_row,
            slice_filter(slices),
        )  # fmt: skip
        counts["targeted"] += config.targeted_questions
    if config.primitive_questions and targets and (simple := _primitive_config(targets)) is not None:
        sft += world_question_rows(
            simple, config.data_seed + 2, config.primitive_questions, out, config.questions_per_row
        )
        counts["primitive"] = config.primitive_questions
    if config.replay_questions and config.replay_labels == "own":
        sft += own_replay_rows(answerer, config, out)
        counts["replay"] = config.replay_questions
    elif config.replay_questions:
        sft += world_question_rows(
            QuestionConfig(), config.data_seed + 1, config.replay_questions, out, config.questions_per_row
        )
        counts["replay"] = config.replay_questions
    return TrainingData(write_rows(out / SFT_FILE, sft), write_rows(out / DPO_FILE, dpo), counts)


def own_replay_rows(answerer: str, config: LoopConfig, folder: Path) -> list[dict[str, Any]]:
    """`replay_questions` SFT rows of world questions of every family that `answerer` already answers
    right (greedy, as the bench asks), so the replay keeps what it does well and teaches nothing it gets
    wrong; drawn in batches until enough are right, at most `MAX_DRAWS` times as many."""
    n = config.replay_questions
    sampler = QuestionSampler(QuestionConfig(), seed=config.data_seed + 1)
    drawn = sampler.samples(n * MAX_DRAWS)
    model = open_model(answerer, config.engine)
    rows: list[dict[str, Any]] = []
    try:
        while len(rows) < n and (batch := list(itertools.islice(drawn, config.batch_size))):
            turns = [user_turn([box_image_ref(b) for b in s.scene.boxes], s.question, LAYOUT) for s in batch]
            answers = model.generate(turns, GenConfig(max_new_tokens=REPLAY_TOKENS))
            for sample, turn, answer in zip(batch, turns, answers, strict=True):
                if len(rows) < n and is_correct(answer.text, sample.answer):
                    paths = [_store(image, folder) for image in turn.images]
                    rows.append(trl_sft(turn, sample.answer, paths))
    finally:
        close_model(model)
    if len(rows) < n:
        raise ValueError(f"{answerer} answered only {len(rows)} of {n * MAX_DRAWS} replay questions right")
    return rows


def _primitive_config(targets: Sequence[str]) -> QuestionConfig | None:
    """The question config of the primitive questions for `targets`; None when no one-object family asks
    any of their prerequisites (sequence matching stands for itself and needs a sequence of images)."""
    config = QuestionConfig(families=PRIMITIVE_FAMILIES, skills=prerequisites(targets))
    try:
        QuestionSampler(config)
    except ValueError:  # the sampler's own test of whether some family can ask the skills
        return None
    return config


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path | None:
    """Training rows as JSONL, written whole or not at all, each read back before any training starts;
    None (no file) for no rows."""
    if not rows:
        return None
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    os.replace(tmp, path)
    read_jsonl(path)  # every row parses back before any training starts
    return path


__all__ = [
    "LAYOUT",
    "TrainingData",
    "build_training_data",
    "chain_rows",
    "own_replay_rows",
    "pair_rows",
    "slice_filter",
    "world_question_rows",
    "write_rows",
]
