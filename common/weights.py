"""Numbers about a model's kernels: the evidence for what L1 and L2 do to weights."""

from __future__ import annotations

import numpy as np

# A weight this small contributes nothing visible to a unit's output; Adam keeps
# L1-penalized weights jittering around zero at about this scale rather than exactly 0.
NEAR_ZERO = 1e-3
# Fixed bins for kernel-weight histograms, so that runs can be summed into one figure;
# values beyond them are counted in the end bins.
HISTOGRAM_EDGES = np.linspace(-0.3, 0.3, 121)


def histogram(model) -> list[int]:
    """Counts of the model's kernel weights in ``HISTOGRAM_EDGES``."""
    clipped = np.clip(flat_kernels(model), HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1])
    return np.histogram(clipped, bins=HISTOGRAM_EDGES)[0].tolist()


def kernels(model) -> dict[str, np.ndarray]:
    """Every layer's kernel (weight matrix); biases are left out.

    Keys are positional ("dense_1", "dense_2", ...), not Keras' layer names, which
    depend on how many models the process built before: the same run gives the same keys.
    """
    found = [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]
    return {f"{type(layer).__name__.lower()}_{i}": np.asarray(layer.kernel)
            for i, layer in enumerate(found, start=1)}


def flat_kernels(model) -> np.ndarray:
    """All kernel weights in one vector, for a histogram."""
    return np.concatenate([w.ravel() for w in kernels(model).values()])


def print_table(records: dict[str, dict]) -> None:
    """One line per variant from its ``kernel_stats`` (``record["weights"]``)."""
    print(f"{'variant':<10} {'near-zero':>10} {'l1 norm':>10} {'l2 norm':>9} {'max |w|':>8}")
    for name, record in records.items():
        w = record["weights"]
        print(f"{name:<10} {w['near_zero_fraction']:>10.1%} {w['l1']:>10.2f} {w['l2']:>9.2f} "
              f"{w['max_abs']:>8.3f}")
    print(f"(near-zero: |w| < {NEAR_ZERO:g})")


def kernel_stats(model, near_zero: float = NEAR_ZERO) -> dict:
    """l1 and l2 norms and the fraction of near-zero weights, per kernel and overall."""
    per_layer = {}
    for name, w in kernels(model).items():
        per_layer[name] = {"weights": int(w.size), "l1": float(np.abs(w).sum()),
                           "l2": float(np.sqrt((w ** 2).sum())),
                           "near_zero_fraction": float(np.mean(np.abs(w) < near_zero))}
    every = np.concatenate([w.ravel() for w in kernels(model).values()])
    return {"near_zero_threshold": near_zero,
            "near_zero_fraction": float(np.mean(np.abs(every) < near_zero)),
            "l1": float(np.abs(every).sum()), "l2": float(np.sqrt((every ** 2).sum())),
            "max_abs": float(np.abs(every).max()), "layers": per_layer}


def input_importance(model) -> np.ndarray:
    """l1 norm of the first kernel's rows: how much each input feature is used."""
    first = next(iter(kernels(model).values()))
    return np.abs(first.reshape(-1, first.shape[-1])).sum(axis=1)
