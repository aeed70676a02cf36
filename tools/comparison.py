"""Run a comparison: every (variant, seed) pair, each saved the moment it finishes.

The output directory holds ``config.json`` (everything that defines the comparison),
``runs/VARIANT-seedN.json`` (one file per finished run, written atomically) and the
report. Interrupted (Ctrl-C, SIGTERM), the comparison keeps its finished runs, writes a
report marked partial and exits with 130; ``--resume DIR`` reads the saved configuration,
skips the finished runs and trains the rest.
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from common import cli, limits, runs, training, validate, weights
from tools import claims, report, sequential, sweep, tuning
from common.datasets import IMAGE_DATASETS, load_dataset
from common.errors import UsageError


class RecipeCells(NamedTuple):
    """The comparison recipe's own cells, which every run is made of: a student reads
    them there, and the comparison calls them as they are (in Dask workers too)."""

    build_model: Callable
    train: Callable
    evaluate: Callable
    early_stopping: Callable


# What determines a comparison's data: a resumed comparison must see the same.
DATA_IDENTITY = ("dataset", "data_source", "n_train", "n_val", "n_test")


def add_tuning_flags(parser, grid: dict) -> None:
    rows = "; ".join(f"{name} {setting}: {','.join(f'{v:g}' for v in values)}"
                     for name, row in grid.items() for setting, values in row.items())
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=True,
                        help="also train each regularizer at every strength of its grid and "
                             "keep, per seed, the one the validation split picks "
                             f"(default: on; grid: {rows})")
    parser.add_argument("--grid", metavar="REGULARIZER=V1,V2,...", action="append",
                        type=tuning.grid_flag(grid), default=[],
                        help="replace one regularizer's grid, e.g. --grid l2=1e-5,1e-4,1e-3,1e-2 "
                             "(repeat for others)")


MAX_SEEDS, TIME_BUDGET_MINUTES, DELTA_POINTS = 16, 10.0, 0.5


def add_seed_flags(parser) -> None:
    """--seeds N (a fixed design), or the sequential design's --max-seeds, --time-budget
    and --delta (the default)."""
    parser.add_argument("--seeds", type=cli.positive_int, default=None,
                        help="train exactly N paired seeds (--seed, --seed+1, ...: 0, 1, "
                             "... N-1 by default) of every variant: "
                             "a fixed design, no seeds added (default: add seeds in rounds "
                             "until every verdict is decided; see docs/comparison.md)")
    parser.add_argument("--max-seeds", type=_at_least_two, default=None, metavar="N",
                        help=f"sequential design: stop adding seeds at N (default: "
                             f"{MAX_SEEDS})")
    parser.add_argument("--time-budget", type=cli.positive_float, default=None,
                        metavar="MINUTES",
                        help="sequential design: start no round of seeds that would end "
                             "after MINUTES of training (the first round always runs; "
                             f"default: {TIME_BUDGET_MINUTES:g})")
    parser.add_argument("--delta", type=cli.positive_float, default=None, metavar="POINTS",
                        help="sequential design: a difference smaller than POINTS of test "
                             "accuracy counts as none; a variant whose interval lies inside "
                             f"+-POINTS is decided (default: {DELTA_POINTS:g})")


def _at_least_two(text):
    value = cli.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"must be at least 2 (an interval needs two seeds), got '{text}'")
    return value


def _sequential_from_args(args) -> dict | None:
    """The sequential design's settings, or None for a fixed design (--seeds N)."""
    given = [flag for flag, value in (("--max-seeds", getattr(args, "max_seeds", None)),
                                      ("--time-budget", getattr(args, "time_budget", None)),
                                      ("--delta", getattr(args, "delta", None)))
             if value is not None]
    if args.seeds is not None:
        if given:
            raise UsageError(f"{', '.join(given)} with --seeds: --seeds {args.seeds} trains "
                             "exactly that many seeds, the others decide when a sequential "
                             "comparison stops; leave out one of them")
        return None
    max_seeds = getattr(args, "max_seeds", None) or MAX_SEEDS
    return {"rule": sequential.RULE, "alpha": sequential.ALPHA,
            "looks": sequential.looks(max_seeds), "max_seeds": max_seeds,
            "time_budget_minutes": getattr(args, "time_budget", None) or TIME_BUDGET_MINUTES,
            "delta": (getattr(args, "delta", None) or DELTA_POINTS) / 100}


