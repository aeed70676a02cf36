"""The regularization recipes: structure, snippets, determinism and what they measure."""

import json

import pytest

import recipes
from conftest import one_line_error


def out(tmp_path, name="run"):
    return ["--out", str(tmp_path / name)]


def dense_layers(model):
    return [layer for layer in model.layers if type(layer).__name__ == "Dense"]


# --- structure ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iris_softmax", "iris_l1_l2", "mnist_l2", "mnist_dropout",
                                  "mnist_early_stopping"])
def test_softmax_output_and_cross_entropy(name):
    model = recipes.cells(name)["build_model"]()
    assert dense_layers(model)[-1].get_config()["activation"] == "softmax"
    expected_classes = 3 if name.startswith("iris") else 10
    assert model.output_shape == (None, expected_classes)
    assert type(model.loss).__name__ == "SparseCategoricalCrossentropy"


@pytest.mark.parametrize("l1, l2, kind, config", [
    (0.01, 0.0, "L1", {"l1": 0.01}),
    (0.0, 0.02, "L2", {"l2": 0.02}),
    (0.01, 0.02, "L1L2", {"l1": 0.01, "l2": 0.02}),
])
def test_iris_regularizer_classes_and_factors(l1, l2, kind, config):
    model = recipes.cells("iris_l1_l2")["build_model"](l1=l1, l2=l2)
    for layer in dense_layers(model):
        assert type(layer.kernel_regularizer).__name__ == kind
        assert layer.kernel_regularizer.get_config() == pytest.approx(config)
        assert layer.bias_regularizer is None
    assert all(layer.kernel_regularizer is None
               for layer in dense_layers(recipes.cells("iris_l1_l2")["build_model"](l1=0.0, l2=0.0)))
    # Its defaults are the lesson's: both penalties, as the pasted cells train.
    assert all(type(layer.kernel_regularizer).__name__ == "L1L2"
               for layer in dense_layers(recipes.cells("iris_l1_l2")["build_model"]()))


def test_mnist_l2_is_the_slides_layer():
    model = recipes.cells("mnist_l2")["build_model"]()
    hidden = dense_layers(model)[0]
    assert hidden.units == 50
    assert type(hidden.kernel_regularizer).__name__ == "L2"
    assert hidden.kernel_regularizer.get_config() == pytest.approx({"l2": 0.001})
    assert all(layer.kernel_regularizer is None
               for layer in dense_layers(recipes.cells("mnist_l2")["build_model"](l2=0.0)))


def test_dropout_layers_follow_each_hidden_layer():
    model = recipes.cells("mnist_dropout")["build_model"](rate=0.3)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in model.layers
            if type(layer).__name__ == "Dropout"] == [0.3, 0.3]
    assert "Dropout" not in [type(layer).__name__ for layer in
                             recipes.cells("mnist_dropout")["build_model"](rate=0.0).layers]


def test_early_stopping_callback_settings():
    early_stopping = recipes.cells("mnist_early_stopping")["early_stopping"]
    callback = early_stopping("val_accuracy", patience=7, min_delta=0.001)
    assert callback.monitor == "val_accuracy" and callback.patience == 7
    assert callback.min_delta == 0.001 and callback.restore_best_weights is True
    assert callback.mode == "max"
    assert early_stopping("val_loss").mode == "min"


@pytest.mark.parametrize("flags, monitor", [
    ([], "val_loss"), (["--l2", "0.001"], "val_cross_entropy"),
    (["--l2", "0.001", "--monitor", "val_accuracy"], "val_accuracy"),
])
def test_penalty_switches_the_monitor_to_the_unpenalized_metric(flags, monitor, tmp_path):
    results = recipes.run("mnist_early_stopping", ["--quick", "--epochs", "1", "--dataset",
                                                   "mnist-5k", "--out", tmp_path, *flags])
    assert results["early_stopping"]["monitor"] == results["monitor"] == monitor


# --- snippets a student pastes ------------------------------------------------------


