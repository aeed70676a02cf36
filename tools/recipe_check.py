"""``baselines check --recipe-file``: train a student's copy of a recipe and score the
trained models here, where the student's code never runs.

The copy runs in a child process (``tools/recipe_child.py``) in a fresh temporary
folder that ``tools.sandbox`` removes afterwards, with everything the copy started.
Before training, the child saves the copy's model, built with the project's model
settings, for the caller to inspect (its shape); each run then leaves its results.json
and trained models in its own folder, which the caller checks as it checks a student's
``--results`` (the same rule for a changed setting, the models loaded in Keras' safe
mode and scored on the test split there). What the copy's ``main`` returns, and anything
it patches, stays in the child: the verdict comes from those scores and the caller's
tolerance rule.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

from common.errors import UsageError
from tools.sandbox import Sandbox, printable

CHILD = Path(__file__).with_name("recipe_child.py")
MAX_MESSAGE = 64 * 1024


def _messages(fd: int):
    """The child's lines, until it closes its end (or sends one too long to be a
    message, which is then the last)."""
    buffer = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line
        if len(buffer) > MAX_MESSAGE:
            yield buffer
            return


def _parse(line: bytes) -> dict:
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return message if isinstance(message, dict) else {}


SETUP_FILE = "setup.keras"


def run_student_recipe(recipe_file, recipe: str, dataset: str, args: list[str],
                       seeds: list[int], variants: list[str], *, model_settings: dict,
                       inspect_flags, inspect_setup, inspect_run) -> tuple[dict, list[str]]:
    """Train the copy with ``args`` for each seed; ({variant: {mean, test_accuracy}}, notes).

    ``inspect_flags(flags)`` looks at the flags the copy's parser gives ``args`` (what the
    child says: the runs' own files are checked again after training);
    ``inspect_setup(path)`` looks at the untrained model the copy builds with
    ``model_settings`` before any training; ``inspect_run(results_path)`` checks one
    finished run and returns {variant: test accuracy scored from its saved model, or None
    when it cannot be verified}. Either may raise UsageError, which ends the check. A
    variant with a None score has mean None (a failed row)."""
    from common.datasets import load_dataset

    path = Path(recipe_file)
    if not path.is_file():
        raise UsageError(f"--recipe-file {path}: no such file")
    with contextlib.redirect_stdout(io.StringIO()):
        load_dataset(dataset)  # before training: a missing dataset is one line
    runs = [[*args, "--dataset", dataset, "--seed", str(seed), "--out", f"runs/{i}"]
            for i, seed in enumerate(seeds)]
    flags = ["-E", "-P"] if sys.version_info >= (3, 11) else ["-E"]
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    reply_read, reply_write = os.pipe()
    per_variant = {name: [] for name in variants}
    notes, finished, problem = [], [], None
    try:
        job = {"recipe": recipe, "dataset": dataset, "args": args,
               "model_settings": model_settings, "runs": runs}
        with Sandbox([sys.executable, *flags, str(CHILD), str(path.resolve()),
                      str(reply_write), SETUP_FILE, json.dumps(job)],
                     pass_fds=(reply_write,), env=env, prefix="recipe-check-") as box:
            os.close(reply_write)
            reply_write = None
            loaded = flagged = False
            for line in _messages(reply_read):
                message = _parse(line)
                event = message.get("event")
                if not loaded and event == "load_error" and isinstance(message.get("message"), str):
                    problem = printable(message["message"])[:500]
                    break
                if not flagged and event == "flags" and set(message) == {"event", "flags"} \
                        and isinstance(message["flags"], dict):
                    flagged = True
                    inspect_flags(message["flags"])
                    continue
                if flagged and not loaded and event == "loaded" and set(message) == {"event"}:
                    loaded = True
                    inspect_setup(box.cwd / SETUP_FILE)
                    continue
                if loaded and event == "error" and isinstance(message.get("message"), str):
                    problem = printable(message["message"])[:500]
                    break
                if loaded and event == "ran" and message.get("run") == len(finished) \
                        and set(message) == {"event", "run"}:
                    index, seed = len(finished), seeds[len(finished)]
                    scores = inspect_run(box.cwd / "runs" / str(index) / "results.json")
                    for variant in variants:
                        accuracy = scores.get(variant)
                        per_variant[variant].append(accuracy)
                        shown = "-" if accuracy is None else f"{accuracy:.4f}"
                        print(f"  {recipe}@{dataset} seed {seed} {variant}: test {shown} "
                              "(scored by the checker)", flush=True)
                        if accuracy is None:
                            notes.append(f"{recipe}@{dataset} {variant} seed {seed}: cannot "
                                         "be verified (see the notes above)")
                    finished.append(index)
                    continue
                problem = (f"{path}: the process running it sent the checker something it "
                           "did not ask for; it cannot be checked")
                break
            box.stop()
            if problem is None and len(finished) < len(runs):
                last = [line for line in box.output().splitlines() if line.strip()][-1:]
                detail = f": {printable(last[0])[:200]}" if last else ""
                where = "while loading the file" if not loaded else \
                    f"during seed {seeds[len(finished)]}"
                problem = (f"{path}: the process running it ended {where} (exit code "
                           f"{box.returncode}{detail}) before it finished; no verdict")
    finally:
        for fd in (reply_read, reply_write):
            if fd is not None:
                os.close(fd)
    if problem:
        raise UsageError(problem)
    fresh = {"seeds": list(seeds), "versions": {}, "variants": {}}
    for variant, values in per_variant.items():
        verified = None not in values and values
        fresh["variants"][variant] = {
            "test_accuracy": values,
            "mean": sum(values) / len(values) if verified else None}
    return fresh, notes
