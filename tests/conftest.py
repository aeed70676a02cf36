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

