"""Run a comparison: every (variant, seed) pair, each saved the moment it finishes.

The output directory holds ``config.json`` (everything that defines the comparison),
``runs/VARIANT-seedN.json`` (one file per finished run, written atomically) and the
report. Interrupted (Ctrl-C, SIGTERM), the comparison keeps its finished runs, writes a
report marked partial and exits with 130; ``--resume DIR`` reads the saved configuration,
skips the finished runs and trains the rest.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

from common import cli, report, runs, sweep, training, validate, weights
from common.datasets import IMAGE_DATASETS, load_dataset
from common.errors import UsageError

# Fixed bins for the kernel-weight histograms, so runs can be summed into one figure.
HISTOGRAM_EDGES = np.linspace(-0.3, 0.3, 121)
# What determines a comparison's data: a resumed comparison must see the same.
DATA_IDENTITY = ("dataset", "data_source", "n_train", "n_val", "n_test")


def variant_list(known: dict):
    """An argparse type: 'l1,l2' -> ['l1', 'l2'], names checked against ``known``."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown variant {', '.join(repr(n) for n in unknown) or repr(text)}; "
                f"choose from: {', '.join(known)}")
        return list(dict.fromkeys(names))

    return parse


def _config_from_args(args, variants: dict) -> dict:
    quick = args.quick
    if args.seeds > cli.SENSIBLE_SEEDS:
        print(f"warning: {args.seeds} seeds is more than the differences here need; the "
              "confidence intervals narrow only with the square root of the seed count",
              file=sys.stderr)
    last_seed = args.seed + args.seeds - 1
    if last_seed > cli.MAX_SEED:
        raise UsageError(f"--seed {args.seed} --seeds {args.seeds}: the last seed would be "
                         f"{last_seed}, above NumPy's limit {cli.MAX_SEED}; lower --seed")
    return {
        "command": "compare",
        "dataset": args.dataset,
        "variants": {name: variants[name] for name in args.variants},
        "seeds": list(range(args.seed, args.seed + args.seeds)),
        "epochs": min(args.epochs, cli.QUICK_EPOCHS) if quick else args.epochs,
        "batch_size": args.batch_size,
        "train_size": min(args.train_size, cli.QUICK_TRAIN_EXAMPLES) if quick else args.train_size,
        "patience": args.patience,
        "steps_per_execution": args.steps_per_execution,
        "quick": quick,
        "tensorboard": args.tensorboard,
        "learning_rate": args.learning_rate,
    }


def _load_config(out_dir: Path) -> dict:
    if not (out_dir / "config.json").is_file():
        raise UsageError(f"--resume {out_dir}: no config.json there; "
                         "give the directory of an earlier comparison")
    config = validate.load_json(out_dir / "config.json", validate.COMPARE_CONFIG_SCHEMA,
                                fix="start a new comparison")
    if config["dataset"] not in IMAGE_DATASETS:
        raise UsageError(f"{out_dir / 'config.json'}: dataset: '{config['dataset']}' is not "
                         f"one of {', '.join(IMAGE_DATASETS)}; start a new comparison")
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


def _train_one(config, build_model, early_stopping, out_dir, verbose, data, variant, seed):
    """One cell of the comparison: train ``variant`` from ``seed``, return its record.

    Runs in this process or in a Dask worker (``common.sweep``); everything it needs
    comes in its arguments, and it seeds itself, so its numbers do not depend on where.
    """
    import keras

    settings = dict(config["variants"][variant])
    stops_early = settings.pop("early_stopping", False)
    training.seed_everything(seed)
    with sweep.private_python_random(seed):  # Keras' default seeds (see common.sweep)
        model = build_model(**settings, input_shape=data.input_shape,
                            num_classes=data.num_classes,
                            learning_rate=config.get("learning_rate", 1e-3),
                            steps_per_execution=config["steps_per_execution"])
    callbacks = []
    stopper = early_stopping(config["patience"]) if stops_early else None
    if stopper:
        callbacks.append(stopper)
    if config.get("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(
            log_dir=str(out_dir / "tensorboard" / f"{variant}-seed{seed}")))
    started = time.perf_counter()
    history = training.fit(model, data, callbacks=callbacks, epochs=config["epochs"],
                           batch_size=config["batch_size"], seed=seed,
                           verbose=1 if verbose else 0)
    record = training.evaluate_model(model, data, history, monitor="val_cross_entropy")
    if not record["diverged"]:
        record["weights"] = weights.kernel_stats(model)
        record["weight_histogram"] = np.histogram(
            np.clip(weights.flat_kernels(model), HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1]),
            bins=HISTOGRAM_EDGES)[0].tolist()
    if stopper:
        record["best_epoch"] = stopper.best_epoch + 1
    record.update({
        "variant": variant, "seed": seed, "settings": config["variants"][variant],
        "stopped_epoch": (stopper.stopped_epoch + 1) if stopper and stopper.stopped_epoch
        else None,
        "seconds": round(time.perf_counter() - started, 2),
    })
    return record


