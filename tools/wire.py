"""Plain values as JSON lines between the grader and the process running a student's
code: numbers, strings, lists, tuples, string-keyed dicts and NumPy arrays, plus (sent
to the child only) a NumPy random generator's state and a Keras model's config and
weights. Whatever the child sends back is decoded strictly: anything else is a
``WireError``, never a traceback and never a value the grader did not ask for.

Imported by the child as a plain module (``tools/grading_child.py`` puts this folder on
its path): it imports NumPy only.
"""

from __future__ import annotations

import base64
import json
import re

import numpy as np

MAX_DEPTH = 32
MAX_TEXT = 240  # characters kept of a string that describes something (a repr, a message)
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
           "uint64", "float16", "float32", "float64"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")


class WireError(Exception):
    """A message that is not what the protocol allows."""


class Opaque:
    """A value the child could not send as data (a function, a Keras object, ...): its
    type and a short description, shown as such in a FAIL line."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name}: {self.text}>"


# ---------------------------------------------------------------------------------------
# Encoding (both sides)


def _array(value: np.ndarray) -> dict:
    value = np.array(value, order="C")  # (ascontiguousarray makes a 0-d array 1-d)
    return {"$array": {"dtype": value.dtype.name, "shape": list(value.shape),
                       "data": base64.b64encode(value.tobytes()).decode("ascii")}}


def encode(value, depth: int = 0):
    """``value`` as JSON-able data; what cannot be sent becomes ``$opaque``."""
    if depth > MAX_DEPTH:
        return {"$opaque": {"type": "nested", "repr": "nested too deeply to send"}}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, np.generic) and value.dtype.name in _DTYPES:
        return _array(np.asarray(value))
    if isinstance(value, np.ndarray) and value.dtype.name in _DTYPES:
        return _array(value)
    if isinstance(value, np.random.Generator):
        return {"$rng": value.bit_generator.state}
    if type(value) is list:
        return [encode(item, depth + 1) for item in value]
    if type(value) is tuple:
        return {"$tuple": [encode(item, depth + 1) for item in value]}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"$dict": {k: encode(v, depth + 1) for k, v in value.items()}}
    if hasattr(value, "__array__") and not isinstance(value, np.ndarray):
        try:  # a TensorFlow or JAX tensor: its values
            array = np.asarray(value)
            if array.dtype.name in _DTYPES:
                return _array(array)
        except Exception:
            pass
    try:
        text = repr(value)
    except Exception:
        text = "?"
    return {"$opaque": {"type": type(value).__name__[:100], "repr": text[:MAX_TEXT]}}


def dumps(message: dict) -> bytes:
    return (json.dumps(message, allow_nan=True) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------
# Decoding, strict


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"{what} is not a string")
    return value[:MAX_TEXT * 4]


def _decode_array(spec) -> np.ndarray:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise WireError("a malformed array")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if dtype not in _DTYPES or not isinstance(shape, list) or len(shape) > 32 or not all(
            type(n) is int and 0 <= n < 2 ** 40 for n in shape) or not isinstance(data, str):
        raise WireError("a malformed array")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("an array whose data is not base64") from None
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise WireError("an array whose data does not fit its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(data, depth: int = 0, extras: dict | None = None):
    """The value ``encode`` sent; ``extras`` maps further tags ($rng, $model) to their
    decoders (the child's side). Anything else raises WireError."""
    if depth > MAX_DEPTH + 1:
        raise WireError("a value nested too deeply")
    if data is None or isinstance(data, (bool, str, float)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, list):
        return [decode(item, depth + 1, extras) for item in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("a value of no known kind")
    (tag, body), = data.items()
    if tag == "$array":
        array = _decode_array(body)
        return array[()] if array.ndim == 0 else array
    if tag == "$tuple" and isinstance(body, list):
        return tuple(decode(item, depth + 1, extras) for item in body)
    if tag == "$dict" and isinstance(body, dict):
        return {k: decode(v, depth + 1, extras) for k, v in body.items()}
    if tag == "$opaque" and isinstance(body, dict) and set(body) == {"type", "repr"}:
        return Opaque(_text(body["type"], "a type name")[:100], _text(body["repr"], "a repr"))
    if extras and tag in extras:
        return extras[tag](body)
    raise WireError(f"a value tagged {tag[:20]!r}")


def loads(line: bytes) -> dict:
    """One message: a JSON object; WireError for anything else."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WireError("a line that is not JSON") from None
    if not isinstance(message, dict):
        raise WireError("a message that is not a JSON object")
    return message


def exception_name(name) -> str:
    """The exception's type name as sent, or 'Exception' when it is not a plain name."""
    return name if isinstance(name, str) and _NAME.match(name) else "Exception"
