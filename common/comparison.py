"""Run a comparison: every (variant, seed) pair, each saved the moment it finishes.

The output directory holds ``config.json`` (everything that defines the comparison),
``runs/VARIANT-seedN.json`` (one file per finished run, written atomically) and the
report. Interrupted (Ctrl-C, SIGTERM), the comparison keeps its finished runs, writes a
report marked partial and exits with 130; ``--resume DIR`` reads the saved configuration,
skips the finished runs and trains the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from common import cli, report, runs, training, weights
from common.datasets import load_dataset
from common.errors import UsageError

# Fixed bins for the kernel-weight histograms, so runs can be summed into one figure.
HISTOGRAM_EDGES = np.linspace(-0.3, 0.3, 121)
CONFIG_KEYS = ("dataset", "variants", "seeds", "epochs", "batch_size", "train_size",
               "patience", "steps_per_execution", "quick")


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
    return {
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
    path = out_dir / "config.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--resume {out_dir}: no config.json there; "
                         "give the directory of an earlier comparison")
    except (OSError, ValueError) as error:
        raise UsageError(f"--resume {out_dir}: config.json is unreadable ({error}); "
                         "start a new comparison")
    missing = [key for key in CONFIG_KEYS if key not in config]
    if missing:
        raise UsageError(f"--resume {out_dir}: config.json lacks {', '.join(missing)}; "
                         "start a new comparison")
    return config


def _load_run(path: Path, variant: str, seed: int) -> dict | None:
    """A finished run's record, or None (with a note) if the file is damaged."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or record.get("variant") != variant \
            or record.get("seed") != seed or "test_accuracy" not in record:
        print(f"note: {path} is damaged; training that run again")
        return None
    return record


def _train_one(config, data, variant, seed, build_model, early_stopping, out_dir, verbose):
    import keras

    settings = dict(config["variants"][variant])
    stops_early = settings.pop("early_stopping", False)
    training.seed_everything(seed)
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
        print(f"resuming {out_dir} with its saved configuration")
    else:
        out_dir = runs.make_run_dir("compare", runs.check_out_dir(args.out))
        config = _config_from_args(args, variants)
    data = load_dataset(config["dataset"], offline=args.offline or None, verbose=args.verbose)
    if config["train_size"] < len(data.y_train):
        data = data.head(config["train_size"], len(data.y_val))
    source = {"dataset": data.name, "data_source": data.source, "data_note": data.note,
              **data.sizes()}
    if args.resume and config.get("data") and config["data"] != source:
        raise UsageError(f"--resume {out_dir}: the data now is {source['data_source']}, the "
                         f"saved runs used {config['data']['data_source']}; start a new "
                         "comparison")
    config["data"] = source
    if config["batch_size"] is None:
        config["batch_size"] = cli.default_batch_size(len(data.y_train))
    runs.write_json(out_dir / "config.json", config)
    print(f"data: {data.describe()}; batch size {config['batch_size']}")

    run_dir = out_dir / "runs"
    run_dir.mkdir(exist_ok=True)
    plan = [(variant, seed) for seed in config["seeds"] for variant in config["variants"]]
    records, trained_seconds, trained = {}, 0.0, 0
    interrupted = False
    try:
        for done, (variant, seed) in enumerate(plan, start=1):
            path = run_dir / f"{variant}-seed{seed}.json"
            record = _load_run(path, variant, seed) if path.exists() else None
            if record is not None:
                records[(variant, seed)] = record
                print(f"[{done}/{len(plan)}] {variant} seed {seed}: finished earlier, kept")
                continue
            record = _train_one(config, data, variant, seed, build_model, early_stopping,
                                out_dir, args.verbose)
            runs.write_json(path, record)
            records[(variant, seed)] = record
            trained_seconds += record["seconds"]
            trained += 1
            left = sum(1 for v, s in plan[done:] if (v, s) not in records)
            eta = trained_seconds / trained * left
            outcome = ("DIVERGED" if record["diverged"]
                       else f"test {record['test_accuracy']:.4f}")
            stop = f", stopped at epoch {record['stopped_epoch']}" if record["stopped_epoch"] \
                else ""
            print(f"[{done}/{len(plan)}] {variant} seed {seed}: {outcome}{stop}, "
                  f"{record['seconds']:.1f} s; about {eta / 60:.1f} min left", flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print(f"interrupted: {len(records)} of {len(plan)} runs finished; writing a partial "
              f"report (continue with --resume {out_dir})", flush=True)

    results = report.write(out_dir, config, [records[key] for key in plan if key in records],
                           partial=len(records) < len(plan))
    print(f"report: {out_dir / 'report.html'} (also report.md, results.csv, results.json)")
    if interrupted:
        raise KeyboardInterrupt
    return results
