"""What every chapter generator shares: writing the notebook (no outputs, stable cell ids).
The chapters ``import lib`` as an installed package: ``make`` installs it into ``.venv``
(``pip install -e .``), so no cell patches ``sys.path``."""
import os
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell


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