@pytest.mark.parametrize("name", recipes.recipe_names())
def test_every_snippet_runs_alone(name):
    """Its cells define what they promise; a training recipe's also train (test_show)."""
    code = "\n\n".join(recipes.copy_cells(name).values())
    assert "from common" not in code and "import common" not in code
    namespace = {}
    exec(code, namespace)  # an empty notebook
    if "build_model" in namespace:
        import inspect

        build = namespace["build_model"]
        required = [p for p in inspect.signature(build).parameters.values()
                    if p.default is inspect.Parameter.empty]
        args = {"task": ["multi-class"], "width": [8], "input_shape": [(4,)], "outputs": [3]}
        model = build(*[args[p.name][0] for p in required])
        assert model.count_params() > 0


def test_show_prints_each_snippet(run_cli):
    for name in ("mnist_dropout", "iris_l1_l2"):
        done = run_cli("-m", "recipes", "show", name)
        assert done.returncode == 0 and done.stdout == recipes.snippet(name)


# --- quick runs of every training recipe --------------------------------------------

QUICK = {
    "iris_softmax": ["--quick"],
    "iris_l1_l2": ["--quick"],
    "mnist_l2": ["--quick", "--dataset", "mnist-5k"],
    "mnist_dropout": ["--quick", "--dataset", "mnist-5k"],
    "mnist_early_stopping": ["--quick", "--dataset", "mnist-5k"],
}


@pytest.mark.parametrize("name", list(QUICK))
def test_quick_run_writes_results_and_figures(tmp_path, name):
    results = recipes.run(name, [*QUICK[name], *out(tmp_path)])
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["recipe"] == name and on_disk["test_accuracy"] == results["test_accuracy"]
    for figure in on_disk["figures"]:
        assert (tmp_path / "run" / figure).stat().st_size > 5_000


