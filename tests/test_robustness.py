"""Divergence, interruption, resources and damaged inputs: a clear message, nothing lost."""

import errno
import json
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import recipes
from common import checkpoint, cli, runs, training
from common.errors import UsageError
from conftest import ROOT, start_cli
from tools import compare


def test_diverging_run_stops_at_once_and_says_so(tmp_path, capsys):
    results = recipes.run("mnist_mlp", ["--quick", "--dataset", "mnist-5k", "--learning-rate", "1e9",
                              "--out", str(tmp_path / "r")])
    assert results["diverged"] is True
    assert results["epochs_run"] == 1  # of 2: TerminateOnNaN stopped it
    assert "DIVERGED" in capsys.readouterr().err
    on_disk = json.loads((tmp_path / "r" / "results.json").read_text())
    assert on_disk["diverged"] is True  # standard JSON: NaN became null
    assert on_disk["history"]["loss"][-1] is None


def test_a_finite_loss_far_above_guessing_is_called_unstable(tmp_path, capsys):
    """A learning rate of 1e6 on Iris keeps the loss finite (no NaN to stop on) but far
    worse than guessing; a sane run is not marked."""
    recipes.run("iris_softmax", ["--learning-rate", "1e6", "--epochs", "5", "--out",
                       str(tmp_path / "big")])
    printed = capsys.readouterr()
    assert "UNSTABLE from epoch" in printed.err and "lower the learning rate" in printed.err
    assert "UNSTABLE" in printed.out.split("best/run\n")[1].splitlines()[0]
    recipes.run("iris_softmax", ["--epochs", "5", "--out", str(tmp_path / "sane")])
    sane = capsys.readouterr()
    assert "UNSTABLE" not in sane.out + sane.err
    assert "early stopping" not in sane.out  # none here: the summary does not speak of it
    assert training.overshooting_epoch({"loss": [1.1, 0.9, 2.3]}, 3) == 3
    assert training.overshooting_epoch({"loss": [90.0], "cross_entropy": [1.5]}, 3) is None


def test_comparison_goes_on_after_a_diverged_run(tmp_path):
    results = compare.main(["--quick", "--seeds", "1", "--dataset", "mnist-5k",
                            "--variants", "baseline,l2", "--learning-rate", "1e9",
                            "--out", str(tmp_path / "c")])
    assert [r["variant"] for r in results["rows"]] == ["baseline", "l2", "l2-0p0001",
                                                       "l2-0p01", "l2_tuned"]
    assert all(r["diverged"] for r in results["rows"])
    assert results["summary"]["baseline"]["diverged"] == 1
    # Every candidate diverged: the choice is the grid's first, and it says so.
    assert results["summary"]["l2_tuned"]["diverged"] == 1
    assert "(1 diverged)" in (tmp_path / "c" / "report.md").read_text()
    json.loads((tmp_path / "c" / "results.json").read_text())  # still valid JSON


def test_disk_full_and_out_of_memory_are_one_line(capsys):
    def disk_full(argv):
        raise OSError(errno.ENOSPC, "No space left on device", "runs/x/results.json")

    def no_memory(argv):
        raise MemoryError

    assert cli.console_main(disk_full) == 2
    assert cli.console_main(no_memory) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: no space left on the device (runs/x/results.json)")
    assert err[1].startswith("error: out of memory; lower --batch-size")


def test_tensorflow_out_of_memory_is_one_line(capsys):
    class ResourceExhaustedError(Exception):  # what TensorFlow raises, by name
        pass

    def oom(argv):
        raise ResourceExhaustedError("OOM when allocating tensor")

    assert cli.console_main(oom) == 2
    assert capsys.readouterr().err.startswith("error: out of memory")


def test_damaged_tfds_directory_is_named_and_skipped(tmp_path, monkeypatch, capsys):
    from common.datasets import load_dataset

    broken = tmp_path / "tfds" / "mnist" / "3.0.1"
    broken.mkdir(parents=True)
    (broken / "dataset_info.json").write_text("{ truncated")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = load_dataset("auto", offline=True)
    err = capsys.readouterr().err
    assert f"mnist data in {tmp_path / 'tfds' / 'mnist'} could not be read" in err
    assert data.name == "mnist-5k"


def test_too_many_epochs_warns_where_there_is_data_to_train_on(capsys):
    parser = cli.recipe_parser("x", "", datasets=("iris",), default_dataset="iris", epochs=10)
    parser.parse_args(["--epochs", "1000"])
    assert "1000 epochs is far more than these datasets need" in capsys.readouterr().err
    # No dataset, no early stopping to offer (universal_approximation's generated points:
    # 1000 passes by default): no warning about them.
    cli.recipe_parser("y", "", epochs=1000).parse_args([])
    assert capsys.readouterr().err == ""


