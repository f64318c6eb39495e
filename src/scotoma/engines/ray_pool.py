"""A Model whose `generate` is spread over a pool of Ray actors, each holding one replica of the model.

The driver keeps everything stateful: the response cache wraps the pool, the run directory writes the
records. An actor only answers conversations, so a call is safe to repeat: when an actor dies mid-call
(killed, out of memory, its node lost), the pool starts a replacement and sends it the same share.
Ray restarts an actor that crashed by itself (`max_restarts`) and retries its calls; an actor killed for
good (`ray.kill`) is replaced here. Either way every conversation is answered exactly once per call.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from scotoma.engines.config import EngineConfig
from scotoma.models.base import Model
from scotoma.types import Completion, Conversation, GenConfig, ImagePart, Message

log = logging.getLogger(__name__)


def import_ray() -> Any:
    """The ray module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError(
            "the ray engine needs Ray: pip install 'scotoma[ray]' (or use --engine local)"
        ) from None
    return ray


class ModelReplica:
    """What one actor holds: a model loaded by spec in the actor's own process."""

    def __init__(self, spec: str, load: Callable[[str], Model]) -> None:
        self.model = load(spec)

    def describe(self) -> tuple[str, int | None]:
        return self.model.spec, self.model.max_images

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        return self.model.generate(conversations, config)


def portable(conversation: Conversation) -> Conversation:
    """The conversation with every image's bytes inside it: an actor on another node cannot read a path
    that exists only on the driver's machine."""

    def part(p: Any) -> Any:
        if isinstance(p, ImagePart) and p.image.data is None:
            return dataclasses.replace(p, image=dataclasses.replace(p.image, data=p.image.read_bytes()))
        return p

    messages = tuple(Message(m.role, tuple(part(p) for p in m.content)) for m in conversation.messages)
    return dataclasses.replace(conversation, messages=messages)


def shares(n: int, k: int) -> list[tuple[int, int]]:
    """Split range(n) into at most k contiguous, nearly equal, non-empty [start, stop) shares."""
    k = max(1, min(k, n))
    bounds = [n * i // k for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k)]


class RayModelPool:
    """The Model protocol over Ray actors; each call splits its conversations among the actors.

    Attributes:
        spec: the replicas' spec (with the weights digest `load` adds), so cache keys match the local
            engine's.
        max_images: the replicas' limit.
        actors: the live actor handles.
        replaced: actors replaced since the pool started.
    """

    def __init__(self, spec: str, load: Callable[[str], Model], config: EngineConfig) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=config.address, include_dashboard=False, log_to_driver=False)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        self.gpus = config.gpus if config.gpus is not None else (1.0 if has_gpus else 0.0)
        n = config.actors or (int(ray.cluster_resources()["GPU"]) if has_gpus else 2)
        self.config = config
        self._spec_in = spec
        self._load = load
        self._name = f"scotoma-{uuid.uuid4().hex[:8]}"
        self._made = 0
        self.replaced = 0
        self._actor_class = ray.remote(ModelReplica)
        self._options = {
            "num_cpus": config.cpus,
            "num_gpus": self.gpus,
            # a crash restarts the process (reloading the model) and Ray retries its calls
            "max_restarts": 2,
            "max_task_retries": 2,
        }
        self.actors = [self._start() for _ in range(n)]
        described = ray.get([actor.describe.remote() for actor in self.actors])
        self.spec, self.max_images = described[0]

    def _start(self) -> Any:
        self._made += 1
        return self._actor_class.options(name=f"{self._name}-{self._made}", **self._options).remote(
            self._spec_in, self._load
        )

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        """Answer every conversation: contiguous shares go to the actors at once, results come back in
        order; the share of an actor that died goes to its replacement."""
        ray = import_ray()
        sent = [portable(c) for c in conversations]
        parts = shares(len(sent), len(self.actors))
        refs = [self.actors[i].generate.remote(sent[a:b], config) for i, (a, b) in enumerate(parts)]
        out: list[Completion] = []
        budget = self.config.replacements
        for i, (a, b) in enumerate(parts):
            while True:
                try:
                    out.extend(ray.get(refs[i]))
                    break
                except ray.exceptions.RayActorError as error:
                    if budget == 0:
                        raise RuntimeError(
                            f"ray engine: actors of {self.spec} kept dying ({self.config.replacements} "
                            f"replaced in one call); last error: {error}"
                        ) from error
                    budget -= 1
                    log.warning("ray engine: actor %d of %s died; starting a replacement", i, self.spec)
                    self.actors[i] = self._start()
                    self.replaced += 1
                    refs[i] = self.actors[i].generate.remote(sent[a:b], config)
        return out

    def close(self) -> None:
        """Stop the actors (their GPUs go back to the cluster)."""
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
