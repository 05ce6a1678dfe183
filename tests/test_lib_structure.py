"""How lib is arranged: eight packages of concerns in layers, one module per chapter above
them, imports that run one way, every package, module and chapter described.

* Every import of a lib module inside lib is relative and at the top of its module (an
  import inside a function hides a cycle until the function runs), and the graph of those
  imports has no cycle.
* A package imports only itself and the packages below it (:data:`LAYERS`, the order
  ``lib/__init__.py`` lists them in); concern modules never import chapter modules
  (``lib/chNN_*.py``); a chapter module may import earlier chapters' modules only.
* One owner per name: no public name is defined in two modules, except the chapter
  protocol (:data:`CHAPTER_PROTOCOL`: what every chapter module defines for its own
  notebook) among chapter modules, and a module's ``log`` and command-line ``main``.
* Every chapter notebook of ``_toc.yml`` has its chapter module; ``lib/__init__.py`` names
  every chapter module and package, each package's ``__init__`` every module in it, and
  ``book/intro.md`` every chapter.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lib.book import runner

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
#: The packages, bottom to top: each may import only itself and those before it.
LAYERS = ("core", "genomes", "genetics", "lm", "dp", "evaluation", "runs", "book")
CHAPTER = re.compile(r"^ch(\d\d)_")


def module_name(path: Path) -> str:
    """``lib/core/rundir.py`` -> ``core.rundir``; ``lib/ch01_data.py`` -> ``ch01_data``."""
    return ".".join(path.relative_to(LIB).with_suffix("").parts)


MODULES = sorted(module_name(p) for p in LIB.rglob("*.py") if p.stem not in ("__init__", "__main__"))
PACKAGES = sorted(p.parent.name for p in LIB.glob("*/__init__.py"))


def resolve(module: str, level: int, target: str | None, names: list[str]) -> list[str]:
    """The lib modules a relative import in ``module`` names (``from ..lm import models``)."""
    package = module.split(".")[:-1]
    base = package[:len(package) - (level - 1)] if level > 1 else package
    prefix = base + (target.split(".") if target else [])
    whole = ".".join(prefix)
    if whole in MODULES:
        return [whole]
    return [f"{whole}.{n}" if whole else n for n in names if (f"{whole}.{n}" if whole else n) in MODULES]


def lib_imports(module: str) -> list[tuple[str, int, bool, int]]:
    """(imported lib module, line, at top level, level) for every import of a lib module
    in ``module``; level 0 is an absolute ``lib.x`` import."""
    tree = ast.parse((LIB / (module.replace(".", "/") + ".py")).read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            aliases = [alias.name for alias in node.names]
            if node.level >= 1:
                names = resolve(module, node.level, node.module, aliases)
            elif node.module and node.module.split(".")[0] == "lib":
                names = resolve("x", 1, node.module.partition(".")[2] or None, aliases)
        elif isinstance(node, ast.Import):
            names = [a.name[4:] for a in node.names if a.name.startswith("lib.") and a.name[4:] in MODULES]
        for name in names:
            found.append((name, node.lineno, id(node) in top, getattr(node, "level", 0)))
    return found


GRAPH = {module: sorted({name for name, *_ in lib_imports(module)}) for module in MODULES}


def layer(module: str) -> int | None:
    """The index of a concern module's package in :data:`LAYERS`; None for a chapter module."""
    return LAYERS.index(module.split(".")[0]) if "." in module else None


def test_every_package_is_a_layer_and_every_concern_is_in_a_package():
    assert sorted(LAYERS) == PACKAGES
    loose = [m for m in MODULES if "." not in m and not CHAPTER.match(m)]
    assert loose == [], f"modules beside the chapters that belong in a package: {loose}"


def test_lib_imports_are_relative_and_at_the_top():
    bad = [f"lib/{module}.py:{line} imports {name} " + ("inside a function or class" if not top else "absolutely")
           for module in MODULES for name, line, top, level in lib_imports(module) if not top or level < 1]
    assert bad == []
    assert all(GRAPH[m] for m in ("ch06_privacy", "runs.experiments", "evaluation.mia"))  # the resolver finds them


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


def test_packages_import_only_the_layers_below_them():
    bad = [f"lib.{module} imports lib.{name}" for module, imported in GRAPH.items() if layer(module) is not None
           for name in imported if layer(name) is not None and layer(name) > layer(module)]
    assert bad == []


def test_concerns_never_import_chapters_and_chapters_only_earlier_ones():
    for module, imported in GRAPH.items():
        mine = CHAPTER.match(module)
        for name in imported:
            theirs = CHAPTER.match(name)
            if theirs is None:
                continue
            assert mine is not None, f"lib/{module}.py (a concern) imports the chapter module {name}"
            assert int(theirs.group(1)) < int(mine.group(1)), f"{module} imports a later chapter {name}"


def test_every_chapter_has_its_module_and_everything_is_described():
    notebooks = [c for c in runner.toc_chapters(ROOT) if c.is_notebook]
    assert len(notebooks) >= 4
    intro = (ROOT / "book" / "intro.md").read_text()
    init = (LIB / "__init__.py").read_text()
    for chapter in notebooks:
        module = f"ch{chapter.name}"
        assert (LIB / f"{module}.py").exists(), f"{chapter.docname} has no lib/{module}.py"
        assert f"`{chapter.name}`" in intro or chapter.name in intro, f"book/intro.md does not mention {chapter.name}"
    missing = [m for m in MODULES if "." not in m and f":mod:`lib.{m}`" not in init]
    missing += [p for p in PACKAGES if f":mod:`lib.{p}`" not in init]
    for package in PACKAGES:
        text = (LIB / package / "__init__.py").read_text()
        missing += [m for m in MODULES if m.startswith(package + ".") and f":mod:`lib.{m}`" not in text]
    assert missing == [], f"not described where they live: {missing}"
    listed = re.findall(r":mod:`lib\.([a-z]+)`", init.split("bottom to top")[1])
    assert tuple(listed) == LAYERS, "lib/__init__.py lists the packages in another order than LAYERS"


#: Names each chapter module defines for its own chapter (its notebook calls ``chapter.<name>``).
CHAPTER_PROTOCOL = {"CHAPTER", "numbers", "claims", "claim_records", "seed_table", "METRICS_NAME", "SEEDS_NAME"}
#: Names every module may have of its own: its logger and its command line.
PER_MODULE = {"log", "main"}


def public_names(module: str) -> set[str]:
    """The functions, classes and constants ``module`` defines at its top level, not ``_private``."""
    tree = ast.parse((LIB / (module.replace(".", "/") + ".py")).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def test_one_owner_per_public_name():
    owners: dict[str, list[str]] = {}
    for module in MODULES:
        for name in public_names(module):
            owners.setdefault(name, []).append(module)
    shared = {name: mods for name, mods in owners.items() if len(mods) > 1 and name not in PER_MODULE}
    clashes = {name: mods for name, mods in shared.items()
               if name not in CHAPTER_PROTOCOL or any(not CHAPTER.match(m) for m in mods)}
    assert clashes == {}, f"one name, several owners: {clashes}"
    assert shared, "the chapter protocol is shared by the chapters (the check sees their names)"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_has_a_docstring(module):
    tree = ast.parse((LIB / (module.replace(".", "/") + ".py")).read_text())
    assert ast.get_docstring(tree), f"lib/{module}.py has no module docstring"
