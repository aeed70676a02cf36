"""The checks the grader runs: for every exercise, the functions it must define and
what each of them must do.

Every check has a name (printed on its PASS or FAIL line), the inputs it uses (named in
the FAIL line), the expected output and a hint. Expected values come from an
implementation written here or from Keras itself, never from the solutions folder, and
the inputs are random with fixed seeds, or edge cases (large logits, a probability of 0,
all-zero weights): none is an example printed in an exercise's task.

A check calls the student's function through ``call``, which hands it copies of the
inputs (a function that changes its argument cannot change what the check expects) and
turns any exception it raises into this check's failure. Only NumPy is imported here;
the checks that need Keras import it after the student's function has returned, so a
stub that raises at once is graded without waiting for TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

MAX_MESSAGE = 240  # characters of an exception message or value shown in one line


class Mismatch(Exception):
    """A check's verdict on a result: what was expected, what came out; ``hint``, when
    the check recognised the mistake (log10 for ln, the wrong axis, ...), replaces the
    check's general hint, so that the first hint a student reads names the bug."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class StudentRaised(Exception):
    """The student's function raised instead of returning."""


@dataclass(frozen=True)
class Check:
    name: str
    hint: str
    function: Callable  # function(student_module): returns if passed, raises Mismatch


@dataclass
class Exercise:
    name: str
    functions: tuple  # the functions the student's file must define
    checks: list = field(default_factory=list)


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, functions: tuple):
    """Register an exercise; returns the decorator that adds a check to it."""
    EXERCISES[name] = Exercise(name, tuple(functions))

    def check(check_name: str, hint: str):
        def register(function):
            EXERCISES[name].checks.append(Check(check_name, hint, function))
            return function
        return register

    return check


def run_check(check: Check, student) -> tuple[bool, str]:
    """(passed, 'what was expected, what came out; hint: ...')."""
    try:
        check.function(student)
    except (Mismatch, StudentRaised) as failure:
        return False, f"{failure}; hint: {getattr(failure, 'hint', None) or check.hint}"
    except Exception as error:  # a result of a kind the check could not even compare
        return False, (f"the result could not be checked ({type(error).__name__}: "
                       f"{_first_line(error)}); hint: {check.hint}")
    return True, ""


# ---------------------------------------------------------------------------------------
# Calling the student's code and comparing what comes out


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def _private_copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_private_copy(item) for item in value)
    return value


def call(what: str, function, *args, **kwargs):
    """``function(*args, **kwargs)`` on copies of the inputs; an exception (even
    SystemExit) becomes this check's failure, described by ``what`` (the call)."""
    try:
        return function(*_private_copy(args), **_private_copy(kwargs))
    except (Exception, SystemExit) as error:
        message = _first_line(error)
        raise StudentRaised(f"{what} raised {type(error).__name__}"
                            + (f": {message}" if message else "")) from None


