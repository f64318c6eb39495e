"""Where a job's model calls run: `local` (in this process, the default) or `ray` (a pool of Ray actors).

Written on the command line as one string: `local`, `ray`, or `ray:` followed by comma-separated
options, e.g. `ray:actors=8,gpus=1,address=auto`.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("local", "ray")
#: the --engine option's help, one text for every command that has it
ENGINE_HELP = (
    "Where model calls run: local (default), ray (a pool of Ray actors, one model replica each) or "
    "ray:actors=N,gpus=G,address=A."
)


@dataclass(frozen=True)
class EngineConfig:
    """How model calls are spread.

    Attributes:
        kind: "local" (one model in this process) or "ray" (one model replica per Ray actor).
        actors: replicas in the pool; None: one per GPU of the cluster, or 2 on a cluster without GPUs.
        gpus: GPUs each actor holds; None: 1 where the cluster has GPUs, else 0.
        cpus: CPU cores each actor holds (its torch threads on CPU).
        address: the Ray cluster to join ("auto", "HOST:PORT", "ray://HOST:10001"); None joins the cluster
            this process already started, $RAY_ADDRESS, or else starts one on this machine.
        replacements: how many times a pool replaces dead actors in one call before it gives up.
    """

    kind: str = "local"
    actors: int | None = None
    gpus: float | None = None
    cpus: float = 1.0
    address: str | None = None
    replacements: int = 8

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown engine {self.kind!r}; use 'local' or 'ray' (e.g. ray:actors=4)")
        if self.actors is not None and self.actors < 1:
            raise ValueError(f"engine actors must be at least 1, got {self.actors}")
        if (self.gpus is not None and self.gpus < 0) or self.cpus < 0:
            raise ValueError("engine gpus and cpus per actor cannot be negative")

    @classmethod
    def parse(cls, text: str | EngineConfig | None) -> EngineConfig:
        """`local`, `ray` or `ray:actors=N,gpus=G,cpus=C,address=A,replacements=R`; None is local."""
        if isinstance(text, EngineConfig):
            return text
        if text is None or not text.strip():
            return cls()
        kind, _, rest = text.strip().partition(":")
        options: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in rest.split(","))):
            name, eq, value = part.partition("=")
            converters = {"actors": int, "gpus": float, "cpus": float, "address": str, "replacements": int}
            if not eq or name not in converters:
                raise ValueError(
                    f"bad engine option {part!r} in {text!r}; use NAME=VALUE with NAME one of "
                    f"{', '.join(converters)}, e.g. ray:actors=4,gpus=1"
                )
            try:
                options[name] = converters[name](value)
            except ValueError:
                raise ValueError(f"engine option {name} needs a number, got {value!r}") from None
        if options and kind != "ray":
            raise ValueError(f"engine {kind!r} takes no options; options are for ray (ray:actors=4)")
        return cls(kind=kind, **options)  # type: ignore[arg-type]
