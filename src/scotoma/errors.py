"""The one base of the errors a user can act on.

A `ScotomaError` means bad input or an environment the job cannot use (a missing file, a run directory
of another run, an unreachable model); its message says what to do. The CLI turns it, like ValueError and
OSError, into one line and exit code 2 (scotoma.cli.boundary); anything else is a bug, exit code 1.
"""

from __future__ import annotations


class ScotomaError(Exception):
    """Bad input or an unusable environment; the message says what to do."""


class MissingExtra(ScotomaError, ImportError):
    """An optional dependency the job needs is not installed: one line naming the extra to install."""

    def __init__(self, needs: str, extra: str, alternative: str = "") -> None:
        """`needs`: what is missing and for what; `extra`: the pyproject extra that installs it;
        `alternative`: a way to do without, if there is one."""
        hint = f"pip install 'scotoma[{extra}]'" + (f" (or {alternative})" if alternative else "")
        super().__init__(f"{needs}: {hint}")
        self.extra = extra


__all__ = ["MissingExtra", "ScotomaError"]