def run(args, variants: dict, build_model, early_stopping) -> dict:
    if args.resume:
        out_dir = Path(args.resume)
        config = _load_config(out_dir)
    else:
        out = runs.check_out_dir(args.out)
        config = _config_from_args(args, variants)
    if getattr(args, "scheduler", None) and config.get("tensorboard"):
        raise UsageError("--tensorboard with --scheduler: the logs would be written on the "
                         "worker machines; use --workers N, or leave out --tensorboard")
    if getattr(args, "scheduler", None):
        sweep.check_scheduler(args.scheduler)
    data = load_dataset(config["dataset"], offline=args.offline or None, verbose=args.verbose)
    if config["train_size"] < len(data.y_train):
        data = data.head(config["train_size"], len(data.y_val))
    source = {"dataset": data.name, "data_source": data.source, "data_note": data.note,
              **data.sizes()}
    if args.resume:
        saved = config.get("data") or {}
        changed = [key for key in DATA_IDENTITY if key in saved and saved[key] != source[key]]
        if changed:
            raise UsageError(f"--resume {out_dir}: the data differs from the saved runs' ("
                             + ", ".join(f"{key} now {source[key]}, saved {saved[key]}"
                                         for key in changed) + "); start a new comparison")
        runs.claim(out_dir, resume=True)
        print(f"resuming {out_dir} with its saved configuration")
    else:
        # Claimed once the data is there: a comparison that cannot start leaves nothing.
        out_dir = runs.make_run_dir("compare", out)
    try:
        return _run_in(out_dir, config, data, source, args, build_model, early_stopping)
    finally:
        runs.release(out_dir)


def _run_in(out_dir, config, data, source, args, build_model, early_stopping) -> dict:
    config["data"] = source
    if config["batch_size"] is None:
        config["batch_size"] = cli.default_batch_size(len(data.y_train))
    runs.write_json(out_dir / "config.json", config)
    print(f"data: {data.describe()}; batch size {config['batch_size']}")

    run_dir = out_dir / "runs"
    run_dir.mkdir(exist_ok=True)
    plan = [(variant, seed) for seed in config["seeds"] for variant in config["variants"]]
    records = {}
    for done, (variant, seed) in enumerate(plan, start=1):
        path = run_dir / f"{variant}-seed{seed}.json"
        record = _load_run(path, variant, seed) if path.exists() else None
        if record is not None:
            records[(variant, seed)] = record
            print(f"[{done}/{len(plan)}] {variant} seed {seed}: finished earlier, kept")
    pending = [cell for cell in plan if cell not in records]
    workers, scheduler = getattr(args, "workers", None), getattr(args, "scheduler", None)
    if pending and (workers or scheduler):
        print(f"training {len(pending)} runs in {sweep.describe(workers, scheduler)}",
              flush=True)
    work = functools.partial(_train_one, config, build_model, early_stopping, out_dir,
                             args.verbose and not (workers or scheduler))
    trained_seconds, trained, failed, stopped_by = 0.0, 0, [], None
    cells = sweep.run_cells(work, pending, shared=data, workers=workers, scheduler=scheduler)
    try:
        for (variant, seed), record in cells:
            if isinstance(record, sweep.CellFailed):
                failed.append(f"{variant} seed {seed} ({record.error[:200]})")
                print(f"FAILED {variant} seed {seed}: {record.error[:200]}", flush=True)
                continue
            runs.write_json(run_dir / f"{variant}-seed{seed}.json", record)
            records[(variant, seed)] = record
            trained_seconds += record["seconds"]
            trained += 1
            left = len(pending) - trained - len(failed)
            eta = trained_seconds / trained * left / (workers or 1)
            outcome = ("DIVERGED" if record["diverged"]
                       else f"test {record['test_accuracy']:.4f}")
            stop = f", stopped at epoch {record['stopped_epoch']}" if record["stopped_epoch"] \
                else ""
            print(f"[{len(records)}/{len(plan)}] {variant} seed {seed}: {outcome}{stop}, "
                  f"{record['seconds']:.1f} s; about {eta / 60:.1f} min left", flush=True)
        if failed:
            raise UsageError(f"{len(failed)} of {len(plan)} runs failed: {'; '.join(failed)}; "
                             f"the rest are saved; --resume {out_dir} trains the failed ones "
                             "again")
    except (KeyboardInterrupt, Exception) as error:
        cells.close()  # cancels the cells still queued on Dask workers
        stopped_by = error
        reason = ("interrupted" if isinstance(error, KeyboardInterrupt) else
                  f"stopped ({cli.os_error_line(error) if isinstance(error, OSError) else error})")
        print(f"{reason}: {len(records)} of {len(plan)} runs finished; writing a partial "
              f"report (continue with --resume {out_dir})", flush=True)

    finished = [records[key] for key in plan if key in records]
    try:
        results = report.write(out_dir, config, finished, partial=len(records) < len(plan))
    except Exception:
        if stopped_by is None:
            raise
        # The report could not be written either (a read-only or full disk): the runs
        # already saved under runs/ are intact, and the first error is the one to report.
        print(f"no partial report: the {len(records)} finished runs are kept in {run_dir}",
              flush=True)
        raise stopped_by
    print(f"report: {out_dir / 'report.html'} (also report.md, results.csv, results.json)")
    if stopped_by is not None:
        raise stopped_by
    return results
