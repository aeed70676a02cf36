"""Keras backends: the --backend flag and its errors, the model cells in plain Keras,
the same numbers for the same seed on each backend, and the backends agreeing."""

import importlib.util
import json
import os
import re
import sys

import numpy as np
import pytest

import recipes
from common import cli
from common.errors import UsageError
from conftest import one_line_error

HAVE_JAX = importlib.util.find_spec("jax") is not None
needs_jax = pytest.mark.skipif(not HAVE_JAX, reason="jax is not installed "
                               "(python3 -m pip install -r requirements-jax.txt)")
# Each backend the tests can run here.
AVAILABLE = ["tensorflow", pytest.param("jax", marks=needs_jax)]

# Recipes whose own code is TensorFlow's, and why (they refuse another backend).
TENSORFLOW_ONLY = {"backprop"}


def test_a_backend_that_is_not_installed_is_one_line_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    with pytest.raises(UsageError) as error:
        cli.select_backend("jax")
    assert "jax is not installed" in str(error.value)
    assert "pip install -r requirements-jax.txt" in str(error.value)
    assert error.value.exit_code == 2


def test_another_backend_after_keras_is_imported_is_refused():
    import keras

    current = keras.backend.backend()
    other = "jax" if current == "tensorflow" else "tensorflow"
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"{other} is not installed")
    with pytest.raises(UsageError, match="already runs on"):
        cli.select_backend(other)
    assert cli.select_backend(current) == current  # the one it runs on is fine
    assert cli.default_backend() == current


def test_an_unknown_backend_is_one_line(run_cli, tmp_path):
    line = one_line_error(run_cli("-m", "recipes", "run", "softmax", "--backend", "torch"))
    assert "invalid choice: 'torch'" in line
    line = one_line_error(run_cli("-m", "recipes", "run", "softmax",
                                  env={"KERAS_BACKEND": "torch"}))
    assert "'torch'" in line and "tensorflow, jax" in line


def test_every_recipe_compare_and_baselines_take_backend(run_cli):
    for name in recipes.recipe_names():
        completed = run_cli("-m", "recipes", "run", name, "--help")
        assert "--backend {tensorflow,jax}" in completed.stdout, name
    for command in (["tools", "compare", "--help"], ["tools", "baselines", "--help"],
                    ["benchmarks.bench", "--help"]):
        completed = run_cli("-m", *command)
        assert "--backend" in completed.stdout, command


@pytest.mark.parametrize("name", recipes.recipe_names())
def test_model_cells_are_plain_keras(name):
    """What students copy uses keras and keras.ops, never TensorFlow itself, except in a
    recipe that says it is TensorFlow-only (and refuses other backends), and in the
    training cell's tf.data pipeline (it reshuffles each epoch, on either backend: see
    test_the_training_cell_reshuffles_every_epoch_and_repeats_by_seed). No cell asks which
    backend runs it."""
    cells = recipes.copy_cells(name)
    training = re.sub(r"#.*", "", cells.pop("Training", ""))  # code only
    cell = "\n".join(cells.values())
    uses_tensorflow = "import tensorflow" in cell or "tf." in cell
    assert uses_tensorflow == (name in TENSORFLOW_ONLY), name
    assert "backend()" not in cell + training, name
    if training:
        assert "tf.data.Dataset" in training and "model.fit(train_data" in training, name


@needs_jax
def test_a_tensorflow_only_recipe_refuses_jax_saying_why(run_cli):
    line = one_line_error(run_cli("-m", "recipes", "run", "backprop", "--backend", "jax"))
    assert "tensorflow only" in line and "GradientTape" in line