def _number(value, digits: int) -> str:
    value = float(value)
    if not math.isfinite(value):
        return str(value)  # 'nan', 'inf', '-inf'
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def show(value, digits: int = 4) -> str:
    """A value on one short line: numbers to ``digits`` significant digits, arrays of more
    than 12 entries cut to their first 6 and their shape."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number(value, digits)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.ndim == 0:
            return _number(value, digits)
        if value.size > 12:
            first = ", ".join(_number(v, digits) for v in value.ravel()[:6])
            return f"[{first}, ...] ({'x'.join(map(str, value.shape))} array)"

        def nested(array):
            if array.ndim == 1:
                return "[" + ", ".join(_number(v, digits) for v in array) + "]"
            return "[" + ", ".join(nested(row) for row in array) + "]"
        return nested(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(show(item, digits) for item in value) + \
            ("," if len(value) == 1 else "") + ")"
    text = " ".join(repr(value).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def as_array(what: str, got, expected: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"{what}: expected an array of shape {expected.shape} "
                       f"({show(expected, 6)}), got {show(got, 6)}") from None


def expect_array(what: str, got, expected, rtol=1e-5, atol=1e-8) -> None:
    """Same shape, every entry close (inf matches inf; NaN never matches)."""
    expected = np.asarray(expected, dtype=np.float64)
    got_array = as_array(what, got, expected)
    if got_array.shape != expected.shape:
        raise Mismatch(f"{what}: expected shape {expected.shape} ({show(expected, 6)}), "
                       f"got shape {got_array.shape} ({show(got_array, 6)})")
    close = np.isclose(got_array, expected, rtol=rtol, atol=atol)
    if close.all():
        return
    if expected.size <= 12:
        raise Mismatch(f"{what}: expected {show(expected, 6)}, got {show(got_array, 6)}")
    wrong = np.argwhere(~close)
    index = tuple(int(i) for i in wrong[0])
    raise Mismatch(f"{what}: at index {index} expected {show(expected[index], 6)}, got "
                   f"{show(got_array[index], 6)} ({len(wrong)} of {expected.size} entries "
                   f"differ)")


def expect_number(what: str, got, expected: float, rtol=1e-5, atol=1e-8) -> None:
    """One number (a Python or NumPy scalar, or a 0-d array), close to ``expected``."""
    try:
        value = float(got) if np.ndim(got) == 0 else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        raise Mismatch(f"{what}: expected one number, {show(float(expected), 6)}, "
                       f"got {show(got, 6)}")
    if not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol) and value != expected:
        raise Mismatch(f"{what}: expected {show(float(expected), 6)}, got {show(value, 6)}")


def diagnose(check, known_mistakes) -> None:
    """Run ``check()``; when it fails, name the first of ``known_mistakes`` -- (the
    result that mistake gives, its hint) -- whose result matches what came out."""
    try:
        check()
    except Mismatch as failure:
        for would_give, hint in known_mistakes:
            try:
                would_give()
            except Mismatch:
                continue
            except Exception:  # a result the mistake's comparison cannot even read
                continue
            raise Mismatch(str(failure), hint=hint) from None
        raise


def expect_equal(what: str, got, expected) -> None:
    if got != expected:
        raise Mismatch(f"{what}: expected {show(expected, 6)}, got {show(got, 6)}")


def expect_raises(what: str, error_type, function, *args) -> None:
    try:
        function(*args)
    except error_type:
        return
    except (Exception, SystemExit) as error:
        raise Mismatch(f"{what}: expected {error_type.__name__}, got "
                       f"{type(error).__name__}: {_first_line(error)}") from None
    raise Mismatch(f"{what}: expected {error_type.__name__}, got no exception")


def random(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------
# Independent implementations the checks compare against


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _logsumexp(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def _sigmoid(a):
    a = np.asarray(a, dtype=np.float64)
    # exp(-|a|) never overflows; both branches are the same function.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


_ACTIVATIONS = {
    "linear": lambda a: np.asarray(a, dtype=np.float64),
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


# ---------------------------------------------------------------------------------------
# 01 neuron

neuron = exercise("neuron", ("neuron_output",))


def _neuron_check(activation, seed):
    def check(student):
        generator = random(seed)
        weights, bias = generator.normal(size=5), float(generator.normal())
        for sign in (1.0, -1.0):  # inputs aligned with the weights, then against them
            x = sign * np.sign(weights) * np.abs(generator.normal(size=5))
            what = (f"neuron_output(x={show(x)}, weights={show(weights)}, "
                    f"bias={show(bias)}, activation='{activation}')")
            got = call(what, student.neuron_output, x, weights, bias, activation)
            expect_number(what, got, _ACTIVATIONS[activation](x @ weights + bias))
    return check


neuron("a linear unit: dot product plus bias",
       hint="output = activation(x . w + b): multiply inputs and weights entry by entry, "
            "sum, add the bias; 'linear' applies no activation")(_neuron_check("linear", 101))
neuron("relu of a positive and a negative weighted sum",
       hint="relu(a) = max(a, 0), applied to a = x . w + b")(_neuron_check("relu", 102))
neuron("sigmoid of a positive and a negative weighted sum",
       hint="sigmoid(a) = 1 / (1 + exp(-a)), applied to a = x . w + b"
       )(_neuron_check("sigmoid", 103))
neuron("tanh of a positive and a negative weighted sum",
       hint="np.tanh(a), applied to a = x . w + b")(_neuron_check("tanh", 104))


@neuron("a batch: one output per row of x",
        hint="with one example per row, x @ weights computes every row's dot product at once")
def neuron_batch(student):
    generator = random(105)
    x, weights = generator.normal(size=(6, 4)), generator.normal(size=4)
    what = f"neuron_output(x=6x4 random rows, weights={show(weights)}, bias=0.25, " \
           "activation='tanh')"
    got = call(what, student.neuron_output, x, weights, 0.25, "tanh")
    expect_array(what, got, np.tanh(x @ weights + 0.25))


@neuron("all-zero weights: only the bias is left",
        hint="x . w is 0 when every weight is 0, so the output is activation(bias)")
def neuron_zero_weights(student):
    x = random(106).normal(size=3)
    for activation, bias in (("sigmoid", 0.8), ("relu", -1.5)):
        what = f"neuron_output(x={show(x)}, weights=[0, 0, 0], bias={bias}, " \
               f"activation='{activation}')"
        got = call(what, student.neuron_output, x, np.zeros(3), bias, activation)
        expect_number(what, got, _ACTIVATIONS[activation](bias))


@neuron("sigmoid of a huge weighted sum (+-800) is 1 or 0, not NaN",
        hint="1 / (1 + exp(-a)) is safe at both ends; exp(a) / (1 + exp(a)) is inf / inf "
             "= NaN for large a")
def neuron_sigmoid_extremes(student):
    for a, expected in ((800.0, 1.0), (-800.0, 0.0)):
        what = f"neuron_output(x=[{a:g}], weights=[1], bias=0, activation='sigmoid')"
        got = call(what, student.neuron_output, np.array([a]), np.array([1.0]), 0.0,
                   "sigmoid")
        expect_number(what, got, expected)


# ---------------------------------------------------------------------------------------
# 02 network width

network_width = exercise("network_width", ("relu_width", "relu_network"))


def _curve_slopes(xs, ys):
    """Slopes left of xs[0], of every segment, and right of xs[-1] (flat outside)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    return np.concatenate([[0.0], np.diff(ys) / np.diff(xs), [0.0]])


def _kinks(xs, ys):
    """The points where the curve's slope changes, and by how much."""
    change = np.diff(_curve_slopes(xs, ys))
    bends = ~np.isclose(change, 0.0, atol=1e-9)
    return np.asarray(xs, dtype=np.float64)[bends], change[bends]


def _curve(xs, ys, x):
    return np.interp(x, xs, ys)  # np.interp is flat outside [xs[0], xs[-1]], as the curve


def _random_curve(seed):
    """A curve with repeated slopes, so some of its points are not kinks."""
    generator = random(seed)
    steps = generator.choice([0.5, 1.0, 1.5], size=9)
    xs = np.round(np.concatenate([[-3.0], -3.0 + np.cumsum(steps)]), 2)
    slopes = generator.choice([-1.0, 0.0, 1.0, 2.0], size=9)
    ys = np.round(np.concatenate([[generator.normal()], np.zeros(9)]), 2)
    ys[1:] = ys[0] + np.cumsum(slopes * steps)
    return xs, np.round(ys, 2)


_WIDTH_CASES = [
    ("a ramp from 0 to 1 between x=0 and x=1 needs two units",
     [0.0, 1.0], [0.0, 1.0]),
    ("a hat (up, then down) needs three units", [-1.0, 0.0, 1.0], [0.0, 2.0, 0.0]),
    ("a point on a straight stretch needs no unit", [0.0, 1.0, 2.0, 3.0],
     [1.0, 2.0, 3.0, 1.0]),
    ("a flat first segment needs no unit where it starts", [0.0, 1.0, 2.0],
     [5.0, 5.0, 3.0]),
    ("a constant curve needs no hidden unit at all", [0.0, 1.0, 2.0], [4.0, 4.0, 4.0]),
]
_WIDTH_HINT = ("the curve is flat outside [xs[0], xs[-1]]; a relu unit bends its output "
               "at one point, so count the points (the ends included) where the slope "
               "changes: slope 0 outside, (ys[i+1]-ys[i])/(xs[i+1]-xs[i]) between")


@network_width("fewest units for the edge-case curves", hint=_WIDTH_HINT)
def width_edge_cases(student):
    for description, xs, ys in _WIDTH_CASES:
        what = f"relu_width(xs={xs}, ys={ys}) ({description})"
        got = call(what, student.relu_width, np.array(xs), np.array(ys))
        expect_equal(what, _as_int(got), len(_kinks(xs, ys)[0]))


@network_width("fewest units for random curves", hint=_WIDTH_HINT)
def width_random(student):
    for seed in (201, 202, 203):
        xs, ys = _random_curve(seed)
        what = f"relu_width(xs={show(xs)}, ys={show(ys)})"
        got = call(what, student.relu_width, xs, ys)
        expect_equal(what, _as_int(got), len(_kinks(xs, ys)[0]))


