"""The closed loop: find a target's failures (probe), fix them (synth + train), verify (probe + bench).

from scotoma.loop import LoopConfig, run_loop
result = run_loop(LoopConfig(), "runs/loop")
result.metrics["verdicts"]   # targeted failure down a third, others kept, NLVR1 kept
"""

from scotoma.loop.config import LoopConfig
from scotoma.loop.data import TrainingData, build_training_data
from scotoma.loop.measure import Measurement, measure, worst_skills
from scotoma.loop.run import LoopResult, compare, format_table, run_loop

__all__ = [
    "LoopConfig",
    "LoopResult",
    "Measurement",
    "TrainingData",
    "build_training_data",
    "compare",
    "format_table",
    "measure",
    "run_loop",
    "worst_skills",
]
