"""How lib is arranged: imports run one way, one module per chapter, every module and
chapter described.

* Every import of a lib module inside lib is relative and at the top of its module (an
  import inside a function hides a cycle until the function runs), and the graph of those
  imports has no cycle.
* Concern modules never import chapter modules (``lib/chNN_*.py``); a chapter module may
  import earlier chapters' modules only.
* Every chapter notebook of ``_toc.yml`` has its chapter module; ``lib/__init__.py`` names
  every module and ``book/intro.md`` every chapter.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lib import book

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
MODULES = sorted(p.stem for p in LIB.glob("*.py") if p.stem != "__init__")
CHAPTER = re.compile(r"^ch(\d\d)_")


def lib_imports(module: str) -> list[tuple[str, int, bool, int]]:
    """(imported lib module, line, at top level, level) for every import of a lib module
    in ``lib/<module>.py``; level 0 is an absolute ``lib.x`` import."""
    tree = ast.parse((LIB / f"{module}.py").read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:
                names = [alias.name for alias in node.names]
            elif node.level == 1:
                names = [node.module.split(".")[0]]
            elif node.level == 0 and node.module and node.module.split(".")[0] == "lib":
                parts = node.module.split(".")
                names = [parts[1]] if len(parts) > 1 else [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("lib.")]
        level = getattr(node, "level", 0)
        for name in names:
            if name in MODULES:
                found.append((name, node.lineno, id(node) in top, level))
    return found


GRAPH = {module: sorted({name for name, *_ in lib_imports(module)}) for module in MODULES}


def test_lib_imports_are_relative_and_at_the_top():
    bad = [f"lib/{module}.py:{line} imports {name} " + ("inside a function or class" if not top else "absolutely")
           for module in MODULES for name, line, top, level in lib_imports(module) if not top or level != 1]
    assert bad == []


def test_no_import_cycle():
    order, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "active", f"import cycle: {' -> '.join(path + [module])}"
        state[module] = "active"
        for imported in GRAPH[module]:
            visit(imported, path + [module])
        state[module] = "done"
        order.append(module)

    for module in MODULES:
        visit(module, [])
    assert len(order) == len(MODULES)


def test_concerns_never_import_chapters_and_chapters_only_earlier_ones():
    for module, imported in GRAPH.items():
        mine = CHAPTER.match(module)
        for name in imported:
            theirs = CHAPTER.match(name)
            if theirs is None:
                continue
            assert mine is not None, f"lib/{module}.py (a concern) imports the chapter module {name}"
            assert int(theirs.group(1)) < int(mine.group(1)), f"{module} imports a later chapter {name}"


def test_every_chapter_has_its_module_and_is_described():
    notebooks = [c for c in book.toc_chapters(ROOT) if c.is_notebook]
    assert len(notebooks) >= 4
    intro = (ROOT / "book" / "intro.md").read_text()
    init = (LIB / "__init__.py").read_text()
    for chapter in notebooks:
        module = f"ch{chapter.name}"
        assert (LIB / f"{module}.py").exists(), f"{chapter.docname} has no lib/{module}.py"
        assert f"`{chapter.name}`" in intro or chapter.name in intro, f"book/intro.md does not mention {chapter.name}"
    missing = [m for m in MODULES if f":mod:`lib.{m}`" not in init]
    assert missing == [], f"lib/__init__.py does not describe {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_docstring(module):
    tree = ast.parse((LIB / f"{module}.py").read_text())
    assert ast.get_docstring(tree), f"lib/{module}.py has no module docstring"
