"""Shared fixtures.

``real_data``: the real 1000 Genomes data committed in ``data/1000g/`` (the chr22 panel
VCF of 813 people x 998 sites with its index, their population table, and the ``bcftools
stats`` of the whole chromosome; see ``data/1000g/README.md``). It is part of the
repository, so a missing file is a failure, never a skip; the suite needs nothing beside
the repository. Only external tools (Chromium, TeX) may be skipped outside CI
(:func:`require_or_skip`).

``fixture_book``: the small fixture book (``tests/fixtures/book``: the repository's intro and
references pages around a chart notebook) executed and built once per session through the
real runner (:mod:`lib.book`), into a temporary directory so the repository's ``_build`` and
``data/runs`` are left alone.

Helpers several test files share: small simulated run directories (:func:`make_small_run`,
:func:`make_declared_run`), a chapter run with papermill (:func:`execute_chapter`),
haplotypes with linkage (:func:`haplotypes`), a chart's drawn marks (:func:`svg_marks`,
:func:`validate`), and reading an executed notebook (:func:`glued`, :func:`outputs_of_type`).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_BOOK = Path(__file__).resolve().parent / "fixtures" / "book"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_or_skip(ok: bool, reason: str) -> None:
    """Fail in CI, skip (with ``reason``) elsewhere, when ``ok`` is False."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


REAL_DATA = REPO_ROOT / "data" / "1000g"
REAL_VCF = REAL_DATA / "1000g_chr22_panel998.vcf.gz"
REAL_POPULATIONS = REAL_DATA / "1000g_samples_panel998.tsv"
REAL_STATS = REAL_DATA / "1000g_phase3_chr22_bcftools_stats.txt"


@pytest.fixture(scope="session")
def real_data() -> dict[str, Path]:
    """The committed real data (``vcf``, ``populations``, ``stats``); fails if a file is missing."""
    paths = {"vcf": REAL_VCF, "populations": REAL_POPULATIONS, "stats": REAL_STATS}
    missing = [str(p) for p in [*paths.values(), Path(f"{REAL_VCF}.tbi")] if not p.is_file()]
    assert not missing, f"committed data missing from the repository: {missing} (see data/1000g/README.md)"
    return paths


def make_fixture_root(dest: Path) -> Path:
    """A book root in ``dest``: the repository's ``_config.yml`` and pages, the fixture's
    ``_toc.yml`` and notebook -- so the test exercises the real configuration."""
    (dest / "book").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "_config.yml", dest / "_config.yml")
    shutil.copy2(FIXTURE_BOOK / "_toc.yml", dest / "_toc.yml")
    for name in ("intro.md", "references.md", "references.bib", "favicon.svg"):
        shutil.copy2(REPO_ROOT / "book" / name, dest / "book" / name)
    for notebook in (FIXTURE_BOOK / "book").glob("*.ipynb"):
        shutil.copy2(notebook, dest / "book" / notebook.name)
    return dest


@pytest.fixture(scope="session")
def fixture_book(tmp_path_factory) -> dict[str, Path]:
    """Execute and build the fixture book once; returns its ``root``, ``run`` and ``html`` dirs."""
    from lib.book import runner as book

    base = tmp_path_factory.mktemp("fixture-book")
    root = make_fixture_root(base / "root")
    run = base / "run"
    code = book.main(["--profile", "smoke", "--root", str(root), "--run-dir", str(run),
                      "--output", str(base / "out"), "-p", "n_points", "25"])
    assert code == 0, "the fixture book did not build; see the output above"
    return {"root": root, "run": run, "html": base / "out" / "_build" / "html"}


def pattern_language(n: int, seed: int, lengths: tuple[int, int] = (8, 20)) -> list[list[int]]:
    """Token data a tiny model can learn: bos (1), a repeating cycle of the tokens 3, 4, 5
    from one of three phases, eos (2); ``lengths`` bounds the cycle's length (high end
    excluded). Used by the training and privacy tests."""
    import torch

    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        start = int(torch.randint(0, 3, (1,), generator=g))
        length = int(torch.randint(lengths[0], lengths[1], (1,), generator=g))
        out.append([1] + [3 + (start + i) % 3 for i in range(length)] + [2])
    return out


