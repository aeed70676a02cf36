"""``python -m tools grade EXERCISE [FILE]``: run an exercise's checks on a student's file.

The student's code runs in a child process (``tools/grading_child.py``) that knows no
check and no expected value: this process runs the checks, and each time a check calls
one of the student's functions the call's inputs go to the child as plain data (JSON
lines on a pipe), the child calls the function and sends back what it returned, or what
it raised. The verdict is made here, from values only, so nothing the student's code
does to the child (patching NumPy, reading frames, writing into the pipe) can change an
expected value or a comparison; a reply that is not what was asked for ends the grade
with exit code 2. ``tools.sandbox`` runs the child in a fresh temporary folder, in its
own session, with a time limit, and ends everything it started when the grade ends; the
grader's own files are compared before and after, and put back if the child changed
them. docs/grading.md says what this does and does not guarantee.

Output: one line per check, ``PASS name`` or ``FAIL name: what was expected, what came
out; hint: ...``, then ``N passed, M failed``. Exit code 0 when every check passed, 1
when some failed, 2 when the file cannot be graded (missing, a syntax error, a missing
function, an error or an endless loop while loading, a timeout): one line on stderr.
"""

from __future__ import annotations

import argparse
import builtins
import os
import select
import shutil
import sys
import textwrap
import time
from pathlib import Path

import exercises
from tools import wire
from common.cli import Parser, default_backend, positive_float
from common.errors import UsageError
from tools.sandbox import Sandbox, printable

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT = 60.0  # seconds for one exercise, checks and TensorFlow's start-up included
CHILD = Path(__file__).with_name("grading_child.py")
GRADING_BACKENDS = ("tensorflow", "jax")  # the backends the checks are written for
MAX_REPLY = 64 * 1024 * 1024  # bytes in one reply line
# The files whose content decides a grade: compared before and after each grade.
_GRADER_FILES = ("tools/grading.py", "tools/grading_child.py", "tools/wire.py",
                 "tools/sandbox.py")
# What a class handout holds: the project without the reference solutions (and tests).
HANDOUT_PARTS = ("common", "tools", "exercises", "recipes", "benchmarks", "baselines",
                 "docs", "notebooks", "README.md", "pyproject.toml", "requirements.txt",
                 "requirements-dev.txt", "requirements-jax.txt")


# What a handout says about itself, at its top: README.md and docs/ are the project's.
HANDOUT_NOTE = """\
# This is a class handout

A copy of the project for a class: the recipes, notebooks, exercises and tools, without
the reference solutions (`exercises/solutions/`) and without the test suite (`tests/`).
README.md and docs/ describe the whole project, so here:

- `python3 -m pytest` finds no tests to run: there are none in a handout.
- Pages that point to `exercises/solutions/` point to what is not here.
- Each exercise is graded with `python3 -m tools grade NAME exercises/FILE.py`
  (`python3 -m tools grade list` names them), a folder of the class's files with
  `python3 -m tools grade NAME FOLDER`; the recipes run as the README says.
"""


# ---------------------------------------------------------------------------------------
# Talking to the child: requests out, replies in, every reply checked