def test_usage_error_is_not_a_traceback(capsys):
    def bad(argv):
        raise UsageError("--thing: wrong; do this instead")

    assert cli.console_main(bad) == 2
    assert capsys.readouterr().err == "error: --thing: wrong; do this instead\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_single_run_exits_130_and_resumes(tmp_path, sig):
    out = tmp_path / "run"
    process = start_cli(tmp_path, "recipes", "run", "mnist_mlp", "--dataset", "mnist-5k",
                        "--epochs", "8", "--out", str(out))
    seen = ""
    deadline = time.monotonic() + 240
    while "Epoch 3/" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 130, seen + rest
    assert "interrupted" in rest and "Traceback" not in rest
    # The recipe ran as a file (recipes.run runs it so): its whole path works anywhere.
    script = (ROOT / "recipes" / "mnist_mlp.py").resolve()
    assert f"go on with: python3 {script} --resume {out}" in rest
    assert not (out / "results.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    saved = checkpoint.read_state(out / "backup" / "model")
    assert saved["epoch"] >= 2 and len(saved["history"]["loss"]) == saved["epoch"]

    results = recipes.run("mnist_mlp", ["--resume", str(out)])
    assert results["epochs_run"] == 8 and len(results["history"]["loss"]) == 8
    assert results["hyperparameters"]["epochs"] == 8
    assert (out / "results.json").exists() and not (out / "backup").exists()
    with pytest.raises(UsageError, match="that run has finished"):
        recipes.run("mnist_mlp", ["--resume", str(out)])


def test_resume_refuses_a_directory_without_a_run(tmp_path):
    with pytest.raises(UsageError, match="no args.json there"):
        recipes.run("mnist_mlp", ["--resume", str(tmp_path)])
    (tmp_path / "args.json").write_text('{"argv": 3}')
    with pytest.raises(UsageError, match="args.json: top level: 'recipe' is a required"):
        recipes.run("mnist_mlp", ["--resume", str(tmp_path)])


# --- the saved training state -------------------------------------------------------------


@pytest.fixture
def iris():
    from common.datasets import load_dataset

    return load_dataset("iris")


def small_model(hidden=8, learning_rate=0.001):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hidden, "relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(3, "softmax")])
    # One step per call, so that a callback can interrupt in the middle of an epoch.
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  steps_per_execution=1)
    return model


def fit_small(model, iris, run_dir, epochs=5, callbacks=()):
    # A resumable run's folder: fit claims run_dir and keeps the state in it.
    args = SimpleNamespace(recipe="iris_softmax", argv=[])
    with runs.RunDirectory("iris_softmax", resume=run_dir, argv=[]) as folder:
        return training.fit(recipes.cells("iris_softmax")["train"], model, iris, args,
                            list(callbacks), epochs=epochs, batch_size=32, seed=0, verbose=0,
                            folder=folder)


@pytest.mark.parametrize("interval, writes", [(1e9, 1), (0.0, 5)])
def test_state_is_written_every_backup_seconds_and_at_the_end(iris, tmp_path, monkeypatch,
                                                              interval, writes):
    written = []
    save = runs.atomic_write
    monkeypatch.setattr(runs, "atomic_write", lambda path, w: (written.append(path),
                                                               save(path, w)))
    monkeypatch.setattr(checkpoint, "BACKUP_SECONDS", interval)
    fit_small(small_model(), iris, tmp_path, epochs=5)
    # The training state's writes (the claim also writes the run's args.json, once).
    assert len([p for p in written if p.name == checkpoint.STATE_FILE]) == writes
    assert len(written) == writes + 1
    assert checkpoint.read_state(tmp_path / "backup" / "model")["epoch"] == 5


