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
import os
import tempfile
import time
from pathlib import Path

import recipes
from common import cli, runs, validate
from tools import sweep, tuning
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
                         f"them: python -m tools baselines record --backend {backend}")
    return chosen


def load(path: Path = BASELINES_FILE) -> dict:
    """The recorded baselines; a malformed file is refused, never half-used."""
    if not path.exists():
        return {}
    fix = "restore it (git checkout) or record again"
    data = validate.load_json(path, validate.BASELINES_SCHEMA, fix=fix)
    known_recipes = set(recipes.recipe_names())
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
    """One seed of a recipe, in this process or in a Dask worker (``tools.sweep``):
    what ``run_entry`` needs of its results. The run's files go to a scratch directory
    of the process that runs it."""
    main = functools.partial(recipes.run, recipe)
    with tempfile.TemporaryDirectory() as scratch:
        results = _quiet(main, [*argv, "--seed", str(seed), "--out", f"{scratch}/r"])
    variants = results.get("variants") or {recipe: results}
    return {"test_accuracy": results["test_accuracy"], "data_source": results["data_source"],
            "n_test": results["n_test"],
            "variants": {name: record["test_accuracy"] for name, record in variants.items()}}


def main_of(recipe: str):
    """What runs a baseline entry, ``main(argv)``: the recipe (``recipes.run``); the
    ``compare`` entry is the comparison (tools/compare.py) of the compare lesson's
    variants, over its seeds."""
    if recipe == "compare":
        return importlib.import_module("tools.compare").main
    return functools.partial(recipes.run, recipe)


def run_entry(recipe: str, dataset: str, args: list[str], seeds=SEEDS, main=None,
              workers=None, scheduler=None) -> dict:
    """Run ``recipe`` on ``dataset`` for each seed; per-variant test accuracies.

    ``main(argv)`` runs the recipe with a command line; by default the project's own
    recipe (``main_of``; ``check --recipe-file`` passes a student's copy). ``workers`` or ``scheduler`` (``--workers N``,
    ``--scheduler ADDRESS``) run the seeds, or a comparison's cells, through Dask."""
    started = time.perf_counter()
    if (workers or scheduler) and recipe != "compare" and main is None:
        return _run_entry_through_dask(recipe, dataset, args, list(seeds), workers, scheduler,
                                       started)
    main = main or main_of(recipe)
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
    """Run a recipe with its own output captured; only its results come back. (The run
    lets go of its directory however it ends, as its own process would:
    ``runs.RunDirectory``.)"""
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
    process, and scores the models it saved here (``tools.recipe_check``): the verdict
    never comes from the copy's own code. A copy that changed a recorded setting, or whose
    model has another shape, is refused by the rule ``--results`` applies."""
    recorded = for_backend(_recorded_or_say_where(path), running_backend(), path)
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
                fresh = _check_student_recipe(recipe_file, recipe, data_name,
                                              [*args, *extra_args], run_seeds, entry, notes,
                                              path)
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
    if name == "compare":  # its baselines are the comparison's, not one seed's lesson
        raise UsageError(f"--recipe-file {recipe_file}: the compare baselines are the "
                         "comparison's (python -m tools compare), not a copy of its lesson; "
                         "check a comparison's results.json with --results")
    return name


# --- students' results files --------------------------------------------------------------

# Flags that change speed or logging, never the numbers.
_SPEED_ONLY = {"steps_per_execution", "tensorboard"}


def recorded_flags(recipe: str, dataset: str, args: list[str]):
    """The parsed flags (defaults filled in) of ``recipe`` run with ``args``: the recipe's
    own parser, stopped before it loads any data."""
    return flags_of(main_of(recipe), recipe, dataset, args)


def flags_of(main, recipe: str, dataset: str, args: list[str], where: str | None = None):
    """The parsed flags of a recipe run by ``main(argv)`` (the project's, or a student's
    copy, named ``where`` in errors) with ``args`` on ``dataset``, stopped before it loads
    any data."""
    from common import training

    argv = [*args, "--dataset", dataset]
    try:
        with contextlib.redirect_stdout(io.StringIO()), cli.flags_only():
            main(argv)
    except cli.FlagsParsed as parsed:
        namespace = parsed.namespace
    except (UsageError, KeyboardInterrupt):
        raise
    except BaseException as error:  # a student's main that fails before its parser
        raise UsageError(f"{where or recipe}: main({' '.join(argv)}) failed: "
                         f"{type(error).__name__}: {str(error)[:160]}")
    else:
        raise UsageError(f"{where or recipe}: its flags cannot be read without running it")
    if recipe == "compare":
        from tools import comparison

        from tools import compare

        cells = compare.lesson()
        with contextlib.redirect_stderr(io.StringIO()):
            config = comparison._config_from_args(namespace, cells.VARIANTS,
                                                  getattr(cells, "GRID", None))
        return {k: config[k] for k in ("epochs", "batch_size", "train_size", "patience",
                                       "quick", "learning_rate", "variants", "tuning")}
    return {k: v for k, v in vars(namespace).items()
            if k not in training._NOT_HYPERPARAMETERS | _SPEED_ONLY}


def _flag_differences(expected: dict, got: dict, n_train: int) -> list[str]:
    """'name got X, recorded Y' for every flag that determines the numbers and differs."""
    expected = json.loads(json.dumps(expected))  # tuples as lists, as in a JSON file
    found = []
    for name, value in expected.items():
        if name == "batch_size" and value is None and n_train is not None:
            value = cli.default_batch_size(n_train)  # resolved by the run from n_train
        if name not in got:
            found.append(f"{name} missing, recorded {value}")
        elif got[name] != value:
            found.append(f"{name} {json.dumps(got[name])}, recorded {json.dumps(value)}")
    return found


# What a run writes in its own folder (a recipe's checkpoints; a comparison's per-seed
# records and TensorBoard logs): never a student's folder, even with no results.json in it.
RUN_SUBFOLDERS = frozenset({"backup", "runs", "tensorboard"})


def student_files(paths) -> list[tuple[Path, str, str]]:
    """(results file, its label, its student) for the files named and every results.json
    under a directory named. A file under a directory is labelled by its folder there
    (``alice``, or ``alice/run2``) and belongs to the student whose folder it is in
    (``alice``); a file at the top of the directory belongs to the directory's name; a
    file named by its path is its own label and student. With several directories given,
    labels start with the directory's name, so two classes' ``alice`` stay apart."""
    found, several = {}, _several_classes(paths)
    for given in paths:
        path = Path(given)
        try:
            if path.is_dir():
                inside = sorted(p for p in path.rglob("results.json") if p.is_file())
                if not inside:
                    raise UsageError(f"--results {path}: no results.json in that directory "
                                     f"or below it{_unpack_first(path)}")
                for p in inside:
                    folder = p.parent.relative_to(path)
                    if not folder.parts:  # a class folder's own file is no student's
                        label = path.name or str(path)
                        student = None if _student_folders(path) else label
                    else:
                        label, student = (_in_class(path, str(folder), several),
                                          _in_class(path, folder.parts[0], several))
                    found.setdefault(p, (label, student))
            elif path.is_file():
                found.setdefault(path, (str(path), str(path)))
            else:
                raise UsageError(f"--results {path}: no such file or directory")
        except OSError as error:  # no permission to look, a loop of links
            raise UsageError(f"--results {path}: {error.strerror or error}")
    return [(file, label, student) for file, (label, student) in found.items()]


# What unpacking a macOS archive leaves beside the folders it holds: no student's.
NOT_STUDENTS = frozenset({"__MACOSX", "__pycache__"})
# A hand-in still packed: a student who is listed (and told to unpack), not passed over.
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".7z", ".rar")


def _student_folders(path: Path) -> list[Path]:
    """The folders directly in ``path`` that may be students' (not hidden, not an
    archive's leftovers, and not a folder a run writes beside its results.json): none in
    a run's own folder."""
    own = RUN_SUBFOLDERS if (path / "results.json").is_file() else frozenset()
    return sorted(p for p in path.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and p.name not in own
                  and p.name not in NOT_STUDENTS)


