"""A new slide's recipe is one new file: dropped into recipes/, it is listed in the
lecture's order, `show` prints its cells, the notebook build makes its notebook and the
baselines plan records it, with no other file touched (CONTRIBUTING.md)."""

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
'''


@pytest.fixture
def project_copy(tmp_path):
    """The project as a clone has it, in a scratch folder, plus one new recipe file."""
    for folder in ("recipes", "common"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
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

    run_in(project_copy, "notebooks/build.py", "batch_norm", "--no-execute")
    notebook = (project_copy / "notebooks" / "batch_norm.ipynb").read_text()
    assert "Batch normalization on Iris" in notebook

    plan = run_in(project_copy, "-c", "import recipes; print(recipes.baseline_plan()['fast'])")
    assert "('batch_norm', 'iris', [])" in plan


def test_a_malformed_header_is_one_line_naming_the_file(project_copy):
    path = project_copy / "recipes" / "batch_norm.py"
    path.write_text(NEW_RECIPE.replace("Lecture order: 125", "Lecture order: soon"))
    env = {**os.environ, "PYTHONPATH": str(project_copy), "RECIPES_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "recipes", "list"], cwd=project_copy,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "batch_norm.py" in done.stderr and "Lecture order" in done.stderr