def _as_int(value):
    """A whole number of any integer type as int; anything else as it is, to be shown."""
    try:
        if float(value) == int(value):
            return int(value)
    except (TypeError, ValueError, OverflowError):
        pass
    return value


def _check_network(student, xs, ys):
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    what = f"relu_network(xs={show(xs)}, ys={show(ys)})"
    got = call(what, student.relu_network, xs, ys)
    if not isinstance(got, (tuple, list)) or len(got) != 4:
        raise Mismatch(f"{what}: expected four arrays (W1, b1, W2, b2), got {show(got)}")
    weights = [np.asarray(array, dtype=np.float32) for array in got]
    width = len(_kinks(xs, ys)[0])
    shapes = [(1, width), (width,), (width, 1), (1,)]
    if [w.shape for w in weights] != shapes:
        raise Mismatch(f"{what}: expected shapes W1 {shapes[0]}, b1 {shapes[1]}, W2 "
                       f"{shapes[2]}, b2 {shapes[3]} ({width} hidden units), got "
                       f"{', '.join(str(w.shape) for w in weights)}")
    import keras  # only now: a stub that raised has been graded without TensorFlow

    model = keras.Sequential([keras.Input(shape=(1,)),
                              keras.layers.Dense(width, activation="relu"),
                              keras.layers.Dense(1)])
    model.set_weights(weights)
    grid = np.linspace(xs[0] - 1.0, xs[-1] + 1.0, 401)
    predicted = keras.ops.convert_to_numpy(model(grid[:, None].astype(np.float32)))[:, 0]
    expect_array(f"the Keras network with your weights on 401 points of "
                 f"[{grid[0]:g}, {grid[-1]:g}] ({what})", predicted, _curve(xs, ys, grid),
                 rtol=1e-4, atol=1e-4)


_NETWORK_HINT = ("one unit per kink k: relu(x - k) (W1 = 1, b1 = -k) with output weight = "
                 "the slope change at k; b2 = ys[0]; Keras keeps W1 as (1, width) and W2 as "
                 "(width, 1)")


@network_width("a Keras network with your weights draws the hat exactly", hint=_NETWORK_HINT)
def network_hat(student):
    _check_network(student, [-1.0, 0.5, 2.0], [1.0, -1.0, 1.0])


@network_width("a Keras network with your weights draws random curves exactly",
               hint=_NETWORK_HINT)
def network_random(student):
    for seed in (204, 205):
        _check_network(student, *_random_curve(seed))


# ---------------------------------------------------------------------------------------
# 03 gradient step

gradient_step = exercise("gradient_step", ("gradient_step",))


def _twin_models(seed, l2=None, zeros=False):
    """Two copies of one small softmax classifier with the same starting weights."""
    import keras

    def build():
        settings = {"kernel_initializer": "zeros"} if zeros else {}
        if l2:
            settings["kernel_regularizer"] = keras.regularizers.L2(l2)
        return keras.Sequential([keras.Input(shape=(4,)),
                                 keras.layers.Dense(8, activation="relu", name="hidden",
                                                    **settings),
                                 keras.layers.Dense(3, activation="softmax", name="output",
                                                    **settings)])

    keras.utils.set_random_seed(seed)
    first, second = build(), build()
    second.set_weights(first.get_weights())
    return first, second


def _compare_with_fit(student, seed, l2=None, zeros=False, learning_rate=0.1):
    import keras

    generator = random(seed)
    x = generator.normal(size=(16, 4)).astype(np.float32)
    y = generator.integers(0, 3, size=16)
    stepped, fitted = _twin_models(seed, l2=l2, zeros=zeros)
    what = (f"gradient_step(model, x, y, learning_rate={learning_rate}) on a 4-8-3 "
            f"classifier{' with L2(' + str(l2) + ') kernels' if l2 else ''}"
            f"{' starting from zero kernels' if zeros else ''}, 16 random examples "
            f"(seed {seed})")
    call(what, student.gradient_step, stepped, x, y, learning_rate)
    fitted.compile(optimizer=keras.optimizers.SGD(learning_rate),
                   loss=keras.losses.SparseCategoricalCrossentropy())
    fitted.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    for mine, theirs in zip(stepped.weights, fitted.weights):
        layer_weight = mine.path.split("/", 1)[-1]  # 'hidden/kernel', without the model
        expect_array(f"{what}: weights '{layer_weight}' after your step vs model.fit's",
                     keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs),
                     rtol=1e-4, atol=1e-6)


_STEP_HINT = ("inside tf.GradientTape: loss = SparseCategoricalCrossentropy()(y, model(x, "
              "training=True)); then grads = tape.gradient(loss, model.trainable_weights) "
              "and w.assign(w - learning_rate * g) for every weight")


@gradient_step("one step on a plain classifier equals model.fit's", hint=_STEP_HINT)
def step_plain(student):
    _compare_with_fit(student, 301)


@gradient_step("one step with an L2 penalty equals model.fit's",
               hint="fit minimizes the cross-entropy plus the penalties: add "
                    "sum(model.losses) to the loss inside the tape")
def step_penalty(student):
    _compare_with_fit(student, 302, l2=0.05)


@gradient_step("one step from all-zero kernels equals model.fit's", hint=_STEP_HINT)
def step_zero_kernels(student):
    _compare_with_fit(student, 303, zeros=True)


# ---------------------------------------------------------------------------------------
# 04 output layer

output_layer = exercise("output_layer", ("output_layer",))

_REGRESSION_LOSSES = ("mse", "meansquarederror", "mae", "meanabsoluteerror")
# task -> (units, accepted activations, accepted losses, hint)
_OUTPUT_LAYERS = {
    "regression": (
        None, ("linear", None), _REGRESSION_LOSSES,
        "one unit per target dimension, no activation ('linear'), mean squared error"),
    "positive regression": (
        None, ("relu", "softplus"), _REGRESSION_LOSSES,
        "outputs that must be positive: relu or softplus, mean squared error"),
    "regression in [0, 1]": (
        None, ("sigmoid",), _REGRESSION_LOSSES,
        "outputs bounded in [0, 1]: sigmoid, mean squared error"),
    "regression in [-1, 1]": (
        None, ("tanh",), _REGRESSION_LOSSES,
        "outputs bounded in [-1, 1]: tanh, mean squared error"),
    "binary classification": (
        1, ("sigmoid",), ("binarycrossentropy",),
        "binary: ONE sigmoid unit (the probability of the positive class), "
        "binary cross-entropy"),
    "multi-label classification": (
        None, ("sigmoid",), ("binarycrossentropy",),
        "multi-label: one sigmoid unit per label (labels are independent yes/no "
        "questions), binary cross-entropy"),
    "multi-class classification": (
        None, ("softmax",), ("categoricalcrossentropy", "sparsecategoricalcrossentropy"),
        "multi-class: one unit per class with softmax (probabilities that sum to 1), "
        "categorical cross-entropy"),
}


