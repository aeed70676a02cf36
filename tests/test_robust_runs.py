"""Runs, flags and saved state under hostile conditions: workers beyond the machine,
Ctrl-C and SIGTERM around Dask workers, closed standard streams, crafted saved state,
run directories and flags. Each case is one line with exit 2, or a quiet, complete run.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from common import sweep
from conftest import ROOT, one_line_error

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1"}


# --- workers ----------------------------------------------------------------------------------


def test_more_workers_than_the_machine_can_run_is_one_line(run_cli):
    most, _ = sweep.machine_workers()
    assert 1 <= most <= (os.cpu_count() or 1)
    done = run_cli("-m", "recipes", "compare", "--quick", "--workers", "1000", timeout=60)
    line = one_line_error(done)
    assert "1000 workers is more than this machine can run" in line
    assert f"--workers {most} or fewer" in line


def test_workers_are_bounded_by_memory_too(monkeypatch):
    psutil = pytest.importorskip("psutil")
    available = int(2.5 * sweep.WORKER_MEMORY_BYTES)
    monkeypatch.setattr(psutil, "virtual_memory",
                        lambda: type("Memory", (), {"available": available})())
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert sweep.machine_workers()[0] == 2
    assert sweep.worker_count("2") == 2
    with pytest.raises(Exception, match="GB of memory available"):
        sweep.worker_count("3")


def _wait_for(process, text, seconds=240):
    seen = ""
    deadline = time.monotonic() + seconds
    while text not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    return seen


def test_ctrl_c_with_workers_ends_them_quietly_and_keeps_a_partial_report(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "c"
    # A terminal's Ctrl-C signals the whole process group: the workers too.
    process = subprocess.Popen(
        [sys.executable, "-m", "recipes", "compare", "--quick", "--dataset", "mnist-5k",
         "--variants", "baseline", "--no-tune", "--seeds", "4", "--epochs", "2",
         "--workers", "2", "--out", str(out)],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    seen = _wait_for(process, "local Dask worker processes")
    time.sleep(6)  # the workers are up and training
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=180)
    assert process.returncode == 130, seen + rest
    assert "Traceback" not in seen + rest and "KeyboardInterrupt" not in rest, rest
    assert "interrupted" in rest
    assert (out / "report.md").is_file() and (out / "config.json").is_file()


def test_a_signal_while_a_finished_command_exits_ends_it_quietly(tmp_path):
    # Dask's and TensorFlow's shutdown takes a second or two after the last line: a
    # SIGTERM then killed a finished comparison with 143 and no word.
    script = (
        "import atexit, os, signal, time\n"
        "from common import cli\n"
        "def late_signal():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(0.5)\n"
        "    print('exit went on', flush=True)\n"
        "def main(argv):\n"
        "    atexit.register(late_signal)  # runs after the project's own exit handler\n"
        "    print('finished', flush=True)\n"
        "raise SystemExit(cli.console_main(main))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["finished", "exit went on"]
    assert "Traceback" not in done.stderr


# --- closed standard streams ------------------------------------------------------------------


@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_a_closed_standard_stream_gives_no_traceback(tmp_path, closed):
    out = tmp_path / "r"
    done = subprocess.run(
        ["bash", "-c", f'exec "$0" -m recipes run iris_softmax --quick --out "$1" {closed}',
         sys.executable, str(out)],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["recipe"] == "iris_softmax"
    # Nothing but the run's own files: no log line written into a file that took fd 1 or 2.
    assert sorted(p.name for p in out.iterdir()) == [".lock", "args.json", "learning_curves.png",
                                                     "results.json"]
    for name in ("args.json", "results.json"):
        json.loads((out / name).read_text())