class ChildGone(BaseException):
    """The child cannot answer: it timed out, ended, or sent what was not asked for.
    A BaseException, so that no check's ``except Exception`` turns it into a FAIL."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(kind)
        self.kind, self.detail = kind, detail


class Channel:
    def __init__(self, request_fd: int, reply_fd: int, deadline: float):
        self.request_fd, self.reply_fd = request_fd, reply_fd
        self.deadline, self.buffer, self.next_id = deadline, b"", 1
        os.set_blocking(request_fd, False)

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ChildGone("timeout")
        return left

    def send(self, message: dict) -> None:
        data = wire.dumps(message)
        while data:
            _, writable, _ = select.select([], [self.request_fd], [], self._left())
            if not writable:
                continue
            try:
                data = data[os.write(self.request_fd, data):]
            except BlockingIOError:
                continue
            except OSError:
                raise ChildGone("ended") from None

    def receive(self) -> dict:
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_REPLY:
                raise ChildGone("protocol", f"a reply longer than {MAX_REPLY} bytes")
            readable, _, _ = select.select([self.reply_fd], [], [], self._left())
            if not readable:
                continue
            chunk = os.read(self.reply_fd, 1 << 20)
            if not chunk:
                raise ChildGone("ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return wire.loads(line)
        except wire.WireError as error:
            raise ChildGone("protocol", str(error)) from None

    def call(self, function: str, args: tuple, kwargs: dict):
        request_id, self.next_id = self.next_id, self.next_id + 1
        self.send({"id": request_id, "function": function,
                   "args": [_encode_argument(value) for value in args],
                   "kwargs": wire.encode(dict(kwargs))})
        reply = self.receive()
        try:
            return _read_reply(reply, request_id, args)
        except wire.WireError as error:
            raise ChildGone("protocol", str(error)) from None


def _encode_argument(value):
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        return {"$model": {"config": value.to_json(),
                           "weights": [wire.encode(w) for w in value.get_weights()]}}
    return wire.encode(value)


def _student_exception(raised) -> BaseException:
    """What the student's function raised, rebuilt from its type's name and message
    (a built-in type as itself, so that a check expecting ValueError sees one)."""
    if not isinstance(raised, dict) or set(raised) != {"type", "message"} or not \
            isinstance(raised["message"], str):
        raise wire.WireError("a malformed exception")
    name = wire.exception_name(raised["type"])
    message = printable(raised["message"])[:1000]
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and (issubclass(builtin, Exception) or builtin is SystemExit):
        try:
            return builtin(message)
        except TypeError:  # a built-in whose constructor wants more (UnicodeDecodeError)
            pass
    return type(name, (Exception,), {})(message)


def _read_reply(reply: dict, request_id: int, args: tuple):
    if type(reply.get("id")) is not int or reply["id"] != request_id:
        raise wire.WireError("a reply to no call the grader made")
    if set(reply) == {"id", "raised"}:
        raise _student_exception(reply["raised"])
    if set(reply) != {"id", "returned", "after"} or not isinstance(reply["after"], list) \
            or len(reply["after"]) != len(args):
        raise wire.WireError("a malformed reply")
    returned = wire.decode(reply["returned"])
    for original, after in zip(args, reply["after"]):
        _write_back(original, after)
    return returned


def _write_back(original, after) -> None:
    """An input the student's function changed in place: change the grader's copy too,
    so that a check that looks at it afterwards sees what the function did."""
    if after is None:
        return
    import numpy as np

    if isinstance(original, np.ndarray):
        changed = wire.decode(after)
        if not isinstance(changed, np.ndarray) or changed.shape != original.shape:
            raise wire.WireError("an input sent back changed in shape")
        original[...] = changed
        return
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(original, keras.Model) and isinstance(after, dict) \
            and set(after) == {"$weights"} and isinstance(after["$weights"], list):
        weights = [wire.decode(w) for w in after["$weights"]]
        if not all(isinstance(w, np.ndarray) for w in weights):
            raise wire.WireError("a model's weights sent back are not arrays")
        original.set_weights(weights)
        return
    raise wire.WireError("an input sent back that was not sent")


class StudentFunctions:
    """Stands in for the student's module in the checks: ``student.softmax(z)`` is a
    call in the child."""

    def __init__(self, channel: Channel, functions):
        self._channel, self._functions = channel, tuple(functions)

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._functions:
            raise AttributeError(name)

        def remote(*args, **kwargs):
            return self._channel.call(name, args, kwargs)

        remote.__name__ = name
        return remote


# ---------------------------------------------------------------------------------------
# The grader's own files


def _grader_files() -> list[Path]:
    folder = Path(exercises.__file__).parent
    return sorted({*(ROOT / name for name in _GRADER_FILES), *folder.rglob("*.py")})


def _snapshot() -> dict[Path, bytes | None]:
    taken = {}
    for path in _grader_files():
        try:
            taken[path] = path.read_bytes()
        except OSError:
            taken[path] = None
    return taken


def _restore_changed(before: dict[Path, bytes | None]) -> list[str]:
    """Put back every grader file that differs from ``before``; their names."""
    changed = []
    for path, content in before.items():
        try:
            now = path.read_bytes()
        except OSError:
            now = None
        if now == content or content is None:
            continue
        changed.append(os.path.relpath(path, ROOT))
        temporary = path.with_name(f".{path.name}.restore")
        temporary.write_bytes(content)
        os.replace(temporary, path)
    return changed


# ---------------------------------------------------------------------------------------
# The grade


def _child_command(path: Path, functions) -> tuple[list[str], dict]:
    flags = ["-E", "-P"] if sys.version_info >= (3, 11) else ["-E"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTHONPATH", None)  # the project is not on the child's path
    return [sys.executable, *flags, str(CHILD), str(path.resolve()), ",".join(functions)], env


def _refuse_backend() -> None:
    backend = default_backend()
    if backend not in GRADING_BACKENDS:
        raise UsageError(f"grade runs on the {' or '.join(GRADING_BACKENDS)} backend, not "
                         f"{backend} (KERAS_BACKEND={backend}); unset KERAS_BACKEND or set "
                         "it to tensorflow or jax")


def grade(exercise: str, path: Path, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Print one line per check and a summary; return 0 (all passed) or 1 (some failed).
    A file that cannot be graded raises UsageError (one line, exit code 2)."""
    passed, failed = run_checks(exercise, path, timeout,
                                report=lambda line: print(line, flush=True))
    print(f"{exercise}: {passed} passed, {failed} failed")
    return 1 if failed else 0


