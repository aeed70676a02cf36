"""The process that runs a student's copy of a recipe for ``baselines check
--recipe-file`` (``common/recipe_check.py``).

It loads the file, runs its ``main`` once per requested command line, and saves every
model the recipe evaluates on the test split (``training.evaluate_model``) as a
``.keras`` file in MODELS_DIR. It reports progress only: the checker loads those models
and scores them itself; whatever ``main`` returns is ignored.

``python -E -P recipe_child.py FILE REPLY_FD MODELS_DIR RUNS_JSON``: RUNS_JSON is a list
of [seed, argv] pairs.
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one_line(text) -> str:
    try:
        return " ".join(str(text).split())[:200]
    except Exception:
        return ""


def serve(path: str, reply_fd: int, models_dir: str, runs_json: str) -> None:
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")

    def send(**message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    sys.path.insert(0, str(ROOT))  # the recipe's copy imports the project's common/
    from common import sweep, training

    models, run = Path(models_dir), {"index": 0, "saved": 0}
    models.mkdir()
    evaluate_model = training.evaluate_model

    def evaluate_and_save(evaluate, model, data, history, **options):
        if options.get("read_test", True):
            model.save(models / f"{run['index']}-{run['saved']}.keras")
            run["saved"] += 1
        return evaluate_model(evaluate, model, data, history, **options)

    training.evaluate_model = evaluate_and_save
    file, fix = Path(path), "fix it and check again"
    spec = importlib.util.spec_from_file_location("student_recipe", file)
    if spec is None or spec.loader is None:
        send(event="load_error", message=f"--recipe-file {file}: not a Python file (.py)")
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        send(event="load_error", message=f"{file}, line {error.lineno}: syntax error "
                                         f"({_one_line(error.msg)}); {fix}")
        return
    except BaseException as error:
        send(event="load_error", message=f"{file} cannot be loaded: {type(error).__name__}: "
                                         f"{_one_line(error)}; {fix}")
        return
    if not callable(getattr(module, "main", None)):
        send(event="load_error", message=f"{file} defines no main(argv); a recipe's copy "
                                         "keeps the recipe's main function")
        return
    send(event="loaded")
    for index, (seed, argv) in enumerate(json.loads(runs_json)):
        run.update(index=index, saved=0)
        try:
            with sweep.private_python_random(seed):
                module.main(argv)
        except BaseException as error:
            send(event="error", message=f"{file}: main({' '.join(argv)}) failed: "
                                        f"{type(error).__name__}: {_one_line(error)}")
            return
        send(event="ran", run=index)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
