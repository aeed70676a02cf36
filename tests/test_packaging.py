"""The project as a package: what `pip install .` installs, and what it depends on."""

import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from common import cli
from conftest import ROOT, one_line_error

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_names(path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower())
    return names


def dependency_names(specs) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.-]+", spec).group(0).lower() for spec in specs}


def test_every_top_level_package_is_installed():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]) >= packages


def test_dependencies_match_the_pinned_set_but_never_tensorflow():
    """pip install must not replace a hosted service's GPU TensorFlow: TensorFlow is an
    extra. Everything requirements.txt pins is a dependency or in an extra, and every
    dependency is pinned there (so CI tests what an install gets)."""
    tensorflow = {"tensorflow", "tensorflow-cpu", "tensorboard"}
    dependencies = dependency_names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    in_extras = set().union(*(dependency_names(specs) for specs in extras.values()))
    in_extras |= {"distributed"} if "dask" in in_extras else set()  # dask[distributed]
    pinned = requirement_names(ROOT / "requirements.txt")
    assert not dependencies & tensorflow
    assert dependencies <= pinned, "pin every dependency in requirements.txt"
    assert pinned <= dependencies | in_extras, "declare every pinned package in pyproject"
    assert dependency_names(extras["cpu"]) == tensorflow
    assert dependency_names(extras["tensorflow"]) == {"tensorflow"}


def test_dev_requirements_include_the_runtime_set_and_the_notebook_tools():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    assert {"pytest", "pytest-xdist", "jupytext", "nbformat", "nbclient", "ipykernel"} <= \
        requirement_names(ROOT / "requirements-dev.txt")


def test_the_wheel_holds_the_packages_and_its_command_runs_from_anywhere(tmp_path):
    """The wheel `pip install .` builds (offline: the build tools already here), unpacked
    as site-packages would hold it, runs `python -m recipes list` in another directory."""
    # Asked in a fresh interpreter: importing setuptools here, after another test has
    # imported the standard library's distutils, fails inside setuptools' distutils shim.
    if subprocess.run([sys.executable, "-c", "import setuptools"],
                      capture_output=True).returncode != 0:
        pytest.skip("setuptools is not installed: the wheel cannot be built offline")
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside it
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, source / package,
                            ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel, = (tmp_path / "wheel").glob("keras_lecture_recipes-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in ("recipes/__main__.py", "recipes/iris_softmax.py", "common/notebook.py",
                 "benchmarks/bench.py", "exercises/checks.py",
                 "exercises/solutions/05_softmax.py"):
        assert path in names
    assert not [n for n in names if n.startswith(("tests/", "notebooks/"))]
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "recipes", "list"], cwd=elsewhere,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split("\n", 1)[0] == "neuron"
    # The recorded baselines ship with a clone: installed, show and check say so, and where.
    for command in (["show"], ["check", "--results", "."]):
        done = subprocess.run([sys.executable, "-m", "tools", "baselines", *command],
                              cwd=elsewhere, env={**os.environ,
                                                  "PYTHONPATH": str(tmp_path / "site")},
                              capture_output=True, text=True, timeout=300)
        line = one_line_error(done)
        assert f"no baselines file at {tmp_path / 'site' / 'baselines'}" in line
        assert "ship with a clone of the project" in line
    # grade without a file grades ./05_softmax.py here, never the installed stub.
    grade = [sys.executable, "-m", "tools", "grade", "softmax"]
    site_env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    line = one_line_error(subprocess.run(grade, cwd=elsewhere, env=site_env,
                                         capture_output=True, text=True, timeout=300))
    assert "no 05_softmax.py here to grade" in line
    shutil.copy(ROOT / "exercises" / "solutions" / "05_softmax.py", elsewhere)
    done = subprocess.run(grade, cwd=elsewhere, env=site_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "0 failed" in done.stdout, done.stdout + done.stderr


def test_an_install_command_fits_how_the_project_was_installed(tmp_path):
    """A clone has requirements files; an installed package only its extras."""
    assert cli.backend_install_command("tensorflow", ROOT) == \
        "python3 -m pip install -r requirements.txt"
    assert cli.backend_install_command("tensorflow", tmp_path) == \
        'python3 -m pip install "keras-lecture-recipes[cpu]"'
    assert cli.backend_install_command("jax", tmp_path) == \
        'python3 -m pip install "keras-lecture-recipes[cpu,jax]"'


def test_a_recipe_runs_as_a_script_from_the_repository(run_cli):
    """python recipes/NAME.py, without installing: the recipe finds the project itself."""
    done = run_cli(str(ROOT / "recipes" / "iris_softmax.py"), "--help",
                   env={"PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m recipes.iris_softmax")


def test_the_python_range_is_the_one_the_pinned_set_installs_on():
    """requires-python is the oldest Python every pinned package supports (measured: on
    3.10, pip install -r requirements.txt fails on mlxtend 0.25 and NumPy 2.4)."""
    from importlib import metadata

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    declared = SpecifierSet(PYPROJECT["project"]["requires-python"])
    oldest = Version(min(str(s.version) for s in declared))
    for name in requirement_names(ROOT / "requirements.txt"):
        try:
            needs = metadata.metadata(name).get("Requires-Python")
        except metadata.PackageNotFoundError:
            continue  # another platform's build (tensorflow on macOS)
        if needs:
            assert SpecifierSet(needs).contains(oldest), f"{name} needs Python {needs}"