def _canonical(name):
    """'Binary_CrossEntropy' and 'binary crossentropy' -> 'binarycrossentropy'."""
    if not isinstance(name, str):
        return name
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _output_layer_check(task, n):
    units, activations, losses, hint = _OUTPUT_LAYERS[task]
    expected_units = n if units is None else units

    def check(student):
        what = f"output_layer('{task}', {n})"
        got = call(what, student.output_layer, task, n)
        shown_losses = [loss for loss in losses if loss in _KERAS_LOSS_NAMES]
        expected = (f"({expected_units}, "
                    f"{' or '.join(repr(a) for a in activations if a is not None)}, "
                    f"{' or '.join(_KERAS_LOSS_NAMES[loss] for loss in shown_losses)})")
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Mismatch(f"{what}: expected (units, activation, loss) = {expected}, "
                           f"got {show(got)}")
        got_units, got_activation, got_loss = got
        if (_as_int(got_units) != expected_units
                or _canonical(got_activation) not in [_canonical(a) for a in activations]
                or _canonical(got_loss) not in losses):
            raise Mismatch(f"{what}: expected {expected}, got {show(tuple(got))}")

    return check, hint


# How the expected loss is shown (the other accepted spellings are not listed).
_KERAS_LOSS_NAMES = {
    "mse": "'mse'",
    "binarycrossentropy": "'binary_crossentropy'",
    "categoricalcrossentropy": "'categorical_crossentropy'",
    "sparsecategoricalcrossentropy": "'sparse_categorical_crossentropy'",
}

for _seed, _task in enumerate(_OUTPUT_LAYERS, start=401):
    # Binary means two classes, and one output unit: the check that catches two units.
    _n = 2 if _task == "binary classification" else int(random(_seed).integers(2, 10))
    _check, _hint = _output_layer_check(_task, _n)
    _counted = ("labels" if "label" in _task else "classes" if "class" in _task
                else "outputs")
    output_layer(f"{_task} with {_n} {_counted}",
                 hint=_hint)(_check)


@output_layer("an unknown task raises ValueError",
              hint="raise ValueError(f'unknown task {task!r}') for a task not in the list, "
                   "instead of guessing")
def output_layer_unknown(student):
    expect_raises("output_layer('clustering', 3)", ValueError, student.output_layer,
                  "clustering", 3)


# ---------------------------------------------------------------------------------------
# 05 softmax

softmax = exercise("softmax", ("softmax",))
_STABLE_HINT = ("exp of a large logit overflows to inf and of a very negative one to 0 "
                "(then 0/0); subtract each row's largest logit first: softmax(z) = "
                "softmax(z - max(z))")


@softmax("one vector of random logits",
         hint="softmax(z)_i = exp(z_i) / sum_j exp(z_j)")
def softmax_vector(student):
    z = random(501).normal(scale=3.0, size=6)
    what = f"softmax({show(z)})"
    expect_array(what, call(what, student.softmax, z), _softmax(z))


@softmax("a batch: one softmax per row",
         hint="normalize over the last axis only: sum(..., axis=-1, keepdims=True), and "
              "take the max the same way")
def softmax_rows(student):
    z = random(502).normal(scale=2.0, size=(4, 5))
    what = f"softmax(z), z = 4x5 random logits {show(z)}"
    got = call(what, student.softmax, z)
    diagnose(lambda: expect_array(what, got, _softmax(z)), _softmax_axis_mistakes(z, got))


_AXIS_HINT = ("you normalized over axis 0 (down the columns, across examples); each ROW is "
              "one example: take the max and the sum over the last axis, axis=-1, "
              "keepdims=True")


def _softmax_axis_mistakes(z, got):
    columns = _softmax(np.asarray(z).T).T  # one softmax per column: axis 0
    return [(lambda: expect_array("", got, columns), _AXIS_HINT)]


@softmax("large logits give probabilities, not NaN", hint=_STABLE_HINT)
def softmax_large(student):
    z = np.array([800.0, 802.0, 801.0, 799.0])
    what = f"softmax({show(z)})"
    expect_array(what, call(what, student.softmax, z), _softmax(z))


@softmax("very negative logits give probabilities, not NaN", hint=_STABLE_HINT)
def softmax_negative(student):
    z = np.array([-900.0, -901.0, -903.0])
    what = f"softmax({show(z)})"
    expect_array(what, call(what, student.softmax, z), _softmax(z))


@softmax("equal logits give equal probabilities",
         hint="exp(c) / (4 exp(c)) = 1/4 for every entry")
def softmax_equal(student):
    z = np.full(4, 2.5)
    what = f"softmax({show(z)})"
    expect_array(what, call(what, student.softmax, z), np.full(4, 0.25))


@softmax("every row of a batch with wide-ranging logits sums to 1", hint=_STABLE_HINT)
def softmax_sums(student):
    z = random(503).normal(scale=300.0, size=(8, 10))
    what = "softmax(z), z = 8x10 random logits with standard deviation 300"
    expected = _softmax(z)
    got = as_array(what, call(what, student.softmax, z), expected)
    if got.shape != expected.shape:
        expect_array(what, got, expected)  # says which shape was expected
    diagnose(lambda: expect_array(f"the row sums of {what}", got.sum(axis=-1), np.ones(8)),
             [(lambda: expect_array("", got.sum(axis=0), np.ones(10)), _AXIS_HINT)])


@softmax("the input array is left unchanged",
         hint="z -= z.max() changes the caller's array; write z = z - z.max(...) instead")
def softmax_input_unchanged(student):
    z = random(504).normal(size=5)
    original = z.copy()
    try:
        student.softmax(z)  # the caller's own array, on purpose
    except (Exception, SystemExit) as error:
        raise StudentRaised(f"softmax({show(original)}) raised {type(error).__name__}: "
                            f"{_first_line(error)}") from None
    expect_array(f"z after softmax(z) with z = {show(original)}", z, original, rtol=0,
                 atol=0)