def _variants_from_args(args, variants: dict) -> dict:
    chosen = {name: copy.deepcopy(variants[name]) for name in args.variants}
    if args.patience is not None:
        for variant in chosen.values():
            if variant.get("early_stopping"):
                variant["early_stopping"]["patience"] = args.patience
    return chosen


def _config_from_args(args, variants: dict, grid: dict | None = None) -> dict:
    quick = args.quick
    design = _sequential_from_args(args)
    n_seeds = design["max_seeds"] if design else args.seeds
    if n_seeds > limits.MAX_SEEDS:  # what config.json may hold, so --resume takes it
        flag = "--max-seeds" if design else "--seeds"
        raise UsageError(f"{flag} {n_seeds}: at most {limits.MAX_SEEDS} seeds in one "
                         "comparison")
    if n_seeds > cli.SENSIBLE_SEEDS:
        print(f"warning: {n_seeds} seeds is more than the differences here need; the "
              "confidence intervals narrow only with the square root of the seed count",
              file=sys.stderr)
    last_seed = args.seed + n_seeds - 1
    if last_seed > limits.MAX_SEED:
        flag = f"--max-seeds {n_seeds}" if design else f"--seeds {n_seeds}"
        raise UsageError(f"--seed {args.seed} {flag}: the last seed would be "
                         f"{last_seed}, above NumPy's limit {limits.MAX_SEED}; lower --seed")
    chosen = _variants_from_args(args, variants)
    tuning_plan = None
    given = getattr(args, "grid", [])
    if getattr(args, "tune", False) and grid:
        _check_grid_flags(given, chosen)
        grid = {**grid, **{name: {next(iter(grid[name])): values} for name, values in given}}
        tuning_plan = tuning.plan(chosen, grid)
        for regularizer, row in tuning_plan["grid"].items():
            if len(row["values"]) > tuning.MAX_VALUES:
                fixed = tuning.setting_of(chosen[regularizer], row["setting"])
                raise UsageError(f"--grid {regularizer}: {len(row['values'])} values with the "
                                 f"fixed variant's own ({fixed:g}); a grid holds at most "
                                 f"{tuning.MAX_VALUES}")
        if not tuning_plan["grid"]:
            tuning_plan = None
    elif given:
        raise UsageError("--grid with --no-tune: the grid is used only when tuning; leave "
                         "out one of them")
    return {
        "command": "compare",
        "backend": cli.default_backend(),  # set by --backend or KERAS_BACKEND
        "dataset": args.dataset,
        "variants": chosen,
        "tuning": tuning_plan,
        "seeds": list(range(args.seed, args.seed + n_seeds)),  # at most, when sequential
        "sequential": design,
        "epochs": min(args.epochs, cli.QUICK_EPOCHS) if quick else args.epochs,
        "batch_size": args.batch_size,
        "train_size": min(args.train_size, cli.QUICK_TRAIN_EXAMPLES) if quick else args.train_size,
        "patience": args.patience,  # None: each variant's own
        "steps_per_execution": args.steps_per_execution,
        "quick": quick,
        "tensorboard": args.tensorboard,
        "learning_rate": args.learning_rate,
    }


def _check_grid_flags(given: list, chosen: dict) -> None:
    """Each regularizer's --grid once, and only for a variant that is compared: a second
    --grid for the same one, or one for a variant left out, was ignored without a word."""
    seen = {}
    for name, values in given:
        shown = ",".join(f"{v:g}" for v in values)
        if name in seen:
            raise UsageError(f"--grid {name}={seen[name]} and --grid {name}={shown}: give each "
                             "regularizer's values in one --grid")
        seen[name] = shown
        if name not in chosen:
            raise UsageError(f"--grid {name}={shown}: {name} is not among --variants "
                             f"({','.join(chosen)}); add it there, or leave out this --grid")


