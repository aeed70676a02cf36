"""Make every recipe a notebook: ``python notebooks/build.py [NAME ...] [--check] [--library]``.

Each ``recipes/NAME.py`` becomes ``notebooks/NAME.ipynb``. jupytext reads the recipe's
``# %%`` cells (``# %% [markdown]`` ones become Markdown, a ``tags=["parameters"]`` cell
keeps its tag); the header docstring becomes the title cell. The notebook is then
executed as a student would run it (nbclient, in a scratch copy of the notebooks folder,
offline, with the flags of its parameters cell) and written with its outputs.

Its first code cell carries the ``common`` modules the recipe imports and unpacks them
where the project cannot be imported (``library_cell``). ``--library`` rewrites only that
cell, keeping the outputs, after a change to ``common/`` alone. ``--check`` executes
nothing: it exits 1 when a committed notebook's cells differ from what its recipe gives
now (tests/test_notebooks.py runs the same comparison).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import os
import re
import sys
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import recipes  # noqa: E402  (needs ROOT on the path)
from common.cli import Parser, header_fields, positive_int  # noqa: E402
from common.errors import UsageError  # noqa: E402

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
EXECUTION_TIMEOUT = 600  # seconds per cell
LIBRARY = ROOT / "common"
# Where a notebook that runs alone unpacks its copy of the library: beside the notebook.
LIBRARY_FOLDER = "lecture_library"
LIBRARY_CELL_TITLE = "# @title The lecture's library: unpacked beside this notebook when it runs alone"
LIBRARY_CELL = 1  # its place in the notebook: the first code cell, after the title cell


def notebook_path(name: str) -> Path:
    return NOTEBOOKS / f"{name}.ipynb"


def title_cell(name: str, docstring: str) -> str:
    """The recipe's header fields as the notebook's first Markdown cell."""
    header = header_fields(docstring)
    rest = docstring.strip().partition("\n\n")[2].strip()
    lines = [f"# {header.get('title', name)}", "",
             f"**Slide topic:** {header.get('slide topic', '-')}  ",
             f"**Dataset:** {header.get('dataset', '-')}  ",
             f"**From a terminal:** `{header.get('run', f'python -m recipes.{name}')}`", "",
             header.get("description", ""), ""]
    if rest:
        lines += [rest, ""]
    lines += [f"*Made from [`recipes/{name}.py`](../recipes/{name}.py) by "
              "`python notebooks/build.py`: edit the recipe, not this notebook. "
              "It also runs on its own (downloaded alone, or uploaded to Colab or Kaggle): "
              "its first code cell carries the project's library and unpacks it where "
              "the project is not installed.*"]
    return "\n".join(lines)


def library_modules(source: str) -> list[str]:
    """The modules of ``common`` that ``source`` imports, and those they import in turn
    (in functions too), as sorted file names: what a notebook needs of the library."""
    needed, todo = {"__init__"}, [source]
    while todo:
        for node in ast.walk(ast.parse(todo.pop())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "common":
                    names = [alias.name for alias in node.names]
                elif node.module.startswith("common."):
                    names = [node.module.split(".")[1]]
            elif isinstance(node, ast.Import):
                names = [alias.name.split(".")[1] for alias in node.names
                         if alias.name.startswith("common.")]
            for module in names:
                if module not in needed and (LIBRARY / f"{module}.py").is_file():
                    needed.add(module)
                    todo.append((LIBRARY / f"{module}.py").read_text())
    return sorted(f"{module}.py" for module in needed)


def library_cell(recipe_source: str) -> str:
    """The notebook's first code cell: where ``common`` cannot be imported (a notebook
    downloaded alone, or uploaded to a hosted service), it unpacks the copy it carries.

    The copy is a zip of the library modules the recipe needs, written byte for byte the
    same for the same sources (fixed dates, sorted names), so that the staleness check
    sees a change in the library as a change in the notebook.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for module in library_modules(recipe_source):
            info = zipfile.ZipInfo(f"common/{module}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, (LIBRARY / module).read_bytes())
    packed = base64.b85encode(buffer.getvalue()).decode()
    stamp = hashlib.sha256(buffer.getvalue()).hexdigest()[:16]
    lines = [packed[i:i + 96] for i in range(0, len(packed), 96)]
    return "\n".join([
        LIBRARY_CELL_TITLE,
        "# The recipe below imports `common`, this project's small library. Installed (pip) or in",
        "# a clone (one folder up) it is found where it is; otherwise this cell unpacks the copy it",
        f"# carries, {len(buffer.getvalue()):,} bytes zipped, into ./{LIBRARY_FOLDER}/ and imports it from there.",
        "import base64, hashlib, importlib.util, io, json, sys, tempfile, time, zipfile",
        "from pathlib import Path",
        "",
        "",
        "def unpack_lecture_library(packed, stamp, folder):",
        "    if (folder / stamp).is_file():  # unpacked by an earlier run of this notebook",
        "        return",
        "    if folder.exists() and not any(folder.glob('[0-9a-f]' * len(stamp))):",
        "        raise SystemExit(f'{folder} is in the way: it is not a copy of the lecture '",
        "                         'library; rename it, then run this cell again')",
        "    unpacked = Path(tempfile.mkdtemp(prefix=f'.{folder.name}-', dir=folder.parent))",
        "    with zipfile.ZipFile(io.BytesIO(base64.b85decode(''.join(packed.split())))) as z:",
        "        z.extractall(unpacked)",
        "        unpacked_files = {name: hashlib.sha256(z.read(name)).hexdigest() for name in z.namelist()}",
        "    (unpacked / stamp).write_text(json.dumps(unpacked_files))  # what to remove when replaced",
        "    if folder.exists():  # an older copy, unpacked by an earlier version of this notebook",
        "        remove_older_copy(folder.rename(unpacked.with_name(unpacked.name + '-older')), folder)",
        "    unpacked.rename(folder)",
        "",
        "",
        "def remove_older_copy(older, folder):",
        "    # Removes only the files it unpacked, unchanged (and Python's compiled copies of",
        "    # them); anything else, a file added or edited there, is kept in a folder beside it.",
        "    for stamp_file in older.glob('[0-9a-f]' * 16):",
        "        try:",
        "            unpacked_files = json.loads(stamp_file.read_text() or '{}')",
        "        except ValueError:",
        "            unpacked_files = {}",
        "        for name, digest in unpacked_files.items():",
        "            path = older / name",
        "            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:",
        "                path.unlink()",
        "                for compiled in path.parent.glob(f'__pycache__/{path.stem}.*.pyc'):",
        "                    compiled.unlink()",
        "        stamp_file.unlink()",
        "    for inner in sorted(older.rglob('*'), reverse=True):  # the emptied folders",
        "        if inner.is_dir() and not any(inner.iterdir()):",
        "            inner.rmdir()",
        "    if any(older.iterdir()):",
        "        kept = older.rename(folder.with_name(f'{folder.name}-kept-{time.strftime(\"%Y%m%d-%H%M%S\")}'))",
        "        print(f'Updated ./{folder.name}/; your own files from the older copy are in ./{kept.name}/')",
        "    else:",
        "        older.rmdir()",
        "",
        "",
        'LECTURE_LIBRARY = """',
        *lines,
        '"""',
        "if importlib.util.find_spec('common') is None and Path('../common/cli.py').is_file():",
        "    sys.path.append(str(Path('..').resolve()))  # in a clone: the project, one folder up",
        "elif importlib.util.find_spec('common') is None:  # alone: the copy this cell carries",
        f"    unpack_lecture_library(LECTURE_LIBRARY, {stamp!r}, Path({LIBRARY_FOLDER!r}).resolve())",
        f"    sys.path.insert(0, str(Path({LIBRARY_FOLDER!r}).resolve()))",
    ]) + "\n"


def from_recipe(name: str):
    """The notebook of recipe ``name``, without outputs."""
    import jupytext
    import nbformat

    # The cells the recipe imports from common/lesson_cells.py, written out: a notebook
    # shows the code it runs.
    source = recipes.inline_shared(recipes.recipe_text(name))
    notebook = jupytext.reads(source, fmt="py:percent")
    first = notebook.cells[0]
    docstring = ast.literal_eval(first.source) if first.cell_type == "code" else None
    if not isinstance(docstring, str):
        raise SystemExit(f"recipes/{name}.py must open with its header docstring")
    library = nbformat.v4.new_code_cell(library_cell(source))
    # Folded away where the notebook is opened (JupyterLab, Colab): it is not the lesson.
    library.metadata.update({"jupyter": {"source_hidden": True}, "cellView": "form"})
    cells = [nbformat.v4.new_markdown_cell(title_cell(name, docstring))]
    cells.insert(LIBRARY_CELL, library)
    for cell in notebook.cells[1:]:
        tags = cell.metadata.get("tags")
        new = (nbformat.v4.new_markdown_cell if cell.cell_type == "markdown"
               else nbformat.v4.new_code_cell)(cell.source)
        if tags:
            new.metadata["tags"] = list(tags)
        cells.append(new)
    for number, cell in enumerate(cells):
        cell.id = f"{name}-{number}"  # stable ids: a rebuild changes only what changed
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def cells(notebook) -> list[tuple]:
    """What the staleness check compares: each cell's type, source and tags, no outputs."""
    return [(cell.cell_type, cell.source, tuple(cell.metadata.get("tags", ())))
            for cell in notebook.cells]


def stale(name: str) -> str | None:
    """Why ``notebooks/NAME.ipynb`` is out of date with its recipe, or None."""
    import nbformat

    path = notebook_path(name)
    if not path.exists():
        return f"notebooks/{path.name} is missing"
    committed, fresh = cells(nbformat.read(path, as_version=4)), cells(from_recipe(name))
    if committed == fresh:
        return None
    for number, (old, new) in enumerate(zip(committed, fresh)):
        if old != new:
            hint = (" (the library cell: after a change to common/ alone, "
                    "python notebooks/build.py --library)" if number == LIBRARY_CELL else "")
            return f"notebooks/{path.name}: cell {number} differs from recipes/{name}.py{hint}"
    return f"notebooks/{path.name}: {len(committed)} cells, its recipe gives {len(fresh)}"


def quick(notebook):
    """The notebook with ``--quick`` added to its flags, as papermill injects parameters:
    a cell after the parameters cell. For CI, which runs every notebook; the committed
    outputs come from the flags the parameters cell sets. Unchanged where the flags have
    ``--quick`` already, or where the recipe has none (its parameters cell does not
    mention it)."""
    import nbformat

    notebook = nbformat.from_dict(notebook)
    for number, cell in enumerate(notebook.cells):
        if "parameters" in cell.metadata.get("tags", []):
            value = cell.source.rpartition("NOTEBOOK_ARGS = ")[2]
            if '"--quick"' in cell.source and '"--quick"' not in value:
                injected = nbformat.v4.new_code_cell('NOTEBOOK_ARGS = [*NOTEBOOK_ARGS, "--quick"]')
                injected.id = f"{cell.id}-quick"
                injected.metadata["tags"] = ["injected-parameters"]
                notebook.cells.insert(number + 1, injected)
            break
    return notebook


def execute(notebook, timeout: int = EXECUTION_TIMEOUT, alone: bool = False):
    """Run every cell as Jupyter would in notebooks/, in a scratch copy of the project's
    layout (its runs/ folder goes away afterwards); the data is never fetched. ``alone``:
    in an empty folder instead, as a notebook downloaded by itself runs (its first code
    cell unpacks the library there)."""
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = scratch / "notebooks"
        folder.mkdir()
        if not alone:
            for package in ("common", "recipes"):
                (scratch / package).symlink_to(ROOT / package)
        # Offline, and without PYTHONPATH: the notebook finds the project as a clone's would.
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
               "RECIPES_OFFLINE": "1"}
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       record_timing=False,
                       resources={"metadata": {"path": str(folder)}}
                       ).execute(env=env)
        if alone and not (folder / LIBRARY_FOLDER / "common" / "cli.py").is_file():
            raise AssertionError(f"run alone, the notebook did not unpack ./{LIBRARY_FOLDER}/")
    return notebook