def _archives(path: Path) -> dict[str, Path]:
    """The archives directly in a class folder, by the name they would unpack to
    (``leo`` for ``leo.zip``): hand-ins not yet unpacked."""
    found = {}
    for p in sorted(path.iterdir()):
        suffix = next((s for s in ARCHIVES if p.name.lower().endswith(s)), None)
        if suffix and p.is_file() and not p.name.startswith("."):
            found[p.name[:-len(suffix)]] = p
    return found


def _unpack_first(path: Path) -> str:
    """What to do where a class folder holds hand-ins still packed ('' where none)."""
    packed = _archives(path)
    if not packed:
        return ""
    names = ", ".join(archive.name for archive in list(packed.values())[:3])
    stem = next(iter(packed))
    return (f"; {len(packed)} archive(s) there ({names}{', ...' if len(packed) > 3 else ''}): "
            f"unpack each into a folder of its own ({path / stem} for {packed[stem].name}) "
            "and check again")


def _several_classes(paths) -> bool:
    return sum(Path(given).is_dir() for given in paths) > 1


def _in_class(class_folder: Path, name: str, several: bool) -> str:
    """A name inside a class folder, as the table shows it."""
    return f"{class_folder.name or class_folder}/{name}" if several else name


def folders_without_results(paths) -> list[tuple[Path, str, str]]:
    """(path, student, why) for each student in a class folder (each folder directly in a
    directory given) with no results.json anywhere below it, and each archive there that
    no folder of the same name unpacks (``leo.zip``): students who handed in nothing
    checkable, listed, not passed over. A results.json at the top of the directory (a
    reference run put beside the students', or a run's own folder checked alone) does
    not hide them; only the folders a run writes beside its results.json are skipped."""
    missing, several = [], _several_classes(paths)
    for given in paths:
        path = Path(given)
        try:
            if not path.is_dir():
                continue
            folders = _student_folders(path)
            for folder in folders:
                if not any(p.is_file() for p in folder.rglob("results.json")):
                    missing.append((folder, _in_class(path, folder.name, several),
                                    "no results.json in this folder: nothing to check"))
            unpacked = {folder.name for folder in folders}
            for stem, archive in _archives(path).items():
                if stem not in unpacked:
                    missing.append((archive, _in_class(path, stem, several),
                                    f"an archive, not a folder: unpack it into a folder of "
                                    f"its own ({path / stem}) and check again"))
        except OSError as error:
            raise UsageError(f"--results {path}: {error.strerror or error}")
    return missing


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
                             "python -m tools compare --resume DIR, then check it")
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
                "n_test": source["n_test"],
                "seeds": sorted({r["seed"] for r in data["rows"]}), "variants": per_variant,
                "flags": config, "versions": data.get("versions", {}),
                "backend": config.get("backend") or data.get("versions", {}).get("backend")
                or DEFAULT_BACKEND, "records": {}, "model_files": {}}
    try:
        data = validate.check(data, validate.RUN_RESULTS_SCHEMA, where=str(path))
    except UsageError as error:
        raise UsageError(f"{error}; {fix}")
    if data["recipe"] == "compare":
        raise UsageError(f"{path}: a one-seed run of the compare lesson; the compare "
                         "baselines are the comparison's: run python -m tools compare and "
                         "check its results.json")
    if data["test_accuracy"] is None:
        raise UsageError(f"{path}: test_accuracy: null, not a number (the run diverged, or "
                         f"the file was edited); it cannot match a baseline")
    variants = data.get("variants") or {data["recipe"]: data}
    main = data.get("variant") if data.get("variants") else None
    return {"file": path, "recipe": data["recipe"], "dataset": data["dataset"],
            "data_source": data["data_source"], "n_train": data["n_train"],
            "n_test": data["n_test"], "seeds": [data["seed"]],
            "variants": {name: [v["test_accuracy"]] for name, v in variants.items()},
            "flags": data["hyperparameters"], "versions": data.get("versions", {}),
            "backend": data.get("backend") or DEFAULT_BACKEND,
            "records": variants,
            # Named by the rule the run saved them by, never by a path the file gives.
            "model_files": {name: runs.model_file(name, main) if main else runs.MODEL_FILE
                            for name in variants}}