def _load_config(out_dir: Path) -> dict:
    if not (out_dir / "config.json").is_file():
        raise UsageError(f"--resume {out_dir}: no config.json there; "
                         "give the directory of an earlier comparison")
    config = validate.load_json(out_dir / "config.json", validate.COMPARE_CONFIG_SCHEMA,
                                fix="start a new comparison")
    saved, running = config.get("backend"), cli.default_backend()
    if saved and saved != running:
        raise UsageError(f"--resume {out_dir}: its runs were trained on the {saved} backend, "
                         f"this process runs {running}; resume it with --backend {saved}")
    if config["dataset"] not in IMAGE_DATASETS:
        raise UsageError(f"{out_dir / 'config.json'}: dataset: '{config['dataset']}' is not "
                         f"one of {', '.join(IMAGE_DATASETS)}; start a new comparison")
    design = config.get("sequential")
    if design and (len(config["seeds"]) != design["max_seeds"]
                   or design["looks"] != sequential.looks(design["max_seeds"])):
        raise UsageError(f"{out_dir / 'config.json'}: sequential: its seeds and looks do not "
                         f"match max_seeds {design['max_seeds']}; start a new comparison")
    for regularizer, row in tuning.grid_of(config).items():
        where = f"{out_dir / 'config.json'}: tuning: {regularizer}"
        expected = "patience" if regularizer == "early_stopping" else regularizer
        variant = config["variants"].get(regularizer)
        if row["setting"] != expected or variant is None or \
                tuning.setting_of(variant, expected) is None:
            raise UsageError(f"{where}: does not match the variant it tunes; start a new "
                             "comparison")
        for value in row["values"]:
            try:
                # str(): a patience of 5.5 is refused, not truncated to 5
                tuning.parse_value(expected, str(value))
            except argparse.ArgumentTypeError as error:
                raise UsageError(f"{where}: {error}; start a new comparison")
    return config


def _load_run(path: Path, variant: str, seed: int) -> dict | None:
    """A finished run's record, or None (with a note naming the problem) if the file is
    damaged: that run is then trained again and the file replaced."""
    try:
        record = validate.load_json(path, validate.RUN_RECORD_SCHEMA, fix="training it again")
        if (record["variant"], record["seed"]) != (variant, seed):
            raise UsageError(f"{path} holds {record['variant']} seed {record['seed']}; "
                             "training it again")
    except UsageError as error:
        print(f"note: {path} is damaged: {error}")
        return None
    return record


def all_variants(config) -> dict:
    """Every run's settings by name: the fixed variants and the tuning candidates."""
    found = dict(config["variants"])
    for runs_of_one in tuning.candidates(config["variants"], config.get("tuning")).values():
        found.update({name: settings for name, _, settings in runs_of_one})
    return found


def _refuse_shared_names(config, where: str) -> None:
    """A variant named like a tuning candidate ('l2-0p01') would share its run and file,
    and train with the candidate's settings: refused, by name."""
    for regularizer, runs_of_one in tuning.candidates(config["variants"],
                                                      config.get("tuning")).items():
        taken = [(name, f"{regularizer}'s tuning candidate {value:g}")
                 for name, value, _ in runs_of_one if name != regularizer]
        taken.append((regularizer + tuning.SUFFIX, f"{regularizer}'s validation-chosen runs"))
        for name, what in taken:
            if name in config["variants"]:
                raise UsageError(f"{where}: variant '{name}' has the name of {what}; rename "
                                 "the variant, or leave out that tuning")


def _build(config, cells, data, settings):
    return cells.build_model(**settings["model"], input_shape=data.input_shape,
                             num_classes=data.num_classes,
                             learning_rate=config.get("learning_rate", 1e-3))


