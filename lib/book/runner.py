"""The book runner: execute the chapters with papermill, then build the site with Jupyter Book.

Why a runner instead of letting Jupyter Book execute the notebooks: a chapter takes
parameters (the profile, the run directory, user overrides such as ``source=vcf``) and
writes its artefacts into the run directory, and the executed notebooks are artefacts of the
run too. So ``python -m lib.book`` (what ``make book`` calls)

1. reads the chapter order from ``_toc.yml`` (notebooks under ``book/``; markdown pages
   pass through);
2. executes each selected notebook with papermill (kernel ``python3``, working directory the
   repository root), passing ``profile``, ``run_dir`` and the ``-p``/``-y`` overrides -- each
   notebook only gets the parameters its ``parameters`` cell declares, and an override that
   no chapter declares is an error rather than silently ignored. Executed notebooks go to
   ``<run_dir>/notebooks/``, with a log per chapter beside them, and each chapter's
   parameters, seconds and commit go into the run's manifest;
3. stages a build source in ``_build/src/``: the configuration, the markdown pages, the
   bibliography, the EXECUTED notebooks in place of the (output-free) sources (with this
   machine's absolute paths replaced, :func:`publishable`), and the
   offline assets (Vega bundle, MathJax: see :mod:`lib.book.figures`); for the PDF, each
   notebook as a paper prints it (:func:`paper_notebook`) and the commit on the title page;
4. runs ``jupyter-book build -W`` on it (warnings are errors; notebooks are not executed
   again), which writes the site to ``_build/html/`` (or the PDF to ``_build/latex/``).

A chapter never depends on the runner: ``papermill book/01_data.ipynb out.ipynb -p profile
smoke`` runs it alone.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import nbformat
import yaml

from . import figures
from ..core import profiles, rundir

#: Parameters the runner itself gives every chapter that declares them.
RUNNER_PARAMETERS = ("profile", "run_dir")
#: Directory of the staged build source (inside ``<output>/_build``) and of the site.
STAGE_DIR = "src"
ASSETS_DIR = "_assets"  # must match html_static_path in _config.yml
KERNEL = "python3"


class BookError(Exception):
    """A problem the user can fix (bad option, unknown parameter, failed chapter)."""


# --------------------------------------------------------------------------------------
# Chapters, from _toc.yml
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chapter:
    """One entry of ``_toc.yml``: ``docname`` is its path without suffix (``book/01_data``)."""

    docname: str
    path: Path

    @property
    def name(self) -> str:
        return Path(self.docname).name

    @property
    def is_notebook(self) -> bool:
        return self.path.suffix == ".ipynb"


def toc_docnames(root: Path = rundir.REPO_ROOT) -> list[str]:
    """Every ``file`` of ``_toc.yml`` (root first), in reading order."""
    toc_path = Path(root) / "_toc.yml"
    if not toc_path.is_file():
        raise BookError(f"{toc_path}: no table of contents")
    toc = yaml.safe_load(toc_path.read_text()) or {}
    names = [toc["root"]] if "root" in toc else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                names.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key, []))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [str(Path(name).with_suffix("")) if Path(name).suffix in (".md", ".ipynb") else name
            for name in names]


def toc_chapters(root: Path = rundir.REPO_ROOT) -> list[Chapter]:
    """The toc entries with their source files (a notebook or a markdown page)."""
    chapters = []
    for docname in toc_docnames(root):
        for suffix in (".ipynb", ".md"):
            path = Path(root) / f"{docname}{suffix}"
            if path.is_file():
                chapters.append(Chapter(docname, path))
                break
        else:
            raise BookError(f"_toc.yml lists {docname!r} but neither {docname}.ipynb nor "
                            f"{docname}.md exists under {root}")
    return chapters


def select_notebooks(chapters: Sequence[Chapter], wanted: Sequence[str] | None) -> list[Chapter]:
    """The notebook chapters to execute: all of them, or those named in ``wanted``
    (``01_data``, ``book/01_data`` or ``book/01_data.ipynb``), kept in toc order."""
    notebooks = [c for c in chapters if c.is_notebook]
    if not wanted:
        return notebooks
    by_name = {c.name: c for c in notebooks}
    chosen = set()
    for item in wanted:
        name = Path(item).with_suffix("").name if item.endswith(".ipynb") else Path(item).name
        if name not in by_name:
            raise BookError(f"--chapters {item!r}: no such notebook chapter in _toc.yml; "
                            f"choose from {list(by_name)}")
        chosen.add(name)
    return [c for c in notebooks if c.name in chosen]


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A ``-p`` value the way papermill reads it: True/False/None, int, float, else str."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """The names (and inferred defaults) of a notebook's ``parameters`` cell."""
    import papermill

    return papermill.inspect_notebook(str(notebook))


