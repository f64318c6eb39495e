"""Engines: the ray engine's records equal the local engine's, a killed actor is replaced, a killed
driver resumes. One local Ray cluster (2 CPUs) serves the whole module."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from scotoma.bench import BenchConfig, run_bench
from scotoma.cli import app
from scotoma.engines import EngineConfig, open_model
from scotoma.engines.ray_pool import RayModelPool, shares
from scotoma.models import get_model
from scotoma.synth.run import run_synth
from scotoma.synth.s2h import S2HConfig

BENCH = {"benchmark": "world", "permute": "images", "limit": 6, "batch_size": 8, "n_boot": 10}


def records(run_dir: Path) -> list[dict[str, Any]]:
    """The run's records without wall-clock fields, which differ between any two runs."""
    lines = (run_dir / "records.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "latency_s"} for line in lines]


def echo_loader(seconds_per_answer: float = 0.0) -> Callable[[str], Any]:
    """A loader whose model answers with what identifies the conversation (its images and its question's
    end), so an answer given to the wrong variant shows. Nested, so Ray ships it by value to the actors."""

    def load(spec: str) -> Any:
        import time

        from scotoma.models import ScriptedModel

        def respond(conversation: Any) -> str:
            time.sleep(seconds_per_answer)
            return (
                " ".join(i.sha256[:6] for i in conversation.images)
                + " "
                + conversation.messages[-1].text[-12:]
            )

        return ScriptedModel(respond, spec=spec)

    return load


# ---- without Ray ----------------------------------------------------------------------------------


def test_engine_strings_parse_and_bad_ones_are_named() -> None:
    assert EngineConfig.parse(None) == EngineConfig()
    assert EngineConfig.parse("ray") == EngineConfig(kind="ray")
    assert EngineConfig.parse("ray:actors=8,gpus=1,address=auto") == EngineConfig(
        kind="ray", actors=8, gpus=1.0, address="auto"
    )
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        EngineConfig.parse("spark")
    with pytest.raises(ValueError, match="bad engine option 'workers=2'"):
        EngineConfig.parse("ray:workers=2")
    with pytest.raises(ValueError, match="actors needs a number"):
        EngineConfig.parse("ray:actors=two")
    with pytest.raises(ValueError, match="takes no options"):
        EngineConfig.parse("local:actors=2")
    with pytest.raises(ValueError, match="at least 1"):
        EngineConfig.parse("ray:actors=0")


def test_the_engine_is_not_part_of_a_runs_identity_and_a_bad_one_is_refused() -> None:
    from scotoma.loop.config import LoopConfig
    from scotoma.probe.config import ProbeConfig

    assert LoopConfig(engine="ray").identity() == LoopConfig().identity()  # a run resumes on any engine
    assert ProbeConfig(engine="ray:actors=4").identity() == ProbeConfig().identity()
    for config in (LoopConfig, ProbeConfig):
        with pytest.raises(ValueError, match="unknown engine 'spark'"):
            config(engine="spark")


def test_conversations_carry_their_image_bytes_to_the_actors_once_per_image(tmp_path: Path) -> None:
    from PIL import Image

    from scotoma.engines.ray_pool import portable
    from scotoma.types import Conversation, ImageRef

    Image.new("RGB", (8, 8), "blue").save(tmp_path / "a.png")
    on_disk = ImageRef.from_path(tmp_path / "a.png")  # no bytes in memory: a path on this machine only
    assert on_disk.data is None
    inlined: dict[str, ImageRef] = {}
    first = portable(Conversation.user(on_disk, "is there a blue circle ?"), inlined)
    second = portable(Conversation.user("again", on_disk), inlined)
    assert first.images[0].data == (tmp_path / "a.png").read_bytes()
    assert second.images[0] is first.images[0]  # one copy per call, so it is sent once
    assert first.to_dict() == Conversation.user(on_disk, "is there a blue circle ?").to_dict()


def test_shares_are_contiguous_near_equal_and_cover_every_index() -> None:
    assert shares(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shares(2, 4) == [(0, 1), (1, 2)]
    assert shares(0, 2) == [(0, 0)]


def test_a_bad_engine_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    command = ["bench", "world", "--model", "scripted:yes", "--engine", "spark", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "unknown engine 'spark'" in result.output
    assert not (tmp_path / "r").exists()


# ---- on a local Ray cluster -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Any:
    ray = pytest.importorskip("ray")  # installed by the dev extra; a bare install skips these
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def answerer_pool(cluster: Any) -> Any:
    """Two replicas of builtin:answerer, started once for the module (loaded by get_model, as synth does)."""
    pool = open_model("builtin:answerer", EngineConfig(kind="ray", actors=2), get_model)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def local_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local_bench")
    run_bench(BenchConfig(model="builtin:answerer", cache=out / "cache.sqlite", **BENCH), out)
    return out


@pytest.mark.integration
def test_bench_world_on_two_actors_writes_the_local_engines_records(
    answerer_pool: RayModelPool, local_bench: Path, tmp_path: Path
) -> None:
    result = run_bench(BenchConfig(model=answerer_pool, cache=tmp_path / "c.sqlite", **BENCH), tmp_path)
    assert result.n_new == result.n_variants > 2 * BENCH["batch_size"]
    assert records(tmp_path) == records(local_bench)


@pytest.mark.integration
def test_a_synth_stage_on_two_actors_writes_the_local_engines_records(
    answerer_pool: RayModelPool, tmp_path: Path
) -> None:
    config = S2HConfig(levels=("L1",))
    kwargs = {"n": 12, "batch_size": 4, "seed": 3}
    run_synth("s2h", config, tmp_path / "local", "builtin:answerer", cache=tmp_path / "l.sqlite", **kwargs)
    run_synth("s2h", config, tmp_path / "ray", answerer_pool, cache=tmp_path / "r.sqlite", **kwargs)
    local = records(tmp_path / "local")
    assert len(local) == 12 and any(r.get("kind") != "dropped" for r in local)
    assert records(tmp_path / "ray") == local


@pytest.mark.integration
def test_bench_on_the_command_line_with_the_ray_engine(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--engine reaches the runner: the pool starts, answers, and its actors are gone afterwards."""
    common = ["bench", "world", "--model", "scripted:yes", "--limit", "4", "--n-boot", "10", "--no-html"]
    outputs = {}
    before = set(cluster.util.list_named_actors())
    for engine in ("local", "ray:cpus=0"):
        monkeypatch.setenv("SCOTOMA_CACHE_DIR", str(tmp_path / engine / "cache"))  # each asks the model
        out = tmp_path / engine / "run"
        outputs[engine] = CliRunner().invoke(app, [*common, "--out", str(out), "--engine", engine])
        assert outputs[engine].exit_code == 0, outputs[engine].output
        if engine != "local":
            assert set(cluster.util.list_named_actors()) == before  # the run's actors were stopped
    assert records(tmp_path / "ray:cpus=0" / "run") == records(tmp_path / "local" / "run")


@pytest.mark.integration
def test_a_killed_actor_is_replaced_and_nothing_is_lost_or_doubled(cluster: Any, tmp_path: Path) -> None:
    config = EngineConfig(kind="ray", actors=2, cpus=0)
    local = run_bench(
        BenchConfig(model=echo_loader()("scripted:echo"), cache=tmp_path / "l.sqlite", **BENCH),
        tmp_path / "local",
    )
    pool = RayModelPool("scripted:echo", echo_loader(seconds_per_answer=0.05), config)
    killed: list[Any] = []
    replaced_during: list[int] = []

    class KillsAnActor:
        """The pool, with actor 0 killed for good (no restart) while it answers its share of the third
        batch (4 answers, 0.2 s; the kill comes 0.1 s after the share was sent)."""

        spec, max_images, calls = pool.spec, pool.max_images, 0

        def generate(self, conversations: Any, gen: Any) -> Any:
            self.calls += 1
            if self.calls == 3:
                killed.append(pool.actors[0])
                threading.Timer(0.1, cluster.kill, [pool.actors[0]]).start()
            answers = pool.generate(conversations, gen)
            if self.calls == 3:
                replaced_during.append(pool.replaced)  # 1: the kill landed in this call, not after it
            return answers

    try:
        result = run_bench(
            BenchConfig(model=KillsAnActor(), cache=tmp_path / "r.sqlite", **BENCH), tmp_path / "ray"
        )
    finally:
        pool.close()
    assert killed and pool.replaced == 1 and replaced_during == [1]
    assert result.n_new == local.n_variants
    keys = [r["key"] for r in records(tmp_path / "ray")]
    assert len(keys) == len(set(keys)) == local.n_variants
    assert records(tmp_path / "ray") == records(tmp_path / "local")


DRIVER = """
import os, signal, sys
from scotoma.bench import BenchConfig, run_bench
from scotoma.engines import EngineConfig
from scotoma.engines.ray_pool import RayModelPool
{loader}
pool = RayModelPool("scripted:echo", load, EngineConfig(kind="ray", actors=2, cpus=0, address=sys.argv[2]))

class DiesOnTheThirdBatch:
    spec, max_images, calls = pool.spec, pool.max_images, 0

    def generate(self, conversations, gen):
        self.calls += 1
        if self.calls == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: as a lost node or OOM kill
        return pool.generate(conversations, gen)

run_bench(BenchConfig(model=DiesOnTheThirdBatch(), cache=sys.argv[3], **{bench}), sys.argv[1])
"""


@pytest.mark.integration
def test_a_driver_killed_mid_run_resumes(cluster: Any, tmp_path: Path) -> None:
    loader = textwrap.dedent(
        """
        def load(spec):
            from scotoma.models import ScriptedModel
            return ScriptedModel(
                lambda c: " ".join(i.sha256[:6] for i in c.images) + " " + c.messages[-1].text[-12:],
                spec=spec,
            )
        """
    )
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.format(loader=loader, bench=BENCH))
    address = cluster.get_runtime_context().gcs_address
    run = tmp_path / "run"
    cache = str(tmp_path / "shared.sqlite")  # the dead driver's and the resumed one's
    died = subprocess.run(
        [sys.executable, str(script), str(run), address, cache], capture_output=True, text=True
    )
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    written = records(run)
    assert len(written) == 2 * BENCH["batch_size"]  # two batches written before it died

    local = run_bench(
        BenchConfig(model=echo_loader()("scripted:echo"), cache=tmp_path / "l.sqlite", **BENCH),
        tmp_path / "local",
    )
    pool = RayModelPool("scripted:echo", echo_loader(), EngineConfig(kind="ray", actors=2, cpus=0))

    class Resumes:
        spec, max_images = pool.spec, pool.max_images
        generate = staticmethod(pool.generate)

    try:
        resumed = run_bench(BenchConfig(model=Resumes(), cache=cache, **BENCH), run)
    finally:
        pool.close()
    assert resumed.n_skipped == len(written)
    assert resumed.n_new == local.n_variants - len(written)
    assert records(run) == records(tmp_path / "local")


@pytest.mark.integration
def test_the_probes_answerer_on_the_ray_engine_gives_the_local_engines_records(
    cluster: Any, tmp_path: Path
) -> None:
    """The probe's evaluation pass with its answerer on two actors; then the run resumes locally."""
    from scotoma.models import ScriptedModel
    from scotoma.models.embed import HashingEmbedder
    from scotoma.probe.config import ProbeConfig
    from scotoma.probe.run import run_probe

    def questioner(conversation: Any) -> str:
        return "<response_1>Is there a blue circle?</response_1><response_2>How many squares?</response_2>"

    def probe(engine: str, out: Path, methods: tuple[str, ...] = ("zero_shot",)) -> Any:
        config = ProbeConfig(
            questioner="scripted:q",
            answerer="scripted:no",
            methods=list(methods),
            world_samples=6,
            eval_generations=2,
            batch_size=4,
            min_skill_questions=1,
            cache=str(out.parent / f"{out.name}.sqlite"),
            engine=engine,
        )
        models = {"scripted:q": ScriptedModel(questioner)}
        return run_probe(config, out, models=models, embedder=HashingEmbedder(), quiet=True)

    before = set(cluster.util.list_named_actors())
    probe("local", tmp_path / "local")
    on_ray = probe("ray:actors=2,cpus=0", tmp_path / "ray")
    assert set(cluster.util.list_named_actors()) == before  # the run closed its pool
    assert records(tmp_path / "ray") == records(tmp_path / "local")
    assert on_ray.metrics["methods"]["zero_shot"]["questions"] == 6 * 2 * 2
    # where the calls ran is not part of the run: the same directory resumes on the local engine
    again = probe("local", tmp_path / "ray")
    assert again.metrics["methods"] == on_ray.metrics["methods"]


@pytest.mark.integration
def test_embeddings_on_two_actors_equal_the_local_embedders(cluster: Any) -> None:
    from scotoma.engines import close_model, open_embedder

    texts = [f"is there a {c} {s} ?" for c in ("blue", "yellow", "black") for s in ("circle", "square")]
    pool = open_embedder("hashing", "ray:actors=2,cpus=0")
    try:
        assert pool.name == "hashing"  # vectors stored by the local embedder are found again
        assert np.array_equal(pool.encode(texts), open_embedder("hashing").encode(texts))
        assert pool.encode(texts[:1]).shape == (1, open_embedder("hashing").encode(texts[:1]).shape[1])
    finally:
        close_model(pool)


@pytest.mark.slow
def test_a_taxonomy_with_its_embedder_on_two_actors_equals_the_local_one(
    cluster: Any, tmp_path: Path
) -> None:
    """all-MiniLM-L6-v2 on two actors (each loads sentence-transformers): the same skills, the same file."""
    from scotoma.taxonomy import ClusterConfig, TaxonomyConfig, build_taxonomy
    from scotoma.taxonomy.stand_in import StandIn, world_questions

    questions = world_questions(60, seed=0)
    config = TaxonomyConfig(
        cluster=ClusterConfig(method="agglomerative", min_cluster_size=3, distance_threshold=0.6)
    )
    built = {}
    for engine in ("local", "ray:actors=2"):
        out = tmp_path / engine
        built[engine] = build_taxonomy(
            questions,
            out,
            config=config,
            cache=tmp_path / f"{engine}-caches" / "r.sqlite",  # beside the run: its folder holds only the run
            store=tmp_path / f"{engine}-caches" / "s.sqlite",
            engine=engine,
            **StandIn().models(),
        )
    assert built["local"].skills == built["ray:actors=2"].skills
    assert records(tmp_path / "local") == records(tmp_path / "ray:actors=2")


def test_a_pool_that_cannot_fit_says_what_to_change() -> None:
    """Ray would queue actors that do not fit forever (a job's second model with one actor per GPU)."""
    from types import SimpleNamespace

    from scotoma.engines.ray_pool import wait_for_room

    full = SimpleNamespace(available_resources=lambda: {"CPU": 2.0, "GPU": 1.0})
    wait_for_room(full, 2, {"num_gpus": 0.5, "num_cpus": 1.0}, "hf:judge", timeout_s=0)  # fits
    with pytest.raises(RuntimeError, match=r"2 actors of hf:judge need 2 GPU but the cluster has 1 GPU free"):
        wait_for_room(full, 2, {"num_gpus": 1.0, "num_cpus": 1.0}, "hf:judge", timeout_s=0)