def _train_one(config, cells, out_dir, verbose, data, variant, seed):
    """One cell of the comparison: train ``variant`` from ``seed``, return its record.

    Runs in this process or in a Dask worker (``tools.sweep``); everything it needs
    comes in its arguments, and it seeds itself, so its numbers do not depend on where.
    A tuning candidate (a variant not compared on its own) is not evaluated on the test
    split: its record carries its final weights instead, for the test evaluation that
    follows only if the validation split chooses it.
    """
    import keras

    settings = all_variants(config)[variant]
    candidate = variant not in config["variants"]
    training.seed_everything(seed)
    model = _build(config, cells, data, settings)
    callbacks = []
    stopper = (cells.early_stopping(**settings["early_stopping"])
               if settings.get("early_stopping") else None)
    if stopper:
        callbacks.append(stopper)
    if config.get("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(
            log_dir=str(out_dir / "tensorboard" / f"{variant}-seed{seed}")))
    started = time.perf_counter()
    history = training.fit(cells.train, model, data, callbacks=callbacks,
                           epochs=config["epochs"], batch_size=config["batch_size"],
                           seed=seed, steps_per_execution=config["steps_per_execution"],
                           verbose=1 if verbose else 0)
    record = training.evaluate_model(cells.evaluate, model, data, history,
                                     monitor="val_cross_entropy",
                                     read_test=not candidate)
    if not record["diverged"]:
        record["weights"] = weights.kernel_stats(model)
        record["weight_histogram"] = weights.histogram(model)
    if stopper:
        record["best_epoch"] = stopper.best_epoch + 1
    record.update({
        "variant": variant, "seed": seed, "settings": settings,
        "stopped_epoch": (stopper.stopped_epoch + 1) if stopper and stopper.stopped_epoch
        else None,
        "seconds": round(time.perf_counter() - started, 2),
    })
    if candidate:
        record["final_weights"] = [np.asarray(w) for w in model.get_weights()]
    return record


def run(args, variants: dict, cells: RecipeCells, grid: dict | None = None) -> dict:
    if args.resume:
        out_dir = Path(args.resume)
        config = _load_config(out_dir)
    else:
        out = args.out  # checked by the parser
        config = _config_from_args(args, variants, grid)
        # Whatever --resume would refuse in config.json is refused now, before any work.
        validate.check(config, validate.COMPARE_CONFIG_SCHEMA, where="the comparison's flags")
    _refuse_shared_names(config, f"--resume {out_dir}" if args.resume else "--variants")
    if getattr(args, "scheduler", None) and config.get("tensorboard"):
        raise UsageError("--tensorboard with --scheduler: the logs would be written on the "
                         "worker machines; use --workers N, or leave out --tensorboard")
    if getattr(args, "scheduler", None):
        sweep.check_scheduler(args.scheduler)
    data = load_dataset(config["dataset"], offline=args.offline or None, verbose=args.verbose)
    data = data.head(config["train_size"])  # as the lesson's load_data(train_size=)
    source = {"dataset": data.name, "data_source": data.source, "data_note": data.note,
              **data.sizes()}
    if args.resume:
        saved = config.get("data") or {}
        changed = [key for key in DATA_IDENTITY if key in saved and saved[key] != source[key]]
        if changed:
            raise UsageError(f"--resume {out_dir}: the data differs from the saved runs' ("
                             + ", ".join(f"{key} now {source[key]}, saved {saved[key]}"
                                         for key in changed) + "); start a new comparison")
    # Claimed once the data is there: a comparison that cannot start leaves nothing.
    with runs.RunDirectory("compare", None if args.resume else out,
                           resume=out_dir if args.resume else None) as folder:
        out_dir = folder.claim()
        if args.resume:
            print(f"resuming {out_dir} with its saved configuration")
        return _run_in(out_dir, config, data, source, args, cells)


