"""The learning-curve plot of a world-model run, drawn with matplotlib.

One line per question family, the overall accuracy (thick black) and its majority-answer baseline
(dashed grey) against samples seen; for the questioner, its validity, tag-format and distinctness rates.
Each series gets its own colour (tab20 holds 20, more than there are families) and its legend entry
outside the axes with its last value, so labels never run together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def curve_series(evals: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """(samples, value) series from evaluation records, by name ("overall", "majority", families...)."""
    series: dict[str, list[tuple[int, float]]] = {}

    def add(name: str, x: int, y: float) -> None:
        series.setdefault(name, []).append((x, y))

    for record in sorted(evals, key=lambda r: r["samples"]):
        x = record["samples"]
        if "qa" in record:
            add("overall", x, record["qa"]["overall"]["accuracy"])
            add("majority", x, record["qa"]["overall"]["majority"])
            for family, value in record["qa"]["family"].items():
                add(family, x, value["accuracy"])
            if "describe_exact" in record:
                add("describe exact", x, record["describe_exact"])
            if "chain" in record:
                add("chain (describe, answer)", x, record["chain"]["overall"]["accuracy"])
        else:
            for name in ("validity_rate", "well_formed", "distinct_rate"):
                add(name.replace("_", " "), x, record[name])
                if "sampled" in record:
                    add("sampled " + name.replace("_", " "), x, record["sampled"][name])
    return series


def plot_curve(evals: Sequence[dict[str, Any]], path: str | Path, title: str) -> Path:
    """Draw the learning curves of `evals` (records with kind "eval") into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    series = curve_series(evals)
    colors = iter(plt.get_cmap("tab20").colors)
    figure, axes = plt.subplots(figsize=(10, 5.2), dpi=100)
    try:
        for name, points in series.items():
            xs, ys = [x for x, _ in points], [y for _, y in points]
            last = f"{ys[-1]:.2f}" if ys else "-"
            if name == "majority":
                style = {"color": "0.55", "linestyle": "--", "linewidth": 1.5}
            elif name == "overall":
                style = {"color": "black", "linewidth": 3, "marker": "o", "markersize": 3}
            else:
                style = {"color": next(colors), "linewidth": 1.5, "marker": "o", "markersize": 2.5}
            axes.plot(xs, ys, label=f"{name} {last}", **style)
        axes.set_title(title)
        axes.set_xlabel("samples seen")
        axes.set_ylabel("accuracy / rate")
        axes.set_ylim(0, 1)
        axes.xaxis.set_major_formatter(EngFormatter(sep=""))
        axes.grid(True, color="0.92")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        figure.tight_layout()
        path = Path(path)
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path


__all__ = ["curve_series", "plot_curve"]