def test_same_seed_same_results_in_another_process(run_cli, tmp_path):
    # Another process, as a baseline check is: the CPU kernels must give the same
    # numbers without TensorFlow's op-determinism switch (which would cost 2x here).
    first = recipes.run("mnist_dropout", ["--quick", "--dataset", "mnist-5k", *out(tmp_path, "a")])
    done = run_cli("-m", "recipes", "run", "mnist_dropout", "--quick", "--dataset",
                   "mnist-5k", "--out", "b")
    assert done.returncode == 0, done.stderr
    again = json.loads((tmp_path / "b" / "results.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "history", "variants"):
        assert first[key] == again[key], key


@pytest.mark.parametrize("args, expected", [
    (["mnist_dropout", "--dropout", "1"], "--dropout: must be a rate in (0, 1)"),
    (["mnist_dropout", "--dropout=-0.1"], "--dropout: must be a rate in (0, 1)"),
    # Zero would train the compared variant as a copy of "none", under another name.
    (["mnist_dropout", "--dropout", "0"], "--dropout: must be a rate in (0, 1)"),
    (["mnist_l2", "--l2=-0.001"], "--l2: must be a number > 0"),
    (["mnist_l2", "--l2", "0"], "--l2: must be a number > 0"),
    (["iris_l1_l2", "--l1", "abc"], "--l1: must be a number > 0"),
    (["iris_l1_l2", "--l2", "0"], "--l2: must be a number > 0"),
    (["mnist_early_stopping", "--patience=-1"], "--patience: must be a whole number >= 0"),
    (["mnist_early_stopping", "--monitor", "val_f1"], "invalid choice: 'val_f1'"),
    (["iris_softmax", "--dataset", "mnist"], "invalid choice: 'mnist'"),
])
def test_bad_hyperparameters_one_line_exit_2(run_cli, args, expected):
    assert expected in one_line_error(run_cli("-m", "recipes", "run", *args))


# --- what the recipes measure, on real data ------------------------------------------


def test_iris_softmax_accuracy_floor(tmp_path):
    results = recipes.run("iris_softmax", out(tmp_path))
    assert results["data_source"] == "sklearn:iris"
    assert results["test_accuracy"] >= 0.9


@pytest.fixture(scope="module")
def iris_penalties(tmp_path_factory):
    return recipes.run("iris_l1_l2", ["--out", str(tmp_path_factory.mktemp("l1l2") / "run")])


def test_l1_makes_weights_sparse_and_selects_features(iris_penalties):
    variants = iris_penalties["variants"]
    assert set(variants) == {"none", "l1", "l2", "l1l2"}
    assert "weights.png" in iris_penalties["figures"]
    none, l1 = variants["none"]["weights"], variants["l1"]["weights"]
    assert l1["near_zero_fraction"] > none["near_zero_fraction"] + 0.2
    use = variants["l1"]["input_feature_l1"]
    # One measurement is nearly dropped: its weights sum to under a tenth of the largest.
    assert min(use.values()) < 0.1 * max(use.values())


def test_l2_makes_weights_small(iris_penalties):
    variants = iris_penalties["variants"]
    assert variants["l2"]["weights"]["l2"] < 0.6 * variants["none"]["weights"]["l2"]
    assert variants["l2"]["weights"]["max_abs"] < variants["none"]["weights"]["max_abs"]


def test_iris_penalties_keep_accuracy(iris_penalties):
    for name, variant in iris_penalties["variants"].items():
        assert variant["test_accuracy"] >= 0.9, name


def test_mnist_l2_shrinks_weights_and_narrows_the_gap(tmp_path):
    results = recipes.run("mnist_l2", ["--dataset", "mnist-5k", "--epochs", "25", *out(tmp_path)])
    none, l2 = results["variants"]["none"], results["variants"]["l2"]
    assert l2["weights"]["l2"] < 0.75 * none["weights"]["l2"]
    assert (l2["train_accuracy"] - l2["val_accuracy"]
            < none["train_accuracy"] - none["val_accuracy"])
    assert l2["test_accuracy"] >= 0.9 and none["test_accuracy"] >= 0.9


def test_dropout_in_training_and_at_inference(tmp_path):
    from common.datasets import load_dataset

    images = load_dataset("mnist-5k").x_train[:256]
    batch = recipes.cells("mnist_dropout")["dropout_on_a_batch"](images, 0.3)
    assert batch["inference_equals_input"] is True
    assert batch["dropped_fraction"] == pytest.approx(0.3, abs=0.03)
    assert batch["kept_scale"] == pytest.approx(1 / 0.7, rel=1e-5)


def test_mnist_dropout_accuracy_floor(tmp_path):
    results = recipes.run("mnist_dropout", ["--dataset", "mnist-5k", "--epochs", "15", *out(tmp_path)])
    assert results["variant"] == "dropout"
    assert results["test_accuracy"] >= 0.92
    assert results["variants"]["none"]["test_accuracy"] >= 0.92


def test_early_stopping_restores_the_best_epoch(tmp_path, capsys):
    results = recipes.run("mnist_early_stopping", ["--dataset", "mnist-5k", *out(tmp_path)])
    # The summary says why the run trained fewer epochs than asked (and only then).
    assert "(fewer than asked where early stopping halted)" in capsys.readouterr().out
    early = results["early_stopping"]
    assert early["stopped_epoch"] is not None and early["stopped_epoch"] < 100
    assert early["stopped_epoch"] == early["best_epoch"] + 5  # patience 5
    assert early["restored_value"] == pytest.approx(early["best_value"], rel=1e-4)
    assert results["epochs_run"] == early["stopped_epoch"]
    assert results["test_accuracy"] >= 0.9


def test_early_stopping_with_penalty_watches_cross_entropy(tmp_path):
    results = recipes.run("mnist_early_stopping", ["--quick", "--dataset", "mnist-5k", "--l2", "0.001",
                                         *out(tmp_path)])
    assert results["early_stopping"]["monitor"] == "val_cross_entropy"
    assert "val_cross_entropy" in results["history"]
