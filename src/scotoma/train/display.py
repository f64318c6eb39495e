"""What a training run shows on the terminal: one progress bar over the optimiser steps with the latest
figures beside it (scotoma.progress), instead of transformers' printed log dicts.

Every log dict still lands in the run directory: `harness.step_logger` appends each one to the training
run's records.jsonl and the final summary to its metrics.json. The display only chooses a few of its
figures, named by `StatusField`s: a stage's own (`STAGE_FIELDS`) or a caller's (the probe adds validity
and FDR).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from scotoma.progress import ProgressBar, progress_bar


@dataclass(frozen=True)
class StatusField:
    """One figure of the display.

    Attributes:
        label: what the display calls it, e.g. "FDR".
        key: its key in the trainer's log dict, e.g. "probe/fdr".
        percent: show a fraction as a percentage ("28%") rather than a number ("0.280").
    """

    label: str
    key: str
    percent: bool = False

    def format(self, value: float) -> str:
        return f"{self.label} {value:.0%}" if self.percent else f"{self.label} {value:.3g}"


LOSS = StatusField("loss", "loss")
REWARD = StatusField("reward", "reward")
STAGE_FIELDS: dict[str, tuple[StatusField, ...]] = {
    "sft": (LOSS,),
    "dpo": (LOSS, StatusField("pref. acc", "rewards/accuracies", percent=True)),
    # GRPO's loss sits near zero by construction (group-normalised advantages); the reward is what moves
    "grpo": (REWARD,),
}


def status_text(logs: Mapping[str, Any], fields: Sequence[StatusField]) -> str:
    """The figures of `fields` found in one log dict, e.g. "reward -0.113  valid 78%  FDR 28%"."""
    parts = [f.format(float(logs[f.key])) for f in fields if isinstance(logs.get(f.key), int | float)]
    return "  ".join(parts)


def training_display(description: str, fields: Sequence[StatusField]) -> Any:
    """A TrainerCallback drawing a bar over the optimiser steps (step/total, elapsed, time left) with the
    latest `fields` beside `description`; `.bar` holds its state, drawn or not (SCOTOMA_QUIET, no tty)."""
    from transformers import TrainerCallback

    class TrainingDisplay(TrainerCallback):
        def __init__(self) -> None:
            self._stack = ExitStack()
            self.bar: ProgressBar | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.bar = self._stack.enter_context(progress_bar(description, total=state.max_steps or None))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.advance()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            text = status_text(logs or {}, fields)
            if text and self.bar is not None:
                self.bar.set_status(text)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._stack.close()

    return TrainingDisplay()


__all__ = ["LOSS", "REWARD", "STAGE_FIELDS", "StatusField", "status_text", "training_display"]