def _run_in(out_dir, config, data, source, args, cells) -> dict:
    config["data"] = source
    if config["batch_size"] is None:
        config["batch_size"] = cli.default_batch_size(len(data.y_train))
    runs.write_json(out_dir / "config.json", config)
    print(f"data: {data.describe()}; batch size {config['batch_size']}")

    run_dir = out_dir / "runs"
    run_dir.mkdir(exist_ok=True)
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if workers is None and not scheduler:
        workers = sweep.default_workers(config["quick"], config.get("backend") or
                                        cli.default_backend())
    work = functools.partial(_train_one, config, cells, out_dir,
                             args.verbose and not (workers or scheduler))
    design = config.get("sequential")
    # The seed counts to look at: one look at all seeds in a fixed design.
    sizes = sequential.looks(design["max_seeds"]) if design else [len(config["seeds"])]
    plan, tuned, records = [], [], {}
    stopped_by, budget_spent, started = None, None, time.perf_counter()
    try:
        for look, size in enumerate(sizes):
            seeds = config["seeds"][sizes[look - 1] if look else 0:size]
            names, tuned_names = _runs_needed(config, records, first=look == 0)
            if not names:
                break  # every verdict is decided
            round_plan = [(variant, seed) for seed in seeds for variant in names]
            if look and design:
                minutes = (time.perf_counter() - started
                           + _round_seconds(records, round_plan, workers, run_dir)) / 60
                if minutes > design["time_budget_minutes"]:
                    budget_spent = "time budget"
                    print(f"time budget: the next round ({len(seeds)} seed"
                          f"{'s' if len(seeds) > 1 else ''}) would end after "
                          f"about {minutes:.1f} min, past the {design['time_budget_minutes']:g} "
                          "min budget; stopping here", flush=True)
                    break
                print(f"round {look + 1}: seeds {seeds[0]}-{seeds[-1]} for "
                      f"{', '.join(_undecided(config, records))} (and the baseline)",
                      flush=True)
            plan += round_plan
            tuned += [(name, seed) for seed in seeds for name in tuned_names]
            _train_round(config, data, run_dir, out_dir, cells, records, plan, round_plan,
                         tuned, work, workers, scheduler)
    except (KeyboardInterrupt, Exception) as error:
        stopped_by = error
        reason = ("interrupted" if isinstance(error, KeyboardInterrupt) else
                  f"stopped ({cli.os_error_line(error) if isinstance(error, OSError) else error})")
        print(f"{reason}: {_finished(plan, records)} of {len(plan)} runs finished; writing a "
              f"partial report (continue with --resume {out_dir})", flush=True)

    try:
        _choose_strengths(config, data, records, run_dir, cells)
    except (KeyboardInterrupt, Exception) as error:
        if stopped_by is None:
            stopped_by = error
            print(f"stopped while choosing strengths ({error}); writing a partial report "
                  f"(continue with --resume {out_dir})", flush=True)
    finished = [records[key] for key in plan + tuned if key in records]
    try:
        results = report.write(out_dir, config, finished,
                               partial=len(finished) < len(plan) + len(tuned),
                               stopped=budget_spent)
    except Exception:
        if stopped_by is None:
            raise
        # The report could not be written either (a read-only or full disk): the runs
        # already saved under runs/ are intact, and the first error is the one to report.
        print(f"no partial report: the {_finished(plan, records)} finished runs are kept in "
              f"{run_dir}", flush=True)
        raise stopped_by
    print(f"report: {out_dir / 'report.html'} (also report.md, results.csv, results.json)")
    if stopped_by is not None:
        raise stopped_by
    return results


def _rows(records) -> list[dict]:
    return [claims.row(record) for record in records.values()]


def _undecided(config, records) -> list[str]:
    """The fixed variants whose sequential verdict is still open."""
    found = claims.sequential_verdicts(_rows(records), config, estimate=False)
    return [name for name, state in found.items() if state["verdict"] is None]


