"""Learning-curve figures, in the spirit of tensorflow_docs' HistoryPlotter.

Training curves are solid, validation curves dashed, one stable colour per run; a
dotted vertical line marks an epoch worth seeing (the best or early-stopping epoch).
Figures go to PNG files (Agg backend), written atomically.
"""

from __future__ import annotations

from pathlib import Path

from common.runs import atomic_write


def pyplot():
    """matplotlib.pyplot on the Agg backend: figures go to files, never to a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, title: str = "") -> Path:
    """Title, tidy layout, write the PNG atomically, free the figure."""
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    pyplot().close(fig)
    return Path(path)


def learning_curves(histories: dict[str, dict], path: Path, *, title: str = "",
                    marks: dict[str, int] | None = None) -> Path:
    """Loss and accuracy per epoch for each named run in ``histories``.

    ``marks`` maps a run name to a 1-based epoch to mark (e.g. where training stopped).
    """
    plt = pyplot()
    metrics = [m for m in ("loss", "accuracy") if any(m in h for h in histories.values())]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics) + 1.5, 4),
                             squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for i, (name, history) in enumerate(histories.items()):
            colour = colours[i % len(colours)]
            epochs = range(1, len(history[metric]) + 1)
            ax.plot(epochs, history[metric], color=colour, label=name)
            if f"val_{metric}" in history:
                ax.plot(epochs, history[f"val_{metric}"], color=colour, linestyle="--")
            if marks and name in marks:
                ax.axvline(marks[name], color=colour, linestyle=":", linewidth=1)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    # One legend: a colour per run, and what solid and dashed mean.
    handles, labels = axes[0][-1].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="black"), plt.Line2D([], [], color="black",
                                                               linestyle="--")]
    labels += ["training", "validation"]
    axes[0][-1].legend(handles, labels, fontsize="small", loc="upper left",
                       bbox_to_anchor=(1.02, 1.0))
    return save(fig, path, title)


def weight_histograms(weights: dict, path: Path, *, title: str = "") -> Path:
    """One histogram of all kernel weights per variant, on shared axes."""
    import numpy as np

    limit = max(float(np.abs(w).max()) for w in weights.values())
    edges = np.linspace(-limit, limit, 61)
    counts = {name: np.histogram(w, bins=edges)[0] for name, w in weights.items()}
    return histogram_counts(counts, edges, path, title=title)


def histogram_counts(counts: dict, edges, path: Path, *,
                     title: str = "") -> Path:
    """Pre-counted histograms (one per name, same bin edges) side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(counts), figsize=(3.6 * len(counts), 3.2),
                             sharex=True, sharey=True, squeeze=False)
    for ax, (name, values) in zip(axes[0], counts.items()):
        ax.stairs(values, edges, fill=True, color="tab:blue")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("weight")
    axes[0][0].set_ylabel("count (log scale)")
    return save(fig, path, title)


def error_bars(intervals: dict[str, dict], path: Path, *, ylabel: str) -> Path:
    """Means with confidence intervals (``stats.mean_ci`` dicts), one bar per name."""
    import math

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(intervals) + 2, 3.6))
    names = list(intervals)
    means = [intervals[n]["mean"] for n in names]
    errors = [[m - intervals[n]["ci_low"] if math.isfinite(intervals[n]["ci_low"]) else 0
               for n, m in zip(names, means)],
              [intervals[n]["ci_high"] - m if math.isfinite(intervals[n]["ci_high"]) else 0
               for n, m in zip(names, means)]]
    ax.errorbar(range(len(names)), means, yerr=errors, fmt="o", capsize=5)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return save(fig, path)
