"""The process that runs a student's copy of a recipe for ``baselines check
--recipe-file`` (``tools/recipe_check.py``).

It loads the file, builds its model with the project's model settings (saved untrained
as SETUP_FILE, for the checker to inspect before any training), then runs its ``main``
once per requested command line (a lesson's copy, which has no ``main``: its file run
from its top with those flags, ``recipes.run_file``); each run writes its results.json and trained models in
its ``--out`` folder, as every recipe run does. It reports progress only: the checker
reads those files, loads the models and scores them itself; whatever ``main`` returns is
ignored.

Before that it reports the flags the copy's parser gives the recorded command line, for
the checker to compare with the recording before anything trains.

``python -E -P recipe_child.py FILE REPLY_FD SETUP_FILE JOB_JSON``: JOB_JSON holds the
recipe's name, the dataset, the recorded flags (``args``), the keyword arguments of the
project's ``build_model`` (``model_settings``) and the runs, a list of argvs (one per seed).
"""

import functools
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]


def _one_line(text) -> str:
    try:
        return " ".join(str(text).split())[:200]
    except Exception:
        return ""


def serve(path: str, reply_fd: int, setup_file: str, job_json: str) -> None:
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")

    def send(**message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    sys.path.insert(0, str(ROOT))  # the recipe's copy imports the project's common/
    import recipes

    job = json.loads(job_json)

    file, fix = Path(path), "fix it and check again"
    spec = importlib.util.spec_from_file_location("student_recipe", file)
    if spec is None or spec.loader is None:
        send(event="load_error", message=f"--recipe-file {file}: not a Python file (.py)")
        return
    how = "cannot be read"
    try:
        text = file.read_text()
        if recipes.is_lesson_text(text):
            # A lesson runs when it is loaded: its flags and runs go through
            # recipes.run_file, its model cell is taken from its cells' text.
            compile(text, str(file), "exec", dont_inherit=True)
            how = "(its cells to copy) cannot be run"
            module = SimpleNamespace(
                main=functools.partial(recipes.run_file, file),
                build_model=recipes.cells_of_text(text, str(file)).get("build_model"))
        else:  # a copy of a recipe written around a main(argv)
            how = "cannot be loaded"
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
    except SyntaxError as error:
        send(event="load_error", message=f"{file}, line {error.lineno}: syntax error "
                                         f"({_one_line(error.msg)}); {fix}")
        return
    except BaseException as error:
        send(event="load_error", message=f"{file} {how}: {type(error).__name__}: "
                                         f"{_one_line(error)}; {fix}")
        return
    serve_module(module, file, job, setup_file, send)


def serve_module(module, file: Path, job: dict, setup_file: str, send) -> None:
    """Report the flags, build the untrained model, then make each run."""
    from tools import baselines
    from common.errors import UsageError

    if not callable(getattr(module, "main", None)):
        send(event="load_error", message=f"{file} defines no main(argv); a recipe's copy "
                                         "keeps the recipe's main function")
        return
    try:
        flags = baselines.flags_of(module.main, job["recipe"], job["dataset"], job["args"],
                                   str(file))
        send(event="flags", flags=json.loads(json.dumps(flags, default=str)))
    except UsageError as error:
        send(event="load_error", message=_one_line(error))
        return
    except BaseException as error:
        send(event="load_error", message=f"{file}: its flags cannot be read: "
                                         f"{type(error).__name__}: {_one_line(error)}")
        return
    if not callable(getattr(module, "build_model", None)):
        send(event="load_error", message=f"--recipe-file {file} defines no build_model; a "
                                         "recipe's copy keeps the recipe's model cell")
        return
    try:
        module.build_model(**job["model_settings"]).save(setup_file)
    except BaseException as error:
        send(event="load_error", message=f"--recipe-file {file}: build_model failed: "
                                         f"{type(error).__name__}: {_one_line(error)}")
        return
    send(event="loaded")
    for index, argv in enumerate(job["runs"]):
        try:
            module.main(argv)
        except BaseException as error:
            send(event="error", message=f"{file}: main({' '.join(argv)}) failed: "
                                        f"{type(error).__name__}: {_one_line(error)}")
            return
        send(event="ran", run=index)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