def changed_setting(name: str, entry: dict, differences: list[str]) -> str:
    """The one rule for a setting a student changed, in ``--results`` and ``--recipe-file``
    alike: the baseline holds for the recorded settings only, so the run is refused with
    the settings that differ (a changed setting has no recorded entry to check against)."""
    return (f"{name} was recorded with {' '.join(entry['args']) or 'the default flags'}, "
            f"this run differs: {'; '.join(differences)}")


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
        return changed_setting(name, entry, differences)
    if found["recipe"] == "compare":
        recorded_variants = set(entry["variants"])
        if set(found["variants"]) != recorded_variants:
            return (f"{name}: variants {', '.join(found['variants'])}, recorded "
                    f"{', '.join(entry['variants'])}")
    return None


# --- the model behind a result ------------------------------------------------------------


def classes_of(dataset: str) -> int:
    from common.datasets import DIGIT_CLASS_NAMES, IRIS_CLASS_NAMES

    return len(IRIS_CLASS_NAMES if dataset == "iris" else DIGIT_CLASS_NAMES)


@functools.lru_cache(maxsize=None)
def reference_params(recipe: str) -> int:
    """The parameter count of the project's model for ``recipe``, at its model cell's
    defaults (the architecture every baseline was recorded with)."""
    build_model = recipes.cells(recipe)["build_model"]
    with contextlib.redirect_stdout(io.StringIO()):
        return build_model(**cli.model_defaults(build_model)).count_params()


def model_shape_problems(model, recipe: str, dataset: str) -> list[str]:
    """What is wrong with a model's shape for ``recipe`` on ``dataset``, whatever its
    accuracy: output units other than the dataset's classes, or a parameter count other
    than the project's model's. Empty when it has the recipe's shape."""
    problems = []
    try:
        units = model.output_shape[-1]
    except Exception:  # several outputs, or none: not a classifier of this recipe
        return [f"its model's output shape {getattr(model, 'output_shape', None)} is not "
                f"one softmax over {classes_of(dataset)} classes"]
    if units != classes_of(dataset):
        problems.append(f"its model has {units} output units for {classes_of(dataset)} "
                        f"classes")
    params, expected = model.count_params(), reference_params(recipe)
    if params != expected:
        problems.append(f"its model has {params} parameters, the recipe's model "
                        f"{expected}")
    return problems


