"""What every chapter generator shares: the cell that imports ``lib`` wherever papermill
runs the chapter from, and writing the notebook (no outputs, stable cell ids)."""
from pathlib import Path

import os

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

#: The first lines of every chapter's setup cell.
IMPORT_LIB = '''import sys
from pathlib import Path

try:  # `import lib`: installed in the project's .venv, or found above the working directory
    import lib
except ImportError:
    found = [p for p in [Path.cwd(), *Path.cwd().parents] if (p / "lib" / "__init__.py").exists()]
    if not found:
        raise RuntimeError("cannot import lib: run from the repository or use its .venv (make book)")
    sys.path.insert(0, str(found[0]))
    import lib
ROOT = Path(lib.__file__).resolve().parent.parent
'''


def write(cells: list, name: str) -> Path:
    """Write ``book/<name>.ipynb`` from ``cells``; regenerating gives the same file.
    ``NOTEBOOK_OUT_DIR`` (environment) writes elsewhere: the tests compare the two."""
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    book = Path(__file__).resolve().parent.parent / "book"
    out = Path(os.environ.get("NOTEBOOK_OUT_DIR", book)) / f"{name}.ipynb"
    nbf.write(nb, out)
    print(f"wrote {out}")
    return out
