"""The recipes: one literate script per lecture topic.

This package finds its recipes and reads their header fields without importing them,
so ``python -m recipes list`` (and every ``--help``) stays instant: TensorFlow is only
imported by a recipe that trains or computes something.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import common
from common.cli import default_batch_size, header_fields, header_lines, runs_recipe
from common.errors import UsageError

RECIPES_DIR = Path(__file__).parent
# The cells several lessons share, written once; a recipe's cell that imports from it
# is printed (by `show`, in the notebooks) as the text of the cells it imports.
LESSON_CELLS = Path(common.__file__).parent / "lesson_cells.py"  # the library's, wherever it is
_SHARED_IMPORT = re.compile(r"^from common\.lesson_cells import (\w+(?:, \w+)*)$", re.M)
COPY_CELL = "(copy this cell)"  # the end of the title line of every cell a student copies
END_TO_END_CELLS = ("Data", "Model", "Training", "Evaluation")  # a training recipe's

# What `show` adds after a training recipe's cells (data, model, training, evaluation):
# the lines that call them, so that the whole of it trains in an empty notebook.
END_TO_END = """\
# %% Train and evaluate
import keras

keras.utils.set_random_seed({seed})  # the same seed gives the same numbers
(x_train, y_train), (x_val, y_val), (x_test, y_test) = {load}(){demonstration}
model = build_model({model_arguments})
model.summary()  # the layers and their parameter counts
history = train(model, x_train, y_train, x_val, y_val{settings}{callbacks},
                verbose=2)  # one line per epoch (1: a progress bar)
scores = evaluate(model, {{"train": (x_train, y_train), "validation": (x_val, y_val),
                          "test": (x_test, y_test)}})
for split, metrics in scores.items():
    print(f"{{split:<10}}", "  ".join(f"{{name}} {{value:.4f}}" for name, value in metrics.items()))
"""

# What `show` adds instead when the recipe has a Variants cell: the slide's comparison,
# each variant trained from the same start and scored side by side.
EACH_VARIANT = """\
# %% Train and evaluate each variant from the same start
import keras
import pandas as pd

(x_train, y_train), (x_val, y_val), (x_test, y_test) = {load}(){subset}{demonstration}
splits = {{"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}}
scores = {{}}
for name, variant in {variants}.items():
    keras.utils.set_random_seed({seed})  # the same seed: the same first weights and batches
    model = build_model(**variant{model_arguments})
    history = train(model, x_train, y_train, x_val, y_val{settings}{callbacks},
                    verbose=0)  # quiet: 1 prints a progress bar per epoch, 2 a line
    scores[name] = {{split: metrics["accuracy"]
                    for split, metrics in evaluate(model, splits).items()}}
    scores[name].update(measure(model, history))  # what the slide says about it
    print(f"{{name}}: {{variant}}, {{len(history.epoch)}} epochs")
model.summary()  # the last variant's layers and their parameter counts

print("accuracy on each split, and the slide's measure:")
print(pd.DataFrame.from_dict(scores, orient="index").to_string(float_format="{{:.4f}}".format))
print(f"One seed; one test example is {{1 / len(y_test):.4f}} of test accuracy, so a "
      "difference of a few examples may be chance (python -m tools compare: paired seeds).")
"""

# A recipe's place in the lecture is its header's "Lecture order" (a number: 10, 20, ...,
# so a new slide's recipe slots in between without renumbering others; no two the same).
# `list`, the README's lecture map (checked against it), the notebooks and the baselines
# all follow it.

# The accuracy baselines a recipe records, from its header's "Baselines" field: entries
# separated by ";", each "TIER DATASET [FLAGS...]", e.g. "fast mnist-5k; full fashion_mnist
# --epochs 20". Tiers: fast (Iris, mnist-5k: offline, minutes), full (Debian's
# Fashion-MNIST), online (full MNIST, fetched once).
BASELINE_TIERS = ("fast", "full", "online")


# The header: the docstring that opens the file, read as text (no parsing of the rest of
# the file, so `list` stays instant, and no `ast`, whose parser is not thread-safe here).
_DOCSTRING = re.compile(r'\A\s*[rRuU]?("""|\'\'\')(.*?)\1', re.S)


# The header's fields (CONTRIBUTING.md), and those every recipe must have. A mistake in
# the header is a one-line error naming the file and the fix, never a recipe silently
# listed last or shown without its topic.
HEADER_FIELDS = ("Title", "Slide topic", "Lecture order", "Baselines", "Dataset", "Run",
                 "Description", "Exercises", "Tests")
REQUIRED_FIELDS = ("Title", "Slide topic", "Lecture order", "Description")


def _header(path: Path) -> dict:
    found = _DOCSTRING.match(path.read_text())
    if not found:
        raise UsageError(f"{path}: the file must open with its header docstring "
                         f"({', '.join(f'{field}:' for field in REQUIRED_FIELDS)} ...; "
                         "CONTRIBUTING.md)")
    fields = header_fields(found.group(2))
    known = {field.lower(): field for field in HEADER_FIELDS}
    for line in header_lines(found.group(2)):
        key, colon, _ = line.partition(":")
        if colon and key.strip().lower() in known:
            continue
        close = difflib.get_close_matches(key.strip().lower(), list(known), n=1, cutoff=0.6)
        raise UsageError(f"{path}: header line '{line.strip()[:60]}' is not 'Field: value' "
                         "with a field of: " + ", ".join(HEADER_FIELDS)
                         + (f" (did you mean '{known[close[0]]}:'?)" if close else ""))
    for field in REQUIRED_FIELDS:
        if field.lower() not in fields:
            raise UsageError(f"{path}: the header has no '{field}:' line (the header is the "
                             "docstring's first lines, up to the first blank line)")
    run = fields.get("run", "")
    if run and not runs_recipe(run, path.stem):
        raise UsageError(f"{path}: 'Run: {run[:60]}' does not run this recipe; write "
                         f"'Run: python -m recipes.{path.stem}'")
    return fields


def _lecture_order(path: Path) -> float:
    value = _header(path)["lecture order"]
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"{path}: 'Lecture order: {value}' is not a number; "
                         "write e.g. 'Lecture order: 75'") from None


