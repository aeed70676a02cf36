"""The grader keeps the student's code in its box: a child process in a fresh temporary
folder that ends with everything it started, only ever sending values back, never a
verdict; its own files cannot be rewritten for the next student."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tools import sandbox
from conftest import ROOT, one_line_error

FORK_GRANDCHILD = """\
    import os, subprocess, sys, time
    PIDS = {pids!r}

    def _daemon():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open(PIDS, "a") as f:
                    f.write(f"{{os.getpid()}}\\n")
                time.sleep(300)
                os._exit(0)
            os._exit(0)

    _daemon()
    for _ in range(1000):  # until the grandchild runs (on a busy machine it lagged)
        if os.path.exists(PIDS) and open(PIDS).read().strip():
            break
        time.sleep(0.01)
    _sleeper = subprocess.Popen(["sleep", "301"], start_new_session=True)
    with open(PIDS, "a") as f:
        f.write(f"{{_sleeper.pid}}\\n")
    import numpy as np

    def softmax(z):
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
"""


def grade(run_cli, *args, env=None):
    return run_cli("-m", "tools", "grade", *args, env=env)


def student_file(tmp_path, source, name="answer.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(path: Path, lines: int, limit: float = 60.0) -> list[str]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= lines:
            return path.read_text().split()
        time.sleep(0.1)
    raise AssertionError(f"{path} never got {lines} lines")


@pytest.fixture
def private_tmp(tmp_path):
    """A TMPDIR of the test's own, to see that the grader's temporary folder is gone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------------------------------
# Processes and files


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and a subreaper")
def test_double_fork_and_new_session_leave_nothing_running(run_cli, tmp_path, private_tmp):
    pids = tmp_path / "pids"
    path = student_file(tmp_path, FORK_GRANDCHILD.format(pids=str(pids)))
    done = grade(run_cli, "softmax", path, env={"TMPDIR": str(private_tmp)})
    assert done.returncode == 0, done.stdout + done.stderr
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    assert not [pid for pid in started if alive(pid)]
    assert list(private_tmp.iterdir()) == []


def test_writes_to_the_working_directory_stay_in_the_temporary_folder(run_cli, tmp_path,
                                                                       private_tmp):
    where = tmp_path / "cwd.txt"
    path = student_file(tmp_path, f"""\
        import os
        open("written_in_cwd", "w").write("x")
        os.makedirs("runs/hack")
        open({str(where)!r}, "w").write(os.getcwd())

        def softmax(z):
            return z
    """)
    done = grade(run_cli, "softmax", path, env={"TMPDIR": str(private_tmp)})
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "written_in_cwd").exists() and not (tmp_path / "runs").exists()
    used = Path(where.read_text())
    assert used.parent == private_tmp and not used.exists()
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("where, source", [
    ("while loading the file", "import os\nos._exit(0)\n"),
    ("during check", "import os\n\ndef softmax(z):\n    os._exit(0)\n"),
])
def test_a_child_that_exits_0_without_results_did_not_finish(run_cli, tmp_path, where,
                                                             source):
    line = one_line_error(grade(run_cli, "softmax", student_file(tmp_path, source)))
    assert f"ended {where}" in line and "exit code 0" in line