def _check_student_recipe(recipe_file, recipe: str, dataset: str, args: list[str],
                          seeds: list[int], entry: dict, notes: list[str], path: Path) -> dict:
    """Train a student's copy of ``recipe`` in a supervised child (``tools.recipe_check``)
    and judge it here by the rules ``--results`` applies: its model, built with the
    project's settings, must have the recipe's shape (checked before training); each run's
    flags must be the recorded ones (``changed_setting``); and each variant's accuracy is
    scored from the model the run saved, never read from what the copy wrote."""
    from tools import recipe_check

    recorded, flags_cache, splits = load(path), {}, _TestSplits()
    reference = recipes.cells(recipe)["build_model"]
    name = key(recipe, dataset, running_backend())

    def inspect_flags(flags: dict) -> None:  # before anything trains or imports Keras here
        differences = _flag_differences(recorded_flags(recipe, dataset, entry["args"]),
                                        flags, None)
        if differences:
            raise UsageError(f"--recipe-file {recipe_file}: "
                             f"{changed_setting(name, entry, differences)}; check the "
                             "recipe with the recorded settings")

    def inspect_setup(model_path: Path) -> None:
        import keras

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
        except Exception as error:  # not saved, or layers Keras cannot rebuild safely
            raise UsageError(f"--recipe-file {recipe_file}: its model cannot be loaded "
                             f"({type(error).__name__}: {str(error)[:120]})")
        problems = model_shape_problems(model, recipe, dataset)
        if problems:
            raise UsageError(f"--recipe-file {recipe_file}: {'; '.join(problems)}; fix "
                             "the model cell and check again")

    def inspect_run(results_path: Path) -> dict:
        if not results_path.is_file():
            notes.append(f"{recipe_file}: a run wrote no results.json: nothing to verify")
            return {}
        found = read_results(results_path)
        reason = _match(found, recorded, flags_cache)  # what the run itself trained with
        problems = [reason] if reason else consistency_problems(found)
        scores, model_problems, unverified = score_models(found, splits, notes) \
            if not reason else ({}, [], {})
        problems += model_problems
        if unverified or problems:
            notes.append(f"{recipe_file} seed {found['seeds'][0]}: cannot be verified: "
                         + ("; ".join(dict.fromkeys(unverified.values()))
                            or "; ".join(problems)))
            return {}
        return scores

    fresh, scored_notes = recipe_check.run_student_recipe(
        recipe_file, recipe, dataset, args, seeds, list(entry["variants"]),
        model_settings=cli.model_defaults(reference), inspect_flags=inspect_flags,
        inspect_setup=inspect_setup, inspect_run=inspect_run)
    notes += scored_notes
    fresh["versions"] = runs.library_versions()
    fresh["data_source"] = splits.get(dataset).source
    return fresh


class _TestSplits:
    """The test split of each dataset, loaded once for a whole class."""

    def __init__(self):
        self._loaded = {}

    def get(self, dataset: str):
        from common.datasets import load_dataset

        if dataset not in self._loaded:
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self._loaded[dataset] = load_dataset(dataset)
            except DatasetUnavailable as error:
                self._loaded[dataset] = error
        return self._loaded[dataset]


def score_models(found: dict, splits: _TestSplits,
                 notes: list[str]) -> tuple[dict, list[str], dict[str, str]]:
    """Re-evaluate the models saved beside a run's results.json on the test split of the
    dataset it names: ({variant: test accuracy}, problems with the file or its models,
    {variant: why it cannot be verified}). The accuracy is computed here, never read;
    a variant whose model is missing or unreadable leaves the others scored."""
    import numpy as np

    def every_variant(why):
        return {variant: why for variant in found["variants"]}

    if found["recipe"] == "compare":
        return {}, [], every_variant("a comparison saves no models: its numbers are the "
                                     "file's own")
    data = splits.get(found["dataset"])
    if isinstance(data, DatasetUnavailable):
        return {}, [], every_variant(f"its test split cannot be loaded here: "
                                     f"{str(data)[:160]}")
    import keras

    from common import training

    training.quiet_retracing()  # one model loaded after another, each predicting once
    scores, problems = {}, []
    if data.source != found["data_source"]:
        # The same dataset from another source (tfds here, keras.datasets there) is the
        # same test split; the model is scored on the one loaded here, and the row says so.
        notes.append(f"{found['file']}: data_source: the file says {found['data_source']}, "
                     f"the model was scored on {found['dataset']} from {data.source}")
    if found["n_test"] != len(data.y_test):
        problems.append(f"n_test: the file says {found['n_test']}, the test split of "
                        f"{found['dataset']} has {len(data.y_test)}")
    x_test, y_test = data.test
    unverified = {}
    for variant, file_name in found["model_files"].items():
        model_path = found["file"].parent / file_name
        if not model_path.is_file():
            unverified[variant] = (f"no {file_name} beside it (a run saves its trained model "
                                   "there; without it the accuracy is only the file's word)")
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model = keras.saving.load_model(model_path, safe_mode=True)
        except Exception as error:  # not a Keras file, a crafted one, a custom layer
            unverified[variant] = (f"{file_name} cannot be loaded ({type(error).__name__}: "
                                   f"{str(error)[:120]})")
            continue
        shape = model_shape_problems(model, found["recipe"], found["dataset"])
        if shape:
            problems += [f"{file_name}: {problem}" for problem in shape]
            continue
        probabilities = np.asarray(model.predict(x_test, batch_size=1024, verbose=0))
        scores[variant] = float(np.mean(np.argmax(probabilities, axis=-1) == y_test))
        problems += _trained_steps_problems(model, file_name, found,
                                            found["records"].get(variant, {}))
    return scores, problems, unverified


