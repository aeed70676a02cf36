"""Seeding, loading, fitting and the results record: the part of a recipe not copied."""

from __future__ import annotations

import datetime
import functools
import importlib.util
import math
import numbers
import os
import sys
import time
import weakref
from pathlib import Path

from common import checkpoint, cli, runs
from common.datasets import Dataset, load_dataset

# Flags that say where and how loudly to run, not what the model is.
_NOT_HYPERPARAMETERS = {"out", "verbose", "offline", "started", "dataset", "seed", "resume",
                        "backend",
                        "run_dir", "argv", "recipe"}

# XLA's deterministic GPU kernels, as TensorFlow's op determinism (see seed_everything).
XLA_DETERMINISTIC_GPU_OPS = "--xla_gpu_deterministic_ops=true"


def seed_everything(seed: int) -> None:
    """Same seed, same numbers on every backend: Python, NumPy and Keras' seeds, and on a
    GPU deterministic kernels (TensorFlow's op determinism; XLA's on JAX)."""
    import keras

    repeatable_backend()
    keras.utils.set_random_seed(seed)


def repeatable_backend() -> None:
    """On a GPU, kernels that give the same numbers run after run (TensorFlow's op
    determinism; XLA's on JAX); and no TensorFlow "retracing" warnings. A lesson asks
    for this once, before its first model (``lesson.Lesson.load_data``)."""
    import keras

    if keras.backend.backend() == "jax":
        _deterministic_xla_on_gpus()
    if keras.backend.backend() != "tensorflow":
        return  # JAX: every random number comes from Keras' seeded generator
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        # GPU kernels may sum in a different order each run. The CPU kernels these
        # recipes use already give identical numbers run after run (tested); forcing
        # determinism there only swaps in slower kernels, about 2x per epoch here.
        tf.config.experimental.enable_op_determinism()
    quiet_retracing()


def quiet_retracing() -> None:
    """Building or loading one model after another makes TensorFlow warn about
    "retracing"; that is expected here, and the warning would bury the output that
    matters (a recipe's lines, a class check's table). Its errors still show."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")


def _deterministic_xla_on_gpus() -> None:
    """GPU kernels may sum in a different order each run: on an H200, mnist_dropout with
    seed 0 on JAX gave test accuracy 0.9410 one run and 0.9430 the next. XLA reads
    XLA_FLAGS once, when JAX first uses a device, which a run does only after it seeds;
    on a CPU the flag changes nothing (its kernels repeat their numbers already)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_DETERMINISTIC_GPU_OPS}".strip()


