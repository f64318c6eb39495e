"""The CLI's one error boundary: every failure ends in one line on stderr and an exit code.

    0    done
    1    an unexpected error, i.e. a bug: rerun with --debug for the traceback and report it
    2    bad input or an environment the job cannot use (ScotomaError, ValueError, OSError, YAML, a bad
         option); the line says what to do
    130  interrupted (Ctrl-C)

It sits in the command tree itself (`ScotomaGroup.invoke` wraps every subcommand, options parsing
included), so `scotoma ...` and typer's CliRunner see the same behaviour. `scotoma --debug JOB ...` or
SCOTOMA_DEBUG=1 prints the traceback as well.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer
from typer import _click as click  # typer vendors click since 0.22 (pinned in pyproject)
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

MAX_MESSAGE = 600  # characters; a longer message is cut (the traceback with --debug has it all)


def one_line(text: str) -> str:
    """Collapse whitespace (YAML and pydantic messages span lines) and cut very long messages."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."


def is_user_error(error: BaseException) -> bool:
    """Whether the error is the user's to fix (exit 2) rather than a bug (exit 1)."""
    import yaml

    from scotoma.errors import ScotomaError

    return isinstance(error, ScotomaError | ValueError | OSError | yaml.YAMLError)


def message_of(error: BaseException) -> str:
    """What the user reads: the error's own message, with the file an OSError names."""
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}; check the path and its permissions"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get("SCOTOMA_DEBUG", "") not in ("", "0")


class ScotomaGroup(TyperGroup):
    """The root command group, with the error boundary around every subcommand."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except NoArgsIsHelpError:
            raise
        except click.exceptions.UsageError as error:  # the root's own options, e.g. `scotoma --nope`
            click.echo(f"error: {one_line(error.format_message())} (see '{info_name} --help')", err=True)
            raise typer.Exit(2) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, NoArgsIsHelpError):
            raise  # done, Ctrl-C (typer exits 130), or a bare `scotoma synth` asking for its help
        except click.exceptions.UsageError as error:  # bad options, arguments, typer.BadParameter
            where = error.ctx.command_path if error.ctx is not None else ctx.command_path
            _fail(ctx, f"{error.format_message()} (see '{where} --help')", 2, error)
        except click.exceptions.ClickException as error:
            _fail(ctx, error.format_message(), error.exit_code, error)
        except Exception as error:
            if is_user_error(error):
                _fail(ctx, message_of(error), 2, error)
            _fail(
                ctx,
                f"unexpected {type(error).__name__}: {message_of(error)} (a bug: rerun with --debug for the "
                "traceback and report it)",
                1,
                error,
            )


def _fail(ctx: click.Context, message: str, code: int, error: BaseException) -> None:
    root = ctx.find_root()
    if _debug(root):
        traceback.print_exception(error, file=sys.stderr)
    click.echo(f"error: {one_line(message)}", err=True)
    ctx.exit(code)


__all__ = ["ScotomaGroup", "is_user_error", "message_of", "one_line"]