def _trained_steps_problems(model, file_name: str, found: dict, record: dict) -> list[str]:
    """The optimizer's step count is the model's own record of how long it trained: it
    must be the file's epochs_run times the batches in an epoch."""
    batch_size = found["flags"].get("batch_size")
    epochs_run = record.get("epochs_run")
    optimizer = getattr(model, "optimizer", None)
    if (optimizer is None or not isinstance(batch_size, int) or batch_size < 1
            or not isinstance(epochs_run, int)):
        return []
    steps = int(optimizer.iterations.numpy() if hasattr(optimizer.iterations, "numpy")
                else optimizer.iterations)
    per_epoch = -(-found["n_train"] // batch_size)
    if steps != epochs_run * per_epoch:
        return [f"epochs_run: the file says {epochs_run}, but {file_name} trained {steps} "
                f"steps, {steps / per_epoch:g} epochs of {per_epoch} batches"]
    return []


def consistency_problems(found: dict) -> list[str]:
    """Fields of a run's results.json that disagree with each other, by name."""
    problems = []
    epochs = found["flags"].get("epochs")
    early_stopping = "patience" in found["flags"]
    for variant, record in found["records"].items():
        where = "" if len(found["records"]) == 1 else f"variants.{variant}."
        history, epochs_run = record.get("history"), record.get("epochs_run")
        losses = history.get("loss") if isinstance(history, dict) else None
        if not isinstance(epochs_run, int) or isinstance(epochs_run, bool):
            problems.append(f"{where}epochs_run: missing or not a whole number")
            continue
        if not isinstance(losses, list):
            problems.append(f"{where}history.loss: missing, so epochs_run {epochs_run} "
                            "cannot be checked")
        elif len(losses) != epochs_run:
            problems.append(f"{where}epochs_run: the file says {epochs_run}, its history has "
                            f"{len(losses)} epochs")
        if isinstance(epochs, int) and not isinstance(epochs, bool):
            if epochs_run > epochs:
                problems.append(f"{where}epochs_run: {epochs_run} epochs, more than "
                                f"hyperparameters.epochs {epochs}")
            elif epochs_run < epochs and not early_stopping and not record.get("diverged"):
                problems.append(f"{where}epochs_run: {epochs_run} epochs, but "
                                f"hyperparameters.epochs is {epochs} and nothing stops "
                                "this recipe early")
    return problems


# --- a class's results files: one verdict each ----------------------------------------------

PASSING = ("pass", "improved")
CSV_FIELDS = ("student", "file", "entry", "seed", "variant", "file_says", "model_scores",
              "expected", "difference", "tolerance", "verdict", "reason", "student_verdict")
# A grade book written before the student's verdict had a column: still ours to replace.
OLDER_CSV_HEADERS = (",".join(CSV_FIELDS[:-1]),)
# The student_verdict of a results.json at the top of a class folder: the teacher's.
REFERENCE_RUN = "reference run: not graded"


def check_results(paths, path: Path = BASELINES_FILE, *, csv_file=None) -> int:
    """Check students' results.json files (or every one under a directory) without
    training: each file's saved model is scored on the test split, and that accuracy,
    never the number in the file, is compared with the recorded baseline of the same
    recipe, dataset and flags (the recorded accuracy of the file's seed where that seed
    was recorded). Each file gets its own row and verdict; a file that cannot be used is a row with the
    reason, except when it is the only file named (then it is one usage error). 0 when
    every file passes, 1 otherwise; ``csv_file``: the rows for a grade book."""
    recorded = _recorded_or_say_where(path)
    csv_path = _csv_destination(csv_file, paths)
    files = student_files(paths)
    alone = len(files) == 1 and len(paths) == 1 and Path(paths[0]).is_file()
    flags_cache, splits, rows, notes = {}, _TestSplits(), [], []
    for file, label, student in files:
        try:
            rows += [{**row, "of": student} for row in
                     _rows_of_file(file, label, recorded, flags_cache, splits, notes)]
        except UsageError as error:
            if alone:
                raise UsageError(f"{error}; run it with the recorded flags (python -m "
                                 "tools baselines show)" if "this run differs" in str(error)
                                 else str(error))
            rows.append(_row(label, file, of=student, verdict="refused",
                             reason=_without(str(error), file)))
        except (RecursionError, TypeError, ValueError, KeyError, AttributeError) as error:
            # A crafted file that the schema let through: that student's row, not a crash.
            reason = ("nested too deeply to be a file this project wrote"
                      if isinstance(error, RecursionError) else
                      f"cannot be checked ({type(error).__name__}: {str(error)[:120]})")
            if alone:
                raise UsageError(f"{file}: {reason}")
            rows.append(_row(label, file, of=student, verdict="refused", reason=reason))
    for folder, student, why in folders_without_results(paths):
        rows.append(_row(student, folder, verdict="no results", reason=why))
    # One class in name order, a student who handed in nothing among the others (each
    # student's runs keep their order); the teacher's own reference run last.
    rows.sort(key=lambda row: (row["of"] is None, row["of"] or ""))
    _print_class(rows, notes, files)
    if csv_path is not None:  # each row with its student's verdict (their worst run's)
        by_student = verdicts_by_student(rows)
        _write_csv(csv_path, [{**row, "student_verdict": REFERENCE_RUN if row["of"] is None
                               else by_student[row["of"]][0]} for row in rows])
    # The teacher's own reference run is shown, not graded.
    return 0 if all(row["verdict"] in PASSING for row in rows if row["of"] is not None) else 1


def _recorded_or_say_where(path: Path) -> dict:
    """The recorded baselines, or one line saying where the file is expected and how to
    get it (an installed package has none: the file ships with a clone)."""
    if not path.exists():
        raise UsageError(
            f"no baselines file at {path}: the recorded baselines (baselines/baselines.json) "
            "ship with a clone of the project, not with pip install; run this command in a "
            "clone (git clone the repository, then python3 -m pip install -e \".[cpu]\" "
            "there)")
    recorded = load(path)
    if not recorded:
        raise UsageError(f"no baselines recorded in {path}; run: python -m tools baselines "
                         "record")
    return recorded


def _without(message: str, file: Path) -> str:
    """A reason without the file name it starts with: the row already names the file."""
    return message.removeprefix(f"{file}: ").removeprefix(f"{file} ")


def _row(student, file, **fields) -> dict:
    """One row of the class table; ``student`` labels the run (``alice``, ``hal/r2``),
    ``of`` (default: the label) is whose it is, for the one verdict per student."""
    return {"student": student, "of": student, "file": str(file), "entry": "-", "seed": "-",
            "variant": "-", "file_says": None, "model_scores": None, "expected": None,
            "difference": None, "tolerance": None, "verdict": "", "reason": "",
            "rule": None, **fields}


def _rows_of_file(file, label, recorded, flags_cache, splits, notes) -> list[dict]:
    found = read_results(file)
    reason = _match(found, recorded, flags_cache)
    if reason:
        raise UsageError(f"{file}: {reason}")
    name = key(found["recipe"], found["dataset"], found["backend"])
    entry = recorded[name]
    notes += _provenance_notes(label, entry, found)
    problems = consistency_problems(found)
    scores, model_problems, unverified = score_models(found, splits, notes)
    problems += model_problems
    rows = []
    for variant, values in found["variants"].items():
        if variant not in entry["variants"]:
            rows.append(_row(label, file, entry=name, variant=variant, verdict="refused",
                             reason=f"variant {variant} is not recorded for {name}"))
            continue
        recorded_variant = entry["variants"][variant]
        expected, _ = _expected(recorded_variant, entry.get("seeds"), found["seeds"])
        claimed = sum(values) / len(values)
        tol = tolerance(recorded_variant, entry["n_test"])
        row = _row(label, file, entry=name, seed=",".join(map(str, found["seeds"])),
                   variant=variant, file_says=claimed, expected=expected, tolerance=tol,
                   rule=tolerance_rule(recorded_variant, entry["n_test"]))
        got = scores.get(variant)
        if problems:
            row.update(verdict="inconsistent", reason="; ".join(problems), model_scores=got)
        elif variant in unverified or got is None:
            row.update(verdict="cannot be verified",
                       reason=unverified.get(variant) or "no model scored")
        else:
            difference = round(got - expected, 6) + 0.0  # float32's last bits, no -0.0
            row.update(model_scores=got, difference=difference,
                       verdict=("REGRESSION" if difference < -tol else
                                "improved" if difference > tol else "pass"))
            if abs(got - claimed) > _rounding(found):
                row.update(verdict="does not match its model",
                           reason=f"the file says {claimed:.4f}, its saved model scores "
                                  f"{got:.4f} on the test split (baseline {expected:.4f})")
        rows.append(row)
    missing = sorted(set(entry["variants"]) - set(found["variants"]))
    rows += [_row(label, file, entry=name, variant=v, verdict="MISSING",
                  reason="not in the file") for v in missing]
    return rows


@functools.lru_cache(maxsize=1)
def _checker_versions() -> dict:
    return runs.library_versions()


def _rounding(found: dict) -> float:
    """How far a file's accuracy may be from its model's score here without being an
    edit. With the libraries the run used, the same model on the same test split scores
    exactly what the run wrote: any whole test example of difference is an edit (on
    Iris one example is 1/30, the step from 0.9667 to 1.0000). Other versions or another
    backend may round one example near the boundary the other way: one is allowed."""
    same_stack = found.get("versions") == _checker_versions()
    return (0.5 if same_stack else 1 + 1e-6) / found["n_test"]


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _print_class(rows, notes, files) -> None:
    """Every row, the reasons, the tolerance rules, then one verdict per student (their
    worst file's) and the count of students."""
    width = max([7, *(len(r["student"]) for r in rows)])
    with_files = {student for _, _, student in files if student is not None}
    without = [r for r in rows if r["verdict"] == "no results"]
    packed = sum(Path(r["file"]).is_file() for r in without)  # an archive, not unpacked
    reference = len(files) - sum(student is not None for _, _, student in files)
    print(f"{len(files)} results file(s) from {len(with_files)} student(s)"
          + (f" and {reference} at the top of a class folder (yours: not counted)"
             if reference else "")
          + (f", and {len(without)} student(s) with none" if without else "")
          + (f" ({packed} of them an archive to unpack)" if packed else "")
          + "; the accuracy compared is the saved model's, scored on the test split here\n")
    print(f"{'student':<{width}} {'entry':<28} {'seed':>4} {'variant':<15} {'file says':>9} "
          f"{'model':>7} {'expected':>8} {'diff':>8} {'tol':>7}  verdict")
    for r in rows:
        print(f"{r['student']:<{width}} {r['entry']:<28} {r['seed']:>4} {r['variant']:<15} "
              f"{_fmt(r['file_says']):>9} {_fmt(r['model_scores']):>7} "
              f"{_fmt(r['expected']):>8} {_fmt(r['difference'], '+.4f'):>8} "
              f"{_fmt(r['tolerance']):>7}  {r['verdict']}")
    reasons = [r for r in rows if r["reason"]]
    if reasons:
        print("\nwhy:")
        for r in reasons:
            print(f"  {r['student']} ({r['file']}): {r['verdict']}: {r['reason']}")
    rules = {r["entry"]: r["rule"] for r in rows if r["rule"]}
    if rules:
        print("\nexpected: the recorded test accuracy of the file's seed (the seed column) "
              "where that seed was recorded, else the recorded mean over the recorded seeds; "
              "model: the saved model's accuracy on the test split; a file regresses when "
              "model < expected - tol.\ntol = max(2 x recorded std over seeds, 1/n_test, "
              "0.005) (<- the term that decides):")
        for r in rows:
            if r["rule"]:
                print(f"  {r['student']} {r['variant']}: tol {r['rule']}")
    for note in notes:
        print(f"note: {note}")
    print(f"\n{'student':<{width}}  verdict")
    by_student = verdicts_by_student(rows)
    _, reference_runs = by_student.pop(None, (None, {}))
    for student, (verdict, per_run) in by_student.items():
        runs_said = (f"  ({len(per_run)} run{'s' * (len(per_run) > 1)}: "
                     + ", ".join(f"{run} {said}" for run, said in per_run.items()) + ")"
                     if list(per_run) != [student] else "")
        print(f"{student:<{width}}  {verdict}{runs_said}")
    for label, verdict in reference_runs.items():
        print(f"(not a student: {label}, the results.json at the top of the class folder: "
              f"{verdict})")
    passed = sum(verdict in PASSING for verdict, _ in by_student.values())
    print(f"\n{passed} of {len(by_student)} student(s) passed, {len(by_student) - passed} "
          "did not")


def verdicts_by_student(rows) -> dict:
    """student -> (their verdict, {run: its verdict}). A run's verdict is its worst row's
    (a recipe with several variants has a row each); a student's is their worst run's:
    every file handed in is a claim, and a good run does not cover for a forged one.
    The files at the top of a class folder (no student's) are under None."""
    per_run: dict = {}
    for r in rows:  # a run is one file (its label names it in the table)
        runs_of = per_run.setdefault(r["of"], {})
        current = runs_of.get(r["student"])
        if current is None or _severity(r["verdict"]) > _severity(current):
            runs_of[r["student"]] = r["verdict"]
    return {student: (max(verdicts.values(), key=_severity), verdicts)
            for student, verdicts in per_run.items()}


def _severity(verdict: str) -> int:
    order = ("pass", "improved", "no results", "MISSING", "REGRESSION", "cannot be verified",
             "does not match its model", "inconsistent", "refused")
    return order.index(verdict) if verdict in order else len(order)


def _csv_destination(csv_file, results_paths=()) -> Path | None:
    """``--csv FILE``, checked before any work: a new file, or a grade book this command
    wrote before (replaced), in a folder that exists and can be written, and not among
    the results it checks: a typo must not overwrite a student's hand-in."""
    if csv_file is None:
        return None
    path = Path(csv_file)
    try:
        if path.is_dir():
            raise UsageError(f"--csv {path} is a directory; give a file name")
        for given in results_paths:
            if path.resolve().is_relative_to(Path(given).resolve()):
                raise UsageError(f"--csv {path} is inside --results {Path(given).resolve()}; "
                                 "write the grade book outside the folder being checked")
        if path.exists() or path.is_symlink():
            with open(path, newline="", errors="replace") as file:
                first_line = file.readline(1000).strip()
            if first_line not in (",".join(CSV_FIELDS), *OLDER_CSV_HEADERS):
                raise UsageError(f"--csv {path} already exists and is not a grade book this "
                                 "command wrote; give a new file name (it is never "
                                 "overwritten)")
        folder = path.absolute().parent
        if not folder.is_dir():
            raise UsageError(f"--csv {path}: no folder {folder}; create it or choose another")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"--csv {path}: {folder} is not writable; choose another folder")
        if not path.exists():  # tried now, not after every model is scored (/proc passes
            with open(path, "x"):  # the permission check for root, yet takes no file)
                pass
            path.unlink()
    except OSError as error:
        raise UsageError(f"--csv {path}: {error.strerror or error}; choose another file")
    return path


