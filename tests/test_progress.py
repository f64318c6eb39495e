"""Progress bars: counting, silence, nesting on one live display."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import scotoma.progress as progress_module
from scotoma.progress import is_quiet, library_bars_hidden, progress_bar, track


def test_silent_under_pytest_capture_but_still_counts(capsys):
    assert is_quiet()
    with progress_bar("work", total=3) as bar:
        bar.advance()
        bar.advance(2)
    assert (bar.completed, bar.total) == (3, 3)
    assert list(track(range(4), "items")) == [0, 1, 2, 3]
    assert list(track((i for i in range(2)), "gen")) == [0, 1]
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_quiet_env(monkeypatch):
    monkeypatch.setattr(
        progress_module, "Console", lambda **kw: Console(file=io.StringIO(), force_terminal=True)
    )
    monkeypatch.setenv("SCOTOMA_QUIET", "0")
    assert not is_quiet()
    monkeypatch.setenv("SCOTOMA_QUIET", "1")
    assert is_quiet()


def test_nested_bars_share_one_live_display(monkeypatch):
    sink = io.StringIO()
    monkeypatch.setattr(
        progress_module, "Console", lambda **kw: Console(file=sink, force_terminal=True, width=100)
    )
    monkeypatch.delenv("SCOTOMA_QUIET", raising=False)
    with progress_bar("outer", total=2) as outer:
        shared = progress_module._shared
        for _ in range(2):
            for _item in track([1, 2, 3], "inner"):  # rich would raise LiveError on a second live display
                assert progress_module._shared is shared
            outer.advance()
        assert len(shared.tasks) == 1  # inner tasks removed when done
        assert shared.tasks[0].completed == 2
    assert progress_module._shared is None and progress_module._open_bars == 0
    assert "outer" in sink.getvalue()


def test_bar_closed_on_error(monkeypatch):
    monkeypatch.setattr(
        progress_module, "Console", lambda **kw: Console(file=io.StringIO(), force_terminal=True)
    )
    monkeypatch.delenv("SCOTOMA_QUIET", raising=False)
    with pytest.raises(ValueError), progress_bar("x"):
        raise ValueError
    assert progress_module._shared is None and progress_module._open_bars == 0


@pytest.mark.parametrize("shown", [True, False])
def test_library_bars_are_hidden_for_the_duration_then_left_as_they_were(shown):
    import datasets
    from transformers.utils import logging as transformers_logging

    def state():
        return not datasets.are_progress_bars_disabled(), transformers_logging.is_progress_bar_enabled()

    if shown:
        datasets.enable_progress_bars()
        transformers_logging.enable_progress_bar()
    else:
        datasets.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    try:
        with library_bars_hidden():
            assert state() == (False, False)
        assert state() == (shown, shown)
    finally:
        datasets.enable_progress_bars()
        transformers_logging.enable_progress_bar()