def make_small_run(base: Path, seed: int, n_sites: int, samples_per_population: int,
                   public_fraction: float = 0.1, bpe: bool = False) -> Path:
    """A small simulated run directory (smoke profile, 300 kb) with its cohort, splits,
    public panel, profiles and the variant and record tokenizers of that panel saved: what the models
    chapters read; with ``bpe`` also a BPE tokenizer learned on the public people."""
    from lib.runs import artefacts
    from lib import ch01_data
    from lib.core import rundir
    from lib.lm import tokenization as tk

    run = rundir.run_path(base / "run", "smoke")
    prepared = ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=seed, n_sites=n_sites,
                                                         sim_samples_per_population=samples_per_population,
                                                         sim_length=300_000, public_fraction=public_fraction),
                                      progress=False)
    tk.save(tk.build_tokenizer("variant", panel_sites=prepared.panel["sites"]), run, "variant")
    tk.save(tk.build_tokenizer("record", panel_sites=prepared.panel["sites"], phased=prepared.panel["phased"]),
            run, "record")
    if bpe:
        public = [tk.sample_to_text(list(r)) for r in artefacts.split_profiles(run, "public")["variants"]]
        tk.save(tk.build_tokenizer("bpe", train_texts=public, vocab_size=300, split="public"), run, "bpe")
    return run


def check_source_notebook(chapter: Path, parameters: set[str]) -> None:
    """The committed chapter ``chapter`` carries no outputs, its first code cell is the one
    tagged ``parameters``, and it declares at least ``parameters`` (papermill's view)."""
    import nbformat
    import papermill as pm

    nb = nbformat.read(chapter, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert parameters <= set(pm.inspect_notebook(str(chapter)))


def execute_chapter(chapter: Path, out_dir: Path, run: Path, **parameters):
    """Run the chapter notebook ``chapter`` with papermill in the smoke profile on the run
    directory ``run`` from the repository root, as the book's runner does; the executed
    notebook (written to ``out_dir``)."""
    import nbformat
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / chapter.name
    pm.execute_notebook(str(chapter), str(out), parameters={"profile": "smoke", "run_dir": str(run), **parameters},
                        cwd=str(REPO_ROOT), kernel_name="python3", progress_bar=False)
    return nbformat.read(out, as_version=4)


#: Text for the GPT-2-format tokenizer of the tests: English prose and numbers, nothing
#: from a cohort (GPT-2's own BPE was learned on web text, not on genotypes).
GPT2_CORPUS = [
    "The quick brown fox jumps over the lazy dog while the model learns from public text.",
    "Language models read tokens; a byte-level tokenizer can encode any string at all.",
    "In 2015 the 1000 Genomes Project released 2,504 genomes from 26 populations.",
    "Chromosome 22 is about 51,304,566 base pairs long in the GRCh37 assembly.",
    "Differential privacy bounds what anyone can learn about a single person in the data.",
    "Numbers such as 17327068, 16050075 and 0.05 appear in tables, captions and prose.",
]


def write_gpt2_format_tokenizer(dest: Path, vocab_size: int = 600) -> Path:
    """A small byte-level BPE in GPT-2's released format (``vocab.json`` + ``merges.txt``,
    GPT-2's byte alphabet, pre-tokenization and ``<|endoftext|>``), trained here with the
    ``tokenizers`` library on :data:`GPT2_CORPUS`: what :func:`lib.lm.tokenization.gpt2_tokenizer`
    reads, without GPT-2's own files. Returns ``dest``."""
    from tokenizers import ByteLevelBPETokenizer

    dest.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(GPT2_CORPUS * 20, vocab_size=vocab_size, min_frequency=2,
                                special_tokens=["<|endoftext|>"], show_progress=False)
    trainer.save_model(str(dest))
    assert (dest / "vocab.json").is_file() and (dest / "merges.txt").is_file()
    return dest


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory) -> Path:
    """A directory holding a GPT-2-format tokenizer (:func:`write_gpt2_format_tokenizer`)."""
    return write_gpt2_format_tokenizer(tmp_path_factory.mktemp("gpt2-tokenizer"))