# ---------------------------------------------------------------------------------------
# 06 cross-entropy from probabilities

cross_entropy = exercise("cross_entropy", ("cross_entropy", "mean_cross_entropy"))


def _cross_entropy(y_true, y_prob):
    y_true, y_prob = np.asarray(y_true, float), np.asarray(y_prob, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y_true > 0, y_true * np.log(y_prob), 0.0)
    return -terms.sum(axis=-1)


def _random_probabilities(generator, shape):
    return generator.dirichlet(np.ones(shape[-1]), size=shape[:-1] or None)


_LOG_BASES = ((np.log10, "log10", "ln 10 = 2.303"), (np.log2, "log2", "ln 2 = 0.693"))


def _log_base_mistakes(what, got, targets, probs, mean=False):
    """The results of a cross-entropy written with log10 or log2 instead of ln."""
    mistakes = []
    for log, name, factor in _LOG_BASES:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(np.asarray(targets) > 0, np.asarray(targets) * log(probs), 0.0)
        value = -terms.sum(axis=-1)
        value = value.mean() if mean else value
        mistakes.append((
            lambda value=value: expect_array(what, got, value),
            f"you used np.{name}: cross-entropy uses the natural log, np.log; np.{name} "
            f"gives the loss divided by {factor}"))
    return mistakes


def _expect_cross_entropy(what, got, targets, probs, mean=False):
    expected = _cross_entropy(targets, probs)
    expected = expected.mean() if mean else expected
    compare = expect_number if np.ndim(expected) == 0 else expect_array
    diagnose(lambda: compare(what, got, float(expected) if np.ndim(expected) == 0
                             else expected),
             _log_base_mistakes(what, got, targets, probs, mean))


@cross_entropy("one example, one-hot target",
               hint="J = -sum_k y_k log(p_k) with the natural log (np.log), which is "
                    "-log(probability of the true class) for a one-hot y")
def ce_one_example(student):
    generator = random(601)
    probs = _random_probabilities(generator, (5,))
    target = np.eye(5)[3]
    what = f"cross_entropy({show(target)}, {show(probs)})"
    _expect_cross_entropy(what, call(what, student.cross_entropy, target, probs), target,
                          probs)


@cross_entropy("a batch: one loss per example",
               hint="sum over the classes only (axis=-1), so a batch of N examples gives "
                    "N losses")
def ce_batch(student):
    generator = random(602)
    probs = _random_probabilities(generator, (6, 4))
    targets = np.eye(4)[generator.integers(0, 4, size=6)]
    what = "cross_entropy(targets, probs) for 6 random examples of 4 classes"
    _expect_cross_entropy(what, call(what, student.cross_entropy, targets, probs),
                          targets, probs)


@cross_entropy("a soft target (not one-hot)",
               hint="the formula sums over every class, -sum_k y_k log(p_k); do not pick "
                    "out only the class with the largest y_k")
def ce_soft_target(student):
    probs = _random_probabilities(random(603), (3,))
    target = np.array([0.1, 0.7, 0.2])
    what = f"cross_entropy({show(target)}, {show(probs)})"
    _expect_cross_entropy(what, call(what, student.cross_entropy, target, probs), target,
                          probs)


@cross_entropy("a probability of 0 on a class the target gives 0",
               hint="terms with y_k = 0 contribute 0 (0 * log 0 counts as 0, but NumPy "
                    "gives 0 * -inf = NaN): take the log only where y_k > 0, e.g. with "
                    "np.where")
def ce_zero_probability_elsewhere(student):
    target, probs = np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.0, 0.3, 0.5, 0.2])
    what = f"cross_entropy({show(target)}, {show(probs)})"
    expect_number(what, call(what, student.cross_entropy, target, probs), -math.log(0.5))


@cross_entropy("a probability of 0 on the true class: the loss is infinite",
               hint="-log(0) is infinite: return inf (np.log(0.0) is -inf), do not clip "
                    "the probability as Keras does")
def ce_zero_probability_true_class(student):
    target, probs = np.array([0.0, 1.0, 0.0]), np.array([0.6, 0.0, 0.4])
    what = f"cross_entropy({show(target)}, {show(probs)})"
    expect_number(what, call(what, student.cross_entropy, target, probs), math.inf)


@cross_entropy("the mean over a dataset",
               hint="L = (1/N) sum_i J_i: the mean of the per-example losses (divide by "
                    "the N examples, not by N times the number of classes)")
def ce_mean(student):
    generator = random(604)
    probs = _random_probabilities(generator, (7, 3))
    targets = np.eye(3)[generator.integers(0, 3, size=7)]
    what = "mean_cross_entropy(targets, probs) for 7 random examples of 3 classes"
    _expect_cross_entropy(what, call(what, student.mean_cross_entropy, targets, probs),
                          targets, probs, mean=True)


# ---------------------------------------------------------------------------------------
# 07 cross-entropy from logits

cross_entropy_logits = exercise("cross_entropy_logits", ("cross_entropy_from_logits",))
_LOGITS_HINT = ("-log softmax(z)_y = logsumexp(z) - z_y, with logsumexp(z) = m + "
                "log(sum(exp(z - m))) and m = max(z): no exp overflows and no log(0)")


def _logits_check(what_inputs, labels, logits):
    def check(student):
        what = f"cross_entropy_from_logits({what_inputs})"
        got = call(what, student.cross_entropy_from_logits, labels, logits)
        expected = _logsumexp(logits) - logits[np.arange(len(labels)), labels]
        expect_array(what, got, expected)
    return check


_generator = random(701)
_LOGITS = _generator.normal(scale=2.0, size=(6, 4))
_LABELS = _generator.integers(0, 4, size=6)
cross_entropy_logits(
    "random logits and labels",
    hint="the loss of example i is -log(softmax(logits[i])[labels[i]]); pick each row's own "
         "label with logits[np.arange(N), labels]"
)(_logits_check(f"labels={show(_LABELS)}, logits=6x4 random", _LABELS, _LOGITS))
cross_entropy_logits("large logits give finite losses", hint=_LOGITS_HINT)(_logits_check(
    "labels=[0, 2], logits=[[700, 0, -700], [700, 0, -700]]", np.array([0, 2]),
    np.array([[700.0, 0.0, -700.0], [700.0, 0.0, -700.0]])))
cross_entropy_logits("very negative logits give finite losses", hint=_LOGITS_HINT)(
    _logits_check("labels=[1], logits=[[-800, -805, -790]]", np.array([1]),
                  np.array([[-800.0, -805.0, -790.0]])))
