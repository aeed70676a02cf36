"""Every recipe in the lecture's order, and as a notebook that matches it and runs.

The notebooks in notebooks/ are made from the recipes by ``python notebooks/build.py``.
The fast tests here fail when a committed notebook is out of date with its recipe; the
``notebooks`` tests (``pytest -m notebooks``, a step of their own in CI) execute each
committed notebook top to bottom, as a student would open it.
"""

import importlib.util
import re

import pytest

import recipes
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("notebook_build", ROOT / "notebooks" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

NAMES = recipes.recipe_names()


def committed(name):
    import nbformat

    return nbformat.read(build.notebook_path(name), as_version=4)


def test_every_recipe_has_its_place_in_the_lecture_order():
    """Each recipe's header gives its place ("Lecture order: N"), no two the same, and
    they follow the slides."""
    found = sorted(p.stem for p in recipes.RECIPES_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(NAMES) == found
    places = [float(recipes.recipe_info(name)["lecture order"]) for name in NAMES]
    assert places == sorted(set(places)), "one place per recipe, in the order listed"
    assert NAMES[:3] == ["neuron", "universal_approximation", "backprop"]
    assert NAMES.index("softmax") < NAMES.index("cross_entropy") < NAMES.index("iris_l1_l2")
    assert NAMES.index("mnist_dropout") < NAMES.index("mnist_early_stopping") < NAMES.index("compare")


def test_one_notebook_per_recipe():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks == sorted(NAMES), "python notebooks/build.py makes the missing ones"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_matches_its_recipe(name):
    problem = build.stale(name)
    assert problem is None, f"{problem}: run python notebooks/build.py {name}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_a_notebook_not_a_script(name):
    notebook = committed(name)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and notebook.cells[0].source.startswith("# ")
    assert kinds.count("markdown") >= 3, "prose and headings as Markdown cells"
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1 and "NOTEBOOK_ARGS = " in parameters[0].source
    assert all(not re.match(r'\s*"""', cell.source) for cell in notebook.cells
               if cell.cell_type == "code"), "no docstring left as a code cell"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_ran_top_to_bottom(name):
    """Committed with the outputs of a real run: every code cell executed in order, no
    error, and the last cell printed what the recipe prints."""
    code = [cell for cell in committed(name).cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    outputs = [output for cell in code for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any(output.get("name") == "stdout" for output in code[-1].outputs)


def test_notebooks_stay_small():
    total = sum(p.stat().st_size for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert total < 3_000_000, f"{total:,} bytes of notebooks; keep figures and outputs few"


def test_readme_lecture_map_names_every_recipe_its_notebook_exercise_and_tests():
    """The README's lecture map: one row per recipe, in the lecture's order, and every
    file it links to exists (the tests named do test that recipe)."""
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| [^|]+ \| \[`(\w+)`\]\(recipes/\1\.py\) \| "
                      r"\[notebook\]\(notebooks/\1\.ipynb\) \| ([^|]+) \| ([^|]+) \|$",
                      text, flags=re.M)
    assert [name for name, _, _ in rows] == NAMES, "README's lecture map, in the lecture's order"
    for name, exercises, tests in rows:
        for path in re.findall(r"\((exercises/\w+\.py)\)", exercises):
            assert (ROOT / path).exists(), (name, path)
        for path in re.findall(r"tests/\w+\.py", tests):
            assert (ROOT / path).exists() and name in (ROOT / path).read_text(), (name, path)


def test_readme_loader_example_runs():
    """The README's one-minute start shows a student the project's loader; it works."""
    block, = re.findall(r"```python loader\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    namespace = {}
    exec(block, namespace)
    assert namespace["x_train"].shape == (3500, 28, 28) and namespace["data"].num_classes == 10


@pytest.mark.notebooks
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name):
    """The committed notebook, outputs cleared, run as Jupyter would run it (offline)."""
    notebook = committed(name)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    build.execute(notebook)  # raises CellExecutionError, naming the cell, on an error
    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    shown = any("image/png" in output.get("data", {}) for output in last.outputs)
    was_shown = any("image/png" in output.get("data", {})
                    for output in committed(name).cells[-1].get("outputs", []))
    assert shown == was_shown, "the figures the committed notebook shows"
