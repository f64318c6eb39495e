"""Pools of Ray actors, each holding one replica of a model (RayModelPool, a Model whose `generate` is
spread over them) or of a sentence embedder (RayEmbedderPool, an Embedder).

The driver keeps everything stateful: the response cache wraps the pool, the run directory writes the
records. An actor only answers conversations, so a call is safe to repeat: when an actor dies mid-call
(killed, out of memory, its node lost), the pool starts a replacement and sends it the same share.
Ray restarts an actor that crashed by itself (`max_restarts`) and retries its calls; an actor killed for
good (`ray.kill`) is replaced here. Either way every conversation is answered exactly once per call.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scotoma.engines.config import EngineConfig
from scotoma.errors import MissingExtra
from scotoma.models.base import Model
from scotoma.types import Completion, Conversation, GenConfig, ImagePart, ImageRef, Message

log = logging.getLogger(__name__)


def import_ray() -> Any:
    """The ray module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingExtra("the ray engine needs Ray", "ray", "use --engine local") from None
    return ray


class Replica:
    """What one actor holds: an object (a Model, an Embedder) loaded by spec in the actor's own process."""

    def __init__(self, spec: str, load: Callable[[str], Any]) -> None:
        self.held = load(spec)

    def attributes(self, names: Sequence[str]) -> list[Any]:
        return [getattr(self.held, name, None) for name in names]

    def call(self, method: str, items: Sequence[Any], *args: Any) -> Any:
        return getattr(self.held, method)(items, *args)


def portable(conversation: Conversation, inlined: dict[str, ImageRef] | None = None) -> Conversation:
    """The conversation with every image's bytes inside it: an actor on another node cannot read a path
    that exists only on the driver's machine. `inlined` (sha256 -> image with bytes) shares one copy of
    an image among the conversations of a call, so it is read and sent once."""
    inlined = {} if inlined is None else inlined

    def part(p: Any) -> Any:
        if not isinstance(p, ImagePart):
            return p
        if p.image.sha256 not in inlined:
            image = p.image
            inlined[image.sha256] = (
                image if image.data else dataclasses.replace(image, data=image.read_bytes())
            )
        return dataclasses.replace(p, image=inlined[p.image.sha256])

    messages = tuple(Message(m.role, tuple(part(p) for p in m.content)) for m in conversation.messages)
    return dataclasses.replace(conversation, messages=messages)


def shares(n: int, k: int) -> list[tuple[int, int]]:
    """Split range(n) into at most k contiguous, nearly equal, non-empty [start, stop) shares."""
    k = max(1, min(k, n))
    bounds = [n * i // k for i in range(k + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(k)]


def wait_for_room(ray: Any, n: int, options: dict[str, Any], spec: str, timeout_s: float = 15.0) -> None:
    """Return once the cluster has room for `n` actors of `options`; otherwise fail with what to change.

    Ray would queue actors that do not fit until something frees room: a job holding two models at once
    (a target and its judge) with one actor per GPU each would wait forever. Room freed by a pool that
    just closed shows up after a moment, hence the short wait.
    """
    need = {"GPU": n * options["num_gpus"], "CPU": n * options["num_cpus"]}
    deadline = time.monotonic() + timeout_s
    while True:
        free = ray.available_resources()
        short = {k: v for k, v in need.items() if v > free.get(k, 0.0) + 1e-9}
        if not short or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if short:
        have = ", ".join(f"{free.get(k, 0.0):g} {k}" for k in short)
        raise RuntimeError(
            f"ray engine: {n} actors of {spec} need {', '.join(f'{v:g} {k}' for k, v in short.items())} but "
            f"the cluster has {have} free (other models of the job hold the rest); give fewer actors or a "
            "share per actor, e.g. --engine ray:actors=4 or ray:gpus=0.5"
        )


class RayPool:
    """Replicas of one object on Ray actors; `map` splits a list of items among them.

    Attributes:
        actors: the live actor handles.
        replaced: actors replaced since the pool started.
    """

    def __init__(self, spec: str, load: Callable[[str], Any], config: EngineConfig) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=config.address, include_dashboard=False, log_to_driver=False)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        n = config.actors or (int(ray.cluster_resources()["GPU"]) if has_gpus else 2)
        self.config = config
        self.spec = spec
        self._load = load
        self._name = f"scotoma-{uuid.uuid4().hex[:8]}"
        self._made = 0
        self.replaced = 0
        self._actor_class = ray.remote(Replica)
        self._options = {
            "num_cpus": config.cpus,
            "num_gpus": config.gpus if config.gpus is not None else (1.0 if has_gpus else 0.0),
            # a crash restarts the process (reloading the model) and Ray retries its calls
            "max_restarts": 2,
            "max_task_retries": 2,
        }
        wait_for_room(ray, n, self._options, spec)
        self.actors = [self._start() for _ in range(n)]

    def _start(self) -> Any:
        self._made += 1
        return self._actor_class.options(name=f"{self._name}-{self._made}", **self._options).remote(
            self.spec, self._load
        )

    def attributes(self, *names: str) -> list[Any]:
        """Attributes of the held object, read from the first replica (waits until it has loaded)."""
        ray = import_ray()
        ready = ray.get([actor.attributes.remote(names) for actor in self.actors])
        return ready[0]

    def map(self, method: str, items: Sequence[Any], *args: Any) -> list[Any]:
        """`method(share, *args)` on every actor at once, one contiguous share of `items` each; the
        results in the order of the shares. The share of an actor that died goes to its replacement."""
        ray = import_ray()
        parts = shares(len(items), len(self.actors))
        refs = [self.actors[i].call.remote(method, items[a:b], *args) for i, (a, b) in enumerate(parts)]
        out = []
        budget = self.config.replacements
        for i, (a, b) in enumerate(parts):
            while True:
                try:
                    out.append(ray.get(refs[i]))
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
                    refs[i] = self.actors[i].call.remote(method, items[a:b], *args)
        return out

    def close(self) -> None:
        """Stop the actors (their GPUs go back to the cluster)."""
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


class RayModelPool(RayPool):
    """The Model protocol over Ray actors, each holding one replica; a call splits its conversations.

    Attributes:
        spec: the replicas' spec (with the weights digest `load` adds), so cache keys match the local
            engine's.
        max_images: the replicas' limit.
    """

    def __init__(self, spec: str, load: Callable[[str], Model], config: EngineConfig) -> None:
        super().__init__(spec, load, config)
        self.spec, self.max_images = self.attributes("spec", "max_images")

    def generate(self, conversations: Sequence[Conversation], config: GenConfig) -> list[Completion]:
        """Answer every conversation, in order; images travel as bytes."""
        inlined: dict[str, ImageRef] = {}
        shared = self.map("generate", [portable(c, inlined) for c in conversations], config)
        return [completion for part in shared for completion in part]


class RayEmbedderPool(RayPool):
    """The Embedder protocol over Ray actors: a call splits its texts among the replicas.

    Attributes:
        name: the replicas' name, so vectors stored by the local engine's embedder are found again.
    """

    def __init__(self, spec: str, load: Callable[[str], Any], config: EngineConfig) -> None:
        super().__init__(spec, load, config)
        (self.name,) = self.attributes("name")
        self.name = self.name or spec

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        parts = self.map("encode", list(texts))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