cross_entropy_logits(
    "all-zero logits: every loss is log(number of classes)",
    hint="equal logits mean equal probabilities 1/K, so the loss is log K"
)(_logits_check("labels=[0, 2, 4], logits=3x5 zeros", np.array([0, 2, 4]), np.zeros((3, 5))))


# ---------------------------------------------------------------------------------------
# 08 lp norm

lp_norm = exercise("lp_norm", ("lp_norm",))


def _lp_norm_check(p, z_description, z):
    def check(student):
        what = f"lp_norm({z_description}, p={p})"
        expected = float((np.abs(z) ** p).sum() ** (1.0 / p))
        expect_number(what, call(what, student.lp_norm, z, p), expected)
    return check


_Z = np.round(random(801).normal(scale=2.0, size=7), 3)
lp_norm("l1 norm of a vector with negative entries",
        hint="||z||_1 = sum |z_i|: take absolute values")(_lp_norm_check(1, show(_Z), _Z))
lp_norm("l2 norm", hint="||z||_2 = sqrt(sum z_i^2)")(_lp_norm_check(2, show(_Z), _Z))
lp_norm("l3 norm",
        hint="||z||_p = (sum |z_i|^p)^(1/p); for odd p the absolute value matters"
        )(_lp_norm_check(3, show(_Z), _Z))
lp_norm("a p that is not a whole number (p = 1.5)",
        hint="(sum |z_i|^p)^(1/p) works for any p >= 1")(_lp_norm_check(1.5, show(_Z), _Z))
_KERNEL = np.round(random(802).normal(size=(3, 4)), 3)
lp_norm("a 3x4 kernel counts as one vector of its 12 entries",
        hint="sum over every entry (np.sum without an axis); np.linalg.norm(matrix, 2) is "
             "a different (matrix) norm")(_lp_norm_check(2, "3x4 random kernel", _KERNEL))


@lp_norm("the zero vector has norm 0",
         hint="every |z_i|^p is 0, and 0^(1/p) is 0")
def lp_norm_zero(student):
    for p in (1, 2, 3):
        what = f"lp_norm([0, 0, 0, 0], p={p})"
        expect_number(what, call(what, student.lp_norm, np.zeros(4), p), 0.0)


# ---------------------------------------------------------------------------------------
# 09 the penalty Keras adds

keras_penalty = exercise("keras_penalty", ("keras_penalty",))


def _keras_losses(weights, l1, l2) -> float:
    """sum(model.losses) of a Dense network with L1L2(l1, l2) on every kernel."""
    import keras

    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2)
    layers = [keras.layers.Dense(kernel.shape[1], kernel_regularizer=regularizer)
              for kernel, _ in weights]
    model = keras.Sequential([keras.Input(shape=(weights[0][0].shape[0],)), *layers])
    model.set_weights([array.astype(np.float32) for pair in weights for array in pair])
    return float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))


def _random_network(seed, kernel_scale=1.0, bias_scale=0.5):
    generator = random(seed)
    return [(kernel_scale * generator.normal(size=(4, 8)), bias_scale * generator.normal(size=8)),
            (kernel_scale * generator.normal(size=(8, 3)), bias_scale * generator.normal(size=3))]


def _penalty_check(description, seed, l1, l2, **scales):
    def check(student):
        weights = _random_network(seed, **scales)
        what = f"keras_penalty({description}, l1={l1:g}, l2={l2:g})"
        got = call(what, student.keras_penalty, weights, l1, l2)
        what += " vs sum(model.losses)"
        diagnose(lambda: expect_number(what, got, _keras_losses(weights, l1, l2),
                                       rtol=1e-5, atol=1e-7),
                 _penalty_mistakes(what, got, weights, l1, l2))
    return check


def _penalty_mistakes(what, got, weights, l1, l2):
    """The results of the usual wrong penalties, each with the hint that names it."""
    kernels = [np.asarray(kernel, dtype=np.float64) for kernel, _ in weights]
    l1_term = sum(np.abs(k).sum() for k in kernels)
    squares = sum((k ** 2).sum() for k in kernels)
    norms = sum(np.sqrt((k ** 2).sum()) for k in kernels)
    mistakes = {
        "your L2 term lacks its factor: Keras' L2(l2) adds l2 * sum(w**2), the squares "
        "multiplied by l2": l1 * l1_term + squares,
        "your L2 term has a factor 1/2 that Keras does not use: L2(l2) adds l2 * sum(w**2)":
            l1 * l1_term + l2 / 2 * squares,
        "Keras' L2(l2) adds l2 * sum(w**2), the SQUARED l2 norm, not l2 * ||w||_2 as the "
        "slide's formula suggests": l1 * l1_term + l2 * norms,
    }
    return [(lambda value=value: expect_number(what, got, value, rtol=1e-5, atol=1e-7), hint)
            for hint, value in mistakes.items() if l2 and not math.isclose(
                value, l1 * l1_term + l2 * squares, rel_tol=1e-3)]


keras_penalty("L1L2 on a random 4-8-3 network equals sum(model.losses)",
              hint="L1L2(l1, l2) adds l1 * sum(|w|) + l2 * sum(w**2) over every kernel"
              )(_penalty_check("a random 4-8-3 network", 901, 0.01, 0.001))
keras_penalty("L2 alone: the squared norm, not the norm",
              hint="Keras' L2(l2) adds l2 * sum(w**2), the SQUARED l2 norm, not l2 * ||w||_2 "
                   "as the slide's formula suggests"
              )(_penalty_check("a random 4-8-3 network", 902, 0.0, 0.01))
keras_penalty("L1 alone",
              hint="L1(l1) adds l1 * sum(|w|) over the kernels' entries"
              )(_penalty_check("a random 4-8-3 network", 903, 0.02, 0.0))
keras_penalty("biases are not penalized",
              hint="kernel_regularizer penalizes kernels only: the bias of each "
                   "(kernel, bias) pair adds nothing"
              )(_penalty_check("zero kernels, large random biases", 904, 0.01, 0.001,
                               kernel_scale=0.0, bias_scale=10.0))


# ---------------------------------------------------------------------------------------
# 10 L1 vs L2: sparsity

l1_vs_l2 = exercise("l1_vs_l2", ("l1_weight", "l2_weight", "near_zero_fraction"))
_L1_HINT = ("for w > 0 the derivative 2(w - a) + alpha is 0 at w = a - alpha/2 (a mirror "
            "image for w < 0); when |a| <= alpha/2 neither applies and w = 0: "
            "w = sign(a) * max(|a| - alpha/2, 0)")