def plan_parameters(notebooks: Sequence[Chapter], base: dict[str, Any],
                    overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each notebook, the parameters it will get: those of ``base`` and ``overrides``
    that its ``parameters`` cell declares. An override declared by none is an error."""
    reserved = set(RUNNER_PARAMETERS) & set(overrides)
    if reserved:
        raise BookError(f"set {sorted(reserved)} with --profile / --run-dir, not -p")
    declared = {c.name: declared_parameters(c.path) for c in notebooks}
    known = set().union(*declared.values()) if declared else set()
    unknown = sorted(set(overrides) - known)
    if unknown:
        where = ", ".join(c.name for c in notebooks) or "no chapter"
        raise BookError(f"parameter(s) {unknown} are declared by no chapter ({where}); "
                        f"known parameters: {sorted(known - set(RUNNER_PARAMETERS))}")
    merged = {**base, **overrides}
    return {name: {k: v for k, v in merged.items() if k in params}
            for name, params in declared.items()}


def display_path(path: Path) -> str:
    """``path`` relative to the repository root when inside it (so executed notebooks, and the
    pages built from them, do not carry this machine's absolute paths), else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(rundir.REPO_ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------


def execute_chapter(chapter: Chapter, output: Path, parameters: dict[str, Any],
                    log_path: Path, cwd: Path = rundir.REPO_ROOT) -> None:
    """Run one notebook with papermill; its cell outputs are also logged to ``log_path``."""
    import papermill

    logger = logging.getLogger("papermill")
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        papermill.execute_notebook(
            str(chapter.path), str(output), parameters=parameters, kernel_name=KERNEL,
            cwd=str(cwd), log_output=True, progress_bar=sys.stderr.isatty(),
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()


def execute(notebooks: Sequence[Chapter], plan: dict[str, dict[str, Any]], run: Path) -> None:
    """Execute ``notebooks`` in order into ``<run>/notebooks``; stop at the first failure."""
    out_dir = run / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, chapter in enumerate(notebooks, 1):
        output = out_dir / f"{chapter.name}.ipynb"
        log_path = out_dir / f"{chapter.name}.log"
        print(f"[{i}/{len(notebooks)}] {chapter.name}: parameters {plan[chapter.name]} "
              f"(log: {display_path(log_path)})", file=sys.stderr, flush=True)
        start = time.monotonic()
        try:
            execute_chapter(chapter, output, plan[chapter.name], log_path)
        except Exception as err:  # papermill's execution error, a dead kernel, ...
            raise BookError(
                f"chapter {chapter.name} failed: {_describe(err)}\n"
                f"  executed notebook (with the traceback): {display_path(output)}\n"
                f"  log: {display_path(log_path)}") from err
        seconds = time.monotonic() - start
        rundir.record_chapter(run, chapter.name, plan[chapter.name], seconds, fingerprint(chapter))
        print(f"[{i}/{len(notebooks)}] {chapter.name}: done in {seconds:.1f} s", file=sys.stderr, flush=True)


def lib_digest(lib_dir: Path = rundir.REPO_ROOT / "lib") -> str:
    """One checksum of the package's code (every ``lib/**/*.py``, by path and content)."""
    digest = hashlib.sha256()
    for path in sorted(Path(lib_dir).rglob("*.py")):
        name = path.relative_to(lib_dir).as_posix()
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(chapter: Chapter) -> dict[str, str]:
    """What an executed chapter was made from, recorded with it: the source notebook's and
    the package code's checksums (:func:`stale` compares them)."""
    return {"source_sha256": rundir.sha256(chapter.path), "lib_sha256": lib_digest()}


def stale(chapters: Sequence[Chapter], run: Path) -> list[Chapter]:
    """The notebook chapters of ``chapters`` that must run again before ``run``'s book can be
    built: from the first whose executed notebook is missing, or whose record in the
    manifest lacks the current :func:`fingerprint` (its source or the package changed, or it
    was never recorded), every later one too (a chapter reads what the earlier ones wrote;
    their artefacts are reused where still current, so a rerun is cheap)."""
    recorded = rundir.read_manifest(Path(run)).get("chapters", {})
    notebooks = [c for c in chapters if c.is_notebook]
    code = lib_digest()
    for i, chapter in enumerate(notebooks):
        entry = recorded.get(chapter.name, {})
        executed = Path(run) / "notebooks" / f"{chapter.name}.ipynb"
        if (not executed.is_file() or entry.get("source_sha256") != rundir.sha256(chapter.path)
                or entry.get("lib_sha256") != code):
            return notebooks[i:]
    return []


def _describe(err: Exception) -> str:
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename:
        cell = getattr(err, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (cell [{cell}])" if cell else "")
    return f"{type(err).__name__}: {err}"


# --------------------------------------------------------------------------------------
# Staging and building
# --------------------------------------------------------------------------------------


#: Where the PDF build puts the charts' PNGs (inside each page's folder).
PDF_FIGURES = "figures"


def chart_caption(html_text: str) -> str | None:
    """The title of the Altair chart whose :mod:`lib.book.figures` HTML is ``html_text`` (its
    Vega-Lite spec's ``title``), or None when the output is not a chart or has no title."""
    match = re.search(r"var spec = (\{.*?\});\n", html_text, re.DOTALL)
    if 'class="book-chart"' not in html_text or match is None:
        return None
    spec = json.loads(match.group(1).replace("<\\/", "</"))
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    return str(title) if title else None


def paper_notebook(nb: Any, figures_dir: Path, prefix: str) -> Any:
    """An executed chapter as the PDF prints it (a paper, not a notebook): every code
    cell's source and printed lines left out (tag ``remove-input``; a cell with no other
    output goes entirely), every chart taken out of its cell's output into a numbered
    figure with its title as caption (a MyST ``figure`` of the chart's PNG, written to
    ``figures_dir``), and every table into the page as its LaTeX
    (:func:`lib.book.figures.latex_table`, which fits the text width; MyST-NB would typeset a
    ``text/latex`` output as math)."""
    cells = []
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        tags = list(cell.metadata.get("tags", []))
        kept, after = [], []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data and 'class="book-chart"' in data.get("text/html", ""):
                count += 1
                name = f"{prefix}-{count}.png"
                figures_dir.mkdir(parents=True, exist_ok=True)
                (figures_dir / name).write_bytes(base64.b64decode(data["image/png"]))
                caption = chart_caption(data["text/html"]) or f"Chart {count} of this chapter"
                after.append(f"```{{figure}} {figures_dir.name}/{name}\n:width: 100%\n\n{caption}\n```")
            elif "\\begin{longtable}" in data.get("text/latex", ""):
                # a table (lib.book.figures.latex_table): MyST-NB would set text/latex as math
                after.append("```{raw} latex\n" + data["text/latex"] + "\n```")
            elif output.get("output_type") != "stream":  # printed lines (the run directory...) are not the paper's
                kept.append(output)
        cell.outputs = kept
        cell.metadata["tags"] = tags + (["remove-input"] if kept else ["remove-cell"])
        cells.append(cell)
        cells.extend(nbformat.v4.new_markdown_cell(text) for text in after)
    nb.cells = cells
    return nb


#: Output types whose text :func:`publishable` rewrites (images and chart specs are left alone).
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")


def publishable(nb: Any, paths: Sequence[Path]) -> Any:
    """``nb`` with every absolute path of ``paths`` (the run directory, the repository) in its
    cells' sources and text outputs replaced by :func:`lib.core.rundir.shown` of it: a published
    page names ``data/runs/quick`` or ``…/run``, never a directory of the machine that built
    it (papermill's injected parameters and the chapters' own "run directory" line would)."""
    pairs = []
    for path in paths:
        absolute, short = str(Path(path).resolve()), rundir.shown(path)
        pairs += [(absolute + os.sep, "" if short == "." else short + os.sep), (absolute, short)]
    pairs.sort(key=lambda pair: -len(pair[0]))
    # a LaTeX table (lib.book.figures.latex_table) writes a path with break points after each "/"
    latex_pairs = [(figures.latex_escape(absolute), figures.latex_escape(short)) for absolute, short in pairs]

    def clean(text: Any, latex: bool = False) -> Any:
        if isinstance(text, list):
            return [clean(t, latex) for t in text]
        if not isinstance(text, str):
            return text
        for absolute, short in (latex_pairs if latex else []) + pairs:
            text = text.replace(absolute, short)
        return text

    for cell in nb.cells:
        cell.source = clean(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for mime in _TEXT_MIMES:
                if mime in output.get("data", {}):
                    output["data"][mime] = clean(output["data"][mime], latex=mime == "text/latex")
    return nb


def stage(root: Path, chapters: Sequence[Chapter], executed_dir: Path, stage_dir: Path,
          builder: str = "html") -> Path:
    """Assemble the build source in ``stage_dir``: the configuration, the pages, every file of
    ``book/`` but the notebook sources, the executed notebooks, and the offline assets. For
    the PDF (``builder="pdflatex"``), the notebooks become :func:`paper_notebook` and the
    title page carries the commit the book was built from (``release``)."""
    root = Path(root)
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage_dir / name)
    if (root / "_static").is_dir():
        shutil.copytree(root / "_static", stage_dir / "_static")
    book_dirs = {c.path.parent for c in chapters}
    for folder in sorted(book_dirs):
        target = stage_dir / folder.relative_to(root)
        shutil.copytree(folder, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    for chapter in chapters:
        if not chapter.is_notebook:
            continue
        executed = executed_dir / f"{chapter.name}.ipynb"
        if not executed.is_file():
            raise BookError(f"chapter {chapter.name} has not been executed for this run "
                            f"(no {display_path(executed)}): run it, or pass --no-build")
        target = stage_dir / f"{chapter.docname}.ipynb"
        nb = publishable(nbformat.read(executed, as_version=4), [executed_dir.parent, root, rundir.REPO_ROOT])
        if builder == "pdflatex":
            nb = paper_notebook(nb, target.parent / PDF_FIGURES, chapter.name)
        nbformat.write(nb, target)
    if builder == "pdflatex":
        config = yaml.safe_load((stage_dir / "_config.yml").read_text())
        code = rundir.code_version(root)
        commit = (code["commit"] or "unknown")[:12] + (" (with uncommitted changes)" if code["dirty"] else "")
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["release"] = commit
        sphinx_config.setdefault("latex_elements", {})["releasename"] = "Commit"
        (stage_dir / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    figures.write_static_assets(stage_dir / ASSETS_DIR)
    return stage_dir


def build(stage_dir: Path, output_root: Path, builder: str = "html") -> Path:
    """``jupyter-book build -W`` of the staged source; the site lands in ``<output_root>/_build``."""
    command = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; "
               "sys.exit(main())", "build", str(stage_dir), "--path-output", str(output_root),
               "--builder", builder, "--all", "-W", "--keep-going"]
    print(f"building the book ({builder}) from {display_path(stage_dir)}", file=sys.stderr, flush=True)
    # Sphinx imports lib.book as an extension (see setup below): put the repository on its path.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(rundir.REPO_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    result = subprocess.run(command, cwd=stage_dir, env=env)
    if result.returncode != 0:
        raise BookError(f"jupyter-book build failed (exit {result.returncode}); "
                        "warnings count as errors (-W), see the messages above")
    site = Path(output_root) / "_build" / ("html" if builder == "html" else "latex")
    print(f"the book is at {display_path(site)}", file=sys.stderr, flush=True)
    return site


# --------------------------------------------------------------------------------------
# Sphinx extension (``extra_extensions: [lib.book]`` in _config.yml)
# --------------------------------------------------------------------------------------


#: Environment variables of a bare ``jupyter-book build .``: the profile (default quick) and
#: the run directory (default ``data/runs/<profile>``) whose executed chapters it builds.
PROFILE_ENV, RUN_DIR_ENV = "BOOK_PROFILE", "BOOK_RUN_DIR"


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point.

    * A bare ``jupyter-book build .`` (Sphinx's source is the repository itself, whose
      notebooks carry no outputs) builds the run's book as ``make book`` does
      (:func:`bare_build`): the run's chapters executed through this runner where missing or
      stale, staged with the offline assets, and the build pointed at the stage.
    * Duplicate ``<script>`` tags are dropped from every page: with Sphinx 7.4, some
      extensions' inline scripts (sphinx-thebe's configuration, sphinx-togglebutton's) reach
      the page twice, once with filename ``None`` and once with ``""``; sphinx-thebe's
      declares a ``const``, so its second copy is a JavaScript error on every page.
    """
    app.connect("config-inited", bare_build)
    app.connect("builder-inited", _bare_paper)
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def bare_build(app: Any, config: Any) -> None:
    """When Sphinx builds the repository itself (``jupyter-book build .``, not ``make
    book``'s staged source): execute what the run lacks (:func:`stale`; a chapter run before
    gets the parameters recorded for it, so ``make book ARGS="-p ..."`` choices stay), stage
    the executed chapters and assets beside the output (``<output>/../src``, as ``make
    book`` does) and make that stage Sphinx's source. The run is ``$BOOK_RUN_DIR`` or
    ``data/runs/$BOOK_PROFILE`` (default profile: quick); a run with nothing executed yet is
    built whole first, which for the quick profile trains every model (about an hour on 2
    cores)."""
    from sphinx.errors import ConfigError, ExtensionError

    root = Path(app.srcdir).resolve()
    if root != rundir.REPO_ROOT.resolve() or not (root / "_toc.yml").is_file():
        return  # a staged source (make book) or another book: nothing to do
    profile = os.environ.get(PROFILE_ENV) or profiles.DEFAULT_PROFILE
    if profile not in profiles.PROFILES:
        raise ConfigError(f"{PROFILE_ENV}={profile!r} is not a profile; choose one of {sorted(profiles.PROFILES)}")
    run = rundir.run_path(os.environ.get(RUN_DIR_ENV) or None, profile)
    chapters = toc_chapters(root)
    todo = stale(chapters, run)
    try:
        if todo:
            recorded = rundir.read_manifest(run).get("chapters", {})
            fresh = plan_parameters(todo, {"profile": profile, "run_dir": display_path(run)}, {})
            plan = {c.name: recorded.get(c.name, {}).get("parameters") or fresh[c.name] for c in todo}
            print(f"jupyter-book build: {len(todo)} chapter(s) of {display_path(run)} missing or stale "
                  f"({', '.join(c.name for c in todo)}); executing them as make book does", file=sys.stderr, flush=True)
            execute(todo, plan, run)
        stage_dir = stage(root, chapters, run / "notebooks", Path(app.outdir).resolve().parent / STAGE_DIR)
    except BookError as err:
        raise ExtensionError(f"lib.book: {err}") from err
    app.srcdir = type(app.srcdir)(stage_dir)
    config.html_static_path = [str(stage_dir / ASSETS_DIR)]
    app.lib_book_bare = {"root": str(root), "run": str(run), "stage": str(stage_dir)}


def _bare_paper(app: Any) -> None:
    """For a bare ``jupyter-book build . --builder pdflatex``: stage the chapters as a paper
    prints them (:func:`paper_notebook`) and put the commit on the title page, as ``make pdf``."""
    bare = getattr(app, "lib_book_bare", None)
    if not bare or app.builder.name != "latex":
        return
    root, run = Path(bare["root"]), Path(bare["run"])
    stage(root, toc_chapters(root), run / "notebooks", Path(bare["stage"]), "pdflatex")
    staged = yaml.safe_load((Path(bare["stage"]) / "_config.yml").read_text())["sphinx"]["config"]
    app.config.release = staged["release"]
    app.config.latex_elements = {**app.config.latex_elements, **staged["latex_elements"]}
    # the LaTeX builder copied both into its context when it was made, before this event
    app.builder.context.update(staged["latex_elements"])
    app.builder.context["release"] = staged["release"]


def _drop_duplicate_scripts(app: Any, pagename: str, templatename: str, context: dict,
                            doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = {k: v for k, v in getattr(script, "attributes", {}).items() if k != "priority"}
        key = (str(getattr(script, "filename", script) or ""), repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lib.book",
        description="Execute the book's chapters with papermill into the run directory, "
                    "then build the site with jupyter-book (warnings are errors).")
    parser.add_argument("--profile", choices=sorted(profiles.PROFILES), default=profiles.DEFAULT_PROFILE,
                        help=f"sizes of the run (default {profiles.DEFAULT_PROFILE})")
    parser.add_argument("--run-dir", help="run directory (default data/runs/<profile>)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="a chapter parameter, papermill style (True/False/None, numbers "
                             "recognised); repeatable. Chapters run in the repository root, so "
                             "relative paths are taken from there")
    parser.add_argument("-y", "--parameters-yaml", metavar="YAML",
                        help="parameters as a YAML mapping string (-p wins over it)")
    parser.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                        help="execute only these notebook chapters (e.g. 01_data); the build "
                             "reuses the run's earlier executed notebooks for the others")
    parser.add_argument("--no-build", action="store_true", help="execute only, do not build")
    parser.add_argument("--builder", choices=("html", "pdflatex"), default="html",
                        help="html (default) or pdflatex (needs xelatex)")
    parser.add_argument("--root", default=str(rundir.REPO_ROOT),
                        help="book root holding _config.yml and _toc.yml (default: the repository)")
    parser.add_argument("--output", default=None,
                        help="where _build/ goes (default: the book root)")
    return parser.parse_args(argv)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The user's parameters: the ``-y`` mapping, then each ``-p`` on top."""
    overrides: dict[str, Any] = {}
    if args.parameters_yaml:
        loaded = yaml.safe_load(args.parameters_yaml)
        if not isinstance(loaded, dict):
            raise BookError(f"-y {args.parameters_yaml!r}: expected a YAML mapping")
        overrides.update(loaded)
    for name, value in args.parameter:
        overrides[name] = parse_value(value)
    return overrides


def run(args: argparse.Namespace) -> Path | None:
    """Execute and build as ``args`` say; return the site (or None with ``--no-build``)."""
    root = Path(args.root).resolve()
    output_root = Path(args.output).resolve() if args.output else root
    chapters = toc_chapters(root)
    notebooks = select_notebooks(chapters, args.chapters)
    run_dir = rundir.run_path(Path(args.run_dir).resolve() if args.run_dir else None, args.profile)
    base = {"profile": args.profile, "run_dir": display_path(run_dir)}
    plan = plan_parameters(notebooks, base, overrides_from(args))
    execute(notebooks, plan, run_dir)
    if args.no_build:
        return None
    stage_dir = stage(root, chapters, run_dir / "notebooks", output_root / "_build" / STAGE_DIR, args.builder)
    return build(stage_dir, output_root, args.builder)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
