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
import functools
import hashlib
import importlib
import io
import json
import math
import tempfile
import time
from pathlib import Path

from common import cli, runs, sweep, tuning, validate
from common.datasets import ALL_DATASETS
from common.errors import DatasetUnavailable, UsageError

try:  # advisory locks (Linux, macOS); without them two records at once may race
    import fcntl
except ImportError:
    fcntl = None

BASELINES_FILE = Path(__file__).resolve().parents[1] / "baselines" / "baselines.json"
SEEDS = (0, 1, 2)
MIN_TOLERANCE = 0.005

DEFAULT_BACKEND = "tensorflow"
# Differences between the backends' recorded means that are understood: (recipe,
# dataset, variant) -> why. Empty: every recorded variant agrees within tolerance.
EXPLAINED_DIFFERENCES: dict[tuple[str, str, str], str] = {}


def key(recipe: str, dataset: str, backend: str = DEFAULT_BACKEND) -> str:
    """'mnist_mlp@mnist-5k' (TensorFlow, the default) or 'mnist_mlp@mnist-5k@jax'."""
    return f"{recipe}@{dataset}" + ("" if backend == DEFAULT_BACKEND else f"@{backend}")


def backend_of(entry: dict) -> str:
    """The backend an entry was recorded on (entries from before JAX: TensorFlow)."""
    return entry.get("backend") or entry.get("versions", {}).get("backend") or DEFAULT_BACKEND


def running_backend() -> str:
    """The backend this process trains on (set by --backend or KERAS_BACKEND), found
    without importing Keras, so that a bad flag is refused before TensorFlow loads."""
    return cli.default_backend()


def for_backend(recorded: dict, backend: str, path: Path) -> dict:
    """The entries recorded on ``backend``, by their TensorFlow-style key."""
    chosen = {key(e["recipe"], e["dataset"]): e for e in recorded.values()
              if backend_of(e) == backend}
    if recorded and not chosen:
        raise UsageError(f"no baselines recorded for the {backend} backend in {path}; record "
                         f"them: python -m recipes baselines record --backend {backend}")
    return chosen


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
        elif name != key(entry["recipe"], entry["dataset"], backend_of(entry)):
            problem = (f"the key is not "
                       f"{key(entry['recipe'], entry['dataset'], backend_of(entry))}")
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


def _run_seed(recipe: str, argv: list[str], _shared, seed: int) -> dict:
    """One seed of a recipe, in this process or in a Dask worker (``common.sweep``):
    what ``run_entry`` needs of its results. The run's files go to a scratch directory
    of the process that runs it."""
    main = importlib.import_module(f"recipes.{recipe}").main
    with tempfile.TemporaryDirectory() as scratch, sweep.private_python_random(seed):
        results = _quiet(main, [*argv, "--seed", str(seed), "--out", f"{scratch}/r"])
    variants = results.get("variants") or {recipe: results}
    return {"test_accuracy": results["test_accuracy"], "data_source": results["data_source"],
            "n_test": results["n_test"],
            "variants": {name: record["test_accuracy"] for name, record in variants.items()}}