class FlagsAndData(tuple):
    """What ``load_data`` returns: ``(args, data)``. A copy written for the older
    ``data = training.load_data(args)`` is told the new form at its first ``data.x``."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"training.load_data(args) returns two values: write "
                             f"`args, data = training.load_data(args)` (asked for .{name} "
                             "of the pair)")


def load_data(args, *, train_size: int | None = None) -> tuple[cli.Flags, Dataset]:
    """The data, and the flags completed with what the data decides: the batch size (by
    the data's size, unless ``--batch-size`` gave one). Nothing is written here.

    ``train_size``: only the first that many training examples (already shuffled and
    stratified), so that a large network overfits them."""
    data = load_dataset(args.dataset, offline=args.offline or None, verbose=args.verbose)
    if train_size is not None:
        data = data.head(train_size)
    if args.quick:
        data = data.head(cli.QUICK_TRAIN_EXAMPLES, cli.QUICK_VAL_EXAMPLES)
    if getattr(args, "batch_size", 0) is None:
        args = args.replace(batch_size=cli.default_batch_size(len(data.y_train)))
    print(f"data: {data.describe()}"
          + (f"; batch size {args.batch_size}" if hasattr(args, "batch_size") else ""))
    return FlagsAndData((args, data))


def fit_callbacks(model, args, callbacks=(), *, epochs=None, name="model",
                  quiet_progress=None, steps_per_execution=None,
                  folder: runs.RunDirectory | None = None) -> tuple[list, int]:
    """``(callbacks, initial_epoch)`` for ``model.fit``: the run's plumbing, as Keras
    callbacks around the recipe's own (``callbacks``: early stopping, ...). Stop at once
    on a NaN loss; Ctrl-C stops at the next batch and keeps every finished epoch; a
    resumable run (``folder``, claimed here) keeps its state after each epoch, and a
    ``--resume``d one starts again from it (loaded into ``model`` here: ``fit`` starts
    from ``initial_epoch``, 0 for a new run); on hundreds of epochs, a line every few
    (``quiet_progress``: whether ``fit`` itself prints nothing; by default, unless
    ``--verbose``). ``model.fit`` then returns the whole run's history, the epochs before
    an interruption included. Also sets ``steps_per_execution`` (else
    ``--steps-per-execution``) on the model (a speed setting, the same numbers: batches
    per call into the backend)."""
    import keras

    epochs = epochs if epochs is not None else args.epochs
    steps_per_execution = steps_per_execution or getattr(args, "steps_per_execution", None)
    if steps_per_execution:
        model.steps_per_execution = steps_per_execution
    callbacks = list(callbacks)
    if quiet_progress is None:
        quiet_progress = not getattr(args, "verbose", False)
    if quiet_progress:
        callbacks.append(progress_lines(progress_interval(epochs)))
    backup, done, history_so_far, stoppers = None, 0, {}, []
    if folder is not None and folder.resumable:
        # A resumable run keeps its state here; --resume goes on from its last epoch.
        backup = folder.claim() / "backup" / name
        done, history_so_far, stoppers = checkpoint.restore(model, backup)
    deferral = _InterruptionDeferral()
    guard = checkpoint.callback(backup, history_so_far, deferral, callbacks, stoppers)
    if backup is not None:
        deferral.on_interrupt = lambda: _say_how_to_resume(
            args, backup.parent.parent, name, len(guard.history.get("loss", [])))
    # The NaN stop, the recipe's callbacks, the state (which saves theirs too), and last
    # the deferral: a Ctrl-C that lands after the last epoch is raised once it is saved.
    made = [keras.callbacks.TerminateOnNaN(), *callbacks, guard, deferral]
    stopped = any(stopper["stopped_epoch"] for stopper in stoppers)
    # Early stopping had ended it: train no further (the best weights are restored).
    return made, (max(done, epochs) if stopped else done)


def _InterruptionDeferral():
    """A Keras callback: while ``fit`` runs, Ctrl-C and SIGTERM wait for the batch to end
    (``cli.interruption_after``); the state callback asks ``requested`` and calls
    ``raise_if_requested`` once the last finished epoch is safe."""
    import keras

    class InterruptionDeferral(keras.callbacks.Callback):
        on_interrupt = None

        def __init__(self):
            super().__init__()
            self._block = self._interruption = None

        @property
        def requested(self) -> bool:
            return self._interruption is not None and self._interruption.requested

        def on_train_begin(self, logs=None):
            self._block = cli.interruption_after()
            self._interruption = self._block.__enter__()

        def raise_if_requested(self):
            if self.requested:
                self.on_train_end()

        def on_train_end(self, logs=None):
            block, self._block, self._interruption = self._block, None, None
            if block is None:
                return
            try:
                block.__exit__(None, None, None)  # raises KeyboardInterrupt if requested
            except KeyboardInterrupt:
                if self.on_interrupt is not None:
                    self.on_interrupt()
                raise

    return InterruptionDeferral()


def fit(train, model, data: Dataset, args=None, callbacks=(), *, epochs=None,
        batch_size=None, seed=None, steps_per_execution=None, verbose=None, name="model",
        folder: runs.RunDirectory | None = None):
    """Train ``model`` with the recipe's own training cell, ``train(model, x_train,
    y_train, x_val, y_val, epochs=, batch_size=, callbacks=, seed=, **fit_options)``,
    which calls ``model.fit``, with the run's callbacks (``fit_callbacks``). Where
    TensorFlow is not installed (JAX alone), the cell's tf.data pipeline cannot be made,
    and ``fit`` shuffles the arrays instead.

    Settings come from the parsed flags ``args`` unless given as keywords; ``verbose``
    is Keras' (0 silent, 1 progress bar, 2 one line per epoch); ``folder``: a resumable
    run's directory, which keeps its state.
    """
    epochs = epochs if epochs is not None else args.epochs
    batch_size = batch_size if batch_size is not None else args.batch_size
    seed = seed if seed is not None else args.seed  # the shuffling's, on TensorFlow
    # Hundreds of epochs: a line every few epochs, not one each.
    quiet = verbose is None and not args.verbose and progress_interval(epochs) > 1
    made, initial_epoch = fit_callbacks(model, args, callbacks, epochs=epochs, name=name,
                                        quiet_progress=quiet, folder=folder,
                                        steps_per_execution=steps_per_execution)
    if verbose is None:
        verbose = 0 if quiet else (1 if args.verbose else 2)
    if importlib.util.find_spec("tensorflow") is None:
        train = fit_without_tf_data  # JAX alone: the cell's tf.data is not there
    return train(model, *data.train, *data.val, epochs=epochs, batch_size=batch_size,
                 callbacks=made, seed=seed, initial_epoch=initial_epoch,
                 verbose=verbose)


def fit_without_tf_data(model, x_train, y_train, x_val, y_val, epochs, batch_size,
                         callbacks=(), seed=0, **fit_options):
    """The training cell where TensorFlow is not installed (a JAX machine may have none):
    ``fit`` shuffles the arrays itself. JAX draws a new order every epoch, so the pitfall
    the cell's tf.data pipeline avoids (one order in every epoch) is TensorFlow's alone."""
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                     batch_size=batch_size, validation_batch_size=1024,
                     callbacks=list(callbacks), **fit_options)


def resume_command(recipe: str, run_dir: Path) -> str:
    """The command that goes on with an interrupted run, as this one was started: a
    recipe run as a file (``python3 recipes/NAME.py``, ``python3 -m recipes.NAME``) by
    its whole path, which works from any folder; else ``python3 -m recipes run``, which
    works in the project's folder (or installed)."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.suffix == ".py" and started.stem == recipe:
        return f"python3 {started.resolve()} --resume {run_dir}"
    return f"python3 -m recipes run {recipe} --resume {run_dir}"


