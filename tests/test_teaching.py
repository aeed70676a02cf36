"""docs/teaching.md: every command on the page runs, as a teacher would type it.

``sh`` blocks run as they are, in one shell, from a scratch folder, offline; the install
command and the hosted notebook cell run with ``pip install --dry-run --no-index`` on a
copy of the project (nothing is installed, nothing is fetched)."""

import csv
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

PAGE = ROOT / "docs" / "teaching.md"

# Commands whose exit code on this offline test machine is not 0, and why.
EXPECTED_CODES = {
    # Full MNIST is on the machine (exit 0) or, offline, one line saying how to get it.
    "python3 -m common.datasets mnist": (0, 2),
    # The unedited stub fails its checks.
    "python3 -m tools grade softmax 05_softmax.py": (1,),
}


def blocks(language: str) -> list[list[str]]:
    """The command lines of each fenced block of ``language`` on the page."""
    found = re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), re.S | re.M)
    return [[line for line in block.splitlines() if line.strip()] for block in found]


def project_copy(tmp_path):
    """What a clone holds for pip to build: pyproject, README and the packages."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("recipes", "common", "tools", "benchmarks", "exercises"):
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return source


def needs_offline_build():
    if subprocess.run([sys.executable, "-c", "import setuptools"],
                      capture_output=True).returncode != 0:
        pytest.skip("setuptools is not installed: the project cannot be built offline")


def test_the_page_has_every_kind_of_command():
    commands = [line for block in blocks("sh") for line in block]
    for needed in ("python3 -m common.datasets mnist", "RECIPES_DATA_DIR", "RECIPES_OFFLINE=1",
                   "python3 -m tools grade", "baselines check --results",
                   "--csv grades.csv", "--recipe-file"):
        assert any(needed in line for line in commands), needed
    assert blocks("install") and blocks("notebook")


def test_every_shell_command_on_the_page_runs(tmp_path):
    """One shell runs the page's sh blocks in order (an export holds for the commands
    after it), from a folder holding the clone's recipes/ and exercises/."""
    work = tmp_path / "work"
    work.mkdir()
    for folder in ("recipes", "exercises"):
        (work / folder).symlink_to(ROOT / folder)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    lines = [line for block in blocks("sh") for line in block]
    script = "\n".join(f'{line}\necho "::rc $? {i}"' for i, line in enumerate(lines))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    codes = {int(i): int(rc) for rc, i in re.findall(r"^::rc (\d+) (\d+)$", done.stdout, re.M)}
    assert len(codes) == len(lines), done.stdout + done.stderr
    for i, line in enumerate(lines):
        allowed = EXPECTED_CODES.get(line, (0,))
        assert codes[i] in allowed, f"{line}: exit {codes[i]}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    # The class the page builds: two honest runs, one verdict each, in the grade book too.
    with open(work / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["student"], r["verdict"]) for r in rows] == [("alice", "pass"),
                                                            ("bob", "pass")]
    assert (work / "class" / "alice" / "model.keras").is_file()


def test_the_install_command_resolves_from_a_copy_of_the_project(tmp_path):
    needs_offline_build()
    source = project_copy(tmp_path)
    (command,), = blocks("install")
    assert command.startswith("python3 -m pip install ")
    argv = [sys.executable, *command.split()[1:]]
    argv = [arg.strip('"') for arg in argv]
    done = subprocess.run([*argv, "--dry-run", "--no-index", "--no-build-isolation"],
                          cwd=source, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Would install keras-lecture-recipes-" in done.stdout


def test_the_hosted_cell_keeps_the_installed_tensorflow_keras_numpy_protobuf(tmp_path):
    """The cell's two lines, with the repository's URL replaced by a copy of the project:
    the constraints file holds this machine's versions, and pip would install the project
    and nothing of those four."""
    needs_offline_build()
    source = project_copy(tmp_path)
    (freeze, install), = blocks("notebook")
    assert freeze.startswith("!python -m pip freeze") and install.startswith("%pip install ")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", freeze.removeprefix("!")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    kept = (tmp_path / "keep.txt").read_text().lower()
    assert re.search(r"^keras==", kept, re.M) and re.search(r"^numpy==", kept, re.M)
    # pip freeze may write the CPU build's name with an underscore (tensorflow_cpu==).
    assert re.search(r"^tensorflow([-_]cpu)?==", kept, re.M), kept
    line = install.removeprefix("%pip install ").replace("git+URL", source.as_uri())
    done = subprocess.run(["bash", "-c", f"python -m pip install {line} --dry-run --no-index "
                           "--no-build-isolation"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    would = [line for line in done.stdout.splitlines() if line.startswith("Would install")]
    assert would and "keras-lecture-recipes-" in would[0]
    assert not re.search(r"\b(tensorflow|keras|numpy|protobuf)-\d", would[0]), would[0]