_L2_HINT = "the derivative 2(w - a) + 2 beta w is 0 at w = a / (1 + beta)"


@l1_vs_l2("L1: the best weight for random targets", hint=_L1_HINT)
def l1_random(student):
    a = np.round(random(1001).normal(size=8), 3)
    what = f"l1_weight(a={show(a)}, alpha=0.8)"
    expect_array(what, call(what, student.l1_weight, a, 0.8),
                 np.sign(a) * np.maximum(np.abs(a) - 0.4, 0.0))


@l1_vs_l2("L1 puts every weight with |a| <= alpha/2 at exactly 0", hint=_L1_HINT)
def l1_zeros(student):
    a = np.array([0.3, -0.25, 0.4, -0.05, 0.0])
    what = f"l1_weight(a={show(a)}, alpha=0.8)"
    expect_array(what, call(what, student.l1_weight, a, 0.8), np.zeros(5), rtol=0, atol=0)


@l1_vs_l2("L2: the best weight for random targets", hint=_L2_HINT)
def l2_random(student):
    a = np.round(random(1002).normal(size=8), 3)
    what = f"l2_weight(a={show(a)}, beta=0.8)"
    expect_array(what, call(what, student.l2_weight, a, 0.8), a / 1.8)


@l1_vs_l2("L2 shrinks small weights but never to 0", hint=_L2_HINT)
def l2_never_zero(student):
    a = np.array([1e-3, -0.2, 5.0])
    what = f"l2_weight(a={show(a)}, beta=10)"
    expect_array(what, call(what, student.l2_weight, a, 10.0), a / 11.0, rtol=1e-9, atol=0)


@l1_vs_l2("no penalty (alpha = beta = 0) leaves the weights as they are",
          hint="with alpha = 0 the best w is a itself; the same for beta = 0")
def no_penalty(student):
    a = np.round(random(1003).normal(size=5), 3)
    for name in ("l1_weight", "l2_weight"):
        what = f"{name}(a={show(a)}, {'alpha' if name == 'l1_weight' else 'beta'}=0)"
        expect_array(what, call(what, getattr(student, name), a, 0.0), a)


@l1_vs_l2("fraction of near-zero weights",
          hint="the fraction of entries with |w| strictly below the threshold: "
               "np.mean(np.abs(w) < threshold)")
def near_zero(student):
    w = np.array([0.0, 5e-4, -2e-4, 0.3, -1e-3, 2e-3])
    what = f"near_zero_fraction({show(w)})"
    expect_number(what, call(what, student.near_zero_fraction, w), 0.5)
    kernel = np.array([[0.05, -0.2], [0.09, 0.1]])
    what = f"near_zero_fraction({show(kernel)}, threshold=0.1)"
    expect_number(what, call(what, student.near_zero_fraction, kernel, threshold=0.1), 0.5)


@l1_vs_l2("at equal strength, L1 leaves many weights at 0 and L2 none",
          hint="L1's pull towards 0 does not shrink with w, so small weights reach 0; L2's "
               "pull is proportional to w and fades before w gets there")
