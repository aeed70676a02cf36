"""Shared test set-up: no test reaches for the network, figures never open a window."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ["RECIPES_OFFLINE"] = "1"
# An empty data cache: full MNIST fetched earlier from the package index must not turn
# `auto` into full MNIST in tests that expect the offline fallback.
os.environ["RECIPES_DATA_DIR"] = tempfile.mkdtemp(prefix="recipes-data-")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python ARGS`` from a scratch directory; return the CompletedProcess."""

    def run(*args, env=None, timeout=300):
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=full_env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    return run


def one_line_error(completed) -> str:
    """The stderr of a failed command, which must be exactly one line and no traceback."""
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert len(lines) == 1, completed.stderr
    return lines[0]


def start_cli(cwd, *args):
    """Start ``python -m ARGS`` in the background (offline), output on a pipe."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Share the work of ``-n 2 --dist loadgroup`` (pyproject.toml) evenly.

    Tests that use a module-scoped fixture (a model or a comparison trained once for the
    file) form a group that one worker runs, so the fixture is built once; every other
    test goes to whichever worker is free. The groups come first, largest first, and the
    single tests fill in behind them: with one file per worker instead, the suite ended
    with one worker on a long file while the other idled.
    """
    groups = {}
    for item in items:
        definitions = item._fixtureinfo.name2fixturedefs
        if any(definitions[name][-1].scope == "module"
               for name in item.fixturenames if definitions.get(name)):
            group = item.module.__name__
            item.add_marker(pytest.mark.xdist_group(group))
            groups.setdefault(group, []).append(item)
    in_a_group = {id(item) for group in groups.values() for item in group}
    grouped = sorted(groups.values(), key=len, reverse=True)
    items[:] = [item for group in grouped for item in group] + \
        [item for item in items if id(item) not in in_a_group]
