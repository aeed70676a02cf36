"""``python -m recipes grade EXERCISE [FILE]``: run an exercise's checks on a student's file.

The student's code runs in a child process (``python -m common.grading --child ...``)
with a time limit, so an endless loop, a ``sys.exit()`` or a crash in it can neither
hang nor end the grader. The child writes one JSON line per event (loaded, check
started, check result, done) to a file the parent names; reading that file after the
child has ended, however it ended, tells the parent what was graded and, after a
timeout, which check was running.

Output: one line per check, ``PASS name`` or ``FAIL name: what was expected, what came
out; hint: ...``, then ``N passed, M failed``. Exit code 0 when every check passed, 1
when some failed, 2 when the file cannot be graded (missing, a syntax error, a missing
function, an error or an endless loop while loading, a timeout): one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import traceback
import types
from pathlib import Path

import exercises
from common.cli import Parser, positive_float
from common.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT = 60.0  # seconds for one exercise, checks and TensorFlow's start-up included
STUDENT_MODULE = "student_solution"


# ---------------------------------------------------------------------------------------
# The child: load the file, run the checks, report each event


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_student_file(path: Path, functions) -> tuple[types.ModuleType | None, str]:
    """(module, '') or (None, the one-line reason it cannot be graded)."""
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, f"{path} is not a Python text file (not UTF-8)"
    except OSError as error:
        return None, f"cannot read {path}: {error.strerror or error}"
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        return None, (f"{path} line {error.lineno}: {type(error).__name__}: "
                      f"{_one_line(error.msg)}; fix it and grade again")
    except ValueError as error:  # null bytes in the source
        return None, f"{path} cannot be compiled: {_one_line(error)}"
    module = types.ModuleType(STUDENT_MODULE)
    module.__file__ = str(path)
    sys.modules[STUDENT_MODULE] = module  # dataclasses and pickling look their module up
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as error:
        lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                 if frame.filename == str(path)]
        where = f" at line {lines[-1]}" if lines else ""
        return None, (f"{path}: running the file raised {type(error).__name__}{where}: "
                      f"{_one_line(error)}; code outside functions must run without errors")
    missing = [name for name in functions if not callable(getattr(module, name, None))]
    if missing:
        needs = "" if len(missing) == len(functions) else \
            f" (the exercise needs {', '.join(functions)})"
        one = len(missing) == 1
        return None, (f"{path} has no function{'' if one else 's'} {', '.join(missing)}"
                      f"{needs}; define {'it' if one else 'them'} with the stub's names and "
                      "arguments")
    return module, ""


def child_main(exercise: str, path: str, events_path: str) -> None:
    from exercises import checks

    with open(events_path, "a", encoding="utf-8") as events:
        def emit(**event):
            events.write(json.dumps(event) + "\n")
            events.flush()

        spec = checks.EXERCISES[exercise]
        student, problem = load_student_file(Path(path), spec.functions)
        if student is None:
            emit(event="load_error", message=problem)
            return
        emit(event="loaded")
        for check in spec.checks:
            emit(event="start", name=check.name)
            passed, detail = checks.run_check(check, student)
            emit(event="result", name=check.name, passed=passed, detail=detail)
        emit(event="done")


# ---------------------------------------------------------------------------------------
# The parent: start the child with a time limit, turn its events into lines


def _run_child(exercise: str, path: Path, timeout: float, scratch: Path):
    events_path, stderr_path = scratch / "events.jsonl", scratch / "stderr.txt"
    events_path.touch()
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "common.grading", "--child", exercise,
               str(path.resolve()), str(events_path)]
    with open(stderr_path, "w") as stderr:
        # Its own session: the whole group (anything the student's code started, too)
        # can be killed at once, and Ctrl-C reaches only the grader, which ends it.
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                                 start_new_session=True)
        try:
            child.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    events = [json.loads(line) for line in events_path.read_text().splitlines()
              if line.strip()]
    last_error = [line for line in stderr_path.read_text(errors="replace").splitlines()
                  if line.strip()][-1:]
    return events, timed_out, child.returncode, last_error


def grade(exercise: str, path: Path, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Print one line per check and a summary; return 0 (all passed) or 1 (some failed).
    A file that cannot be graded raises UsageError (one line, exit code 2)."""
    if not path.is_file():
        raise UsageError(f"no file {path}; pass the path of your solution, e.g. "
                         f"python -m recipes grade {exercise} "
                         f"{os.path.relpath(exercises.stub_path(exercise))}")
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        events, timed_out, returncode, last_error = _run_child(exercise, path, timeout,
                                                              Path(scratch))
    for event in events:
        if event["event"] == "load_error":
            raise UsageError(event["message"])
    results = [event for event in events if event["event"] == "result"]
    for result in results:
        if result["passed"]:
            print(f"PASS {result['name']}")
        else:
            print(f"FAIL {result['name']}: {result['detail']}")
    if not any(event["event"] == "done" for event in events):
        sys.stdout.flush()
        started = [event["name"] for event in events if event["event"] == "start"]
        running = started[-1] if len(started) > len(results) else None
        where = (f"during check '{running}'" if running
                 else "while loading the file" if not any(e["event"] == "loaded"
                                                          for e in events)
                 else "between checks")
        if timed_out:
            raise UsageError(f"{path}: timed out after {timeout:g} s {where} (an endless "
                             f"loop?); make it finish, or allow more time with --timeout")
        detail = f": {_one_line(last_error[0])[:200]}" if last_error else ""
        raise UsageError(f"{path}: the process running your code ended {where} (exit code "
                         f"{returncode}{detail}); code that calls os._exit() or crashes "
                         "Python cannot be graded")
    failed = sum(not result["passed"] for result in results)
    print(f"{exercise}: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------
# The command line


def listing() -> str:
    lines = []
    for name in exercises.exercise_names():
        info = exercises.exercise_info(name)
        lines.append(f"{name}  ({os.path.relpath(exercises.stub_path(name), ROOT)})")
        for key in ("title", "slide topic", "functions"):
            lines.append(textwrap.fill(info.get(key, "-"), width=88,
                                       initial_indent=f"    {key + ':':<13}",
                                       subsequent_indent=" " * 17))
    return "\n".join(lines)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter,
                     argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the exercise list's line breaks; shows each flag's default unless its help
    already says it."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def main(argv=None) -> None:
    parser = Parser(
        prog="python -m recipes grade",
        description=textwrap.fill(
            "Grade your solution to an exercise: one line per check (PASS, or what was "
            "expected, what came out and a hint), then a summary. Exit code 0: every check "
            "passed; 1: some failed; 2: the file cannot be graded.", width=88),
        epilog="exercises (python -m recipes grade list describes them):\n" + "\n".join(
            f"  {name:<22}{exercises.exercise_info(name).get('title', '')}"
            for name in exercises.exercise_names())
        + "\n\nreference solutions: exercises/solutions/ (same file names)",
        formatter_class=_HelpFormatter)
    parser.add_argument("exercise", help="an exercise's name, or 'list' to describe them all")
    parser.add_argument("file", nargs="?", default=None,
                        help="your solution (default: the exercise's own file in "
                             "exercises/, if you edited it in place)")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT,
                        help="seconds your code may run, all checks together")
    args = parser.parse_args(argv)
    if args.exercise == "list":
        print(listing())
        return
    name = exercises.resolve(args.exercise)
    path = Path(args.file) if args.file else exercises.stub_path(name)
    code = grade(name, path, args.timeout)
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(*sys.argv[2:5])
    else:
        from common.cli import console_main

        raise SystemExit(console_main(main))