# TensorFlow's start-up notices on stderr (INFO level, written before its logging is set
# up, so TF_CPP_MIN_LOG_LEVEL does not reach them): noise in a lesson's outputs. Its
# warnings and errors (W, E) stay.
_TENSORFLOW_NOTICE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|I\d{4} [\d:.]+ +\d+ \S+:\d+\] .*|To enable the following instructions: .*"
    r"rebuild TensorFlow with the appropriate compiler flags\.)\n?", re.M)


def without_tensorflow_notices(notebook):
    """The notebook with TensorFlow's start-up notices taken out of its stderr outputs
    (an output left empty goes); every other output is kept as it is."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = _TENSORFLOW_NOTICE.sub("", output["text"])
                if not output["text"]:
                    continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def build(name: str) -> str:
    import nbformat

    notebook = without_tensorflow_notices(execute(from_recipe(name)))
    nbformat.write(notebook, notebook_path(name))
    return f"{notebook_path(name).relative_to(ROOT)} written"


def refresh_library(name: str) -> str:
    """Rewrite only the library cell of the committed notebook, keeping every output (but
    TensorFlow's start-up notices): in a clone that cell unpacks nothing and prints
    nothing, so a change to ``common/`` alone needs no new run. Refused when anything
    else differs from the recipe."""
    import nbformat

    path = notebook_path(name)
    notebook = nbformat.read(path, as_version=4)
    fresh = from_recipe(name)
    committed_cells, fresh_cells = cells(notebook), cells(fresh)
    del committed_cells[LIBRARY_CELL], fresh_cells[LIBRARY_CELL]
    if committed_cells != fresh_cells:
        return f"notebooks/{path.name}: its recipe changed; rebuild it (without --library)"
    notebook.cells[LIBRARY_CELL].source = fresh.cells[LIBRARY_CELL].source
    nbformat.write(without_tensorflow_notices(notebook), path)
    return f"notebooks/{path.name}: library cell rewritten"


def main(argv=None) -> int:
    parser = Parser(prog="python notebooks/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="recipes to build (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks out of date with their recipe (exit 1)")
    parser.add_argument("--library", action="store_true",
                        help="rewrite only each notebook's library cell, keeping its outputs "
                             "(after a change to common/ alone)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the notebooks without outputs")
    parser.add_argument("--jobs", type=positive_int, default=2,
                        help="notebooks executed at once")
    try:
        args = parser.parse_args(argv)
        names = args.names or recipes.recipe_names()
        for name in names:
            recipes.recipe_text(name)  # an unknown name, or a file that is not Python
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        problems = [problem for problem in map(stale, names) if problem]
        print("\n".join(problems) or f"{len(names)} notebooks match their recipes")
        return 1 if problems else 0
    if args.library:
        lines = [refresh_library(name) for name in names]
        print("\n".join(lines))
        return 1 if any("rebuild" in line for line in lines) else 0
    if args.no_execute:
        import nbformat

        for name in names:
            nbformat.write(from_recipe(name), notebook_path(name))
        return 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for line in pool.map(build, names):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