def _say_how_to_resume(args, run_dir: Path, name: str, finished: int) -> None:
    recipe = getattr(args, "recipe", None) or "NAME"
    run_dir = Path(run_dir).absolute()  # a relative --out: the hint works from any folder
    which = "" if name == "model" else f" of {name}"
    print(f"interrupted: {finished} finished epoch(s){which} are saved in {run_dir}; go on "
          f"with: {resume_command(recipe, run_dir)} (in a notebook: "
          f"NOTEBOOK_ARGS = [\"--resume\", \"{run_dir}\"])", file=sys.stderr, flush=True)


MAX_PROGRESS_LINES = 20


def progress_interval(epochs: int) -> int:
    """Print every N-th epoch, so that a run prints at most about 20 epoch lines."""
    return max(1, math.ceil(epochs / MAX_PROGRESS_LINES))


def progress_lines(every: int):
    """A Keras callback that prints the first epoch, every ``every``-th and the last
    (also the one where early stopping halts), in the format of Keras' own lines."""
    import keras

    class ProgressLines(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()
            self.last_printed, self.last = None, None
            if every > 1:
                print(f"(a line every {every} epochs, and the last)", flush=True)

        def on_epoch_begin(self, epoch, logs=None):
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches = batch + 1  # ``batch`` counts from 0 (the last of a group)

        def on_epoch_end(self, epoch, logs=None):
            steps = self.params.get("steps")
            if steps and self.batches < steps:  # cut short by Ctrl-C: not an epoch
                return
            number, total = epoch + 1, self.params.get("epochs")
            self.last = (number, total, dict(logs or {}))
            if number == 1 or number % every == 0 or number == total:
                self._print(*self.last)

        def on_train_end(self, logs=None):
            if self.last and self.last_printed != self.last[0]:  # halted early
                self._print(*self.last)

        def _print(self, number, total, logs):
            values = " - ".join(f"{key}: {float(value):.4f}" for key, value in logs.items()
                                if isinstance(value, numbers.Real))
            print(f"Epoch {number}/{total} - {time.perf_counter() - self.started:.1f} s "
                  f"- {values}", flush=True)
            self.last_printed = number

    return ProgressLines()


def best_epoch(history: dict, monitor: str = "val_loss") -> int:
    """1-based epoch with the best ``monitor`` value (highest accuracy, lowest otherwise)."""
    values = [v if math.isfinite(v) else math.nan for v in history.get(monitor, [])]
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    pick = max if "accuracy" in monitor else min
    return values.index(pick(finite)) + 1


class TrainedRecord(dict):
    """A trained model's record (a plain dict to JSON and to pickle) that also knows its
    model while the caller keeps it, so that ``finish`` can save the model beside
    results.json without every recipe passing it along. A weak reference: a
    comparison's hundreds of records hold no model in memory."""

    def __init__(self, fields: dict, model):
        super().__init__(fields)
        self._model = weakref.ref(model)

    @property
    def model(self):
        """The trained model, or None once nothing else holds it."""
        return self._model()

    def __reduce__(self):  # pickled (a Dask worker's result) as the plain dict it is
        return dict, (dict(self),)


def evaluate_model(evaluate, model, data: Dataset, history, *, monitor: str = "val_loss",
                   read_test: bool = True) -> dict:
    """One trained model's record: final metrics on every split, scored by the recipe's
    evaluation cell, ``evaluate(model, {split name: (x, y)})``, which calls
    ``model.evaluate`` (the test split is read here, once).

    ``read_test=False``: a candidate that may not be chosen; its test metrics are None,
    and the test split is read later only if it is chosen."""
    splits = {"train": data.train, "validation": data.val}
    if read_test:
        splits["test"] = data.test
    with cli.interruption_after():
        scores = evaluate(model, splits)
    return record(model, data, history, scores, monitor=monitor)


def record(model, data: Dataset, history, scores: dict, *,
           monitor: str = "val_loss") -> TrainedRecord:
    """One trained model's record, from what ``fit`` returned and the evaluation cell's
    scores (``{"train": {...}, "validation": {...}, "test": {...}}``, the test's left
    out for a candidate not chosen); says so where the loss diverged or overshot."""
    train_metrics, val_metrics = scores["train"], scores["validation"]
    test_metrics = scores.get("test", {"accuracy": None, "loss": None})
    curves = {key: [float(v) for v in values] for key, values in history.history.items()}
    diverged = not all(math.isfinite(v) for v in curves["loss"])
    if diverged:
        print(f"DIVERGED in epoch {len(curves['loss'])}: the loss became NaN or infinite and "
              "training stopped; lower the learning rate", file=sys.stderr)
    elif (epoch := overshooting_epoch(curves, data.num_classes)) is not None:
        print(f"UNSTABLE from epoch {epoch}: the training cross-entropy reached "
              f"{_cross_entropy(curves)[epoch - 1]:.4g}, worse than guessing every class "
              f"alike ({math.log(data.num_classes):.4g}); the steps overshoot: lower the "
              "learning rate", file=sys.stderr)
    return TrainedRecord({
        "diverged": diverged,
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
        "history": curves,
    }, model)


def _cross_entropy(curves: dict) -> list[float]:
    return curves.get("cross_entropy") or curves["loss"]


def overshooting_epoch(curves: dict, num_classes: int) -> int | None:
    """The first epoch (from 1) whose training cross-entropy is over twice that of a
    model guessing every class alike, log(num_classes), or None. Training starts near
    log(num_classes) and falls; a model that underfits (a strong penalty) stays near it;
    only confidently wrong predictions go far above it: steps that overshoot, a learning
    rate far too large, while the loss stays finite (NaN is ``diverged``)."""
    limit = 2 * math.log(num_classes)
    return next((epoch for epoch, value in enumerate(_cross_entropy(curves), 1)
                 if value > limit), None)


def finish(data: Dataset, args, records: dict[str, dict], folder: runs.RunDirectory, *,
           main: str | None = None, extra: dict | None = None,
           marks: dict[str, int] | None = None, figures: dict | None = None) -> dict:
    """Write results.json and the learning curves in the run's ``folder`` (claimed
    here if it is not yet); print a summary; return the results.

    ``records`` maps a variant name to its ``evaluate_model`` record. The top-level
    metrics are those of ``main`` (default: the last variant); with more than one
    variant, all of them are also under ``variants``. ``figures`` maps a file name to a
    function that draws it at the path it is given; results.json is written last.
    """
    from common import plots

    recipe = args.recipe  # the name the recipe's parser was given: one place in the recipe
    main = main or list(records)[-1]
    versions = runs.library_versions()
    hyperparameters = {k: v for k, v in vars(args).items() if k not in _NOT_HYPERPARAMETERS}
    results = {
        "recipe": recipe,
        "dataset": data.name,
        "dataset_requested": args.dataset,
        "data_source": data.source,
        "data_note": data.note,
        **data.sizes(),
        "seed": args.seed,
        "backend": versions["backend"],
        "hyperparameters": hyperparameters,
        "variant": main,
        **records[main],
        **(extra or {}),
        "seconds": round(time.perf_counter() - args.started, 2),
        "versions": versions,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if len(records) > 1:
        results["variants"] = records
    # The evidence behind the numbers: ``baselines check --results`` scores these models
    # on the test split itself instead of trusting the accuracy written here.
    out_dir = folder.claim()
    models = {name: getattr(record, "model", None) for name, record in records.items()}
    results["models"] = {}
    for name, model in models.items():
        if model is not None:
            results["models"][name] = runs.model_file(name, main)
            runs.save_model(out_dir / results["models"][name], model)
    draw_curves = functools.partial(plots.learning_curves,
                                    {name: r["history"] for name, r in records.items()},
                                    title=f"{recipe} on {data.name}", marks=marks)
    out_dir = folder.write_results(
        results, figures={"learning_curves.png": draw_curves, **(figures or {})})
    # Finished: nothing to resume. Only the state files this run wrote are removed.
    checkpoint.discard(out_dir / "backup")
    results["out_dir"] = str(out_dir)
    monitors = sorted({r.get("monitor") or "val_loss" for r in records.values()})
    print(f"{'variant':<15} {'train':>7} {'val':>7} {'test':>7} {'test loss':>10} "
          f"{'gap':>7} {'best/run':>9}")
    for name, r in records.items():
        print(f"{name:<15} {r['train_accuracy']:>7.4f} {r['val_accuracy']:>7.4f} "
              f"{r['test_accuracy']:>7.4f} "
              f"{r['test_loss']:>10{'.4f' if abs(r['test_loss']) < 1e5 else '.3g'}} "
              f"{r['train_accuracy'] - r['val_accuracy']:>7.4f} "
              f"{r['best_epoch'] or '-':>4}/{r['epochs_run']:<4}"
              + ("  DIVERGED" if r["diverged"] else
                 "  UNSTABLE" if overshooting_epoch(r["history"], data.num_classes) else ""))
    halted = any(r["epochs_run"] < getattr(args, "epochs", r["epochs_run"])
                 for r in records.values())
    print(f"best/run: the epoch with the best {' / '.join(monitors)}, of the epochs trained"
          + (" (fewer than asked where early stopping halted)" if halted else "")
          + "; the scores are the model's at the end of training; gap: train minus val "
          "accuracy; test loss: the cross-entropy plus the model's L1/L2 penalty, where it "
          "has one")
    if getattr(args, "quick", False):
        print("--quick: a check that the recipe runs (a few epochs), too short to show the "
              "slide's effect; run without it to see it")
    print(f"{results['seconds']:.1f} s in all")
    return results