def run_entry(recipe: str, dataset: str, args: list[str], seeds=SEEDS, main=None,
              workers=None, scheduler=None) -> dict:
    """Run ``recipe`` on ``dataset`` for each seed; per-variant test accuracies.

    ``main`` is the recipe's ``main(argv)``; by default the project's own recipe (``check
    --recipe-file`` passes a student's copy). ``workers`` or ``scheduler`` (``--workers N``,
    ``--scheduler ADDRESS``) run the seeds, or a comparison's cells, through Dask."""
    started = time.perf_counter()
    if (workers or scheduler) and recipe != "compare" and main is None:
        return _run_entry_through_dask(recipe, dataset, args, list(seeds), workers, scheduler,
                                       started)
    main = main or importlib.import_module(f"recipes.{recipe}").main
    per_variant: dict[str, list[float]] = {}
    seeds = list(seeds)
    with tempfile.TemporaryDirectory() as scratch:
        if recipe == "compare":
            # Seed s gives a variant the same run whatever the other seeds are, so
            # consecutive seeds run as one comparison and any others one by one.
            consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
            groups = [seeds] if consecutive else [[seed] for seed in seeds]
            for i, group in enumerate(groups):
                results = _quiet(main, [*args, *sweep.argv(workers, scheduler),
                                        "--dataset", dataset,
                                        "--seed", str(group[0]), "--seeds", str(len(group)),
                                        "--out", f"{scratch}/c{i}"])
                for row in results["rows"]:
                    if row["test_accuracy"] is not None:  # None: a tuning candidate
                        per_variant.setdefault(row["variant"], []).append(
                            row["test_accuracy"])
            data = results["config"]["data"]
        else:
            for seed in seeds:
                with sweep.private_python_random(seed):  # as in a Dask worker
                    results = _quiet(main, [*args, "--dataset", dataset, "--seed",
                                            str(seed), "--out", f"{scratch}/{seed}"])
                variants = results.get("variants") or {recipe: results}
                for name, record in variants.items():
                    per_variant.setdefault(name, []).append(record["test_accuracy"])
                print(f"  {key(recipe, dataset)} seed {seed}: test "
                      f"{results['test_accuracy']:.4f}", flush=True)
            data = results
    return _entry(recipe, dataset, args, seeds, data, per_variant, started)


def _run_entry_through_dask(recipe, dataset, args, seeds, workers, scheduler,
                            started) -> dict:
    if scheduler:
        sweep.check_scheduler(scheduler)
    argv = [*args, "--dataset", dataset]
    by_seed = {}
    for (seed,), result in sweep.run_cells(functools.partial(_run_seed, recipe, argv),
                                           [(seed,) for seed in seeds],
                                           workers=workers, scheduler=scheduler):
        if isinstance(result, sweep.CellFailed):
            raise UsageError(f"{key(recipe, dataset)} seed {seed} failed on a worker: "
                             f"{result.error[:200]}")
        by_seed[seed] = result
        print(f"  {key(recipe, dataset)} seed {seed}: test {result['test_accuracy']:.4f}",
              flush=True)
    per_variant: dict[str, list[float]] = {}
    for seed in seeds:  # in seed order, whatever order the workers finished in
        for name, value in by_seed[seed]["variants"].items():
            per_variant.setdefault(name, []).append(value)
    return _entry(recipe, dataset, args, seeds, by_seed[seeds[-1]], per_variant, started)


