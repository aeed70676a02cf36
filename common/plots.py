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


def small_multiples(curves: dict[str, dict], path: Path, *, reference: str | None = None,
                    marks: dict[str, float] | None = None, columns: int = 4,
                    metric: str = "accuracy", scale: float = 100.0,
                    ylabel: str = "accuracy (%)") -> Path:
    """One small panel per name, on shared axes: training solid, validation dashed.

    ``reference`` names the curves drawn faintly in every other panel (its validation
    curve, grey), so each panel compares with it; ``marks`` maps a name to an epoch to
    mark with a labelled dotted line (e.g. the mean stop epoch).
    """
    import math

    plt = pyplot()
    names = [n for n in curves if metric in curves[n]]
    columns = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns + 0.4, 2.5 * rows + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    # Shared y range: what the curves span after their first epoch (the first epoch's
    # low values would squeeze everything else into a sliver).
    later = [v * scale for n in names for key in (metric, f"val_{metric}")
             for v in curves[n].get(key, [])[1:] if v is not None and math.isfinite(v)]
    low, high = (min(later), max(later)) if later else (0.0, scale)
    margin = max((high - low) * 0.08, 0.5)
    ref = curves.get(reference) if reference else None
    for ax, name in zip(axes.flat, names):
        history = curves[name]
        epochs = range(1, len(history[metric]) + 1)
        if ref is not None and name != reference and f"val_{metric}" in ref:
            ax.plot(range(1, len(ref[f"val_{metric}"]) + 1),
                    [v * scale for v in ref[f"val_{metric}"]], color="0.6", linewidth=1.2,
                    linestyle="--", label=f"{reference} validation")
        ax.plot(epochs, [v * scale for v in history[metric]], color="tab:blue",
                label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, [v * scale for v in history[f"val_{metric}"]], color="tab:orange",
                    linestyle="--", label="validation")
        if marks and name in marks:
            ax.axvline(marks[name], color="tab:red", linestyle=":", linewidth=1.5)
            ax.text(marks[name], low - margin * 0.6, f" mean stop\n epoch {marks[name]:.1f}",
                    color="tab:red", fontsize="x-small", va="bottom")
        ax.set_title(name, fontsize="medium")
        ax.set_ylim(low - margin, high + margin)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes[-1, :]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_tick_params(labelbottom=True)
    # One legend for all panels: the lines of a panel that has them all.
    legend_ax = next((ax for ax, n in zip(axes.flat, names) if n != reference), axes.flat[0])
    handles, labels = legend_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize="small",
               bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return Path(path)


def interval_plot(intervals: dict[str, dict], path: Path, *, ylabel: str,
                  points: dict[str, list] | None = None, reference: str | None = None,
                  scale: float = 100.0) -> Path:
    """Means with 95% intervals (``stats.mean_ci`` dicts), each seed's value as a small
    dot beside its mean, and a dashed horizontal line at ``reference``'s mean."""
    import math

    plt = pyplot()
    names = list(intervals)
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2.5, 3.8))
    if reference in intervals:
        ax.axhline(intervals[reference]["mean"] * scale, color="0.4", linestyle="--",
                   linewidth=1, label=f"{reference} mean", zorder=1)
    for i, name in enumerate(names):
        interval = intervals[name]
        mean = interval["mean"] * scale
        has_ci = math.isfinite(interval["ci_low"])
        err = [[mean - interval["ci_low"] * scale], [interval["ci_high"] * scale - mean]] \
            if has_ci else None
        ax.errorbar([i], [mean], yerr=err, fmt="o", color="tab:blue", capsize=5, zorder=3,
                    label="mean, 95% CI" if i == 0 else None)
        values = [v * scale for v in (points or {}).get(name, [])]
        if values:
            ax.scatter([i + 0.18] * len(values), values, s=14, color="tab:orange", zorder=2,
                       label="each seed" if i == 0 else None)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    return save(fig, path)