def _recipe_files() -> list[Path]:
    return [p for p in RECIPES_DIR.glob("*.py") if not p.stem.startswith("_")]


def recipe_names() -> list[str]:
    """Every recipe, in the lecture's order (each header checked)."""
    places = {}
    for path in _recipe_files():
        order = _lecture_order(path)
        if order in places:
            first, second = sorted((places[order], path))
            raise UsageError(f"{first} and {second} both have 'Lecture order: {order:g}'; "
                             "give the new one a number between its neighbours' (list "
                             "shows them)")
        places[order] = path
    return [places[order].stem for order in sorted(places)]


def baseline_plan() -> dict[str, list[tuple[str, str, list[str]]]]:
    """What `baselines record` records, by tier: (recipe, dataset, flags), in lecture order."""
    plan = {tier: [] for tier in BASELINE_TIERS}
    for name in recipe_names():
        field = recipe_info(name).get("baselines", "")
        for entry in filter(None, (part.split() for part in field.split(";"))):
            tier, dataset, *flags = entry + [""] * (2 - len(entry))
            if tier not in plan or not dataset:
                raise UsageError(f"recipes/{name}.py: 'Baselines: {field}': each entry is "
                                 f"TIER DATASET [FLAGS...], TIER one of {', '.join(plan)}")
            plan[tier].append((name, dataset, flags))
    return plan


def recipe_path(name: str) -> Path:
    if name not in {p.stem for p in _recipe_files()}:
        raise UsageError(f"unknown recipe '{name}'; choose from: {', '.join(recipe_names())}")
    return RECIPES_DIR / f"{name}.py"


def run(name: str, argv=()) -> dict:
    """Run recipe ``name`` in this process with these flags, as ``python -m recipes.NAME
    FLAGS`` does, and return its results (what it writes to results.json). An error is
    raised for the caller to report (``common.cli.console_main`` makes it one line).

    The one way code above the recipes runs one: tools, benchmarks and tests call this,
    never a recipe module's own functions, so that a recipe's text is the lesson's alone."""
    path = recipe_path(name)  # an unknown name fails here, in one line, before any import
    return run_file(path, argv)  # a lesson: it runs from its top, with these flags


def is_lesson(name: str) -> bool:
    """Whether the recipe is written as a lesson (common/lesson.py: its cells run at module
    level, from SETTINGS at its top) rather than around a ``main(argv)`` function."""
    return is_lesson_text(recipe_path(name).read_text())


def is_lesson_text(text: str) -> bool:
    """Whether a recipe's text (the project's, or a student's copy) is a lesson."""
    return re.search(r"^SETTINGS = \{", text, re.M) is not None


def run_file(path, argv=()) -> dict:
    """``run`` for a lesson's file wherever it is (a student's copy of a recipe): it runs
    from its top with these flags; returns its results."""
    from common import lesson

    return lesson.run_file(path, argv)["results"]