def class_files(exercise: str, folder: Path) -> list[Path]:
    """A class's solutions to ``exercise`` in ``folder``: every file named as the
    exercise's stub (``05_softmax.py``) at any depth (one folder per student), else every
    .py file directly in it (one file per student)."""
    named = sorted(p for p in folder.rglob(exercises.stub_path(exercise).name) if p.is_file())
    return named or sorted(p for p in folder.glob("*.py") if p.is_file())


def grade_class(exercise: str, folder: Path, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Grade every solution in a class folder, each in its own child process as alone:
    one line per file (checks passed, or why it cannot be graded), then the count. 0 when
    every file passes every check, 1 otherwise."""
    files = class_files(exercise, folder)
    if not files:
        raise UsageError(f"{folder}: no {exercises.stub_path(exercise).name} in it or below "
                         "it, and no .py file in it; give the folder of your students' files")
    width = max(len(str(p.relative_to(folder))) for p in files)
    passing = 0
    for path in files:
        try:
            passed, failed = run_checks(exercise, path, timeout, report=lambda line: None)
            verdict = f"{passed} passed, {failed} failed"
            passing += not failed
        except UsageError as error:
            verdict = f"cannot be graded: {error}"
        print(f"{str(path.relative_to(folder)):<{width}}  {verdict}", flush=True)
    print(f"{exercise}: {passing} of {len(files)} file(s) passed every check "
          f"(python -m tools grade {exercise} FILE shows one file's checks)")
    return 0 if passing == len(files) else 1


def run_checks(exercise: str, path: Path, timeout: float = DEFAULT_TIMEOUT,
               report=print) -> tuple[int, int]:
    """Run the exercise's checks on ``path`` in a supervised child, ``report``ing one
    line per check; (passed, failed). A file that cannot be graded raises UsageError."""
    _refuse_backend()
    if not path.is_file():
        raise UsageError(f"no file {path}; pass the path of your solution, e.g. "
                         f"python -m tools grade {exercise} "
                         f"{os.path.relpath(exercises.stub_path(exercise))}")
    from exercises import checks

    spec = checks.EXERCISES[exercise]
    before = _snapshot()
    command, env = _child_command(path, spec.functions)
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    results, running, stage, gone, output = [], None, "while loading the file", None, ""
    refused = None
    try:
        with Sandbox(command + [str(request_read), str(reply_write)],
                     pass_fds=(request_read, reply_write), env=env, prefix="grade-") as box:
            os.close(request_read)
            os.close(reply_write)
            request_read = reply_write = None
            channel = Channel(request_write, reply_read, time.monotonic() + timeout)
            try:
                functions = _loaded(channel, path, spec.functions)
                if isinstance(functions, UsageError):
                    refused = functions
                    raise ChildGone("refused")
                stage = "between checks"
                student = StudentFunctions(channel, functions)
                for check in spec.checks:
                    running = check.name
                    passed, detail = checks.run_check(check, student)
                    running = None
                    results.append((check.name, passed, detail))
                    report(f"PASS {check.name}" if passed else
                           f"FAIL {check.name}: {printable(detail)}")
            except ChildGone as error:
                gone = None if refused else error
                if error.kind == "ended":
                    box.wait(timeout=15)
            if gone is not None:
                box.stop()
                output = box.output()
            returncode = box.returncode
    finally:
        for fd in (request_read, reply_write, request_write, reply_read):
            if fd is not None:
                os.close(fd)
        changed = _restore_changed(before)
    if changed:
        raise UsageError(f"{path}: your code changed the grader's own files "
                         f"({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}) "
                         "while it ran; they were put back as they were, and this grade "
                         "does not count")
    if refused is not None:
        raise refused
    if gone is not None:
        _report_gone(gone, path, timeout, running, stage, returncode, output)
    failed = sum(not passed for _, passed, _ in results)
    return len(results) - failed, failed


def _loaded(channel: Channel, path: Path, functions) -> list[str] | UsageError:
    """The student's functions, once the child has loaded the file, or the one-line
    reason it cannot be graded."""
    message = channel.receive()
    if set(message) == {"event", "message"} and message["event"] == "load_error" and \
            isinstance(message["message"], str):
        return UsageError(printable(message["message"])[:2000])
    found = message.get("functions")
    if set(message) != {"event", "functions"} or message["event"] != "loaded" or \
            not isinstance(found, list):
        raise ChildGone("protocol", "not the message that the file was loaded")
    missing = [name for name in functions if name not in found]
    if missing:
        needs = "" if len(missing) == len(functions) else \
            f" (the exercise needs {', '.join(functions)})"
        one = len(missing) == 1
        return UsageError(f"{path} has no function{'' if one else 's'} {', '.join(missing)}"
                          f"{needs}; define {'it' if one else 'them'} with the stub's names "
                          "and arguments")
    return list(functions)


def _report_gone(gone: ChildGone, path, timeout, running, stage, returncode, output):
    sys.stdout.flush()
    where = f"during check '{running}'" if running else stage
    if gone.kind == "timeout":
        raise UsageError(f"{path}: timed out after {timeout:g} s {where} (an endless "
                         f"loop?); make it finish, or allow more time with --timeout")
    if gone.kind == "protocol":
        raise UsageError(f"{path}: the process running your code sent the grader "
                         f"something it did not ask for ({gone.detail}) {where}; it cannot "
                         "be graded: do not write to the grader's channel")
    last = [line for line in output.splitlines() if line.strip()][-1:]
    detail = f": {printable(last[0])[:200]}" if last else ""
    raise UsageError(f"{path}: the process running your code ended {where} (exit code "
                     f"{returncode}{detail}); code that calls os._exit() or crashes Python "
                     "cannot be graded")


def build_handout(destination: Path) -> None:
    """Copy the project without its reference solutions (and tests) into
    ``destination``, a new or empty folder: what a class gets."""
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise UsageError(f"--handout {destination}: not an empty folder; give a new one")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")

    def ignore_solutions(folder, names):
        skipped = set(ignore(folder, names))
        if Path(folder).resolve() == exercises.EXERCISES_DIR.resolve():
            skipped.add("solutions")
        return skipped

    destination.mkdir(parents=True, exist_ok=True)
    for part in HANDOUT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore_solutions)
        elif source.is_file():
            shutil.copy2(source, destination / part)
    # The pages it copies speak of the whole project: say what this copy leaves out.
    (destination / "HANDOUT.md").write_text(HANDOUT_NOTE)
    print(f"handout written to {destination}: the project without exercises/solutions/ "
          f"and tests/; students grade there with python -m tools grade NAME FILE")


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


def default_file(name: str, here: Path | None = None) -> Path:
    """The file ``grade NAME`` grades when none is given: ``./NN_name.py`` in the current
    folder if there is one; else, in a clone, the exercise's own file in exercises/
    (edited in place). An installed project's stub is never graded: it is nobody's work."""
    stub = exercises.stub_path(name)
    local = (here or Path.cwd()) / stub.name
    if local.is_file():
        return local
    if not (stub.parent.parent / "pyproject.toml").is_file():  # installed, not a clone
        raise UsageError(f"grade {name}: no {stub.name} here to grade; copy the exercise "
                         f"into this folder (python -m tools grade --handout DIR makes a "
                         f"class copy), or name your file: python -m tools grade {name} FILE")
    return stub


def main(argv=None) -> None:
    parser = Parser(
        prog="python -m tools grade",
        description=textwrap.fill(
            "Grade your solution to an exercise: one line per check (PASS, or what was "
            "expected, what came out and a hint), then a summary. Exit code 0: every check "
            "passed; 1: some failed; 2: the file cannot be graded.", width=88),
        epilog="exercises (python -m tools grade list describes them):\n" + "\n".join(
            f"  {name:<22}{exercises.exercise_info(name).get('title', '')}"
            for name in exercises.exercise_names())
        + ("\n\nreference solutions: exercises/solutions/ (same file names)"
           if exercises.SOLUTIONS_DIR.is_dir() else "")
        + "\n\nteachers: python -m tools grade --handout DIR copies the project without "
          "the reference solutions, for a class (docs/grading.md)",
        formatter_class=_HelpFormatter)
    parser.add_argument("exercise", nargs="?",
                        help="an exercise's name, or 'list' to describe them all")
    parser.add_argument("file", nargs="?", default=None,
                        help="your solution (default: ./NN_name.py in this folder, else, "
                             "in a clone, the exercise's own file in exercises/, edited in "
                             "place); a folder: a class's solutions, one line each")
    parser.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT,
                        help="seconds your code may run, all checks together")
    parser.add_argument("--handout", metavar="DIR", type=Path, default=None,
                        help="write a class handout into DIR (new or empty): the project "
                             "without exercises/solutions/ and tests/")
    args = parser.parse_args(argv)
    if args.handout is not None:
        if args.exercise or args.file:
            raise UsageError("--handout DIR takes no exercise or file")
        build_handout(args.handout)
        return
    if not args.exercise:
        raise UsageError("which exercise? python -m tools grade EXERCISE [FILE] "
                         "(python -m tools grade list names them)")
    if args.exercise == "list":
        print(listing())
        return
    name = exercises.resolve(args.exercise)
    path = Path(args.file) if args.file else default_file(name)
    code = (grade_class if path.is_dir() else grade)(name, path, args.timeout)
    if code:
        raise SystemExit(code)


if __name__ == "__main__":
    from common.cli import console_main

    raise SystemExit(console_main(main))