def _entry(recipe, dataset, args, seeds, data, per_variant, started) -> dict:
    import numpy as np

    return {
        "recipe": recipe, "dataset": dataset, "data_source": data["data_source"],
        "n_test": data["n_test"], "args": args, "seeds": list(seeds),
        "config_hash": hashlib.sha256(json.dumps([recipe, dataset, args, list(seeds)])
                                      .encode()).hexdigest()[:12],
        "variants": {name: {"test_accuracy": values, "mean": float(np.mean(values)),
                            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
                     for name, values in per_variant.items()},
        "backend": running_backend(),
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


def tolerance_rule(recorded: dict, n_test: int) -> str:
    """The rule with this variant's numbers in it, the term that decides marked."""
    terms = [(2 * recorded["std"], f"2 x recorded std {recorded['std']:.4f}"),
             (1 / n_test, f"1/n_test 1/{n_test}"),
             (MIN_TOLERANCE, f"floor {MIN_TOLERANCE}")]
    largest = max(value for value, _ in terms)
    parts = [f"{text} = {value:.4f}" + (" <-" if value == largest else "")
             for value, text in terms]
    return f"{tolerance(recorded, n_test):.4f} = max({', '.join(parts)})"


def _expected(recorded_variant: dict, recorded_seeds, seeds) -> tuple[float, str]:
    """The recorded mean over ``seeds`` when every one of them was recorded (the same
    seeds reproduce the same numbers), else over all recorded seeds."""
    by_seed = dict(zip(recorded_seeds or [], recorded_variant["test_accuracy"]))
    if seeds and all(seed in by_seed for seed in seeds):
        values = [by_seed[seed] for seed in seeds]
        return sum(values) / len(values), ",".join(map(str, sorted(set(seeds))))
    return recorded_variant["mean"], ",".join(map(str, recorded_seeds or [])) or "all"


def compare_entry(recorded: dict, fresh: dict) -> list[dict]:
    """One row per variant: expected, got, difference, tolerance (and its rule), verdict.

    ``expected`` is the recorded mean over the seeds ``fresh`` ran (``fresh["seeds"]``)
    when all of them were recorded, else the recorded mean over every recorded seed."""
    rows = []
    for name, expected in recorded["variants"].items():
        got = fresh["variants"].get(name)
        tol = tolerance(expected, recorded["n_test"])
        mean, over = _expected(expected, recorded.get("seeds"), fresh.get("seeds"))
        row = {"entry": key(recorded["recipe"], recorded["dataset"]), "variant": name,
               "expected": mean, "expected_seeds": over, "got": None, "n": 0,
               "difference": None, "tolerance": tol,
               "rule": tolerance_rule(expected, recorded["n_test"]), "verdict": "MISSING"}
        if got is not None and got["mean"] is None:
            row["verdict"] = "UNVERIFIED"  # a model the checker could not score
        elif got is not None:
            difference = got["mean"] - mean
            row.update(got=got["mean"], n=len(got.get("test_accuracy", [])),
                       difference=difference,
                       verdict=("REGRESSION" if not math.isfinite(difference)
                                or difference < -tol else
                                "improved" if difference > tol else "pass"))
        rows.append(row)
    return rows


def print_rows(rows) -> None:
    """The table, then the tolerance rule behind each row's tolerance."""
    print(f"{'entry':<34} {'variant':<15} {'seeds':>7} {'expected':>9} {'got':>9} "
          f"{'diff':>8} {'tol':>7}  verdict")
    for r in rows:
        got = "-" if r["got"] is None else f"{r['got']:.4f}"
        diff = "-" if r["difference"] is None else f"{r['difference']:+.4f}"
        print(f"{r['entry']:<34} {r['variant']:<15} {r['expected_seeds']:>7} "
              f"{r['expected']:>9.4f} {got:>9} {diff:>8} {r['tolerance']:>7.4f}  {r['verdict']}")
    print("\nexpected: the recorded mean test accuracy over the seeds shown; got: the new "
          "mean; a variant regresses when got < expected - tol (improved: got > expected + "
          "tol).\ntol = max(2 x recorded std over seeds, 1/n_test, 0.005), for each row "
          "(<- the term that decides):")
    for r in rows:
        print(f"  {r['entry']} {r['variant']}: tol {r['rule']}")


def _provenance_notes(label: str, recorded: dict, fresh: dict) -> list[str]:
    """Notes on where ``fresh`` differs from the recording in data source or versions."""
    notes = []
    if fresh["data_source"] != recorded["data_source"]:
        notes.append(f"{label}: data from {fresh['data_source']}, recorded from "
                     f"{recorded['data_source']}")
    note = _version_note(recorded, fresh)
    if note:
        notes.append(f"{label}: {note}")
    return notes


def _version_note(recorded: dict, fresh: dict) -> str | None:
    old, new = recorded.get("versions", {}), fresh.get("versions", {})
    changed = [f"{lib} {old.get(lib)} -> {new.get(lib)}" for lib in ("tensorflow", "keras",
                                                                      "numpy", "python")
               if old.get(lib) != new.get(lib)]
    return f"versions differ from the recording: {', '.join(changed)}" if changed else None


def _pick_seeds(entry: dict, seeds) -> list[int]:
    """``--seeds``: a subset of the recorded seeds, in the recorded order."""
    if not seeds:
        return entry["seeds"]
    unknown = [seed for seed in seeds if seed not in entry["seeds"]]
    if unknown:
        raise UsageError(f"--seeds: {key(entry['recipe'], entry['dataset'])} was recorded with "
                         f"seeds {','.join(map(str, entry['seeds']))}, not "
                         f"{','.join(map(str, unknown))}; pick from those")
    return [seed for seed in entry["seeds"] if seed in seeds]


def _finish(rows, notes) -> int:
    print()
    if rows:
        print_rows(rows)
    for note in notes:
        print(f"note: {note}")
    failed = [r for r in rows if r["verdict"] in ("REGRESSION", "MISSING", "UNVERIFIED")]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def check(only=None, dataset=None, extra_args=(), path: Path = BASELINES_FILE, *,
          seeds=None, recipe_file=None, workers=None, scheduler=None) -> int:
    """Re-run what is recorded; 0 when everything passes, 1 on any regression.

    ``seeds`` runs a subset of the recorded seeds (compared with the recorded mean over
    the same seeds); ``recipe_file`` trains a student's edited copy of a recipe (named by
    ``only``, or by the file's name) with the recorded flags, in a supervised child
    process, and scores the models it saved here (``common.recipe_check``): the verdict
    never comes from the copy's own code."""
    recorded = load(path)
    if not recorded:
        raise UsageError(f"no baselines recorded in {path}; run: python -m recipes baselines "
                         "record")
    recorded = for_backend(recorded, running_backend(), path)
    if recipe_file is not None:
        only = [_recipe_of_file(recipe_file, only, recorded)]
        if only == ["compare"]:
            raise UsageError("--recipe-file checks a copy of one recipe; a comparison's "
                             "copy cannot be checked (check its results with --results)")
    items = [(e["recipe"], e["dataset"], e["args"]) for e in recorded.values()]
    chosen = select(items, only, dataset)
    chosen_seeds = {key(r, d): _pick_seeds(recorded[key(r, d)], seeds) for r, d, _ in chosen}
    rows, notes = [], []
    for recipe, data_name, args in chosen:
        entry = recorded[key(recipe, data_name)]
        run_seeds = chosen_seeds[key(recipe, data_name)]
        source = f" with {recipe_file}" if recipe_file else ""
        print(f"checking {key(recipe, data_name)}{source} (seeds {run_seeds}, flags "
              f"{' '.join(args) or 'the defaults'})", flush=True)
        try:
            if recipe_file is not None:
                from common import recipe_check

                fresh, scored_notes = recipe_check.run_student_recipe(
                    recipe_file, recipe, data_name, [*args, *extra_args], run_seeds,
                    list(entry["variants"]))
                fresh["versions"] = runs.library_versions()
                notes += scored_notes
            else:
                fresh = run_entry(recipe, data_name, [*args, *extra_args], run_seeds,
                                  workers=workers, scheduler=scheduler)
        except DatasetUnavailable as error:
            notes.append(f"skipped {key(recipe, data_name)}: {error}")
            continue
        notes += _provenance_notes(key(recipe, data_name), entry, fresh)
        rows += compare_entry(entry, fresh)
    return _finish(rows, notes)


# --- a student's recipe file --------------------------------------------------------------


def _recipe_of_file(recipe_file, only, recorded) -> str:
    """The recipe a student's file is a copy of: ``--only NAME``, else the file's name."""
    names = sorted({e["recipe"] for e in recorded.values()})
    if only:
        if len(only) != 1:
            raise UsageError("--recipe-file checks one recipe: give one --only NAME")
        name = only[0]
    else:
        name = Path(recipe_file).stem
        if name not in names:
            raise UsageError(f"--recipe-file {recipe_file}: which recipe is it a copy of? "
                             f"Say so with --only NAME (recorded: {', '.join(names)})")
    if name not in names:
        raise UsageError(f"--only {name}: no baseline recorded for it; recorded: "
                         f"{', '.join(names)}")
    return name


# --- students' results files --------------------------------------------------------------

# Flags that change speed or logging, never the numbers.
_SPEED_ONLY = {"steps_per_execution", "tensorboard"}


class _Parsed(Exception):
    def __init__(self, namespace):
        super().__init__("parsed")
        self.namespace = namespace


def recorded_flags(recipe: str, dataset: str, args: list[str]):
    """The parsed flags (defaults filled in) of ``recipe`` run with ``args``: the recipe's
    own parser, stopped before it loads any data."""
    from common import training

    module = importlib.import_module(f"recipes.{recipe}")
    real = cli.RecipeParser.parse_args

    def capture(parser, argv=None, namespace=None):  # the flags, then stop: no run
        raise _Parsed(parser.parse_flags(argv))

    cli.RecipeParser.parse_args = capture
    try:
        module.main([*args, "--dataset", dataset])
    except _Parsed as parsed:
        namespace = parsed.namespace
    else:
        raise UsageError(f"{recipe}: its flags cannot be read without running it")
    finally:
        cli.RecipeParser.parse_args = real
    if recipe == "compare":
        from common import comparison

        with contextlib.redirect_stderr(io.StringIO()):
            config = comparison._config_from_args(namespace, module.VARIANTS,
                                                  getattr(module, "GRID", None))
        return {k: config[k] for k in ("epochs", "batch_size", "train_size", "patience",
                                       "quick", "learning_rate", "variants", "tuning")}
    return {k: v for k, v in vars(namespace).items()
            if k not in training._NOT_HYPERPARAMETERS | _SPEED_ONLY}


def _flag_differences(expected: dict, got: dict, n_train: int) -> list[str]:
    """'name got X, recorded Y' for every flag that determines the numbers and differs."""
    expected = json.loads(json.dumps(expected))  # tuples as lists, as in a JSON file
    found = []
    for name, value in expected.items():
        if name == "batch_size" and value is None:
            value = cli.default_batch_size(n_train)  # resolved by the run from n_train
        if name not in got:
            found.append(f"{name} missing, recorded {value}")
        elif got[name] != value:
            found.append(f"{name} {json.dumps(got[name])}, recorded {json.dumps(value)}")
    return found


def results_files(paths) -> list[Path]:
    """The files named, and every results.json under a directory named."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("results.json") if p.is_file())
            if not inside:
                raise UsageError(f"--results {path}: no results.json in that directory or "
                                 "below it")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"--results {path}: no such file or directory")
    return list(dict.fromkeys(found))


def read_results(path: Path) -> dict:
    """A results.json as {recipe, dataset, seeds, variants {name: [accuracies]}, ...}:
    one recipe's run, or a finished comparison; anything else is refused by name."""
    fix = "give the results.json a recipe or a comparison wrote"
    data = validate.load_json(path, {"type": "object"}, fix=fix)
    if "rows" in data or "config" in data:
        try:
            data = validate.check(data, validate.COMPARISON_RESULTS_SCHEMA, where=str(path))
        except UsageError as error:
            raise UsageError(f"{error}; {fix}")
        if data["partial"]:
            raise UsageError(f"{path}: a partial comparison (interrupted); finish it with "
                             "python -m recipes compare --resume DIR, then check it")
        per_variant = {}
        compared = {*data["config"]["variants"], *tuning.tuned_names(data["config"])}
        for r in data["rows"]:
            if r["variant"] not in compared:
                continue  # a tuning candidate: its test split is never read
            if r["test_accuracy"] is None:
                raise UsageError(f"{path}: rows: {r['variant']} seed {r['seed']} has no test "
                                 "accuracy (diverged); it cannot match a baseline")
            per_variant.setdefault(r["variant"], []).append(r["test_accuracy"])
        config, source = data["config"], data["config"]["data"]
        return {"file": path, "recipe": "compare", "dataset": source["dataset"],
                "data_source": source["data_source"], "n_train": source["n_train"],
                "seeds": sorted({r["seed"] for r in data["rows"]}), "variants": per_variant,
                "flags": config, "versions": data.get("versions", {}),
                "backend": config.get("backend") or data.get("versions", {}).get("backend")
                or DEFAULT_BACKEND}
    try:
        data = validate.check(data, validate.RUN_RESULTS_SCHEMA, where=str(path))
    except UsageError as error:
        raise UsageError(f"{error}; {fix}")
    variants = data.get("variants") or {data["recipe"]: data}
    return {"file": path, "recipe": data["recipe"], "dataset": data["dataset"],
            "data_source": data["data_source"], "n_train": data["n_train"],
            "seeds": [data["seed"]],
            "variants": {name: [v["test_accuracy"]] for name, v in variants.items()},
            "flags": data["hyperparameters"], "versions": data.get("versions", {}),
            "backend": data.get("backend") or DEFAULT_BACKEND}


def _match(found: dict, recorded: dict, flags_cache: dict) -> str | None:
    """Why ``found`` cannot be compared with a recorded baseline, or None."""
    name = key(found["recipe"], found["dataset"], found["backend"])
    entry = recorded.get(name)
    if entry is None:
        return (f"no baseline recorded for {name} (recipe {found['recipe']} on "
                f"{found['dataset']}); recorded: {', '.join(sorted(recorded))}")
    if name not in flags_cache:
        flags_cache[name] = recorded_flags(entry["recipe"], entry["dataset"], entry["args"])
    differences = _flag_differences(flags_cache[name], found["flags"], found["n_train"])
    if differences:
        return (f"{name} was recorded with {' '.join(entry['args']) or 'the default flags'}, "
                f"this run differs: {'; '.join(differences)}")
    if found["recipe"] == "compare":
        recorded_variants = set(entry["variants"])
        if set(found["variants"]) != recorded_variants:
            return (f"{name}: variants {', '.join(found['variants'])}, recorded "
                    f"{', '.join(entry['variants'])}")
    return None


def check_results(paths, path: Path = BASELINES_FILE) -> int:
    """Compare students' results.json files (or every one under a directory) with the
    recorded baseline of the same recipe, dataset and flags, without training: files of
    the same entry are pooled, and their mean over the students' seeds is compared with
    the recorded mean by the tolerance rule. A file that does not match (another recipe,
    dataset or flags) or cannot be read is refused, with the reason, before any verdict."""
    recorded = load(path)
    if not recorded:
        raise UsageError(f"no baselines recorded in {path}; run: python -m recipes baselines "
                         "record")
    files = results_files(paths)
    found = [read_results(file) for file in files]
    flags_cache, refused = {}, []
    for item in found:
        reason = _match(item, recorded, flags_cache)
        if reason:
            refused.append(f"{item['file']}: {reason}")
    if refused:
        more = (f" ({len(refused) - 1} more file(s) refused: "
                + ", ".join(r.split(': ', 1)[0] for r in refused[1:]) + ")") if len(refused) > 1 else ""
        raise UsageError(f"{refused[0]}; run it with the recorded flags (python -m recipes "
                         f"baselines show){more}")
    groups: dict[str, list[dict]] = {}
    for item in found:
        groups.setdefault(key(item["recipe"], item["dataset"], item["backend"]),
                          []).append(item)
    print(f"{len(files)} results file(s), {len(groups)} recorded entr"
          f"{'y' if len(groups) == 1 else 'ies'}")
    rows, notes = [], []
    for name, items in groups.items():
        entry = recorded[name]
        print(f"\n{name} (recorded with {' '.join(entry['args']) or 'the default flags'}, "
              f"seeds {','.join(map(str, entry['seeds']))}):")
        for item in items:
            accuracies = ", ".join(f"{v} {' '.join(f'{x:.4f}' for x in values)}"
                                   for v, values in item["variants"].items())
            print(f"  {item['file']}: seed{'s' if len(item['seeds']) > 1 else ''} "
                  f"{','.join(map(str, item['seeds']))}: test {accuracies}")
            notes += _provenance_notes(item["file"], entry, item)
        seeds = [seed for item in items for seed in item["seeds"]]
        unrecorded = sorted(set(seeds) - set(entry["seeds"]))
        if unrecorded:
            notes.append(f"{name}: seed(s) {','.join(map(str, unrecorded))} not recorded, so "
                         "expected is the recorded mean over every recorded seed")
        pooled = {}
        for item in items:
            for variant, values in item["variants"].items():
                pooled.setdefault(variant, []).extend(values)
        fresh = {"seeds": seeds,
                 "variants": {v: {"mean": sum(values) / len(values), "test_accuracy": values}
                              for v, values in pooled.items()}}
        rows += compare_entry(entry, fresh)
    return _finish(rows, notes)


def record(only=None, dataset=None, tiers=("fast", "full", "online"),
           path: Path = BASELINES_FILE, workers=None, scheduler=None) -> int:
    """Run the plan and write each entry as it finishes, showing what changed."""
    load(path)  # a malformed file is refused before any training
    from recipes import baseline_plan  # each recipe's header says what it records

    plan = baseline_plan()
    items = [item for tier in tiers for item in plan[tier]]
    for recipe, data_name, args in select(items, only, dataset):
        print(f"recording {key(recipe, data_name)} {' '.join(args)}", flush=True)
        try:
            fresh = run_entry(recipe, data_name, args, workers=workers,
                              scheduler=scheduler)
        except DatasetUnavailable as error:
            print(f"  skipped: {error}")
            continue
        name = key(recipe, data_name, backend_of(fresh))
        old = load(path).get(name)
        for variant, values in fresh["variants"].items():
            before = old["variants"].get(variant, {}).get("mean") if old else None
            change = "new" if before is None else f"was {before:.4f} ({values['mean'] - before:+.4f})"
            print(f"  {variant:<15} {values['mean']:.4f} ± {values['std']:.4f}   {change}")
        with _locked(path):
            recorded = load(path)
            recorded[name] = fresh
            runs.write_json(path, dict(sorted(recorded.items())))
    return 0


def show(path: Path = BASELINES_FILE) -> int:
    """The recorded baselines as a Markdown table."""
    recorded = load(path)
    print("| recipe | dataset (source) | flags | variant | backend | test accuracy, mean ± "
          "std (seeds 0-2) | per seed | recorded |")
    print("|---|---|---|---|---|---|---|---|")
    for entry in recorded.values():
        backend = backend_of(entry)
        version = entry["versions"].get(backend)
        for name, variant in entry["variants"].items():
            seeds = ", ".join(f"{v:.4f}" for v in variant["test_accuracy"])
            print(f"| {entry['recipe']} | {entry['dataset']} ({entry['data_source']}) | "
                  f"{' '.join(entry['args']) or '-'} | {name} | {backend} | "
                  f"{variant['mean']:.4f} ± {variant['std']:.4f} | {seeds} | "
                  f"{entry['date']}, {backend} {version} |")
    return 0


def agree(path: Path = BASELINES_FILE) -> int:
    """Do the backends agree? For every entry recorded on both TensorFlow and another
    backend, each variant's mean test accuracy over the same seeds, compared by the
    tolerance rule (the larger of the two entries' tolerances). 0 when every variant
    agrees or its difference is in ``EXPLAINED_DIFFERENCES``; 1 otherwise, or when an
    entry is recorded on one backend only."""
    recorded = load(path)
    by_backend: dict[str, dict] = {}
    for entry in recorded.values():
        by_backend.setdefault(backend_of(entry), {})[key(entry["recipe"],
                                                         entry["dataset"])] = entry
    reference = by_backend.pop(DEFAULT_BACKEND, {})
    if not by_backend:
        raise UsageError(f"{path}: only {DEFAULT_BACKEND} baselines are recorded; record "
                         "another backend's: python -m recipes baselines record --backend jax")
    print(f"{'entry':<34} {'variant':<22} {'backend':<8} {DEFAULT_BACKEND:>10} {'other':>8} "
          f"{'diff':>8} {'tol':>7}  verdict")
    failed = 0
    for backend, entries in sorted(by_backend.items()):
        for name in sorted(set(reference) | set(entries)):
            tf_entry, other = reference.get(name), entries.get(name)
            if tf_entry is None or other is None:
                failed += 1
                print(f"{name:<34} {'-':<22} {backend:<8} recorded on "
                      f"{backend if tf_entry is None else DEFAULT_BACKEND} only  MISSING")
                continue
            n_test = min(tf_entry["n_test"], other["n_test"])
            for variant, expected in tf_entry["variants"].items():
                got = other["variants"].get(variant)
                if got is None:
                    failed += 1
                    print(f"{name:<34} {variant:<22} {backend:<8} not recorded  MISSING")
                    continue
                difference = got["mean"] - expected["mean"]
                tol = max(tolerance(expected, n_test), tolerance(got, n_test))
                why = EXPLAINED_DIFFERENCES.get((tf_entry["recipe"], tf_entry["dataset"],
                                                 variant))
                verdict = ("agree" if abs(difference) <= tol else
                           f"differs, explained: {why}" if why else "DIFFER")
                failed += verdict == "DIFFER"
                print(f"{name:<34} {variant:<22} {backend:<8} {expected['mean']:>10.4f} "
                      f"{got['mean']:>8.4f} {difference:>+8.4f} {tol:>7.4f}  {verdict}")
    print(f"\ntol: the larger of the two entries' tolerances, max(2 x std over seeds, "
          f"1/n_test, {MIN_TOLERANCE}); {failed} disagreement(s) or missing entries")
    return 1 if failed else 0