def cells(name: str) -> dict:
    """What the recipe's cells to copy define (``build_model``, ``variants``, ``VARIANTS``,
    ``measure``, ...), run from their text as a student pastes them (the shared cells
    written out), and nothing else of the recipe: no training, no flags."""
    return _run_cells(copy_cells(name), f"recipes/{name}.py", name)


def cells_of_text(text: str, where: str) -> dict:
    """``cells`` for a recipe's text (a student's copy's; ``where`` names it in errors)."""
    return _run_cells(_cells_to_copy(inline_shared(text)), where, "copy")


def _run_cells(found: dict[str, str], where: str, name: str) -> dict:
    namespace = {"__name__": f"recipes.{name}:cells"}
    exec(compile("\n\n\n".join(found.values()), f"{where} (its cells to copy)", "exec"),
         namespace)
    return namespace


def recipe_info(name: str) -> dict:
    """A recipe's header fields (title, slide topic, lecture order, baselines, dataset,
    run, description, exercises, tests), keys lower-cased."""
    return _header(recipe_path(name))


def _cells_to_copy(text: str) -> dict[str, str]:
    """The ``# %% TITLE (copy this cell)`` cells of a file's text, by title."""
    cells, current = {}, None
    for line in text.splitlines():
        if line.startswith("# %%"):
            title = line.removeprefix("# %%").strip()
            current = [] if title.endswith(COPY_CELL) else None
            if current is not None:
                cells[title.removesuffix(COPY_CELL).strip()] = current
            continue
        if current is not None:
            current.append(line)
    return {title: "\n".join(lines).strip() for title, lines in cells.items()}


def shared_cells() -> dict[str, str]:
    """common/lesson_cells.py's cells, by the name of the function each defines."""
    return {re.search(r"^def (\w+)\(", body, re.M)[1]: body
            for body in _cells_to_copy(LESSON_CELLS.read_text()).values()}


def inline_shared(text: str) -> str:
    """``text`` with each ``from common.lesson_cells import NAME, ...`` line replaced by
    the text of those cells: what a student reads and pastes is the code itself."""
    if not _SHARED_IMPORT.search(text):
        return text
    shared = shared_cells()

    def cell_text(found):
        unknown = [name for name in found[1].split(", ") if name not in shared]
        if unknown:
            raise UsageError(f"common/lesson_cells.py has no cell defining {unknown[0]}")
        return "\n\n\n".join(shared[name] for name in found[1].split(", "))

    return _SHARED_IMPORT.sub(cell_text, text)