def _write_csv(path: Path, rows) -> None:
    import csv

    def write(tmp: Path):
        with open(tmp, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v)
                                 for k, v in row.items()})

    try:
        runs.atomic_write(path, write)
    except OSError as error:
        raise UsageError(f"--csv {path}: {error.strerror or error}; choose another file")
    print(f"rows: {path}")


def record(only=None, dataset=None, tiers=("fast", "full", "online"),
           path: Path = BASELINES_FILE, workers=None, scheduler=None) -> int:
    """Run the plan and write each entry as it finishes, showing what changed."""
    load(path)  # a malformed file is refused before any training

    plan = recipes.baseline_plan()  # each recipe's header says what it records
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


def show(path: Path = BASELINES_FILE, only=None, dataset=None) -> int:
    """The recorded baselines as a Markdown table: all, or those of the recipes in
    ``only`` and of ``dataset``. A recipe named that has none is refused in one line."""
    recorded = _recorded_or_say_where(path)
    shown = [entry for entry in recorded.values()
             if (not only or entry["recipe"] in only)
             and (dataset is None or entry["dataset"] == dataset)]
    unrecorded = sorted(set(only or ()) - {entry["recipe"] for entry in shown})
    if unrecorded or not shown:
        raise UsageError(f"no baseline recorded for {', '.join(unrecorded) or 'these'}"
                         + (f" on {dataset}" if dataset else "")
                         + "; a training recipe's are recorded with: python -m tools "
                         f"baselines record --only {','.join(unrecorded) or 'NAME'} (on "
                         "each backend)")
    print("| recipe | dataset (source) | flags | variant | backend | test accuracy, mean ± "
          "std (seeds 0-2) | per seed | recorded |")
    print("|---|---|---|---|---|---|---|---|")
    for entry in shown:
        backend = backend_of(entry)
        version = entry["versions"].get(backend)
        for name, variant in entry["variants"].items():
            seeds = ", ".join(f"{v:.4f}" for v in variant["test_accuracy"])
            print(f"| {entry['recipe']} | {entry['dataset']} ({entry['data_source']}) | "
                  f"{' '.join(entry['args']) or '-'} | {name} | {backend} | "
                  f"{variant['mean']:.4f} ± {variant['std']:.4f} | {seeds} | "
                  f"{entry['date']}, {backend} {version} |")
    print(f"\n(recorded in {path}, which ships with a clone of the project)")
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
                         "another backend's: python -m tools baselines record --backend jax")
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


