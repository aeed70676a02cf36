"""Seeding, loading, fitting and the results record: the part of a recipe not copied."""

from __future__ import annotations

import datetime
import time

from common import cli, runs
from common.datasets import Dataset, load_dataset

# Flags that say where and how loudly to run, not what the model is.
_NOT_HYPERPARAMETERS = {"out", "verbose", "offline", "started", "dataset", "seed"}


def seed_everything(seed: int) -> None:
    """Same seed, same numbers: Python, NumPy and TensorFlow seeds plus deterministic ops."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def parse_args(parser, argv=None):
    """Parse the flags, check ``--out`` before any work, and start the clock."""
    args = cli.parse_recipe_args(parser, argv)
    args.out = runs.check_out_dir(args.out)
    args.started = time.perf_counter()
    return args


def load_data(args) -> Dataset:
    data = load_dataset(args.dataset, offline=args.offline or None, verbose=args.verbose)
    if args.quick:
        data = data.head(cli.QUICK_TRAIN_EXAMPLES, cli.QUICK_VAL_EXAMPLES)
    print(f"data: {data.name} from {data.source} "
          f"({len(data.y_train)} train / {len(data.y_val)} validation / {len(data.y_test)} test)")
    return data


def fit(model, data: Dataset, args, callbacks=()):
    """``model.fit`` on the training split, validating on the validation split."""
    return model.fit(*data.train, validation_data=data.val, epochs=args.epochs,
                     batch_size=args.batch_size, callbacks=list(callbacks),
                     verbose=1 if args.verbose else 2)


def best_epoch(history: dict, monitor: str = "val_loss") -> int:
    """1-based epoch with the best ``monitor`` value (lowest loss, highest otherwise)."""
    values = history[monitor]
    pick = min if "loss" in monitor else max
    return values.index(pick(values)) + 1


def finish(recipe: str, model, data: Dataset, history, args, *, monitor="val_loss",
           extra: dict | None = None, plot=True) -> dict:
    """Evaluate (the test split once), write results.json and the learning curves."""
    from common import plots

    evaluate = lambda x, y: model.evaluate(x, y, batch_size=1024, verbose=0,  # noqa: E731
                                           return_dict=True)
    train_metrics = evaluate(*data.train)
    val_metrics = evaluate(*data.val)
    test_metrics = evaluate(*data.test)
    curves = {key: [float(v) for v in values] for key, values in history.history.items()}
    hyperparameters = {k: v for k, v in vars(args).items() if k not in _NOT_HYPERPARAMETERS}
    results = {
        "recipe": recipe,
        "dataset": data.name,
        "dataset_requested": args.dataset,
        "data_source": data.source,
        "data_note": data.note,
        **data.sizes(),
        "seed": args.seed,
        "hyperparameters": hyperparameters,
        "epochs_run": len(curves["loss"]),
        "best_epoch": best_epoch(curves, monitor),
        "monitor": monitor,
        "train_accuracy": train_metrics["accuracy"],
        "train_loss": train_metrics["loss"],
        "val_accuracy": val_metrics["accuracy"],
        "val_loss": val_metrics["loss"],
        "test_accuracy": test_metrics["accuracy"],
        "test_loss": test_metrics["loss"],
        "params": model.count_params(),
        "seconds": round(time.perf_counter() - args.started, 2),
        "versions": runs.library_versions(),
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        **(extra or {}),
        "history": curves,
    }
    out_dir = runs.make_run_dir(recipe, args.out)
    if plot:
        plots.learning_curves({recipe: curves}, out_dir / "learning_curves.png",
                              title=f"{recipe} on {data.name}")
    runs.write_json(out_dir / "results.json", results)
    results["out_dir"] = str(out_dir)
    print(f"{recipe}: train {results['train_accuracy']:.4f}  "
          f"validation {results['val_accuracy']:.4f}  test {results['test_accuracy']:.4f} "
          f"(loss {results['test_loss']:.4f}); best epoch {results['best_epoch']} of "
          f"{results['epochs_run']}; {results['seconds']:.1f} s")
    print(f"results: {out_dir / 'results.json'}")
    return results
