"""The exercises and their grader: every reference solution passes, every untouched stub
fails, a file that cannot be graded gets exit code 2 and one line on stderr, and a
subtly wrong solution fails with a line that names the expected value."""

import math
import re
import textwrap

import numpy as np
import pytest

import exercises
from common.errors import UsageError
from conftest import one_line_error
from exercises import checks

NAMES = exercises.exercise_names()


def grade(run_cli, *args):
    return run_cli("-m", "tools", "grade", *args)


def imported(completed, module) -> bool:
    """Whether a command run with ``-X importtime`` imported ``module`` itself."""
    return any(line.split("|")[-1].strip() == module
               for line in completed.stderr.splitlines() if line.startswith("import time"))


def output_lines(completed):
    return [line for line in completed.stdout.splitlines() if line.strip()]


def student_file(tmp_path, source, name="answer.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def fail_line(completed, check_name):
    (line,) = [line for line in output_lines(completed)
               if line.startswith(f"FAIL {check_name}:")]
    return line


# ---------------------------------------------------------------------------------------
# Every exercise: a stub, a solution, checks; the solution passes, the stub fails


def test_every_exercise_has_a_stub_a_solution_and_checks():
    assert len(NAMES) >= 10
    assert set(NAMES) == set(checks.EXERCISES)
    for name in NAMES:
        assert exercises.solution_path(name).is_file(), name
        info = exercises.exercise_info(name)
        assert info.get("title") and info.get("slide topic"), name
        stub = exercises.stub_path(name).relative_to(exercises.EXERCISES_DIR.parent)
        assert info["grade"] == f"python -m tools grade {name} {stub}"
        for function in checks.EXERCISES[name].functions:
            assert f"{function}(" in info["functions"], (name, function)
        assert "NotImplementedError(\"TODO" in exercises.stub_path(name).read_text()
        exercise_checks = checks.EXERCISES[name].checks
        assert exercise_checks, name
        assert len({check.name for check in exercise_checks}) == len(exercise_checks)
        assert all(check.hint for check in exercise_checks)


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes_every_check(run_cli, name):
    done = grade(run_cli, name, str(exercises.solution_path(name)))
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    expected = [f"PASS {check.name}" for check in checks.EXERCISES[name].checks]
    assert output_lines(done) == expected + [f"{name}: {len(expected)} passed, 0 failed"]


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails_with_a_hint(run_cli, name):
    done = grade(run_cli, name)  # no FILE: the exercise's own file, edited in place
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    lines = output_lines(done)
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert failed and all("; hint: " in line for line in failed)
    assert any("raised NotImplementedError: TODO" in line for line in failed)
    assert lines[-1].endswith(f"passed, {len(failed)} failed")


# ---------------------------------------------------------------------------------------
# Listing and bad input, without TensorFlow


def test_list_and_help_name_every_exercise_without_tensorflow(run_cli):
    listed, helped = (run_cli("-X", "importtime", "-m", "tools", "grade", argument)
                      for argument in ("list", "--help"))
    for done in (listed, helped):
        assert done.returncode == 0, done.stderr[-2000:]
        assert not imported(done, "tensorflow")
        for name in NAMES:
            assert name in done.stdout
    assert "slide topic:" in listed.stdout
    assert "exercises/solutions/" in helped.stdout and "--timeout" in helped.stdout


def test_importtime_check_does_see_an_import(run_cli):
    # The same reading of -X importtime as above, on a module that is quick to import.
    assert imported(run_cli("-X", "importtime", "-c", "import numpy"), "numpy")
    assert not imported(run_cli("-X", "importtime", "-c", "pass"), "numpy")


def test_unknown_exercise_names_the_choices(run_cli):
    line = one_line_error(grade(run_cli, "softmaxx", "answer.py"))
    assert "unknown exercise 'softmaxx'" in line and "early_stopping" in line


def test_missing_file(run_cli):
    line = one_line_error(grade(run_cli, "softmax", "no_such_answer.py"))
    assert "no file no_such_answer.py" in line and "exercises/05_softmax.py" in line


# ---------------------------------------------------------------------------------------
# A file that cannot be graded: exit code 2, one line, no traceback

UNGRADABLE = {
    "a syntax error": ("def softmax(z)\n    return z\n", "line 1: SyntaxError"),
    "a missing function": ("def soft_max(z):\n    return z\n", "has no function softmax"),
    "an error while loading": ("import numpy as np\nx = undefined + 1\n"
                               "def softmax(z):\n    return z\n",
                               "raised NameError at line 2"),
    "sys.exit while loading": ("import sys\nsys.exit(0)\n", "raised SystemExit at line 2"),
    "not a text file": (None, "is not a Python text file"),
}


@pytest.mark.parametrize("case", UNGRADABLE)
def test_ungradable_file_gets_one_line(run_cli, tmp_path, case):
    source, message = UNGRADABLE[case]
    if source is None:
        path = tmp_path / "answer.py"
        path.write_bytes(b"\xff\xfe\x00 not text")
    else:
        path = student_file(tmp_path, source)
    assert message in one_line_error(grade(run_cli, "softmax", str(path)))


@pytest.mark.parametrize("name", NAMES)
def test_file_without_the_functions_names_them(run_cli, tmp_path, name):
    path = student_file(tmp_path, "import math\n")
    line = one_line_error(grade(run_cli, name, path))
    assert "has no function" in line  # 'function' or 'functions'
    for function in checks.EXERCISES[name].functions:
        assert function in line


def test_endless_loop_while_loading_times_out(run_cli, tmp_path):
    path = student_file(tmp_path, "while True:\n    pass\n")
    line = one_line_error(grade(run_cli, "softmax", path, "--timeout", "3"))
    assert "timed out after 3 s while loading the file" in line and "--timeout" in line


def test_endless_loop_in_a_function_names_the_check(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        def softmax(z):
            while True:
                pass
    """)
    line = one_line_error(grade(run_cli, "softmax", path, "--timeout", "8"))
    first_check = checks.EXERCISES["softmax"].checks[0].name
    assert f"timed out after 8 s during check '{first_check}'" in line


def test_process_ended_by_the_students_code(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import os

        def softmax(z):
            os._exit(5)
    """)
    line = one_line_error(grade(run_cli, "softmax", path))
    assert "ended during check" in line and "exit code 5" in line


def test_exceptions_and_sys_exit_in_a_function_fail_only_their_check(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import sys
        import numpy as np

        def softmax(z):
            z = np.asarray(z, dtype=float)
            if z.ndim == 2:
                sys.exit(3)
            if z.max() > 100:
                raise ValueError("too large")
            e = np.exp(z - z.max())
            return e / e.sum()
    """)
    done = grade(run_cli, "softmax", path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "raised SystemExit: 3" in fail_line(done, "a batch: one softmax per row")
    assert "raised ValueError: too large" in fail_line(
        done, "large logits give probabilities, not NaN")
    assert "PASS one vector of random logits" in output_lines(done)


# ---------------------------------------------------------------------------------------
# Subtly wrong solutions fail, and the line says what was expected


def test_softmax_without_subtracting_the_max(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import numpy as np

        def softmax(z):
            e = np.exp(np.asarray(z, dtype=float))
            return e / e.sum(axis=-1, keepdims=True)
    """)
    done = grade(run_cli, "softmax", path)
    assert done.returncode == 1
    z = np.array([800.0, 802.0, 801.0, 799.0])
    expected = np.exp(z - 802.0) / np.exp(z - 802.0).sum()
    line = fail_line(done, "large logits give probabilities, not NaN")
    assert f"expected [{', '.join(f'{p:.6g}' for p in expected)}], got [nan, nan" in line
    assert "subtract each row's largest logit" in line
    assert "PASS one vector of random logits" in output_lines(done)  # small logits are fine


def test_dropout_without_scaling(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import numpy as np

        def dropout(x, rate, rng, training=True):
            if not training:
                return x
            return x * (rng.random(np.shape(x)) >= rate)
    """)
    done = grade(run_cli, "dropout", path)
    assert done.returncode == 1
    line = fail_line(done, "the mean output equals the mean input")
    mean = float(re.search(r"expected about 1 \(0\.97 to 1\.03\), got ([0-9.]+)", line)[1])
    assert abs(mean - 0.5) < 0.03  # rate 0.5 without the 1 / (1 - rate): half the input
    assert "1 / (1 - rate)" in fail_line(done, "kept entries are scaled by 1 / (1 - rate)")
    assert "PASS each entry is dropped with probability rate" in output_lines(done)


def test_cross_entropy_with_zero_times_log_zero(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import numpy as np

        def cross_entropy(y_true, y_prob):
            return -np.sum(np.asarray(y_true) * np.log(y_prob), axis=-1)

        def mean_cross_entropy(y_true, y_prob):
            return float(np.mean(cross_entropy(y_true, y_prob)))
    """)
    done = grade(run_cli, "cross_entropy", path)
    line = fail_line(done, "a probability of 0 on a class the target gives 0")
    assert f"expected {-math.log(0.5):.6g}, got nan" in line and "np.where" in line


def test_keras_penalty_with_the_l2_norm_instead_of_its_square(run_cli, tmp_path):
    path = student_file(tmp_path, """\
        import numpy as np

        def keras_penalty(weights, l1, l2):
            return sum(l1 * np.abs(k).sum() + l2 * np.sqrt((k ** 2).sum()) for k, _ in weights)
    """)
    done = grade(run_cli, "keras_penalty", path)
    assert done.returncode == 1
    line = fail_line(done, "L2 alone: the squared norm, not the norm")
    expected, got = map(float, re.search(r"expected ([0-9.]+), got ([0-9.]+)", line).groups())
    assert expected > 0 and not math.isclose(expected, got, rel_tol=1e-3)
    assert "SQUARED l2 norm" in line
    assert "PASS L1 alone" in output_lines(done) and "PASS biases are not penalized" in \
        output_lines(done)


# ---------------------------------------------------------------------------------------
# The first hint a student reads names the actual mistake

WRONG_SOLUTIONS = {
    "log10 cross-entropy": ("cross_entropy", """\
        import numpy as np

        def cross_entropy(y_true, y_prob):
            y_true, y_prob = np.asarray(y_true, float), np.asarray(y_prob, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                return -np.sum(np.where(y_true > 0, y_true * np.log10(y_prob), 0.0), axis=-1)

        def mean_cross_entropy(y_true, y_prob):
            return float(np.mean(cross_entropy(y_true, y_prob)))
    """, "you used np.log10"),
    "axis-0 softmax": ("softmax", """\
        import numpy as np

        def softmax(z):
            z = np.asarray(z, dtype=float)
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
    """, "you normalized over axis 0"),
    "dropout scaled by (1 - p)": ("dropout", """\
        import numpy as np

        def dropout(x, rate, rng, training=True):
            if not training:
                return x
            return x * (rng.random(np.shape(x)) >= rate) * (1 - rate)
    """, "you multiplied the kept entries by (1 - rate)"),
    "L2 penalty without its factor": ("keras_penalty", """\
        import numpy as np

        def keras_penalty(weights, l1, l2):
            return float(sum(l1 * np.abs(k).sum() + (np.asarray(k) ** 2).sum()
                             for k, _ in weights))
    """, "your L2 term lacks its factor"),
}


@pytest.mark.parametrize("mistake", WRONG_SOLUTIONS)
def test_the_first_hint_names_the_mistake(run_cli, tmp_path, mistake):
    name, source, named = WRONG_SOLUTIONS[mistake]
    done = grade(run_cli, name, student_file(tmp_path, source))
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    first = next(line for line in output_lines(done) if line.startswith("FAIL "))
    assert named in first.split("; hint: ", 1)[1], first


def test_grade_without_a_file_never_grades_an_installed_stub(tmp_path, monkeypatch):
    """Installed as a package, `grade softmax` grades ./05_softmax.py or says which file
    it expects; in a clone it grades the exercise edited in place."""
    import exercises
    from tools import grading

    clone_stub = exercises.stub_path("softmax")
    assert grading.default_file("softmax", here=tmp_path) == clone_stub
    installed = tmp_path / "venv" / "lib" / "site-packages" / "exercises" / clone_stub.name
    monkeypatch.setattr(exercises, "stub_path", lambda name: installed)
    with pytest.raises(UsageError, match=r"no 05_softmax.py here to grade.*grade softmax FILE"):
        grading.default_file("softmax", here=tmp_path)
    (tmp_path / "05_softmax.py").write_text("def softmax(z): ...\n")
    assert grading.default_file("softmax", here=tmp_path) == tmp_path / "05_softmax.py"