@pytest.fixture(scope="module")
def dropout_runs(tmp_path_factory):
    """``mnist_dropout --quick`` results by (backend, run number), each run once per module
    in its own process: the determinism and agreement tests share them."""
    import os
    import subprocess

    from conftest import ROOT

    cache, where = {}, tmp_path_factory.mktemp("dropout")

    def get(backend, number, *flags):
        if (backend, number, *flags) not in cache:
            out = where / f"{backend}-{number}"
            completed = subprocess.run(
                [sys.executable, "-m", "recipes", "run", "mnist_dropout", "--quick",
                 "--dataset", "mnist-5k", "--backend", backend, "--out", str(out), *flags],
                cwd=where, capture_output=True, text=True, timeout=600,
                stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert completed.returncode == 0, completed.stderr[-2000:]
            cache[backend, number, *flags] = json.loads((out / "results.json").read_text())
        return cache[backend, number, *flags]

    return get


@pytest.mark.parametrize("backend", AVAILABLE)
def test_same_seed_same_numbers_on_each_backend(dropout_runs, backend):
    """Dropout's random numbers, shuffling and initial weights, in two processes."""
    first, second = dropout_runs(backend, 1), dropout_runs(backend, 2)
    assert first["backend"] == first["versions"]["backend"] == backend
    for variant in ("none", "dropout"):
        a, b = first["variants"][variant], second["variants"][variant]
        assert a["history"] == b["history"], variant
        assert a["test_accuracy"] == b["test_accuracy"], variant


@needs_jax
def test_keras_backend_is_honoured_and_recorded(run_cli, tmp_path):
    completed = run_cli("-m", "recipes", "run", "softmax", "--out", str(tmp_path / "s"),
                        env={"KERAS_BACKEND": "jax"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads((tmp_path / "s" / "results.json").read_text())
    assert results["versions"]["backend"] == "jax"
    assert results["versions"]["jax"]


def test_jax_runs_ask_xla_for_deterministic_gpu_kernels(monkeypatch):
    # On an H200, mnist_dropout with seed 0 on JAX gave two test accuracies (0.9410,
    # 0.9430) until the flag was set; a user's own XLA flags are kept, and none doubles.
    from common import training

    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/dump")
    training._deterministic_xla_on_gpus()
    training._deterministic_xla_on_gpus()
    assert os.environ["XLA_FLAGS"] == ("--xla_dump_to=/tmp/dump "
                                       + training.XLA_DETERMINISTIC_GPU_OPS)
    monkeypatch.setenv("XLA_FLAGS", "--xla_gpu_deterministic_ops=false")
    training._deterministic_xla_on_gpus()  # the user's own choice stands
    assert os.environ["XLA_FLAGS"] == "--xla_gpu_deterministic_ops=false"


@needs_jax
def test_a_jax_machine_without_tensorflow_trains_and_records(run_cli, tmp_path):
    # Found on a GPU machine that had JAX and no TensorFlow: the recipe trained, then
    # failed on `import tensorflow` while recording library versions, losing the run.
    script = ("import runpy, sys\n"
              "sys.modules['tensorflow'] = sys.modules['tensorflow_datasets'] = None\n"
              "sys.argv = ['recipes', 'run', 'mnist_mlp', '--quick', '--dataset', 'mnist-5k',"
              f" '--out', {str(tmp_path / 'r')!r}]\n"
              "runpy.run_module('recipes', run_name='__main__')\n")
    completed = run_cli("-c", script, env={"KERAS_BACKEND": "jax", "RECIPES_OFFLINE": "1"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    versions = json.loads((tmp_path / "r" / "results.json").read_text())["versions"]
    assert versions["backend"] == "jax" and "tensorflow" not in versions


@pytest.mark.parametrize("backend", AVAILABLE)
def test_steps_per_execution_changes_speed_only(dropout_runs, backend):
    """The copied cells compile with Keras' default of one step per call; the runs set
    32 (the flag's default) on the model. Either way: the same numbers."""
    default, one_step = dropout_runs(backend, 1), dropout_runs(backend, 3,
                                                            "--steps-per-execution", "1")
    assert default["hyperparameters"]["steps_per_execution"] == 32
    assert one_step["hyperparameters"]["steps_per_execution"] == 1
    for variant in ("none", "dropout"):
        a, b = default["variants"][variant], one_step["variants"][variant]
        assert a["history"] == b["history"], variant
        assert a["test_accuracy"] == b["test_accuracy"], variant


@needs_jax
def test_the_backends_agree_on_mnist_dropout(dropout_runs):
    """A quick run (2 epochs, 2,048 images) on each backend: the same network from
    different random numbers lands within a few points of each other. (The full check,
    over 3 seeds at the recipe's defaults, is in README, "Backends".)"""
    tf_run, jax_run = dropout_runs("tensorflow", 1), dropout_runs("jax", 1)
    for variant in ("none", "dropout"):
        a = tf_run["variants"][variant]["test_accuracy"]
        b = jax_run["variants"][variant]["test_accuracy"]
        assert abs(a - b) <= 0.03, (variant, a, b)


@needs_jax
def test_resume_state_is_written_and_read_on_jax(tmp_path):
    """checkpoint's state (model and optimizer variables) on JAX arrays, in a fresh
    process so that Keras starts on JAX."""
    import subprocess

    from conftest import ROOT

    code = (
        "import numpy as np, keras\n"
        "from pathlib import Path\n"
        "from common import checkpoint\n"
        "import recipes\n"
        "build_model = recipes.cells('iris_softmax')['build_model']\n"
        "keras.utils.set_random_seed(0)\n"
        "x = np.random.rand(64, 4).astype('float32'); y = np.random.randint(0, 3, 64)\n"
        "m = build_model()\n"
        "cb = checkpoint.callback(Path('state'))\n"
        "m.fit(x, y, epochs=2, verbose=0, callbacks=[cb])\n"
        "n = build_model()\n"
        "done, history, _ = checkpoint.restore(n, Path('state'))\n"
        "assert done == 2 and len(history['loss']) == 2\n"
        "for a, b in zip(m.get_weights(), n.get_weights()): assert np.array_equal(a, b)\n"
        "print('ok')\n")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True,
                               capture_output=True, timeout=300,
                               env={**__import__("os").environ, "PYTHONPATH": str(ROOT),
                                    "KERAS_BACKEND": "jax"})
    assert completed.stdout.strip() == "ok", completed.stderr[-2000:]


def _epoch_orders(train, seed, epochs=3):
    """The order in which ``train`` feeds 12 examples to a model, epoch by epoch."""
    import keras

    seen = []

    class Spy(keras.layers.Layer):
        def call(self, inputs):
            try:
                values = np.asarray(inputs)
            except Exception:  # symbolic, while the model is built: not a batch
                return inputs
            seen.append([int(v) for v in values.ravel()])
            return inputs

    keras.utils.set_random_seed(seed)  # as every recipe seeds itself
    x = np.arange(12, dtype="float32").reshape(-1, 1)
    y = np.zeros(12, dtype="int64")
    model = keras.Sequential([keras.Input((1,)), Spy(), keras.layers.Dense(2, "softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", run_eagerly=True)
    train(model, x, y, x[:2], y[:2], epochs=epochs, batch_size=12, seed=seed, verbose=0)
    training_batches = [order for order in seen if len(order) == 12]
    return training_batches


def test_the_training_cell_reshuffles_every_epoch_and_repeats_by_seed():
    """On TensorFlow, after keras.utils.set_random_seed, fit(shuffle=True) on arrays feeds
    the same order in every epoch; the recipes' training cell does not (on either
    backend), and the same seed gives the same orders again."""
    import keras

    train = recipes.cells("mnist_mlp")["train"]
    orders = _epoch_orders(train, seed=0)
    assert len(orders) == 3 and len({tuple(o) for o in orders}) == 3, orders
    assert all(sorted(o) == list(range(12)) for o in orders)
    assert _epoch_orders(train, seed=0) == orders
    assert _epoch_orders(train, seed=1) != orders
    if keras.backend.backend() == "tensorflow":
        def plain_fit(model, x, y, x_val, y_val, seed, **options):
            return model.fit(x, y, validation_data=(x_val, y_val), shuffle=True, **options)

        plain = _epoch_orders(plain_fit, seed=0)
        assert len({tuple(o) for o in plain}) == 1, "Keras now reshuffles: see the cell"