def test_interruption_keeps_the_last_finished_epoch_and_resume_goes_on(iris, tmp_path,
                                                                       monkeypatch):
    import keras

    monkeypatch.setattr(checkpoint, "BACKUP_SECONDS", 1e9)  # only the interruption writes
    finished = {}

    def on_batch(batch, logs):
        if len(finished) == 2 and batch == 1:  # the middle of the third epoch
            cli.INTERRUPTION.requested = True

    model = small_model()
    watch = keras.callbacks.LambdaCallback(
        on_train_batch_end=on_batch,
        on_epoch_end=lambda epoch, logs: finished.update(
            {epoch + 1: [v.numpy() for v in model.variables]}))
    with pytest.raises(KeyboardInterrupt):
        fit_small(model, iris, tmp_path, epochs=5, callbacks=[watch])
    assert not cli.INTERRUPTION.requested
    saved = checkpoint.read_state(tmp_path / "backup" / "model")
    assert saved["epoch"] == 2 and len(saved["history"]["loss"]) == 2
    for kept, array in zip(finished[2], saved["arrays"]):
        np.testing.assert_array_equal(kept, array)

    resumed = small_model()
    history = fit_small(resumed, iris, tmp_path, epochs=5)
    assert len(history.history["loss"]) == 5
    assert history.history["loss"][:2] == saved["history"]["loss"]
    steps = len(iris.y_train) // 32  # 96 training flowers: 3 batches per epoch
    assert int(resumed.optimizer.iterations.numpy()) == 5 * steps


# A validation score that improves for five epochs, then only gets worse: early stopping
# (patience 4) picks epoch 5 and halts after epoch 9, whatever the small model learns.
SCRIPTED_SCORES = [5, 4, 3, 2, 1, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5]


def early_stopped_run(iris, run_dir, interrupt_after=None):
    """A small model with early stopping on ``SCRIPTED_SCORES``, interrupted in the middle
    of the epoch after ``interrupt_after`` finished epochs, if given. Returns the model,
    the stopper and the weights at the end of each epoch this call trained."""
    import keras

    stopper = keras.callbacks.EarlyStopping(monitor="score", mode="min", patience=4,
                                            restore_best_weights=True)
    weights = {}
    model = small_model()

    def on_batch(batch, logs):
        if len(weights) == interrupt_after and batch == 1:
            cli.INTERRUPTION.requested = True

    def on_epoch_end(epoch, logs):
        logs["score"] = SCRIPTED_SCORES[epoch]  # the same dict the stopper reads next
        weights[epoch] = model.get_weights()

    script = keras.callbacks.LambdaCallback(on_train_batch_end=on_batch,
                                            on_epoch_end=on_epoch_end)
    fit_small(model, iris, run_dir, epochs=len(SCRIPTED_SCORES), callbacks=[script, stopper])
    return model, stopper, weights


def test_a_resumed_run_early_stops_as_it_would_have_uninterrupted(iris, tmp_path,
                                                                   monkeypatch):
    """Interrupted after its best epoch, while early stopping waits: the resumed run keeps
    counting patience from that best epoch, stops where the uninterrupted run stops and
    restores the best epoch's weights, saved before the interruption. (A fresh stopper
    would take the first resumed epoch as its best and stop 2 epochs later.)"""
    monkeypatch.setattr(checkpoint, "BACKUP_SECONDS", 1e9)  # only the interruption writes
    _, whole, _ = early_stopped_run(iris, tmp_path / "whole")
    assert (whole.best_epoch, whole.stopped_epoch) == (4, 8)

    with pytest.raises(KeyboardInterrupt):  # 2 epochs past the best, waiting
        _, _, before = early_stopped_run(iris, tmp_path / "cut", interrupt_after=7)
    saved = checkpoint.read_state(tmp_path / "cut" / "backup" / "model")
    assert saved["epoch"] == 7 and saved["stoppers"][0]["wait"] == 2
    assert saved["stoppers"][0]["best_epoch"] == 4
    resumed, stopper, trained = early_stopped_run(iris, tmp_path / "cut")
    assert (stopper.best_epoch, stopper.stopped_epoch) == (4, 8)
    assert sorted(trained) == [7, 8]  # the epochs after the interruption, up to the stop
    for best, restored in zip(saved["stoppers"][0]["best_weights"], resumed.get_weights()):
        np.testing.assert_array_equal(best, restored)

    # Interrupted once it had stopped (before the run wrote its results): resuming trains
    # no further and still ends on the best epoch's weights.
    again, stopper, trained = early_stopped_run(iris, tmp_path / "cut")
    assert trained == {} and stopper.stopped_epoch == 8
    for best, restored in zip(saved["stoppers"][0]["best_weights"], again.get_weights()):
        np.testing.assert_array_equal(best, restored)