def looping_student_file(tmp_path, started):
    """A student's softmax that writes its pid and folder to ``started``, then loops."""
    return student_file(tmp_path, f"""\
        import os

        def softmax(z):
            with open({str(started)!r}, "w") as f:
                f.write(f"{{os.getpid()}} {{os.getcwd()}}")
            while True:
                pass
    """)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_sighup_and_sigterm_end_the_students_code_and_remove_its_folder(tmp_path,
                                                                        private_tmp, signum):
    started = tmp_path / "started"
    path = looping_student_file(tmp_path, started)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(private_tmp)}
    grader = subprocess.Popen([sys.executable, "-m", "tools", "grade", "softmax", path],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        pid, folder = wait_for(started, 2)
        grader.send_signal(signum)
        _, stderr = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert "Traceback" not in stderr
    assert not alive(int(pid))
    assert not Path(folder).exists() and list(private_tmp.iterdir()) == []


def test_output_is_read_bounded(tmp_path):
    # 300 MB on stderr, then a last line: the grader keeps the last 64 KB only. Its peak
    # memory, measured in a process of its own, stays far below what it read.
    script = tmp_path / "measure.py"
    script.write_text(textwrap.dedent("""\
        import json, sys
        from tools.sandbox import Sandbox
        writer = ("import os, sys\\n"
                  "block = b'x' * 1_000_000 + b'\\\\n'\\n"
                  "for _ in range(300):\\n"
                  "    os.write(2, block)\\n"
                  "os.write(2, b'the last line\\\\n')\\n")
        with Sandbox([sys.executable, "-c", writer]) as box:
            box.wait(timeout=120)
            output = box.output()
        # VmHWM: this process's own peak (ru_maxrss would include the parent's memory
        # before exec, e.g. a test worker that has loaded TensorFlow).
        status = open("/proc/self/status").read()
        peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
        print(json.dumps([len(output), output.splitlines()[-1], peak_mb]))
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    kept, last, peak_mb = json.loads(done.stdout)
    assert kept <= sandbox.OUTPUT_KEPT and last == "the last line"
    assert peak_mb < 150, done.stdout


def test_terminal_escape_codes_are_stripped(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        def softmax(z):
            raise ValueError("\\x1b[2K\\r\\x1b[32mPASS everything\\x1b[0m\\x07")
    """)
    done = grade(run_cli, "softmax", path)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\r" not in done.stdout
    assert "raised ValueError: PASS everything" in done.stdout


def test_printable_strips_escapes_and_controls():
    assert sandbox.printable("\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\x00\r\n next") == \
        "red ok next"


# ---------------------------------------------------------------------------------------
# Cheats: the verdict is the grader's


CHEATS = {
    "patching the check runner": f"""\
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import exercises.checks as checks
        checks.run_check = lambda check, student: (True, "")
        checks.expect_array = checks.expect_number = lambda *args, **kwargs: None

        def softmax(z):
            return z
    """,
    "patching numpy": """\
        import math
        import numpy as np
        np.isclose = lambda a, b, **kw: np.ones(np.broadcast(a, b).shape, dtype=bool)
        np.allclose = np.array_equal = lambda *args, **kwargs: True
        math.isclose = lambda *args, **kwargs: True

        def softmax(z):
            return z
    """,
    "reading the checker's frames": """\
        import inspect

        def softmax(z):
            for frame in inspect.stack():
                for name in ("expected", "expect"):
                    if name in frame.frame.f_locals:
                        return frame.frame.f_locals[name]
            return z
    """,
}


@pytest.mark.parametrize("cheat", CHEATS)
def test_cheats_that_change_the_childs_state_fail(run_cli, tmp_path, cheat):
    done = grade(run_cli, "softmax", student_file(tmp_path, CHEATS[cheat]))
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith("FAIL one vector of random logits")
               for line in done.stdout.splitlines())
    assert done.stdout.splitlines()[-1].startswith("softmax: 1 passed, 6 failed")


@pytest.mark.parametrize("written", [
    b'{"event": "loaded", "functions": ["softmax"]}\n{"id": 1, "returned": 1}\n'
    b'{"event": "result", "name": "x", "passed": true}\n{"event": "done"}\n',
    b"\xff\x00 garbage {\n",
    b'{"id": 1, "returned": {"$array": {"dtype": "object", "shape": [], "data": ""}}, '
    b'"after": [null]}\n',
])
def test_fake_events_in_the_grader_channel_cannot_be_graded(run_cli, tmp_path, written):
    path = student_file(tmp_path, f"""\
        import os
        for fd in range(3, 256):
            try:
                os.write(fd, {written!r})
            except OSError:
                pass

        def softmax(z):
            return z
    """)
    done = grade(run_cli, "softmax", path)
    line = one_line_error(done)
    assert "did not ask for" in line and "PASS" not in done.stdout


def test_the_reference_solution_cannot_be_imported(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import importlib
        softmax = importlib.import_module("exercises.solutions.05_softmax").softmax
    """)
    assert "raised ModuleNotFoundError" in one_line_error(grade(run_cli, "softmax", path))


def test_a_handout_has_no_solutions_and_grades(run_cli, tmp_path):
    handout = tmp_path / "class"
    made = grade(run_cli, "--handout", str(handout))
    assert made.returncode == 0, made.stderr
    assert not (handout / "exercises" / "solutions").exists()
    assert not (handout / "tests").exists()
    note = (handout / "HANDOUT.md").read_text()  # the copied pages speak of both
    assert "exercises/solutions/" in note and "python3 -m pytest" in note
    assert "python3 -m tools grade NAME exercises/FILE.py" in note
    assert (handout / "exercises" / "checks.py").is_file()
    env = {"PYTHONPATH": str(handout)}
    path = student_file(tmp_path, f"""\
        import sys
        sys.path.insert(0, {str(handout)!r})
        from exercises.solutions import __name__ as found
    """)
    assert "raised ModuleNotFoundError" in one_line_error(
        grade(run_cli, "softmax", path, env=env))
    stub = grade(run_cli, "softmax", str(handout / "exercises" / "05_softmax.py"), env=env)
    assert stub.returncode == 1 and "softmax: 0 passed, 7 failed" in stub.stdout
    assert "--handout" in grade(run_cli, "--help", env=env).stdout
    assert "not an empty folder" in one_line_error(grade(run_cli, "--handout", str(handout)))


def test_a_file_that_rewrites_the_checker_is_caught_and_undone(run_cli, tmp_path):
    handout = tmp_path / "class"
    assert grade(run_cli, "--handout", str(handout)).returncode == 0
    checks_file = handout / "exercises" / "checks.py"
    original = checks_file.read_bytes()
    env = {"PYTHONPATH": str(handout)}
    path = student_file(tmp_path, f"""\
        from pathlib import Path
        checks = Path({str(checks_file)!r})
        checks.write_text(checks.read_text().replace(
            "def run_check(check: Check, student) -> tuple[bool, str]:",
            "def run_check(check: Check, student) -> tuple[bool, str]:\\n    return True, ''"))

        def softmax(z):
            return z
    """)
    line = one_line_error(grade(run_cli, "softmax", path, env=env))
    assert "changed the grader's own files (exercises/checks.py)" in line
    assert "put back" in line
    assert checks_file.read_bytes() == original
    later = grade(run_cli, "softmax", str(handout / "exercises" / "05_softmax.py"), env=env)
    assert later.returncode == 1 and "softmax: 0 passed, 7 failed" in later.stdout


def test_an_unsupported_backend_is_refused(run_cli, tmp_path):
    path = student_file(tmp_path, "def softmax(z):\n    return z\n")
    line = one_line_error(grade(run_cli, "softmax", path, env={"KERAS_BACKEND": "torch"}))
    assert "not torch" in line and "KERAS_BACKEND" in line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc")
def test_a_killed_grader_still_ends_the_students_code(tmp_path, private_tmp):
    # SIGKILL leaves the grader no chance to clean up; the supervisor, told of its
    # parent's death by the kernel (PR_SET_PDEATHSIG), ends the child and removes its
    # folder itself.
    started = tmp_path / "started"
    path = looping_student_file(tmp_path, started)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(private_tmp)}
    grader = subprocess.Popen([sys.executable, "-m", "tools", "grade", "softmax", path],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        pid, folder = wait_for(started, 2)
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 60
    while (alive(int(pid)) or Path(folder).exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(int(pid)) and not Path(folder).exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc")
def test_the_folder_goes_when_the_thread_that_started_the_sandbox_ends_first(tmp_path,
                                                                             private_tmp):
    # The kernel tells the supervisor of its parent's death when the *thread* that started
    # it ends. A killed grader's threads end one by one: while the others are still
    # there, the supervisor's parent id has not changed yet. This parent reproduces that
    # moment and holds it: the thread that started the sandbox ends, the process lives on
    # and never cleans up. The supervisor must end the code and remove its folder itself.
    started = tmp_path / "started"
    parent = tmp_path / "parent.py"
    parent.write_text(textwrap.dedent(f"""\
        import os, sys, threading, time
        from tools.sandbox import Sandbox

        # Written under another name and renamed: the file appears with its two words,
        # so the thread cannot end (and the code be stopped) between create and write.
        code = ("import os, time; open({str(started)!r} + '.tmp', 'w').write("
                "f'{{os.getpid()}} {{os.getcwd()}}'); "
                "os.replace({str(started)!r} + '.tmp', {str(started)!r}); time.sleep(600)")
        box = Sandbox([sys.executable, "-c", code])

        def start_and_end():  # the code runs (so the supervisor is set up), then this ends
            box.__enter__()
            while not os.path.exists({str(started)!r}):
                time.sleep(0.05)

        thread = threading.Thread(target=start_and_end)
        thread.start()
        thread.join()
        time.sleep(600)
    """))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(private_tmp)}
    process = subprocess.Popen([sys.executable, str(parent)], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid, folder = wait_for(started, 2)
        deadline = time.monotonic() + 60
        while (alive(int(pid)) or Path(folder).exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None  # the parent was there all along
        assert not alive(int(pid)) and not Path(folder).exists()
    finally:
        process.kill()
        process.wait()


def test_a_class_folder_is_graded_one_line_per_student(run_cli, tmp_path):
    """A teacher grades every student's file at once: one line each, a file that cannot
    be graded is that student's line (not the end of the run), exit 1 unless all pass."""
    stub = ROOT / "exercises" / "05_softmax.py"
    solution = ROOT / "exercises" / "solutions" / "05_softmax.py"
    for student, text in (("ann", solution.read_text()), ("bob", stub.read_text()),
                          ("cal", "def softmax(z):\n    return (\n")):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "05_softmax.py").write_text(text)
    done = grade(run_cli, "softmax", str(tmp_path / "class"))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ann/05_softmax.py", "7", "passed,", "0", "failed"]
    assert lines[1].split() == ["bob/05_softmax.py", "0", "passed,", "7", "failed"]
    assert lines[2].startswith("cal/05_softmax.py  cannot be graded: ") and "line 2" in lines[2]
    assert lines[3].startswith("softmax: 1 of 3 file(s) passed every check")
    only_ann = tmp_path / "class" / "ann"
    assert grade(run_cli, "softmax", str(only_ann)).returncode == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no 05_softmax.py in it" in one_line_error(grade(run_cli, "softmax", str(empty)))