def _runs_needed(config, records, first: bool) -> tuple[list[str], list[str]]:
    """The runs each seed of the next round trains, and the validation-chosen variants
    they make: everything in a fixed design and in the first round; then the baseline
    and the undecided fixed variants (the grid trains in the first round only:
    claims.FIRST_ROUND)."""
    names, tuned_names = list(all_variants(config)), tuning.tuned_names(config)
    if first or not config.get("sequential"):
        return names, tuned_names
    open_ = _undecided(config, records)
    if not open_:
        return [], []
    return [name for name in names if name == claims.BASELINE or name in open_], []


def _round_seconds(records, round_plan, workers, run_dir) -> float:
    """What a round is expected to take: the runs it still has to train (not saved by
    an earlier, interrupted invocation), at the mean training time of the runs so far,
    spread over the workers."""
    seconds = [record["seconds"] for record in records.values() if "chosen_run" not in record]
    pending = sum(not (run_dir / f"{variant}-seed{seed}.json").exists()
                  for variant, seed in round_plan)
    return (sum(seconds) / len(seconds) if seconds else 0.0) * pending / (workers or 1)


def _train_round(config, data, run_dir, out_dir, cells, records, plan, round_plan, tuned,
                 work, workers, scheduler) -> None:
    """Train one round's runs (those not finished earlier), saving each as it arrives and
    choosing each seed's strengths once its candidates are in. A run that fails is named,
    and after the round a UsageError says which; Ctrl-C cancels what is still queued."""
    for variant, seed in tuned:
        path = run_dir / f"{variant}-seed{seed}.json"
        if (variant, seed) not in records and path.exists():
            record = _load_run(path, variant, seed)
            if record is not None:
                records[(variant, seed)] = record
    for variant, seed in round_plan:
        path = run_dir / f"{variant}-seed{seed}.json"
        record = _load_run(path, variant, seed) if path.exists() else None
        if record is not None and variant not in config["variants"] \
                and not _weights_path(run_dir, variant, seed).is_file() \
                and not _tuned_done(records, config, variant, seed):
            record = None  # a candidate without its weights cannot be evaluated if chosen
        if record is not None:
            records[(variant, seed)] = record
            print(f"[{_finished(plan, records)}/{len(plan)}] {variant} seed {seed}: "
                  "finished earlier, kept")
    pending = [cell for cell in round_plan if cell not in records]
    if pending and (workers or scheduler):
        print(f"training {len(pending)} runs in {sweep.describe(workers, scheduler)}",
              flush=True)
    trained_seconds, trained, failed = 0.0, 0, []
    arriving = sweep.run_cells(work, pending, shared=data, workers=workers, scheduler=scheduler)
    try:
        for (variant, seed), record in arriving:
            if isinstance(record, sweep.CellFailed):
                failed.append(f"{variant} seed {seed} ({record.error[:200]})")
                print(f"FAILED {variant} seed {seed}: {record.error[:200]}", flush=True)
                continue
            final_weights = record.pop("final_weights", None)
            # The run's files and its place in the report go together: a Ctrl-C that
            # landed between the two once left a saved run out of the partial report.
            with cli.interruption_after():
                if final_weights is not None:  # first: a record means its weights exist
                    runs.atomic_write(_weights_path(run_dir, variant, seed),
                                      functools.partial(_save_arrays, final_weights))
                runs.write_json(run_dir / f"{variant}-seed{seed}.json", record)
                records[(variant, seed)] = record
            trained_seconds += record["seconds"]
            trained += 1
            left = len(pending) - trained - len(failed)
            eta = trained_seconds / trained * left / (workers or 1)
            outcome = ("DIVERGED" if record["diverged"] else
                       f"validation {record['val_accuracy']:.4f} (a candidate: test not read)"
                       if record["test_accuracy"] is None
                       else f"test {record['test_accuracy']:.4f}")
            stop = f", stopped at epoch {record['stopped_epoch']}" if record["stopped_epoch"] \
                else ""
            print(f"[{_finished(plan, records)}/{len(plan)}] {variant} seed {seed}: "
                  f"{outcome}{stop}, {record['seconds']:.1f} s; about {eta / 60:.1f} min left"
                  + (" in this round" if config.get("sequential") else ""), flush=True)
            # A seed's choice as soon as its candidates are in: with Dask workers, the
            # test evaluation then overlaps with the cells still training, not after them.
            _choose_strengths(config, data, records, run_dir, cells)
    finally:
        arriving.close()  # cancels the cells still queued on Dask workers
    _choose_strengths(config, data, records, run_dir, cells)
    if failed:
        raise UsageError(f"{len(failed)} of {len(plan)} runs failed: {'; '.join(failed)}; "
                         f"the rest are saved; --resume {out_dir} trains the failed ones "
                         "again")