def sparsity(student):
    a = random(1004).normal(scale=0.5, size=1000)
    what = ("(near_zero_fraction(l1_weight(a, 0.5)), near_zero_fraction(l2_weight(a, 0.5)))"
            " for 1,000 random a")
    got = (call(what, student.near_zero_fraction, call(what, student.l1_weight, a, 0.5)),
           call(what, student.near_zero_fraction, call(what, student.l2_weight, a, 0.5)))
    expected = (float(np.mean(np.abs(np.sign(a) * np.maximum(np.abs(a) - 0.25, 0)) < 1e-3)),
                float(np.mean(np.abs(a / 1.5) < 1e-3)))
    expect_array(what, [float(value) for value in got], expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------------------
# 11 dropout

dropout = exercise("dropout", ("dropout",))


def _dropout(student, x, rate, seed, training=True):
    what = f"dropout(x, rate={rate}, rng=np.random.default_rng({seed}), training={training})"
    got = call(what, student.dropout, x, rate, np.random.default_rng(seed), training)
    return what, as_array(what, got, x)


@dropout("inference (training=False) returns x unchanged",
         hint="dropout only acts while training; with inverted dropout inference needs no "
              "rescaling, so return x as it is")
def dropout_inference(student):
    x = random(1101).normal(size=(5, 4))
    what, got = _dropout(student, x, 0.5, 0, training=False)
    expect_array(what + ", x = 5x4 random", got, x, rtol=0, atol=0)


@dropout("rate 0 keeps every entry, unchanged",
         hint="with rate 0 nothing is dropped and 1 / (1 - 0) = 1")
def dropout_rate_zero(student):
    x = random(1102).normal(size=(5, 4))
    what, got = _dropout(student, x, 0.0, 1)
    expect_array(what + ", x = 5x4 random", got, x)


@dropout("each entry is dropped with probability rate",
         hint="rate is the probability of DROPPING an entry: keep it where "
              "rng.random(x.shape) >= rate")
def dropout_fraction(student):
    x = np.ones((100, 100))
    what, got = _dropout(student, x, 0.2, 2)
    fraction = float(np.mean(got == 0))
    if got.shape != x.shape or not 0.17 <= fraction <= 0.23:
        raise Mismatch(f"fraction of zeros in {what}, x = 100x100 ones: expected about "
                       f"0.2 (0.17 to 0.23), got {fraction:.3f}"
                       + ("" if got.shape == x.shape else f" (output shape {got.shape})"))


@dropout("kept entries are scaled by 1 / (1 - rate)",
         hint="inverted dropout divides what it keeps by (1 - rate), so that each output's "
              "expected value equals its input")
def dropout_scaling(student):
    x = random(1103).normal(size=(20, 30))
    what, got = _dropout(student, x, 0.25, 3)
    expect_array(what + " shape", np.array(got.shape), np.array(x.shape))
    kept = got != 0
    if not kept.any():
        raise Mismatch(f"{what}, x = 20x30 random: expected about 75% of the entries kept "
                       "(x / 0.75), got every entry 0")
    # Where the output is 0 the entry was dropped; everywhere else it must be x / 0.75.
    what = f"{what}, x = 20x30 random, where it is not 0"
    diagnose(lambda: expect_array(what, got, np.where(kept, x / 0.75, 0.0)),
             [(lambda: expect_array(what, got, np.where(kept, x * 0.75, 0.0)),
               _TIMES_KEEP_HINT)])


@dropout("the mean output equals the mean input",
         hint="scale the kept entries by 1 / (1 - rate): with rate 0.5 they double")
def dropout_mean(student):
    x = np.ones((200, 100))
    what, got = _dropout(student, x, 0.5, 4)
    mean = float(np.mean(got))
    if not 0.97 <= mean <= 1.03:
        times_keep = 0.22 <= mean <= 0.28  # kept entries times 0.5, not divided by it
        raise Mismatch(f"mean of {what}, x = 200x100 ones: expected about 1 (0.97 to "
                       f"1.03), got {mean:.3f}", hint=_TIMES_KEEP_HINT if times_keep else None)


_TIMES_KEEP_HINT = ("you multiplied the kept entries by (1 - rate); inverted dropout "
                    "DIVIDES them by it, x * mask / (1 - rate), so that each output's "
                    "expected value equals its input")


@dropout("the mask comes from the rng given",
         hint="draw with the rng argument (rng.random(x.shape)), not np.random: the same "
              "seed must give the same mask, another seed another mask")
def dropout_reproducible(student):
    x = np.ones((10, 10))
    what, first = _dropout(student, x, 0.5, 7)
    _, again = _dropout(student, x, 0.5, 7)
    _, other = _dropout(student, x, 0.5, 8)
    expect_array(f"{what} called twice, x = 10x10 ones (the second call vs the first)",
                 again, first, rtol=0, atol=0)
    if np.array_equal(first, other):
        raise Mismatch(f"{what} vs the same with seed 8: expected different masks, got the "
                       "same")


@dropout("a 3-D batch keeps its shape",
         hint="draw one mask entry per entry of x: rng.random(x.shape)")
def dropout_shape(student):
    x = np.ones((4, 5, 6))
    what, got = _dropout(student, x, 0.3, 5)
    expect_array(f"shape of {what}, x = 4x5x6 ones", np.array(got.shape), np.array(x.shape))


@dropout("x itself is left unchanged",
         hint="x *= mask changes the caller's array; compute x * mask / (1 - rate) into a "
              "new one")
def dropout_input_unchanged(student):
    x = random(1104).normal(size=(6, 5))
    original = x.copy()
    try:
        student.dropout(x, 0.5, np.random.default_rng(6), True)  # the caller's own array
    except (Exception, SystemExit) as error:
        raise StudentRaised(f"dropout(x, 0.5, rng, True) raised {type(error).__name__}: "
                            f"{_first_line(error)}") from None
    expect_array("x after dropout(x, 0.5, rng, True), x = 6x5 random", x, original, rtol=0,
                 atol=0)


# ---------------------------------------------------------------------------------------
# 12 early stopping

early_stopping = exercise("early_stopping", ("early_stopping_epochs",))


class _WeightsAreEpochs:
    """What EarlyStopping uses of a model, with 'weights' that are the epoch number: the
    callback saves and restores them as it would real weights, so the restored value says
    which epoch's weights a real model would end with."""

    def __init__(self):
        self.epoch, self.restored, self.stop_training = 0, None, False

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights[0]


def _keras_early_stopping(val_losses, patience, min_delta=0.0):
    """(epochs run, epoch whose weights the model ends with), 1-based, by Keras itself,
    driven epoch by epoch exactly as model.fit drives it."""
    import keras

    model = _WeightsAreEpochs()
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                             min_delta=min_delta, restore_best_weights=True)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, loss in enumerate(val_losses):
        model.epoch = epoch
        callback.on_epoch_end(epoch, {"val_loss": float(loss)})
        if model.stop_training:
            break
    callback.on_train_end()
    final = epoch if model.restored is None else model.restored
    return epoch + 1, final + 1


def _early_stopping_case(student, val_losses, patience, min_delta=None):
    arguments = f"{[float(v) for v in val_losses]}, patience={patience}" + (
        "" if min_delta is None else f", min_delta={min_delta}")
    what = f"early_stopping_epochs({arguments})"
    extra = () if min_delta is None else (min_delta,)
    got = call(what, student.early_stopping_epochs, list(val_losses), patience, *extra)
    if isinstance(got, (tuple, list)) and len(got) == 2:
        got = tuple(_as_int(value) for value in got)
    expected = _keras_early_stopping(val_losses, patience, min_delta or 0.0)
    expect_equal(what + " (epochs run, epoch restored)", got, expected)


_EARLY_HINT = ("an epoch improves when its loss < best - min_delta; the count of epochs "
               "without improvement restarts at each improvement and training stops when it "
               "reaches patience (never after the first epoch); the best epoch's weights are "
               "restored; epochs count from 1")


@early_stopping("random validation curves, patience 0 to 4", hint=_EARLY_HINT)
def early_random(student):
    generator = random(1201)
    for _ in range(25):
        length = int(generator.integers(8, 16))
        t = np.arange(length)
        minimum = generator.uniform(2, length - 2)
        curve = 0.3 + 0.01 * (t - minimum) ** 2 + generator.normal(scale=0.03, size=length)
        _early_stopping_case(student, np.round(curve, 3), int(generator.integers(0, 5)))


@early_stopping("a tie with the best loss is not an improvement",
                hint="improvement means strictly lower: an equal loss counts as an epoch "
                     "without improvement, and the FIRST epoch with the best loss is kept")
def early_tie(student):
    _early_stopping_case(student, [0.5, 0.4, 0.4, 0.4, 0.3], patience=2)


@early_stopping("training that never stops early still ends with the best epoch's weights",
                hint="when patience is never reached, training runs every epoch, and Keras "
                     "still restores the best epoch's weights at the end")
def early_never_stops(student):
    _early_stopping_case(student, [0.9, 0.7, 0.6, 0.65, 0.66], patience=5)


@early_stopping("patience 0 stops at the first epoch without improvement",
                hint="with patience 0, the first epoch that does not improve stops training")
def early_patience_zero(student):
    _early_stopping_case(student, [0.5, 0.45, 0.6, 0.4], patience=0)


@early_stopping("improvements smaller than min_delta do not count",
                hint="with min_delta, an epoch improves only if loss < best - min_delta; "
                     "smaller gains count as epochs without improvement")
def early_min_delta(student):
    _early_stopping_case(student, [1.0, 0.996, 0.993, 0.98, 0.97], patience=2,
                         min_delta=0.01)


@early_stopping("a loss that only rises: the first epoch is restored", hint=_EARLY_HINT)
def early_rising(student):
    _early_stopping_case(student, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7], patience=3)
