"""Every recipe in the lecture's order, and as a notebook that matches it and runs.

The notebooks in notebooks/ are made from the recipes by ``python notebooks/build.py``.
The fast tests here fail when a committed notebook is out of date with its recipe; the
``notebooks`` tests (``pytest -m notebooks``, a step of their own in CI) execute each
committed notebook top to bottom, as a student would open it.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

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


def _run_library_cell(folder, then="import common, common.cli, common.notebook\n"
                                   "print(common.__file__)\n"):
    """The notebook's library cell in a fresh Python started in ``folder`` (no
    PYTHONPATH, so the project is not importable from elsewhere), then ``then``: by
    default the imports the recipe's notebook makes, printing where ``common`` came from."""
    script = build.from_recipe("iris_softmax").cells[build.LIBRARY_CELL].source + "\n" + then
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", script], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_notebook_alone_unpacks_its_library_beside_it_once(tmp_path):
    """Downloaded alone into an empty folder, the first code cell unpacks the library
    modules the recipe needs into ./lecture_library/ and imports them from there; run
    again, it reuses them and leaves nothing else behind."""
    ran = _run_library_cell(tmp_path)
    assert ran.returncode == 0, ran.stderr
    library = tmp_path / build.LIBRARY_FOLDER
    assert Path(ran.stdout.strip()) == library / "common" / "__init__.py"
    # What the notebook holds: the recipe with its shared cells written out.
    recipe_source = recipes.inline_shared(recipes.recipe_path("iris_softmax").read_text())
    assert sorted(p.name for p in (library / "common").iterdir()) == \
        build.library_modules(recipe_source)
    assert {"training.py", "datasets.py", "cli.py"} <= set(build.library_modules(recipe_source))
    unpacked = (library / "common" / "cli.py").stat().st_mtime_ns
    ran = _run_library_cell(tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (library / "common" / "cli.py").stat().st_mtime_ns == unpacked
    assert sorted(p.name for p in tmp_path.iterdir()) == [build.LIBRARY_FOLDER]


def test_a_notebook_alone_replaces_only_its_own_older_library(tmp_path):
    """An older copy (unpacked by an earlier version of the notebook, so it carries a
    stamp listing what it unpacked) is replaced: what it unpacked, unchanged, is removed;
    a student's own file in it, or an edited module, is kept in a folder beside it, and a
    line says where. A folder of the same name that is not a copy is left as it is, with
    a one-line error that says what to do."""
    import hashlib
    import json

    older = tmp_path / build.LIBRARY_FOLDER
    (older / "common" / "__pycache__").mkdir(parents=True)
    (older / "common" / "removed_module.py").write_text("x = 1\n")
    (older / "common" / "__pycache__" / "removed_module.cpython-311.pyc").write_bytes(b"")
    (older / "common" / "edited.py").write_text("y = 2  # a student's change\n")
    (older / "notes.txt").write_text("a student's notes")
    unpacked = {"common/removed_module.py": hashlib.sha256(b"x = 1\n").hexdigest(),
                "common/edited.py": hashlib.sha256(b"y = 1\n").hexdigest()}
    (older / "0123456789abcdef").write_text(json.dumps(unpacked))
    ran = _run_library_cell(tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (older / "common" / "cli.py").is_file()
    assert not (older / "common" / "removed_module.py").exists()
    kept, = tmp_path.glob(f"{build.LIBRARY_FOLDER}-kept-*")
    assert f"./{kept.name}/" in ran.stdout
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == \
        ["common/edited.py", "notes.txt"]
    assert (kept / "notes.txt").read_text() == "a student's notes"

    clean = tmp_path / "clean"  # an older copy with nothing added: replaced, nothing kept
    (clean / build.LIBRARY_FOLDER / "common").mkdir(parents=True)
    (clean / build.LIBRARY_FOLDER / "common" / "old.py").write_text("x = 1\n")
    (clean / build.LIBRARY_FOLDER / "0123456789abcdef").write_text(
        json.dumps({"common/old.py": hashlib.sha256(b"x = 1\n").hexdigest()}))
    ran = _run_library_cell(clean)
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in clean.iterdir()) == [build.LIBRARY_FOLDER]
    assert not (clean / build.LIBRARY_FOLDER / "common" / "old.py").exists()

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / build.LIBRARY_FOLDER).mkdir()
    (theirs / build.LIBRARY_FOLDER / "notes.txt").write_text("a student's notes")
    ran = _run_library_cell(theirs)
    assert ran.returncode == 1 and "is in the way" in ran.stderr
    assert "Traceback" not in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert [p.name for p in (theirs / build.LIBRARY_FOLDER).iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in theirs.iterdir()) == [build.LIBRARY_FOLDER]