def test_a_finished_fit_is_not_trained_again_on_resume(iris, tmp_path):
    # A recipe with several variants, interrupted in the second: resuming restores the
    # first one as it ended instead of training it again.
    import keras

    first = fit_small(small_model(), iris, tmp_path, epochs=3)
    trained = []
    count = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: trained.append(1))
    again = small_model()
    history = fit_small(again, iris, tmp_path, epochs=3, callbacks=[count])
    assert trained == [] and history.history == first.history
    assert int(again.optimizer.iterations.numpy()) == 3 * (len(iris.y_train) // 32)


def test_state_of_another_model_is_refused(iris, tmp_path):
    fit_small(small_model(), iris, tmp_path, epochs=1)
    with pytest.raises(UsageError, match="for another model"):
        fit_small(small_model(hidden=16), iris, tmp_path, epochs=2)
    (tmp_path / "backup" / "model" / checkpoint.STATE_FILE).write_bytes(b"not a state")
    with pytest.raises(UsageError, match="damaged"):
        fit_small(small_model(), iris, tmp_path, epochs=2)


def test_a_long_run_prints_a_line_every_few_epochs_and_the_last(capsys):
    """Hundreds of epochs: about 20 epoch lines, the first, every N-th and the one where
    training stopped, not one per epoch."""
    import keras
    import numpy as np

    from common import training

    assert training.progress_interval(10) == 1 and training.progress_interval(200) == 10
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 2), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, epochs=100, verbose=0, callbacks=[training.progress_lines(5)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert [line.split(" - ")[0] for line in lines] == \
        ["Epoch 1/100", *(f"Epoch {n}/100" for n in range(5, 101, 5))]
    assert "loss: " in lines[-1]
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10)
    model.fit(x, y, epochs=100, verbose=0, callbacks=[stopper, training.progress_lines(5)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/100", "Epoch 2/100"]


@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_an_epoch_cut_short_by_ctrl_c_is_not_printed_as_an_epoch(capsys, steps_per_execution):
    """Ctrl-C stops at the next batch; Keras still ends the epoch, with the partial
    epoch's numbers, which the progress lines must not show as a finished epoch."""
    import keras
    import numpy as np

    from common import training

    class CtrlCInSecondEpoch(keras.callbacks.Callback):  # as checkpoint's callback does
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1:
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    x, y = np.zeros((8, 2), "float32"), np.ones((8, 1), "float32")  # 4 batches of 2
    model.fit(x, y, epochs=3, batch_size=2, verbose=0,
              callbacks=[training.progress_lines(1)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    model.fit(x, y, epochs=3, batch_size=2, verbose=0,
              callbacks=[CtrlCInSecondEpoch(), training.progress_lines(1)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3"]


def test_the_resume_command_repeats_how_the_run_was_started(monkeypatch, tmp_path):
    """Found by a student's try: started as `python3 /path/recipes/iris_softmax.py` from
    another folder, the run said to go on with `python3 -m recipes run ...`, which fails
    there (No module named recipes)."""
    from common import training

    script = ROOT / "recipes" / "iris_softmax.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--epochs", "3000"])
    assert training.resume_command("iris_softmax", tmp_path) == \
        f"python3 {script.resolve()} --resume {tmp_path}"
    monkeypatch.setattr(sys, "argv", [str(ROOT / "recipes" / "__main__.py"), "run"])
    assert training.resume_command("iris_softmax", tmp_path) == \
        f"python3 -m recipes run iris_softmax --resume {tmp_path}"


def test_the_resume_hint_names_the_folder_by_its_whole_path(monkeypatch, tmp_path, capsys):
    """Found by a user's try: `--out rel/x` gave `--resume rel/x`, which fails from any
    other folder (and in a notebook, which runs in its own)."""
    from common import training

    monkeypatch.chdir(tmp_path)
    training._say_how_to_resume(SimpleNamespace(recipe="mnist_mlp"), Path("rel/x"), "model", 3)
    hint = capsys.readouterr().err
    assert f"--resume {tmp_path / 'rel' / 'x'} " in hint
    assert f'NOTEBOOK_ARGS = ["--resume", "{tmp_path / "rel" / "x"}"]' in hint


def test_ctrl_c_waits_for_the_training_block_outside_a_command_too():
    """Found by a user's try: in a Jupyter kernel (whose interrupt is SIGINT, with
    Python's own handler) Ctrl-C broke into TensorFlow and lost the epochs since the
    last save. The training block takes SIGINT for its length, wherever it runs."""
    import os

    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a kernel
    try:
        finished_the_block = []
        with pytest.raises(KeyboardInterrupt):
            with cli.interruption_after() as interruption:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # the handler runs here, and does not raise
                finished_the_block.append(interruption.requested)
        assert finished_the_block == [True]  # raised at the block's end, not inside it
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, earlier)