def make_declared_run(run: Path, seed: int, n_sites: int | None, samples_per_population: int,
                      sim_length: int, public_fraction: float = 0.1):
    """A simulated run whose panel is a **declared** site list: every simulated site written
    to ``<run>.sites.vcf.gz`` and passed as ``panel_path`` (as the quick profile declares the
    1000 Genomes panel), so the panel holds rare sites only members carry -- what a
    vocabulary learned on members can disclose. (A panel chosen from the public split never
    has such a site: each varies among the public people.) Returns the ``Prepared``."""
    from lib import ch01_data
    from lib.genomes import simulate, vcf

    sites = Path(f"{run}.sites.vcf.gz")
    if not sites.exists():
        vcf.write_vcf(simulate.simulate_cohort(samples_per_population, sim_length, seed=seed), sites)
    return ch01_data.prepare(run, ch01_data.DataSpec(source="simulate", seed=seed, n_sites=n_sites,
                                                     panel_path=str(sites),
                                                     sim_samples_per_population=samples_per_population,
                                                     sim_length=sim_length, public_fraction=public_fraction),
                                  progress=False)


def glued(nb) -> dict[str, str]:
    """The values an executed chapter glued for its prose (myst-nb stores them as outputs)."""
    values = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            if meta.get("name"):
                values[meta["name"]] = output["data"][meta["mime_prefix"] + "text/plain"].strip("'\"")
    return values


def outputs_of_type(nb, mime: str) -> int:
    """How many outputs of an executed notebook carry ``mime``."""
    return sum(mime in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


# ----------------------------------------------------------------- helpers several test files share

def haplotypes(n: int, n_sites: int, seed: int, p: np.ndarray | None = None, linked: float = 0.0) -> np.ndarray:
    """``n`` haplotypes (0/1) over ``n_sites``; with ``linked``, each site copies the
    previous one with that probability (linkage between neighbours)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.5, n_sites) if p is None else p
    h = (rng.random((n, n_sites)) < p).astype(np.int8)
    if linked:
        for j in range(1, n_sites):
            copy = rng.random(n) < linked
            h[copy, j] = h[copy, j - 1]
    return h


SVG = "{http://www.w3.org/2000/svg}"


_BAR = re.compile(r"M(-?[\d.e+-]+),(-?[\d.e+-]+)h(-?[\d.e+-]+)v(-?[\d.e+-]+)")
_TRANSLATE = re.compile(r"translate\((-?[\d.e+-]+),(-?[\d.e+-]+)\)")


def _drawn(item: ET.Element) -> bool:
    """Whether a rendered mark item can be seen: a bar needs a non-zero width and height
    (a bar on a log scale renders as ``h0``: present in the SVG, invisible), a symbol a
    finite position."""
    role = item.get("aria-roledescription")
    if role == "bar":
        found = _BAR.match(item.get("d") or "")
        return bool(found) and float(found.group(3)) != 0 and float(found.group(4)) != 0
    if role == "circle" or role == "symbol":
        found = _TRANSLATE.search(item.get("transform") or "")
        return bool(found) and all(math.isfinite(float(v)) for v in found.groups())
    return True


def svg_marks(chart) -> dict[str, int]:
    """Render ``chart`` with vl-convert (as the book's reader would see it) and count the
    marks actually drawn: mark group class (``mark-symbol``, ``mark-rule``, ``mark-rect``
    ...) -> number of visible items."""
    vlc = pytest.importorskip("vl_convert")
    root = ET.fromstring(vlc.vegalite_to_svg(chart.to_json()))
    counts: dict[str, int] = {}
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "role-mark" in classes:
            kind = next(c for c in classes if c.startswith("mark-"))
            counts[kind] = counts.get(kind, 0) + sum(1 for item in group
                                                     if item.get("role") == "graphics-symbol" and _drawn(item))
    return counts


def validate(chart) -> dict:
    """``to_dict()`` validates the spec against the Vega-Lite schema (altair raises if not)."""
    spec = chart.to_dict(validate=True)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    return spec
