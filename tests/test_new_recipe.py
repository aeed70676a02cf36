"""A new slide's recipe is one new file: dropped into recipes/, it is listed in the
lecture's order, `show` prints its cells, the notebook build makes its notebook and the
baselines plan records it, with no other file touched (CONTRIBUTING.md)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

# A recipe for a slide the lecture does not have yet, written as CONTRIBUTING.md says.
NEW_RECIPE = '''"""
Title: Batch normalization on Iris
Slide topic: Batch normalization (normalize each layer's inputs over the batch)
Lecture order: 125
Baselines: fast iris
Dataset: iris
Run: python -m recipes.batch_norm
Description: The Iris classifier with a BatchNormalization layer.
"""

# %% [markdown]
# A `BatchNormalization` layer scales each of its inputs by the batch's statistics.

# %%
SETTINGS = {
    "units": 16,  # units in the hidden layer
    "epochs": 5,  # passes over the training flowers
    "seed": 0,  # the random seed of the first weights
}

# %% tags=["parameters"]
NOTEBOOK_ARGS = []

# %%
from common import lesson

run = lesson.start("batch_norm", globals(), datasets=("iris",), default_dataset="iris")
settings = run.settings

# %% Data (copy this cell)


def load_data(seed=0):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=30, stratify=y,
                                                        random_state=seed)
    return (x_train, y_train), (x_test[:15], y_test[:15]), (x_test[15:], y_test[15:])


# %% Model (copy this cell)


def build_model(units=16):
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# %% Training (copy this cell)


def train(model, x_train, y_train, x_val, y_val, epochs=5, callbacks=()):
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                     callbacks=list(callbacks), verbose=0)


# %% Evaluation (copy this cell)


def evaluate(model, splits):
    return {name: model.evaluate(x, y, verbose=0, return_dict=True)
            for name, (x, y) in splits.items()}


# %%
import keras

data = run.load_data()
keras.utils.set_random_seed(settings["seed"])
model = build_model(settings["units"])
callbacks, initial_epoch = run.callbacks(model)
history = train(model, *data.train, *data.val, epochs=settings["epochs"], callbacks=callbacks)
scores = evaluate(model, {"train": data.train, "validation": data.val, "test": data.test})
results = run.finish_training({"batch_norm": run.record(model, history, scores)})
'''


@pytest.fixture
def project_copy(tmp_path):
    """The project as a clone has it, in a scratch folder, plus one new recipe file."""
    for folder in ("recipes", "common", "tools", "exercises", "tests"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "build.py", tmp_path / "notebooks" / "build.py")
    (tmp_path / "recipes" / "batch_norm.py").write_text(NEW_RECIPE)
    return tmp_path


def run_in(folder, *args):
    env = {**os.environ, "PYTHONPATH": str(folder), "RECIPES_OFFLINE": "1"}
    done = subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_new_recipe_file_is_listed_shown_built_and_planned(project_copy):
    listed = [line for line in run_in(project_copy, "-m", "recipes", "list").splitlines()
              if line and not line.startswith(" ")]
    assert "batch_norm" in listed
    # Lecture order 125: after Dropout (120), before early stopping (130).
    assert listed.index("mnist_dropout") + 1 == listed.index("batch_norm")

    shown = run_in(project_copy, "-m", "recipes", "show", "batch_norm")
    assert "# %% Model" in shown and "BatchNormalization" in shown and "model.fit(" in shown

    # It runs, with its flags made from its SETTINGS, and records what it trained.
    assert "--units UNITS" in run_in(project_copy, "-m", "recipes", "run", "batch_norm",
                                     "--help")
    out = project_copy / "run"
    run_in(project_copy, "-m", "recipes", "run", "batch_norm", "--units", "4", "--out", out)
    recorded = json.loads((out / "results.json").read_text())
    assert recorded["hyperparameters"]["units"] == 4 and recorded["epochs_run"] == 5
    assert recorded["params"] == 4 * 4 + (4 * 4 + 4) + (4 * 3 + 3)  # BatchNorm: 4 x 4

    run_in(project_copy, "notebooks/build.py", "batch_norm", "--no-execute")
    notebook = (project_copy / "notebooks" / "batch_norm.ipynb").read_text()
    assert "Batch normalization on Iris" in notebook

    plan = run_in(project_copy, "-c", "import recipes; print(recipes.baseline_plan()['fast'])")
    assert "('batch_norm', 'iris', [])" in plan

    # The README's lecture map gets the recipe's row from its header, by one command.
    assert "batch_norm" not in (project_copy / "README.md").read_text()
    run_in(project_copy, "-m", "tools", "lecture-map")
    readme = (project_copy / "README.md").read_text()
    assert ("| Batch normalization (normalize each layer's inputs over the batch) | "
            "[`batch_norm`](recipes/batch_norm.py) | [notebook](notebooks/batch_norm.ipynb) "
            "| - | - |") in readme
    assert readme.index("[`mnist_dropout`]") < readme.index("[`batch_norm`]") \
        < readme.index("[`mnist_early_stopping`]")


# A new developer's likely slips in the header, and what the one-line error must say.
# Each used to pass in silence: the recipe listed last, or its topic shown as "-".
HEADER_MISTAKES = [
    ("Lecture order: 125", "Lecture order: soon", "'Lecture order: soon' is not a number"),
    ("Lecture order: 125", "Lecture oder: 125", "did you mean 'Lecture order:'?"),
    ("Lecture order: 125", "Lecture order 125", "'Lecture order 125' is not 'Field: value'"),
    ("Baselines: fast iris\n", "\nBaselines: fast iris\n", "no 'Description:' line"),
    ('"""\nTitle:', '# a comment\n"""\nTitle:', "must open with its header docstring"),
    ("Lecture order: 125", "Lecture order: 120", "both have 'Lecture order: 120'"),
    ("Run: python -m recipes.batch_norm", "Run: python -m recipes.mnist_dropout",
     "write 'Run: python -m recipes.batch_norm'"),
]


