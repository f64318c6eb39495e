"""What every probe method shares in one run: the config, the run directory, the samples, the frozen
answerer and verifier (through the response cache), the prompts and the embedder.

Models are resolved by spec through `get_model` on the config's engine (scotoma.engines: in this process,
or a pool of Ray actors), or taken from `models` when the caller already holds them (tests pass
ScriptedModels and in-memory tiny VLMs that way). Local weights (builtin: models, hf: folders,
questioners trained during the run) enter cache keys with their digest: `get_model` puts it in the spec
(scotoma.models.weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scotoma.cache import CachedModel, ResponseCache
from scotoma.distributed import process_rank
from scotoma.engines import EngineConfig, close_model, open_model
from scotoma.judge.chain_inference import DEFAULT_GEN as CHAIN_GEN
from scotoma.judge.verifiers import Verifier, get_verifier
from scotoma.models import get_model
from scotoma.models.base import Model
from scotoma.models.embed import Embedder, get_embedder
from scotoma.models.weights import weights_identity
from scotoma.probe.config import ProbeConfig
from scotoma.probe.core import Probe
from scotoma.probe.loop import run_round
from scotoma.probe.prompts import PromptSet
from scotoma.probe.samples import ProbeSample, folder_samples, world_samples
from scotoma.runlog import RunDir
from scotoma.types import GenConfig


def load_samples(config: ProbeConfig) -> list[ProbeSample]:
    """The samples a config names: the image folder, or the shapes world."""
    if config.images is not None:
        return folder_samples(config.images, config.limit)
    return world_samples(
        config.world_samples,
        seed=config.world_seed,
        images_per_sample=tuple(config.images_per_sample),  # type: ignore[arg-type]
        objects_per_box=tuple(config.objects_per_box),  # type: ignore[arg-type]
    )


def on_engine(
    config: ProbeConfig,
    spec: str,
    models: Mapping[str, Model],
    pools: dict[str, Model],
) -> Model:
    """The model of `spec`: pre-loaded, loaded here (local engine, as each caller always did), or the
    pool the run opened for it on its engine (started once, kept in `pools` for every later round)."""
    if spec in models:
        return models[spec]
    engine = EngineConfig.parse(config.engine)
    if engine.kind == "local":
        return get_model(spec)
    if spec not in pools:
        pools[spec] = open_model(spec, engine, get_model)
    return pools[spec]


@dataclass
class ProbeContext:
    """The shared state of one probe run.

    Attributes:
        config: the settings.
        out_dir: the run directory's path.
        run: the run directory (spec, question records, metrics).
        samples: the image sets probed (and trained on).
        prompts: the templates.
        answerer: the target, behind the response cache.
        base: the model the target is compared with (`ProbeConfig.base`), behind the cache; or None.
        verifier: oracle or VLM judge (its model behind the cache).
        embedder: sentence embeddings for the banks and semantic diversity.
        cache: the response cache.
        models: pre-loaded backends by spec.
        pools: models this run opened on a non-local engine, by spec: reused by every round, closed
            with the run.
        info: what methods report beyond records (training results, timings), for metrics.json.
        answer_errors: the answerer's error of each sample left out of an evaluation round because its
            call failed (not written, so a re-run asks it again).
    """

    config: ProbeConfig
    out_dir: Path
    run: RunDir
    samples: list[ProbeSample]
    prompts: PromptSet
    answerer: Model
    verifier: Verifier
    embedder: Embedder
    cache: ResponseCache
    models: Mapping[str, Model] = field(default_factory=dict)
    base: Model | None = None
    info: dict[str, Any] = field(default_factory=dict)
    answer_errors: list[str] = field(default_factory=list)
    pools: dict[str, Model] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        config: ProbeConfig,
        out_dir: str | Path,
        models: Mapping[str, Model] | None = None,
        embedder: Embedder | None = None,
    ) -> ProbeContext:
        """Open (or resume) the run directory and load the samples, target and verifier.

        Under a multi-process launch (torchrun, accelerate; env RANK > 0) the other ranks keep their
        own records in out_dir/.rank<N>: a run directory admits one writer, and only rank 0's is the run.
        """
        out_dir = Path(out_dir)
        rank = process_rank()
        run_path = out_dir if rank == 0 else out_dir / f".rank{rank}"
        # local weights by their digest: a retrained answerer in the same folder is another run
        roles = ("questioner", "answerer", "base") if config.base is not None else ("questioner", "answerer")
        weights = {role: weights_identity(getattr(config, role)) for role in roles}
        run = RunDir.open(run_path, "probe", {**config.identity(), "weights": weights}, config.seed)
        pools: dict[str, Model] = {}
        try:
            models = dict(models or {})
            cache = ResponseCache(config.cache)
            samples = load_samples(config)
            prompts = PromptSet.resolve(
                config.questioner,
                config.answerer,
                config.questioner_prompt,
                config.answerer_prompt,
                config.conme_prompt,
                config.image_label,
            )
            answerer = CachedModel(on_engine(config, config.answerer, models, pools), cache)
            base = None
            if config.base is not None:
                base = CachedModel(on_engine(config, config.base, models, pools), cache)
            judge_spec = config.verifier[6:] if config.verifier.startswith("judge:") else None
            if judge_spec is not None and (judge_spec in models or config.engine != "local"):
                from scotoma.judge.vlm_judge import VLMJudge

                verifier: Verifier = VLMJudge(
                    CachedModel(on_engine(config, judge_spec, models, pools), cache),
                    config.verifier,
                    max_new_tokens=config.judge_max_new_tokens,
                )
            elif judge_spec is not None:
                verifier = get_verifier(config.verifier, cache, max_new_tokens=config.judge_max_new_tokens)
            else:
                verifier = get_verifier(config.verifier, cache)
            embedder = embedder or get_embedder(config.embedder)
        except BaseException:
            for pool in pools.values():
                close_model(pool)
            run.close(failed=True)  # nothing was asked yet: leave no run behind
            raise
        return cls(
            config, out_dir, run, samples, prompts, answerer, verifier, embedder, cache, models, base=base,
            pools=pools,
        )  # fmt: skip

    def questioner(self, spec: str) -> Model:
        """A questioner by spec (pre-loaded, trained in this run, or any backend) on the config's engine,
        behind the cache. On a non-local engine the previous questioner's pool is closed first: the
        answerer's, base model's and judge's pools stay for the whole run, one questioner's at a time
        beside them."""
        if spec not in self.pools:
            kept = (self.config.answerer, self.config.base, self.config.verifier[6:])
            for old in [s for s in self.pools if s not in kept]:
                close_model(self.pools.pop(old))
        return CachedModel(on_engine(self.config, spec, self.models, self.pools), self.cache)

    def close(self) -> None:
        """Release the engine's pools and close the run directory."""
        for pool in self.pools.values():
            close_model(pool)
        self.pools.clear()
        self.run.close()

    def probe(self, questioner: Model | None) -> Probe:
        """A Probe with this run's target, verifier, prompts and generation settings."""
        config = self.config
        return Probe(
            questioner,
            self.answerer,
            self.verifier,
            self.prompts,
            k=config.k,
            question_config=GenConfig(
                max_new_tokens=config.question_max_new_tokens,
                temperature=config.question_temperature,
                seed=config.seed,
            ),
            answer_config=GenConfig(
                max_new_tokens=max(config.answer_max_new_tokens, CHAIN_GEN.max_new_tokens)
                if config.chain
                else config.answer_max_new_tokens
            ),
            strict_tags=config.strict_tags,
            chain=config.chain,
            base=self.base,
        )

    def eval_round(
        self, method: str, questioner_spec: str, round_index: int = 0, phase: str = "eval"
    ) -> list[dict[str, Any]]:
        """One evaluation round of a questioner on every sample (`eval_generations` outputs each)."""
        return run_round(
            self.probe(self.questioner(questioner_spec)),
            self.samples,
            self.run,
            method,
            round_index=round_index,
            n=self.config.eval_generations,
            seed=self.config.seed,
            batch_size=self.config.batch_size,
            prefix_length=self.config.prefix_length,
            phase=phase,
            answer_errors=self.answer_errors,
        )


__all__ = ["ProbeContext", "load_samples"]
