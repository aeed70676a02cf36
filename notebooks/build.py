"""Make every recipe a notebook: ``python notebooks/build.py [NAME ...] [--check] [--no-execute]``.

Each ``recipes/NAME.py`` becomes ``notebooks/NAME.ipynb``. jupytext reads the recipe's
``# %%`` cells (``# %% [markdown]`` ones become Markdown, a ``tags=["parameters"]`` cell
keeps its tag); the header docstring becomes the title cell. The notebook is then
executed as a student would run it (nbclient, in a scratch copy of the notebooks folder,
offline, with the flags of its parameters cell) and written with its outputs.

``--check`` executes nothing: it exits 1 when a committed notebook's cells differ from
what its recipe gives now (tests/test_notebooks.py runs the same comparison).
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
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
              "On a hosted notebook service (Colab, Kaggle), run "
              "`%pip install git+URL` in a first cell, with URL this repository's address: "
              "it installs the project and keeps the service's own TensorFlow.*"]
    return "\n".join(lines)


def from_recipe(name: str):
    """The notebook of recipe ``name``, without outputs."""
    import jupytext
    import nbformat

    notebook = jupytext.reads(recipes.recipe_path(name).read_text(), fmt="py:percent")
    first = notebook.cells[0]
    docstring = ast.literal_eval(first.source) if first.cell_type == "code" else None
    if not isinstance(docstring, str):
        raise SystemExit(f"recipes/{name}.py must open with its header docstring")
    cells = [nbformat.v4.new_markdown_cell(title_cell(name, docstring))]
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
        return f"{path.relative_to(ROOT)} is missing"
    committed, fresh = cells(nbformat.read(path, as_version=4)), cells(from_recipe(name))
    if committed == fresh:
        return None
    for number, (old, new) in enumerate(zip(committed, fresh)):
        if old != new:
            return f"{path.relative_to(ROOT)}: cell {number} differs from recipes/{name}.py"
    return f"{path.relative_to(ROOT)}: {len(committed)} cells, its recipe gives {len(fresh)}"


def execute(notebook, timeout: int = EXECUTION_TIMEOUT):
    """Run every cell as Jupyter would in notebooks/, in a scratch copy of the project's
    layout (its runs/ folder goes away afterwards); the data is never fetched."""
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for package in ("common", "recipes"):
            (scratch / package).symlink_to(ROOT / package)
        (scratch / "notebooks").mkdir()
        # Offline, and without PYTHONPATH: the notebook finds the project as a clone's would.
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
               "RECIPES_OFFLINE": "1"}
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       record_timing=False,
                       resources={"metadata": {"path": str(scratch / "notebooks")}}
                       ).execute(env=env)
    return notebook


def build(name: str) -> str:
    import nbformat

    notebook = execute(from_recipe(name))
    nbformat.write(notebook, notebook_path(name))
    return f"{notebook_path(name).relative_to(ROOT)} written"


def main(argv=None) -> int:
    parser = Parser(prog="python notebooks/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="recipes to build (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="only report notebooks out of date with their recipe (exit 1)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the notebooks without outputs")
    parser.add_argument("--jobs", type=positive_int, default=2,
                        help="notebooks executed at once")
    try:
        args = parser.parse_args(argv)
        names = args.names or recipes.recipe_names()
        for name in names:
            recipes.recipe_path(name)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        problems = [problem for problem in map(stale, names) if problem]
        print("\n".join(problems) or f"{len(names)} notebooks match their recipes")
        return 1 if problems else 0
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