def _finished(plan, records) -> int:
    """How many of the runs to train are done (the tuned records train nothing)."""
    return sum(cell in records for cell in plan)


def _save_arrays(arrays, path: Path) -> None:
    with open(path, "wb") as file:  # a file object: np.savez would add ".npz" to a name
        np.savez(file, *arrays)


def _weights_path(run_dir: Path, variant: str, seed: int) -> Path:
    return run_dir / f"{variant}-seed{seed}.weights.npz"


def _tuned_done(records, config, variant, seed) -> bool:
    """Whether the tuned record that ``variant`` (a candidate) competes for is written."""
    for regularizer, runs_of_one in tuning.candidates(config["variants"],
                                                      config.get("tuning")).items():
        if variant in (name for name, _, _ in runs_of_one):
            return (regularizer + tuning.SUFFIX, seed) in records
    return False


def _choose_strengths(config, data, records, run_dir, cells) -> None:
    """For each tuned regularizer and seed whose candidates have all finished: keep the
    one ``tuning.choose`` picks from their validation accuracies, read the test split
    for it (a candidate's saved weights, or the fixed variant's record), and save it as
    ``REGULARIZER_tuned``. The candidates' weight files are then removed."""
    for regularizer, runs_of_one in tuning.candidates(config["variants"],
                                                      config.get("tuning")).items():
        setting = config["tuning"]["grid"][regularizer]["setting"]
        for seed in config["seeds"]:
            name = regularizer + tuning.SUFFIX
            found = [records.get((run, seed)) for run, _, _ in runs_of_one]
            if (name, seed) in records or any(r is None for r in found):
                continue
            best = tuning.choose([None if r["diverged"] else r["val_accuracy"]
                                  for r in found])
            run, value, settings = runs_of_one[best]
            record = dict(found[best])
            if record["test_accuracy"] is None:
                record.update(_evaluate_test(config, data, cells, settings,
                                             _weights_path(run_dir, run, seed)))
            record.update({
                "variant": name, "seed": seed, "chosen_run": run,
                "chosen": {setting: value},
                "candidates": [{"run": r, setting: v, "val_accuracy": found[i]["val_accuracy"],
                                "diverged": found[i]["diverged"]}
                               for i, (r, v, _) in enumerate(runs_of_one)],
            })
            runs.write_json(run_dir / f"{name}-seed{seed}.json", record)
            records[(name, seed)] = record
            print(f"{name} seed {seed}: validation chose {setting} {value:g} "
                  f"({record['val_accuracy']:.4f}); test {record['test_accuracy']:.4f}",
                  flush=True)
            for run, _, _ in runs_of_one:  # their job is done; each is about 1 MB
                _weights_path(run_dir, run, seed).unlink(missing_ok=True)


def _evaluate_test(config, data, cells, settings, path: Path) -> dict:
    """The test metrics of the chosen candidate, from the weights it finished with."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        model = _build(config, cells, data, settings)
        model.set_weights(arrays)
    except (OSError, ValueError, KeyError) as error:
        raise UsageError(f"{path}: the chosen candidate's weights cannot be read ({error}); "
                         f"delete it and {path.name.replace('.weights.npz', '.json')} beside "
                         "it, then --resume trains that run again")
    metrics = cells.evaluate(model, {"test": data.test})["test"]
    return {"test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"]}