def test_a_notebook_in_a_clone_uses_the_clones_library(tmp_path):
    """In a clone's notebooks/ folder the cell unpacks nothing: the recipe's own Setup
    cell finds the library one folder up."""
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "cli.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    ran = _run_library_cell(tmp_path / "notebooks", then="")
    assert ran.returncode == 0, ran.stderr
    assert list((tmp_path / "notebooks").iterdir()) == []


def test_ci_runs_long_notebooks_with_quick_and_short_ones_as_committed():
    ran = {name: build.quick(committed(name)) for name in ("mnist_dropout", "iris_softmax",
                                                           "softmax", "compare")}
    injected = {name: [cell.source for cell in notebook.cells
                       if "injected-parameters" in cell.metadata.get("tags", [])]
                for name, notebook in ran.items()}
    assert injected == {"mnist_dropout": ['NOTEBOOK_ARGS = [*NOTEBOOK_ARGS, "--quick"]'],
                        "iris_softmax": ['NOTEBOOK_ARGS = [*NOTEBOOK_ARGS, "--quick"]'],
                        "softmax": [],
                        "compare": ['NOTEBOOK_ARGS = [*NOTEBOOK_ARGS, "--quick"]']}
    namespace = {}
    for cell in ran["mnist_dropout"].cells:
        if set(cell.metadata.get("tags", [])) & {"parameters", "injected-parameters"}:
            exec(cell.source, namespace)
    assert namespace["NOTEBOOK_ARGS"] == ["--quick"]
    assert len(ran["softmax"].cells) == len(committed("softmax").cells)


def test_a_library_change_rewrites_only_the_library_cell(tmp_path, monkeypatch):
    import nbformat

    outputs = committed("softmax").cells[-1].outputs
    notebook = committed("softmax")
    monkeypatch.setattr(build, "NOTEBOOKS", tmp_path)
    notebook.cells[build.LIBRARY_CELL].source = "# an older copy of the library"
    nbformat.write(notebook, tmp_path / "softmax.ipynb")
    assert build.stale("softmax") is not None
    assert build.refresh_library("softmax").endswith("library cell rewritten")
    assert build.stale("softmax") is None
    assert nbformat.read(tmp_path / "softmax.ipynb", as_version=4).cells[-1].outputs == outputs

    notebook.cells[-2].source += "\n# a changed recipe cell"
    nbformat.write(notebook, tmp_path / "softmax.ipynb")
    assert "rebuild it" in build.refresh_library("softmax")
    kept = nbformat.read(tmp_path / "softmax.ipynb", as_version=4)
    assert kept.cells[build.LIBRARY_CELL].source == "# an older copy of the library"


