"""The one base of the errors a user can act on.

A `ScotomaError` means bad input or an environment the job cannot use (a missing file, a run directory
of another run, an unreachable model); its message says what to do. The CLI turns it, like ValueError and
OSError, into one line and exit code 2 (scotoma.cli.boundary); anything else is a bug, exit code 1.
"""

from __future__ import annotations


class ScotomaError(Exception):
    """Bad input or an unusable environment; the message says what to do."""


__all__ = ["ScotomaError"]