@pytest.mark.parametrize("written, mistaken, said", HEADER_MISTAKES)
def test_a_malformed_header_is_one_line_naming_the_file(project_copy, written, mistaken, said):
    path = project_copy / "recipes" / "batch_norm.py"
    assert written in NEW_RECIPE
    path.write_text(NEW_RECIPE.replace(written, mistaken, 1))
    env = {**os.environ, "PYTHONPATH": str(project_copy), "RECIPES_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "recipes", "list"], cwd=project_copy,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "batch_norm.py" in done.stderr and said in done.stderr, done.stderr


# Slips in a new recipe's cells. `show` used to print them (exit 0): code that cannot
# run, or cells without the lines that call them; the notebook check stopped with a
# traceback naming "<unknown>".
SHOW = ["-m", "recipes", "show", "batch_norm"]
CELL_MISTAKES = [
    ("keras.layers.Dense(3, activation=\"softmax\")])",
     "keras.layers.Dense(3, activation=\"softmax\")]", "batch_norm.py, line",
     [SHOW, ["notebooks/build.py", "batch_norm", "--check"]]),
    ("# %% Training (copy this cell)", "# %% Train (copy this cell)",
     "'# %% Train (copy this cell)': a cell to copy is titled one of", [SHOW]),
]


@pytest.mark.parametrize("written, mistaken, said, commands", CELL_MISTAKES)
def test_a_broken_cell_is_refused_by_show_and_the_notebook_check(project_copy, written,
                                                                 mistaken, said, commands):
    assert written in NEW_RECIPE
    (project_copy / "recipes" / "batch_norm.py").write_text(
        NEW_RECIPE.replace(written, mistaken, 1))
    env = {**os.environ, "PYTHONPATH": str(project_copy), "RECIPES_OFFLINE": "1"}
    for command in commands:
        done = subprocess.run([sys.executable, *command], cwd=project_copy, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert said in done.stderr, done.stderr
        assert "model.fit(" not in done.stdout  # nothing of it printed


def test_a_recipe_copied_from_another_trains_under_its_own_name(project_copy, tmp_path):
    """The way CONTRIBUTING.md starts one: copy the closest recipe, give it a header.
    Its run, --help and notebook work with no other file touched; the old recipe's name
    left in its code is refused in one line, not recorded as the other recipe's run."""
    source = (project_copy / "recipes" / "mnist_dropout.py").read_text()
    header = source[:source.index('"""', 3) + 3]
    new_header = (header.replace("Lecture order: 120", "Lecture order: 126")
                  .replace("python -m recipes.mnist_dropout", "python -m recipes.my_dropout"))
    copied = project_copy / "recipes" / "my_dropout.py"
    copied.write_text(source.replace(header, new_header, 1))
    env = {**os.environ, "PYTHONPATH": str(project_copy), "RECIPES_OFFLINE": "1"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "recipes", *args], cwd=project_copy,
                              env=env, capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    left = run("run", "my_dropout", "--help")
    assert left.returncode == 2 and "Traceback" not in left.stderr, left.stderr
    assert "lesson.start('mnist_dropout', ...)" in left.stderr, left.stderr
    copied.write_text(copied.read_text().replace('"mnist_dropout"', '"my_dropout"'))
    assert run("run", "my_dropout", "--help").stdout.startswith(
        "usage: python -m recipes.my_dropout [-h] [--dropout DROPOUT]")
    done = run("run", "my_dropout", "--quick", "--dataset", "mnist-5k", "--out",
               str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["recipe"] == "my_dropout" and "dropout" in results["variants"]
    listed = [line for line in run("list").stdout.splitlines() if not line.startswith(" ")]
    assert listed.index("batch_norm") + 1 == listed.index("my_dropout")