def test_notebooks_stay_small():
    total = sum(p.stat().st_size for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert total < 3_000_000, f"{total:,} bytes of notebooks; keep figures and outputs few"


def test_readme_lecture_map_is_the_one_the_recipes_headers_make():
    """The README's lecture map is generated (python -m tools lecture-map): one row per
    recipe, in the lecture's order, with the exercises and tests its header names; every
    file it links to exists, and each test file named does test that recipe."""
    from tools import lecture_map

    text = (ROOT / "README.md").read_text()
    _, inside, _ = lecture_map._split(text)
    assert inside.strip() == lecture_map.table(), \
        "README's lecture map is stale: python -m tools lecture-map"
    rows = re.findall(r"^\| [^|]+ \| \[`(\w+)`\]\(recipes/\1\.py\) \| "
                      r"\[notebook\]\(notebooks/\1\.ipynb\) \| ([^|]+) \| ([^|]+) \|$",
                      inside, flags=re.M)
    assert [name for name, _, _ in rows] == NAMES, "README's lecture map, in the lecture's order"
    for name, exercises, tests in rows:
        for path in re.findall(r"\((exercises/\w+\.py)\)", exercises):
            assert (ROOT / path).exists(), (name, path)
        for path in re.findall(r"tests/\w+\.py", tests):
            assert (ROOT / path).exists() and name in (ROOT / path).read_text(), (name, path)


def test_lecture_map_refuses_a_header_naming_what_does_not_exist(monkeypatch):
    from common.errors import UsageError
    from tools import lecture_map

    real = recipes.recipe_info
    for field, value, said in (("exercises", "no_such_exercise", "no exercise 'no_such"),
                               ("tests", "tests/test_nothing.py", "no file tests/test_no")):
        monkeypatch.setattr(lecture_map.recipes, "recipe_info",
                            lambda name, f=field, v=value: {**real(name), f: v})
        with pytest.raises(UsageError, match=said):
            lecture_map.table()


def test_tensorflows_start_up_notices_are_left_out_of_the_outputs():
    """TensorFlow's INFO notices (oneDNN, CPU features) are not the lesson: the build
    takes them out of stderr outputs; its warnings and the lesson's own output stay."""
    import nbformat

    notices = ("WARNING: All log messages before absl::InitializeLog() is called are "
               "written to STDERR\nI0000 00:00:1796495769.270914   23402 port.cc:153] "
               "oneDNN custom operations are on. You may see slightly different numerical "
               "results.\nI0000 00:00:1796496195.142632    9295 cpu_feature_guard.cc:227] "
               "This TensorFlow binary is optimized to use available CPU instructions in "
               "performance-critical operations.\nTo enable the following instructions: "
               "AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
               "compiler flags.\n")
    warning = "W0000 00:00:1796495769.2 23402 op.cc:10] a real warning\n"
    cell = nbformat.v4.new_code_cell("run()", outputs=[
        nbformat.v4.new_output("stream", name="stderr", text=notices),
        nbformat.v4.new_output("stream", name="stdout", text=notices + "test 0.98\n"),
        nbformat.v4.new_output("stream", name="stderr", text=notices + warning)])
    cleaned = build.without_tensorflow_notices(nbformat.v4.new_notebook(cells=[cell]))
    outputs = cleaned.cells[0].outputs
    assert [o["name"] for o in outputs] == ["stdout", "stderr"]
    assert outputs[0]["text"] == notices + "test 0.98\n"  # stdout: the lesson's, kept
    assert outputs[1]["text"] == warning
    for name in NAMES:  # and so are the committed notebooks
        text = (ROOT / "notebooks" / f"{name}.ipynb").read_text()
        assert "absl::InitializeLog" not in text and "oneDNN custom operations" not in text, name


def test_readme_loader_example_runs():
    """The README's one-minute start shows a student the project's loader; it works."""
    block, = re.findall(r"```python loader\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    namespace = {}
    exec(block, namespace)
    assert namespace["x_train"].shape == (3500, 28, 28) and namespace["data"].num_classes == 10


@pytest.mark.notebooks
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name):
    """The committed notebook, outputs cleared, run as Jupyter would run it (offline),
    copied alone into an empty folder: its first code cell unpacks the library there.
    (The build runs each notebook in a clone's layout.) Where the committed run is a
    long one, with ``--quick`` added."""
    notebook = build.quick(committed(name))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    build.execute(notebook, alone=True)  # raises CellExecutionError, naming the cell
    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    shown = any("image/png" in output.get("data", {}) for output in last.outputs)
    was_shown = any("image/png" in output.get("data", {})
                    for output in committed(name).cells[-1].get("outputs", []))
    assert shown == was_shown, "the figures the committed notebook shows"
