"""Accuracy baselines: record real results, re-run them, and fail loudly on a regression.

``baselines/baselines.json`` holds one entry per (recipe, dataset): the flags and seeds
it was run with, each variant's test accuracy per seed with mean and std, the data
source, the library versions and the date. ``check`` re-runs an entry with the same flags
and seeds and compares the mean test accuracy of every variant with the recorded one.

Tolerance rule: a variant regresses when its new mean falls below the recorded mean by
more than ``max(2 * recorded std over seeds, 1 / n_test, 0.005)``: twice the seed-to-seed
spread, but never less than one test example, nor less than half a point. The same
seeds on the same library versions reproduce the recorded numbers exactly; the
tolerance is for new versions of TensorFlow, Keras or NumPy, which change the arithmetic
a little. A real drop (a broken recipe, a bad default) is far larger.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib
import io
import json
import tempfile
import time
from pathlib import Path

from common import runs, validate
from common.datasets import ALL_DATASETS
from common.errors import DatasetUnavailable, UsageError

try:  # advisory locks (Linux, macOS); without them two records at once may race
    import fcntl
except ImportError:
    fcntl = None

BASELINES_FILE = Path(__file__).resolve().parents[1] / "baselines" / "baselines.json"
SEEDS = (0, 1, 2)
MIN_TOLERANCE = 0.005

# What is recorded, by tier. fast: Iris and mnist-5k, always offline, minutes.
# full: full-size Fashion-MNIST from Debian's package. online: full MNIST, which needs
# the internet once (recorded where it is available, skipped with a note elsewhere).
PLAN = {
    "fast": [
        ("iris_softmax", "iris", []),
        ("iris_l1_l2", "iris", []),
        ("mnist_mlp", "mnist-5k", []),
        ("mnist_l2", "mnist-5k", []),
        ("mnist_dropout", "mnist-5k", []),
        ("mnist_early_stopping", "mnist-5k", []),
        ("compare", "mnist-5k", []),
    ],
    "full": [
        ("mnist_mlp", "fashion_mnist", ["--epochs", "20"]),
        ("mnist_l2", "fashion_mnist", ["--epochs", "20"]),
        ("mnist_dropout", "fashion_mnist", ["--epochs", "40", "--dropout", "0.3"]),
        ("mnist_early_stopping", "fashion_mnist", []),
    ],
    "online": [  # every MNIST recipe at its defaults; compare trains on 3,500 images
        ("mnist_mlp", "mnist", []),
        ("mnist_l2", "mnist", []),
        ("mnist_dropout", "mnist", []),
        ("mnist_early_stopping", "mnist", []),
        ("compare", "mnist", []),
    ],
}


def key(recipe: str, dataset: str) -> str:
    return f"{recipe}@{dataset}"


def load(path: Path = BASELINES_FILE) -> dict:
    """The recorded baselines; a malformed file is refused, never half-used."""
    if not path.exists():
        return {}
    fix = "restore it (git checkout) or record again"
    data = validate.load_json(path, validate.BASELINES_SCHEMA, fix=fix)
    from recipes import recipe_names

    known_recipes = set(recipe_names())
    for name, entry in data.items():
        problem = None
        if entry["recipe"] not in known_recipes:
            problem = f"recipe: unknown recipe '{entry['recipe']}'"
        elif entry["dataset"] not in ALL_DATASETS:
            problem = f"dataset: unknown dataset '{entry['dataset']}'"
        elif name != key(entry["recipe"], entry["dataset"]):
            problem = f"the key is not {key(entry['recipe'], entry['dataset'])}"
        else:
            problem = next((f"variants.{variant}.test_accuracy: {len(v['test_accuracy'])} "
                            f"values for {len(entry['seeds'])} seeds"
                            for variant, v in entry["variants"].items()
                            if len(v["test_accuracy"]) != len(entry["seeds"])), None)
        if problem:
            raise UsageError(f"{path}: {name}: {problem}; {fix}")
    return data


@contextlib.contextmanager
def _locked(path: Path):
    """Hold a lock beside ``path`` so that two ``record`` processes take turns: each
    reads the file afresh under the lock and adds its entry to what the other wrote."""
    lock_path = path.with_name(path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def select(plan_items, only=None, dataset=None):
    """The plan entries named by ``--only`` (comma-separated recipes) and ``--dataset``."""
    chosen = [item for item in plan_items
              if (not only or item[0] in only) and (not dataset or item[1] == dataset)]
    if not chosen:
        raise UsageError(f"nothing matches --only {','.join(only or []) or '-'} "
                         f"--dataset {dataset or '-'}; recorded: "
                         f"{', '.join(sorted({key(r, d) for r, d, _ in plan_items}))}")
    return chosen


def run_entry(recipe: str, dataset: str, args: list[str], seeds=SEEDS) -> dict:
    """Run ``recipe`` on ``dataset`` for each seed; per-variant test accuracies."""
    started = time.perf_counter()
    module = importlib.import_module(f"recipes.{recipe}")
    per_variant: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if recipe == "compare":
            results = _quiet(module.main, [*args, "--dataset", dataset, "--seed", str(seeds[0]),
                                           "--seeds", str(len(seeds)), "--out", f"{scratch}/c"])
            for row in results["rows"]:
                per_variant.setdefault(row["variant"], []).append(row["test_accuracy"])
            data = results["config"]["data"]
        else:
            for seed in seeds:
                results = _quiet(module.main, [*args, "--dataset", dataset, "--seed", str(seed),
                                               "--out", f"{scratch}/{seed}"])
                variants = results.get("variants") or {recipe: results}
                for name, record in variants.items():
                    per_variant.setdefault(name, []).append(record["test_accuracy"])
                print(f"  {key(recipe, dataset)} seed {seed}: test "
                      f"{results['test_accuracy']:.4f}", flush=True)
            data = results
    import numpy as np

    return {
        "recipe": recipe, "dataset": dataset, "data_source": data["data_source"],
        "n_test": data["n_test"], "args": args, "seeds": list(seeds),
        "config_hash": hashlib.sha256(json.dumps([recipe, dataset, args, list(seeds)])
                                      .encode()).hexdigest()[:12],
        "variants": {name: {"test_accuracy": values, "mean": float(np.mean(values)),
                            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
                     for name, values in per_variant.items()},
        "versions": runs.library_versions(),
        "date": datetime.date.today().isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _quiet(main, argv):
    """Run a recipe with its own output captured; only its results come back."""
    with contextlib.redirect_stdout(io.StringIO()):
        return main(argv)


def tolerance(recorded: dict, n_test: int) -> float:
    return max(2 * recorded["std"], 1 / n_test, MIN_TOLERANCE)


def compare_entry(recorded: dict, fresh: dict) -> list[dict]:
    """One row per variant: expected, got, difference, tolerance, verdict."""
    rows = []
    for name, expected in recorded["variants"].items():
        got = fresh["variants"].get(name)
        tol = tolerance(expected, recorded["n_test"])
        if got is None:
            rows.append({"entry": key(recorded["recipe"], recorded["dataset"]), "variant": name,
                         "expected": expected["mean"], "got": None, "difference": None,
                         "tolerance": tol, "verdict": "MISSING"})
            continue
        difference = got["mean"] - expected["mean"]
        verdict = ("REGRESSION" if difference < -tol else
                   "improved" if difference > tol else "pass")
        rows.append({"entry": key(recorded["recipe"], recorded["dataset"]), "variant": name,
                     "expected": expected["mean"], "got": got["mean"],
                     "difference": difference, "tolerance": tol, "verdict": verdict})
    return rows


def print_rows(rows) -> None:
    print(f"{'entry':<34} {'variant':<15} {'expected':>9} {'got':>9} {'diff':>8} "
          f"{'tol':>7}  verdict")
    for r in rows:
        got = "-" if r["got"] is None else f"{r['got']:.4f}"
        diff = "-" if r["difference"] is None else f"{r['difference']:+.4f}"
        print(f"{r['entry']:<34} {r['variant']:<15} {r['expected']:>9.4f} {got:>9} "
              f"{diff:>8} {r['tolerance']:>7.4f}  {r['verdict']}")


def _version_note(recorded: dict, fresh: dict) -> str | None:
    old, new = recorded.get("versions", {}), fresh.get("versions", {})
    changed = [f"{lib} {old.get(lib)} -> {new.get(lib)}" for lib in ("tensorflow", "keras",
                                                                      "numpy", "python")
               if old.get(lib) != new.get(lib)]
    return f"versions differ from the recording: {', '.join(changed)}" if changed else None


def check(only=None, dataset=None, extra_args=(), path: Path = BASELINES_FILE) -> int:
    """Re-run what is recorded; 0 when everything passes, 1 on any regression."""
    recorded = load(path)
    if not recorded:
        raise UsageError(f"no baselines recorded in {path}; run: python -m recipes baselines "
                         "record")
    items = [(e["recipe"], e["dataset"], e["args"]) for e in recorded.values()]
    rows, notes = [], []
    for recipe, data_name, args in select(items, only, dataset):
        entry = recorded[key(recipe, data_name)]
        print(f"checking {key(recipe, data_name)} (seeds {entry['seeds']})", flush=True)
        try:
            fresh = run_entry(recipe, data_name, [*args, *extra_args], entry["seeds"])
        except DatasetUnavailable as error:
            notes.append(f"skipped {key(recipe, data_name)}: {error}")
            continue
        if fresh["data_source"] != entry["data_source"]:
            notes.append(f"{key(recipe, data_name)}: data from {fresh['data_source']}, "
                         f"recorded from {entry['data_source']}")
        note = _version_note(entry, fresh)
        if note:
            notes.append(f"{key(recipe, data_name)}: {note}")
        rows += compare_entry(entry, fresh)
    print()
    if rows:
        print_rows(rows)
    for note in notes:
        print(f"note: {note}")
    failed = [r for r in rows if r["verdict"] in ("REGRESSION", "MISSING")]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def record(only=None, dataset=None, tiers=("fast", "full", "online"),
           path: Path = BASELINES_FILE) -> int:
    """Run the plan and write each entry as it finishes, showing what changed."""
    load(path)  # a malformed file is refused before any training
    items = [item for tier in tiers for item in PLAN[tier]]
    for recipe, data_name, args in select(items, only, dataset):
        print(f"recording {key(recipe, data_name)} {' '.join(args)}", flush=True)
        try:
            fresh = run_entry(recipe, data_name, args)
        except DatasetUnavailable as error:
            print(f"  skipped: {error}")
            continue
        old = load(path).get(key(recipe, data_name))
        for name, values in fresh["variants"].items():
            before = old["variants"].get(name, {}).get("mean") if old else None
            change = "new" if before is None else f"was {before:.4f} ({values['mean'] - before:+.4f})"
            print(f"  {name:<15} {values['mean']:.4f} ± {values['std']:.4f}   {change}")
        with _locked(path):
            recorded = load(path)
            recorded[key(recipe, data_name)] = fresh
            runs.write_json(path, dict(sorted(recorded.items())))
    return 0


def show(path: Path = BASELINES_FILE) -> int:
    """The recorded baselines as a Markdown table."""
    recorded = load(path)
    print("| recipe | dataset (source) | flags | variant | test accuracy, mean ± std "
          "(seeds 0-2) | per seed | recorded |")
    print("|---|---|---|---|---|---|---|")
    for entry in recorded.values():
        for name, variant in entry["variants"].items():
            seeds = ", ".join(f"{v:.4f}" for v in variant["test_accuracy"])
            print(f"| {entry['recipe']} | {entry['dataset']} ({entry['data_source']}) | "
                  f"{' '.join(entry['args']) or '-'} | {name} | "
                  f"{variant['mean']:.4f} ± {variant['std']:.4f} | {seeds} | "
                  f"{entry['date']}, TF {entry['versions'].get('tensorflow')} |")
    return 0