def recipe_text(name: str) -> str:
    """The recipe's source, refused in one line (file and line) when it is not valid
    Python: `show` must not print code that cannot run, nor the notebook build carry it."""
    path = recipe_path(name)
    text = path.read_text()
    try:
        compile(text, str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise UsageError(f"{path}, line {error.lineno}: {error.msg}"
                         + (f": {error.text.strip()[:60]}" if error.text else "")) from None
    return text


# The titles a recipe's cells to copy take (`show` calls them in this way).
COPY_CELL_TITLES = (*END_TO_END_CELLS, "Callbacks", "Variants", "Demonstration")


def copy_cells(name: str) -> dict[str, str]:
    """The recipe's cells to copy, by title (e.g. "Model"), in the recipe's order, with
    the shared cells they import written out."""
    cells = _cells_to_copy(inline_shared(recipe_text(name)))
    for title in cells:
        if title not in COPY_CELL_TITLES:
            raise UsageError(f"recipes/{name}.py: '# %% {title} {COPY_CELL}': a cell to copy "
                             f"is titled one of {', '.join(COPY_CELL_TITLES)}")
    return cells


# A lesson's settings, read from its text (`show` imports nothing): its SETTINGS dict.
MNIST_TRAIN_EXAMPLES = 55_000  # the shown Data cell's: 60,000 less 5,000 for validation


def lesson_settings(name: str) -> dict:
    """The recipe's ``SETTINGS``, as its text writes them."""
    for node in ast.parse(recipe_text(name)).body:
        if isinstance(node, ast.Assign) and \
                [getattr(target, "id", None) for target in node.targets] == ["SETTINGS"]:
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                raise UsageError(f"recipes/{name}.py: SETTINGS holds more than plain values "
                                 "(numbers, strings, True/False, None, lists of them)")
    return {}


def settings(name: str) -> dict[str, int | None]:
    """The recipe's epochs, batch size and training-set size that its SETTINGS has."""
    return {key: value for key, value in lesson_settings(name).items()
            if key in ("epochs", "batch_size", "train_size")}


def _parameters(cell: str, function: str) -> list[str]:
    """The parameter names of ``function``, defined in ``cell``, in its order."""
    for node in ast.parse(cell).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [a.arg for a in (*node.args.args, *node.args.kwonlyargs)]
    return []


def _arguments(cell: str, function: str, values: dict, leave_out=()) -> str:
    """``key=value, ...`` for the parameters of ``function`` (defined in ``cell``) that
    ``values`` gives, in the function's order: how the shown lines call a cell with the
    lesson's settings, so that what is pasted trains what SETTINGS say."""
    return ", ".join(f"{key}={values[key]!r}" for key in _parameters(cell, function)
                     if key in values and key not in leave_out)


def trains_end_to_end(name: str) -> bool:
    """Whether the recipe has data, training and evaluation cells besides its model."""
    return set(END_TO_END_CELLS) <= set(copy_cells(name))


def snippet(name: str) -> str:
    """What ``show`` prints: the recipe's cells to copy, each under its ``# %%`` title,
    and for a training recipe the lines that call them, so that pasted into an empty
    notebook they load the data, build, train and evaluate a model."""
    cells = copy_cells(name)
    if "Model" not in cells:
        raise UsageError(f"recipe '{name}' has no model cell to show")
    text = "\n\n\n".join(f"# %% {title}\n{body}" for title, body in cells.items()) + "\n"
    if not set(END_TO_END_CELLS) <= set(cells):  # read once: trains_end_to_end would read again
        return text
    load = re.search(r"^def (load_\w+)\(", cells["Data"], re.M)[1]
    demonstration = ""
    if "Demonstration" in cells:  # the slide's mechanism, shown on the loaded data
        if not re.search(r"^def demonstrate\(x_train\b", cells["Demonstration"], re.M):
            raise UsageError(f"recipes/{name}.py: the Demonstration cell defines no "
                             "'def demonstrate(x_train, ...):' (what the slide says, shown "
                             "on the training data; it prints what it finds)")
    # The lesson's settings; "auto" is a choice the lesson makes from other settings (the
    # monitor of early stopping): the shown cells keep their own default there.
    values = {key: value for key, value in lesson_settings(name).items() if value != "auto"}
    if "Demonstration" in cells:
        arguments = _arguments(cells["Demonstration"], "demonstrate", values)
        demonstration = (f"\ndemonstrate(x_train{', ' * bool(arguments)}{arguments})"
                         "  # what the slide describes, on real data")
    train_size = values.get("train_size")
    if values.get("batch_size", 0) is None:  # as the run picks it, by the data's size
        values["batch_size"] = default_batch_size(train_size or MNIST_TRAIN_EXAMPLES)
    fit_arguments = _arguments(cells["Training"], "train", values)
    fit_settings = f", {fit_arguments}" if fit_arguments else ""
    seed = values.get("seed", 0)
    if "Variants" not in cells:
        callbacks = ""
        if "Callbacks" in cells:
            callbacks = (",\n                callbacks=[early_stopping("
                         f"{_arguments(cells['Callbacks'], 'early_stopping', values)})]")
        return text + "\n\n" + END_TO_END.format(
            callbacks=callbacks, load=load, settings=fit_settings, demonstration=demonstration,
            seed=seed, model_arguments=_arguments(cells["Model"], "build_model", values))
    # A variants() function gives build_model's arguments by name; a VARIANTS table (the
    # comparison's) gives them under "model", with early stopping's under "early_stopping".
    if not re.search(r"^def measure\(model, history\):", cells["Variants"], re.M):
        raise UsageError(f"recipes/{name}.py: the Variants cell defines no "
                         "'def measure(model, history):' (what the slide says about each "
                         "trained variant, as a dict of numbers)")
    table = re.search(r"^VARIANTS = ", cells["Variants"], re.M)
    subset = (f"\nx_train, y_train = x_train[:{train_size}], y_train[:{train_size}]"
              "  # few, so that the network overfits" if train_size else "")
    # The strengths the variants take from SETTINGS go to variants(), the rest of the
    # model's settings (width, learning rate) to each build_model call.
    strengths = "" if table else _arguments(cells["Variants"], "variants", values)
    model_arguments = _arguments(cells["Model"], "build_model", values,
                                 leave_out=_parameters(cells["Variants"], "variants"))
    return text + "\n\n" + EACH_VARIANT.format(
        load=load, subset=subset, demonstration=demonstration, settings=fit_settings,
        variants="VARIANTS" if table else f"variants({strengths})", seed=seed,
        model_arguments=('["model"]' if table else "")
        + (f", {model_arguments}" if model_arguments else ""),
        callbacks=(',\n                    callbacks=[early_stopping(**variant["early_stopping"])]'
                   '\n                    if "early_stopping" in variant else []'
                   if table else ""))