# --- the command line ---------------------------------------------------------------------


def _seed_list(text):
    """'0,2' -> [0, 2]: seeds for baselines check --seeds."""
    import argparse

    try:
        seeds = [cli.seed(part.strip()) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"must be comma-separated seeds such as '0,1', "
                                         f"got '{text}'")
    return list(dict.fromkeys(seeds))


def main(argv=None) -> None:
    """``python -m tools baselines ACTION [flags]``: the command line of this module."""
    from common.cli import Parser, add_backend_flag

    parser = Parser(prog="python -m tools baselines",
                    description="Re-run the recorded accuracy baselines and compare, or "
                                "record them; or compare students' results files, or a "
                                "student's copy of a recipe, with them. check exits 1 on any "
                                "regression, 2 on a file it cannot use.")
    parser.add_argument("action", choices=("check", "record", "show", "agree"),
                        help="check: re-run and compare; record: run and write; "
                             "show: print what is recorded; agree: do the backends' "
                             "recorded means agree within tolerance")
    parser.add_argument("--only", type=lambda text: text.split(","), default=None,
                        metavar="NAME[,NAME]", help="only these recipes (default: all)")
    parser.add_argument("--dataset", choices=ALL_DATASETS, default=None,
                        help="only entries on this dataset (default: all)")
    parser.add_argument("--tier", choices=("fast", "full", "online", "all"), default="all",
                        help="record: fast (Iris, mnist-5k), full (Fashion-MNIST), "
                             "online (full MNIST)")
    parser.add_argument("--results", nargs="+", default=None, metavar="FILE_OR_DIR",
                        help="check: compare these results.json files (a recipe's run or a "
                             "comparison; a directory: every results.json below it) with the "
                             "recorded baseline of the same recipe, dataset and flags, without "
                             "training (default: re-run the recipes)")
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="check --results: also write one row per file and variant "
                             "(student, verdict, reason, ...) to this CSV file, for a grade "
                             "book")
    parser.add_argument("--recipe-file", default=None, metavar="PATH",
                        help="check: run this edited copy of a recipe (named by --only NAME, "
                             "or by its file name) with the recorded flags and seeds "
                             "(default: the project's recipe)")
    parser.add_argument("--seeds", type=_seed_list, default=None, metavar="S[,S]",
                        help="check: only these of the recorded seeds (default: all)")
    add_backend_flag(parser)  # the recipes then train on it, in this process
    sweep.add_flags(parser)  # seeds, or a comparison's cells, through Dask
    args = parser.parse_args(argv)
    sweep_flags = sweep.argv(args.workers, args.scheduler)
    if sweep_flags and (args.recipe_file or args.results or args.action in ("show",
                                                                            "agree")):
        raise UsageError(f"{sweep_flags[0]} goes with baselines check or record of the "
                         "project's recipes; --recipe-file, --results and show run here")
    for name in args.only or []:
        recipes.recipe_path(name)  # an unknown name: one line listing the recipes
    check_only = [flag for flag, value in (("--results", args.results),
                                           ("--recipe-file", args.recipe_file),
                                           ("--seeds", args.seeds),
                                           ("--csv", args.csv)) if value]
    if args.action != "check" and check_only:
        raise UsageError(f"{check_only[0]} goes with baselines check, not {args.action}")
    if args.results and (args.recipe_file or args.seeds or args.only or args.dataset):
        raise UsageError("--results compares the files as they are (their recipe, dataset "
                         "and seeds): give it without --recipe-file, --seeds, --only or "
                         "--dataset")
    if args.csv and not args.results:
        raise UsageError("--csv writes the rows of baselines check --results; give --results "
                         "FILE_OR_DIR too")
    if args.action == "show":
        code = show(only=args.only, dataset=args.dataset)
    elif args.action == "agree":
        code = agree()
    elif args.action == "check" and args.results:
        code = check_results(args.results, csv_file=args.csv)
    elif args.action == "check":
        code = check(args.only, args.dataset, seeds=args.seeds,
                               recipe_file=args.recipe_file, workers=args.workers,
                               scheduler=args.scheduler)
    else:
        tiers = ("fast", "full", "online") if args.tier == "all" else (args.tier,)
        code = record(args.only, args.dataset, tiers, workers=args.workers,
                                scheduler=args.scheduler)
    if code:
        raise SystemExit(code)
