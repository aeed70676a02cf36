"""The process that runs a student's exercise file for the grader (``tools/grading.py``).

It loads the file, says which of its names are functions, then answers calls: the
grader sends a function's name and its inputs, this process calls the student's
function and sends back what it returned (or what it raised) and the inputs as the
function left them. It knows no expected value and no check: those stay in the grader.

Started as a plain script, neither the project nor this folder on ``sys.path``:
``python -E -P grading_child.py FILE FUNCTIONS REQUEST_FD REPLY_FD``.
"""

import importlib.util
import os
import sys
import traceback
import types
from pathlib import Path

STUDENT_MODULE = "student_solution"


def _wire():
    spec = importlib.util.spec_from_file_location("_grading_wire",
                                                  Path(__file__).with_name("wire.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_line(text) -> str:
    return " ".join(str(text).split())


def load_student_file(path: Path):
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
    except BaseException as error:
        lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                 if frame.filename == str(path)]
        where = f" at line {lines[-1]}" if lines else ""
        try:
            message = _one_line(error)[:1000]
        except Exception:
            message = ""
        return None, (f"{path}: running the file raised {type(error).__name__}{where}: "
                      f"{message}; code outside functions must run without errors")
    return module, ""


def _rng(state):
    import numpy as np

    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator


def _model(spec):
    import keras

    model = keras.models.model_from_json(spec["config"])
    model.set_weights([_WIRE.decode(array) for array in spec["weights"]])
    return model


def _after(value):
    """An input as the function left it, where the grader may look at it again."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return _WIRE.encode(value)
    if hasattr(value, "get_weights") and hasattr(value, "to_json"):
        return {"$weights": [_WIRE.encode(w) for w in value.get_weights()]}
    return None


def serve(path: str, functions: str, request_fd: int, reply_fd: int) -> None:
    requests, replies = os.fdopen(request_fd, "rb"), os.fdopen(reply_fd, "wb")

    def send(message):
        replies.write(_WIRE.dumps(message))
        replies.flush()

    student, problem = load_student_file(Path(path))
    if student is None:
        send({"event": "load_error", "message": problem})
        return
    send({"event": "loaded", "functions": [name for name in functions.split(",")
                                           if callable(getattr(student, name, None))]})
    extras = {"$rng": _rng, "$model": _model}
    for line in requests:
        request = _WIRE.loads(line)
        function = getattr(student, request["function"])
        args = _WIRE.decode(request["args"], extras=extras)
        kwargs = _WIRE.decode(request["kwargs"], extras=extras)
        try:
            returned = function(*args, **kwargs)
        except BaseException as error:
            try:
                message = _one_line(error)[:1000]
            except Exception:
                message = ""
            send({"id": request["id"], "raised": {"type": type(error).__name__,
                                                  "message": message}})
            continue
        send({"id": request["id"], "returned": _WIRE.encode(returned),
              "after": [_after(value) for value in args]})


_WIRE = _wire()

if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
