"""The `scotoma` command: parses options, calls the library, prints progress. No logic of its own.

One module per job; each imports its library lazily so `scotoma --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scotoma.cli.bench import bench
from scotoma.cli.boundary import ScotomaGroup
from scotoma.cli.jobs import probe, report, taxonomy
from scotoma.cli.loop import loop
from scotoma.cli.serve import serve
from scotoma.cli.synth import synth_app
from scotoma.cli.train import train_app
from scotoma.cli.world import world_app
from scotoma.cli.world_models import register as register_world_models

app = typer.Typer(
    cls=ScotomaGroup,  # the error boundary: one line and exit code 2 for bad input, --debug for tracebacks
    help="Find, measure and fix the blind spots of vision-language models.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="On an error, print the traceback too (or set SCOTOMA_DEBUG=1).")
    ] = False,
) -> None:
    """Find, measure and fix the blind spots of vision-language models."""


register_world_models(world_app)  # train-answerer, train-questioner, eval-model, ship-model
app.command()(probe)
app.command()(bench)
app.add_typer(synth_app, name="synth")
app.add_typer(train_app, name="train")
app.command()(loop)
app.command()(report)
app.command()(taxonomy)
app.add_typer(world_app, name="world")
app.command()(serve)


def main() -> None:
    app()


__all__ = ["app", "main"]
